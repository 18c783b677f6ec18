//! Account commands.

use clap::{Args, Subcommand};
use futures::TryStreamExt as _;
use serde_json::json;
use tenantry_client::auth::v1::{
    CompleteMfaLoginRequest, GetMeRequest, ListSessionsRequest, LoginRequest, LogoutRequest,
    RegisterRequest, RequestPasswordResetRequest, ResetPasswordRequest, VerifyEmailRequest,
    complete_mfa_login_request::Proof,
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
    /// Signs in and keeps the session in the profile: a person with
    /// `--email` and a password, a service account with `--key-file`.
    Login {
        #[arg(
            long,
            required_unless_present = "key_file",
            conflicts_with = "key_file"
        )]
        email: Option<String>,
        #[command(flatten)]
        password: Password,
        /// Organization to pin the session to.
        #[arg(long)]
        org: Option<String>,
        /// A service account's key file (from `service-accounts keys add`).
        #[arg(long)]
        key_file: Option<std::path::PathBuf>,
        /// For an account with a second factor: the code the authenticator
        /// app shows, or one of the recovery codes.
        #[arg(long, conflicts_with = "key_file")]
        code: Option<String>,
    },
    /// Mails a password reset token to the address (the answer is the same
    /// whether it has an account or not).
    ForgotPassword {
        #[arg(long)]
        email: String,
    },
    /// Sets a new password with the mailed reset token; every session of
    /// the account ends.
    ResetPassword {
        token: String,
        #[command(flatten)]
        password: Password,
    },
    /// Ends the session.
    Logout,
    /// Who you are and where you are pinned.
    Me,
    /// Your open sessions.
    Sessions,
}

#[derive(Debug, Args)]
/// A password from the flag or the environment.
pub struct Password {
    /// The password (better: the TENANTRY_PASSWORD environment variable).
    #[arg(long, env = "TENANTRY_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

impl Password {
    pub fn required(self) -> anyhow::Result<String> {
        self.password
            .ok_or_else(|| anyhow::anyhow!("a password is needed: --password or TENANTRY_PASSWORD"))
    }
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
                    password: password.required()?,
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
            key_file: Some(key_file),
            ..
        } => login_service(session, &key_file).await?,
        AuthCommand::Login {
            email,
            password,
            org,
            key_file: None,
            code,
        } => {
            let email = email.unwrap_or_default();
            login(session, email, password.required()?, org, code).await?;
        }
        AuthCommand::ForgotPassword { email } => forgot_password(session, email).await?,
        AuthCommand::ResetPassword { token, password } => {
            reset_password(session, token, password.required()?).await?;
        }
        AuthCommand::Logout => {
            let client = session.signed_in()?;
            client.auth().logout(LogoutRequest {}).await?;
            session.forget()?;
            println!("signed out");
        }
        AuthCommand::Me => {
            let me = session
                .signed_in()?
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
            let all = session.signed_in()?.list(ListSessionsRequest::default());
            let rows: Vec<_> = all
                .map_ok(|s| {
                    json!({
                        "id": s.id, "current": if s.current { "*" } else { "" },
                        "create_time": show::time(s.create_time.as_ref()),
                        "client_ip": s.client_ip, "user_agent": s.user_agent,
                    })
                })
                .try_collect()
                .await?;
            let columns = ["current", "id", "create_time", "client_ip", "user_agent"];
            show::list(session.output, &columns, &rows);
        }
    }
    Ok(())
}

async fn forgot_password(session: &Session, email: String) -> anyhow::Result<()> {
    let request = RequestPasswordResetRequest { email };
    let mut auth = session.anonymous().auth();
    auth.request_password_reset(request).await?;
    println!("if the address has an account, a reset token is on its way");
    Ok(())
}

async fn reset_password(session: &Session, token: String, password: String) -> anyhow::Result<()> {
    let request = ResetPasswordRequest {
        token,
        new_password: password,
    };
    let done = session.anonymous().auth().reset_password(request).await?;
    let ended = done.into_inner().revoked_sessions;
    println!("password changed; {ended} session(s) ended: sign in again");
    Ok(())
}

/// `login --email`: a person's password sign-in, and the second step with
/// `--code` when the account has a second factor.
async fn login(
    session: &mut Session,
    email: String,
    password: String,
    org: Option<String>,
    code: Option<String>,
) -> anyhow::Result<()> {
    let mut auth = session.anonymous().auth();
    let request = LoginRequest {
        email,
        password,
        organization_id: org.unwrap_or_default(),
    };
    let first = auth.login(request).await?.into_inner();
    let (user, tokens) = match first.mfa_required {
        None => (first.user, first.tokens),
        Some(challenge) => {
            let code = code.ok_or_else(|| {
                let app = challenge.methods.iter().any(|m| m == "totp");
                anyhow::anyhow!(
                    "this account has a second factor: add --code with {}",
                    if app {
                        "the code your authenticator app shows (or a recovery code)"
                    } else {
                        "a recovery code (a passkey needs a browser)"
                    }
                )
            })?;
            // Recovery codes are `xxxx-xxxx-xxxx-xxxx`; app codes are digits.
            let proof = if code.trim().chars().all(|c| c.is_ascii_digit() || c == ' ') {
                Proof::TotpCode(code)
            } else {
                Proof::RecoveryCode(code)
            };
            let request = CompleteMfaLoginRequest {
                challenge_token: challenge.challenge_token,
                proof: Some(proof),
            };
            let done = auth.complete_mfa_login(request).await?.into_inner();
            (done.user, done.tokens)
        }
    };
    let tokens = tokens.unwrap_or_default();
    session.store(&tokens)?;
    let user = user.unwrap_or_default();
    match tokens.organization_id.as_str() {
        "" => println!("signed in as {} (no organization)", user.email),
        org => println!(
            "signed in as {} in organization {org} ({})",
            user.email,
            show::role(tokens.role)
        ),
    }
    Ok(())
}

/// `login --key-file`: a service account signs in with its key.
async fn login_service(session: &mut Session, key_file: &std::path::Path) -> anyhow::Result<()> {
    let answer = session.sign_in_with_key(key_file).await?;
    println!(
        "signed in as service account {} in organization {} ({})",
        answer.service_account_id,
        answer.organization_id,
        show::role(answer.role)
    );
    Ok(())
}
