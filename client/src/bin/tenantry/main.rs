//! `tenantry`: Tenantry from the command line. Signs in once, keeps the token
//! pair in a profile file and refreshes it when it runs out.

mod audit;
mod auth;
mod files;
mod org;
mod profile;
mod show;

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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = async {
        let mut session = profile::Session::open(&cli.server, cli.profile.clone()).await?;
        match cli.command {
            Command::Auth(command) => auth::run(&mut session, command).await,
            Command::Org(command) => org::run(&mut session, command).await,
            Command::Files(command) => files::run(&mut session, command).await,
            Command::Audit(command) => audit::run(&mut session, command).await,
        }
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", show::error(&err));
            std::process::ExitCode::FAILURE
        }
    }
}
