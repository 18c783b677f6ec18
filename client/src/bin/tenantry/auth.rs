//! Account commands.

use clap::{Args, Subcommand};
use tenantry_client::auth::v1::{
    GetMeRequest, ListSessionsRequest, LoginRequest, LogoutRequest, RegisterRequest,
    VerifyEmailRequest,
};

use crate::{profile::Session, show};

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Creates an account (a verification token is mailed).
    Register {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: Password,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Confirms the email address with the mailed token.
    VerifyEmail { token: String },
    /// Signs in and keeps the session in the profile.
    Login {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: Password,
        /// Organization to pin the session to.
        #[arg(long)]
        org: Option<String>,
    },
    /// Ends the session.
    Logout,
    /// Who you are and where you are pinned.
    Me,
    /// Your open sessions.
    Sessions,
}

#[derive(Debug, Args)]
pub struct Password {
    /// The password (better: the TENANTRY_PASSWORD environment variable).
    #[arg(long, env = "TENANTRY_PASSWORD", hide_env_values = true)]
    password: String,
}

pub async fn run(session: &mut Session, command: AuthCommand) -> anyhow::Result<()> {
    match command {
        AuthCommand::Register {
            email,
            password,
            name,
        } => {
            let user = session
                .anonymous()
                .auth()
                .register(RegisterRequest {
                    email,
                    password: password.password,
                    display_name: name,
                })
                .await?
                .into_inner()
                .user
                .unwrap_or_default();
            println!(
                "registered {} ({}); check your mail for the verification token",
                user.email, user.id
            );
        }
        AuthCommand::VerifyEmail { token } => {
            session
                .anonymous()
                .auth()
                .verify_email(VerifyEmailRequest { token })
                .await?;
            println!("email verified");
        }
        AuthCommand::Login {
            email,
            password,
            org,
        } => {
            let login = session
                .anonymous()
                .auth()
                .login(LoginRequest {
                    email,
                    password: password.password,
                    organization_id: org.unwrap_or_default(),
                })
                .await?
                .into_inner();
            let tokens = login.tokens.unwrap_or_default();
            session.store(&tokens)?;
            let user = login.user.unwrap_or_default();
            match tokens.organization_id.as_str() {
                "" => println!("signed in as {} (no organization)", user.email),
                org => println!(
                    "signed in as {} in organization {org} ({})",
                    user.email,
                    show::role(tokens.role)
                ),
            }
        }
        AuthCommand::Logout => {
            let client = session.signed_in().await?;
            client.auth().logout(LogoutRequest {}).await?;
            session.forget()?;
            println!("signed out");
        }
        AuthCommand::Me => {
            let me = session
                .signed_in()
                .await?
                .auth()
                .get_me(GetMeRequest {})
                .await?
                .into_inner();
            let user = me.user.unwrap_or_default();
            println!("user          {} <{}>", user.display_name, user.email);
            println!("id            {}", user.id);
            println!("verified      {}", user.email_verified);
            println!("session       {}", me.session_id);
            println!(
                "organization  {}",
                if me.organization_id.is_empty() {
                    "-"
                } else {
                    &me.organization_id
                }
            );
            println!("role          {}", show::role(me.role));
        }
        AuthCommand::Sessions => {
            let client = session.signed_in().await?;
            let list = client
                .auth()
                .list_sessions(ListSessionsRequest::default())
                .await?
                .into_inner();
            for s in list.sessions {
                let mark = if s.current { "*" } else { " " };
                println!(
                    "{mark} {}  since {}  from {}  {}",
                    s.id,
                    show::time(s.create_time.as_ref()),
                    s.client_ip,
                    s.user_agent
                );
            }
        }
    }
    Ok(())
}
