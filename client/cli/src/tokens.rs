//! Personal access token commands.

use clap::Subcommand;
use serde_json::json;
use tenantry_client::auth::v1::{
    CreatePersonalAccessTokenRequest, ListPersonalAccessTokensRequest,
    RevokePersonalAccessTokenRequest,
};

use crate::{profile::Session, show};

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Creates a token for the organization you are pinned to and prints it
    /// (once). Send it as `authorization: Bearer <token>`.
    Create {
        name: String,
        /// At most your own role. Default: your role.
        #[arg(long)]
        role: Option<String>,
        /// Days until it expires (at most 366).
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
    /// Your tokens.
    List,
    Revoke {
        id: String,
    },
}

pub async fn run(session: &mut Session, command: TokensCommand) -> anyhow::Result<()> {
    let mut auth = session.signed_in()?.auth();
    match command {
        TokensCommand::Create { name, role, days } => {
            let role = match role {
                Some(role) => show::parse_role(&role)? as i32,
                None => 0,
            };
            let expires = std::time::SystemTime::now()
                + std::time::Duration::from_secs(86_400 * days.max(0) as u64);
            let created = auth
                .create_personal_access_token(CreatePersonalAccessTokenRequest {
                    name,
                    role,
                    expire_time: Some(expires.into()),
                })
                .await?
                .into_inner();
            let made = created.personal_access_token.unwrap_or_default();
            println!("{}", created.token);
            eprintln!(
                "token {} for organization {} as {}, expires {} (shown once)",
                made.id,
                made.organization_id,
                show::role(made.role),
                show::when(made.expire_time.as_ref())
            );
        }
        TokensCommand::List => {
            let list = auth
                .list_personal_access_tokens(ListPersonalAccessTokensRequest {})
                .await?
                .into_inner();
            let rows: Vec<_> = list
                .personal_access_tokens
                .iter()
                .map(|t| {
                    json!({
                        "id": t.id, "name": t.name, "prefix": t.prefix,
                        "role": show::role(t.role),
                        "organization_id": t.organization_id,
                        "expire_time": show::time(t.expire_time.as_ref()),
                        "last_use_time": show::time(t.last_use_time.as_ref()),
                        "revoke_time": show::time(t.revoke_time.as_ref()),
                    })
                })
                .collect();
            let columns = [
                "id",
                "name",
                "prefix",
                "role",
                "expire_time",
                "last_use_time",
                "revoke_time",
            ];
            show::list(session.output, &columns, &rows);
        }
        TokensCommand::Revoke { id } => {
            auth.revoke_personal_access_token(RevokePersonalAccessTokenRequest {
                personal_access_token_id: id.clone(),
            })
            .await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
