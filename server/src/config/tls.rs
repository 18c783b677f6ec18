//! TLS on the one port: a server certificate, and optionally client
//! certificates (mutual TLS).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Args)]
pub struct TlsConfig {
    /// Serve TLS with this certificate chain (PEM). Reloaded when the file
    /// changes: new connections get the new certificate, open ones go on.
    #[arg(long, env = "TENANTRY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "TENANTRY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Ask clients for a certificate issued by these CAs (PEM), for mutual
    /// TLS and certificate-bound service tokens.
    #[arg(long, env = "TENANTRY_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// With `--tls-client-ca`: `optional` (a client without a certificate
    /// is served) or `required` (refused at the handshake).
    #[arg(
        long,
        env = "TENANTRY_TLS_CLIENT_AUTH",
        value_enum,
        default_value = "optional"
    )]
    pub tls_client_auth: ClientAuth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientAuth {
    Optional,
    Required,
}
