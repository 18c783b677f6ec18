//! Every setting is a flag with a `TENANTRY_*` environment twin; the defaults
//! make `cargo run -p tenantry-server` work on a fresh machine (SQLite and a
//! local data folder under `./data`).

mod limits;
mod mail;
mod passkeys;
mod security;
mod storage;
mod tls;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};

pub use limits::LimitsConfig;
pub use mail::{MailConfig, SmtpTls};
pub use passkeys::PasskeyConfig;
pub use security::{PasswordConfig, SessionConfig, TokenConfig};
pub use storage::{S3Config, StorageConfig};
pub use tls::{ClientAuth, TlsConfig};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "tenantry-server",
    version,
    about = "Tenantry: a gRPC-first multi-tenant SaaS backend (auth, organizations, files, SSO)"
)]
pub struct Config {
    /// Address to serve gRPC, grpc-web and the HTTP side door on.
    #[arg(long, env = "TENANTRY_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Address of the admin listener (`/metrics`, `/livez`, `/readyz`);
    /// keep it off the public network. `off` serves none.
    #[arg(long, env = "TENANTRY_ADMIN_LISTEN", default_value = "127.0.0.1:9090")]
    pub admin_listen: String,

    /// On SIGTERM or SIGINT: how long calls in flight may still run before
    /// they are cancelled.
    #[arg(long, env = "TENANTRY_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: std::time::Duration,

    /// Folder for the embedded database, keys, blobs and mail when no other
    /// location is given. Created on first start.
    #[arg(long, env = "TENANTRY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// `postgres://…` for PostgreSQL, `sqlite://PATH` or a file path for
    /// SQLite. Default: SQLite at `<data-dir>/tenantry.db`.
    #[arg(long, env = "TENANTRY_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Connections in the database pool.
    #[arg(long, env = "TENANTRY_DATABASE_POOL_SIZE", default_value_t = 16)]
    pub database_pool_size: u32,

    /// Threads that run queries. 0: one per core on SQLite (its queries are
    /// CPU work), one per pooled connection on PostgreSQL.
    #[arg(long, env = "TENANTRY_DATABASE_WORKERS", default_value_t = 0)]
    pub database_workers: usize,

    /// Browser origins allowed to call over grpc-web (repeat the flag or
    /// separate with commas), e.g. `https://app.example.com`. None by default.
    #[arg(
        long = "cors-origin",
        env = "TENANTRY_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Reverse proxies (addresses or CIDR blocks, separate with commas)
    /// whose `Forwarded` / `X-Forwarded-For` headers name the client, for
    /// rate limits, sessions and the audit log. None by default: the peer
    /// is the client.
    #[arg(
        long = "trusted-proxy",
        env = "TENANTRY_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_cidr
    )]
    pub trusted_proxies: Vec<crate::layers::client_address::Cidr>,

    /// The URL clients reach this server at; used in links the server hands
    /// out (email verification, signed downloads). Default: `http://<listen>`
    /// (`https://` with `--tls-cert`).
    #[arg(long, env = "TENANTRY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Let organizations' SSO issuers be on loopback or private networks.
    /// Off by default: any organization admin chooses the issuer URL, and
    /// the server fetches it (SSRF). Turn on for a provider on your own
    /// network, e.g. Keycloak on localhost in development.
    #[arg(long, env = "TENANTRY_SSO_ALLOW_PRIVATE_NETWORKS")]
    pub sso_allow_private_networks: bool,

    /// DNS server (address:port) that checks organizations' domain
    /// verification records. Default: the system's resolvers.
    #[arg(long, env = "TENANTRY_DNS_SERVER")]
    pub dns_server: Option<SocketAddr>,

    /// Log format: `auto` (JSON when stdout is not a terminal), `json` or `text`.
    #[arg(long, env = "TENANTRY_LOG_FORMAT", default_value = "auto")]
    pub log_format: String,

    #[command(flatten)]
    pub tracing: crate::ops::telemetry::TracingConfig,

    #[command(flatten)]
    pub tokens: TokenConfig,

    #[command(flatten)]
    pub sessions: SessionConfig,

    #[command(flatten)]
    pub passwords: PasswordConfig,

    #[command(flatten)]
    pub limits: LimitsConfig,

    #[command(flatten)]
    pub storage: StorageConfig,

    #[command(flatten)]
    pub mail: mail::MailConfig,

    #[command(flatten)]
    pub passkeys: PasskeyConfig,

    #[command(flatten)]
    pub tls: TlsConfig,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Writes a new Ed25519 signing key (PKCS#8 PEM) for key rotation and
    /// prints its key id.
    GenerateSigningKey {
        /// Where to write the key (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
}

impl Config {
    /// The configuration a flagless `tenantry-server` would use, rooted at
    /// `data_dir` (tests and benchmarks start from this).
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Self::parse_from(["tenantry-server"]);
        config.data_dir = data_dir.into();
        config
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("tenantry.db").display()))
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| {
                let scheme = if self.tls.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", self.listen)
            })
            .trim_end_matches('/')
            .to_owned()
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
}

fn parse_cidr(text: &str) -> Result<crate::layers::client_address::Cidr, String> {
    text.parse()
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| e.to_string())
}
