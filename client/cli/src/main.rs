//! `tenantry`: Tenantry from the command line. Signs in once, keeps the token
//! pair in a profile file and refreshes it when it runs out.

mod audit;
mod auth;
mod files;
mod mfa;
mod org;
mod profile;
mod service_accounts;
mod show;
mod tokens;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "tenantry", version, about = "Tenantry from the command line")]
struct Cli {
    /// Server to talk to.
    #[arg(
        long,
        env = "TENANTRY_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    server: String,

    /// Where the signed-in session is kept. Default:
    /// `$XDG_CONFIG_HOME/tenantry/profile.json` (or `~/.config/…`).
    #[arg(long, env = "TENANTRY_PROFILE", global = true)]
    profile: Option<std::path::PathBuf>,

    /// The CA certificate (PEM) that signed an `https://` server's
    /// certificate. Default: the system's roots.
    #[arg(long, env = "TENANTRY_CA_CERT", global = true)]
    ca_cert: Option<std::path::PathBuf>,

    /// How lists are printed: `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value = "text", global = true)]
    output: show::Output,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Auth(auth::AuthCommand),
    /// Organizations, members and invitations.
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// Files of the organization.
    #[command(subcommand)]
    Files(files::FilesCommand),
    /// The organization's audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Service accounts of the organization, their keys and secrets.
    #[command(subcommand)]
    ServiceAccounts(service_accounts::ServiceAccountsCommand),
    /// Your personal access tokens, for scripts and CI.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Your second factor: an authenticator app and recovery codes.
    #[command(subcommand)]
    Mfa(mfa::MfaCommand),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Two rustls crypto providers are linked: name the one to use.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let result = async {
        let mut session = profile::Session::open(
            &cli.server,
            cli.profile.clone(),
            cli.ca_cert.as_deref(),
            cli.output,
        )?;
        match cli.command {
            Command::Auth(command) => auth::run(&mut session, command).await,
            Command::Org(command) => org::run(&mut session, command).await,
            Command::Files(command) => files::run(&mut session, command).await,
            Command::Audit(command) => audit::run(&mut session, command).await,
            Command::ServiceAccounts(command) => service_accounts::run(&mut session, command).await,
            Command::Tokens(command) => tokens::run(&mut session, command).await,
            Command::Mfa(command) => mfa::run(&mut session, command).await,
        }
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", show::error(&err));
            std::process::ExitCode::from(show::exit_code(&err))
        }
    }
}
