//! Service account commands: the accounts, their keys and their secrets.

use std::{os::unix::fs::OpenOptionsExt as _, path::PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use futures::TryStreamExt as _;
use serde_json::json;
use tenantry_client::serviceaccount::v1::{
    AddServiceAccountKeyRequest, AddServiceAccountSecretRequest, CreateServiceAccountRequest,
    CredentialTimes, DeleteServiceAccountRequest, DisableServiceAccountRequest,
    EnableServiceAccountRequest, GetServiceAccountRequest, KeyAlgorithm,
    ListServiceAccountKeysRequest, ListServiceAccountSecretsRequest, ListServiceAccountsRequest,
    RevokeServiceAccountKeyRequest, RevokeServiceAccountSecretRequest, ServiceAccount,
    service_account_service_client::ServiceAccountServiceClient,
};

use crate::{
    profile::Session,
    show::{self, Output},
};

#[derive(Debug, Subcommand)]
pub enum ServiceAccountsCommand {
    /// Creates a service account (no credentials yet).
    Create {
        name: String,
        /// viewer, member or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// The organization's service accounts.
    List,
    /// One service account.
    Get {
        id: String,
    },
    /// Refuses its tokens and exchanges until enabled again.
    Disable {
        id: String,
    },
    Enable {
        id: String,
    },
    /// Deletes it with its credentials.
    Delete {
        id: String,
    },
    /// Key pairs: a service signs in with `tenantry login --key-file`.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Client secrets, for the OAuth 2.0 client-credentials grant.
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generates a key pair and writes its key file (mode 0600); or, with
    /// `--public-key`, registers your own public key.
    Add {
        id: String,
        /// Where to write the key file.
        #[arg(long, required_unless_present = "public_key")]
        out: Option<PathBuf>,
        /// RS256 for clients that cannot sign EdDSA.
        #[arg(long)]
        rsa: bool,
        /// A public key (PEM file) whose private half stays with you.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    List {
        id: String,
    },
    Revoke {
        id: String,
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Adds a client secret and prints it (once).
    Add {
        id: String,
    },
    List {
        id: String,
    },
    Revoke {
        id: String,
        secret_id: String,
    },
}

pub async fn run(session: &mut Session, command: ServiceAccountsCommand) -> anyhow::Result<()> {
    let tenantry = session.signed_in()?;
    let accounts = tenantry.service_accounts();
    match command {
        ServiceAccountsCommand::Create {
            name,
            role,
            description,
        } => {
            let request = CreateServiceAccountRequest {
                name,
                description,
                role: show::parse_role(&role)? as i32,
                client_certificate_pem: String::new(),
            };
            let created = accounts
                .clone()
                .create_service_account(request)
                .await?
                .into_inner();
            print_account(&created.service_account.unwrap_or_default());
        }
        ServiceAccountsCommand::List => {
            let all = tenantry.list(ListServiceAccountsRequest::default());
            let rows: Vec<_> = all
                .map_ok(|a| {
                    json!({
                        "id": a.id, "name": a.name, "role": show::role(a.role),
                        "state": if a.disabled { "disabled" } else { "enabled" },
                        "create_time": show::time(a.create_time.as_ref()),
                    })
                })
                .try_collect()
                .await?;
            show::list(
                session.output,
                &["id", "name", "role", "state", "create_time"],
                &rows,
            );
        }
        ServiceAccountsCommand::Get { id } => {
            let got = accounts
                .clone()
                .get_service_account(GetServiceAccountRequest {
                    service_account_id: id,
                })
                .await?
                .into_inner();
            print_account(&got.service_account.unwrap_or_default());
        }
        ServiceAccountsCommand::Disable { id } => {
            let request = DisableServiceAccountRequest {
                service_account_id: id,
            };
            let done = accounts
                .clone()
                .disable_service_account(request)
                .await?
                .into_inner();
            print_account(&done.service_account.unwrap_or_default());
        }
        ServiceAccountsCommand::Enable { id } => {
            let request = EnableServiceAccountRequest {
                service_account_id: id,
            };
            let done = accounts
                .clone()
                .enable_service_account(request)
                .await?
                .into_inner();
            print_account(&done.service_account.unwrap_or_default());
        }
        ServiceAccountsCommand::Delete { id } => {
            let request = DeleteServiceAccountRequest {
                service_account_id: id.clone(),
            };
            accounts.clone().delete_service_account(request).await?;
            println!("deleted {id}");
        }
        ServiceAccountsCommand::Keys(command) => keys(accounts, command, session.output).await?,
        ServiceAccountsCommand::Secrets(command) => {
            secrets(accounts, command, session.output).await?
        }
    }
    Ok(())
}

type Accounts = ServiceAccountServiceClient<tenantry_client::Transport>;

async fn keys(mut accounts: Accounts, command: KeysCommand, output: Output) -> anyhow::Result<()> {
    match command {
        KeysCommand::Add {
            id,
            out,
            rsa,
            public_key,
        } => {
            let public_key_pem = match public_key {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
                None => String::new(),
            };
            let algorithm = if rsa {
                KeyAlgorithm::Rs256
            } else {
                KeyAlgorithm::Ed25519
            };
            let added = accounts
                .add_service_account_key(AddServiceAccountKeyRequest {
                    service_account_id: id,
                    algorithm: algorithm as i32,
                    public_key_pem,
                    expire_time: None,
                })
                .await?
                .into_inner();
            let key = added.key.unwrap_or_default();
            if let Some(out) = out.filter(|_| !added.key_file.is_empty()) {
                write_private(&out, &added.key_file)?;
                println!(
                    "key {} written to {} (keep it secret; it is not stored)",
                    key.id,
                    out.display()
                );
            } else {
                println!("key {} registered", key.id);
            }
        }
        KeysCommand::List { id } => {
            let list = accounts
                .list_service_account_keys(ListServiceAccountKeysRequest {
                    service_account_id: id,
                })
                .await?
                .into_inner();
            let rows: Vec<_> = list
                .keys
                .iter()
                .map(|k| {
                    let algorithm =
                        KeyAlgorithm::try_from(k.algorithm).unwrap_or(KeyAlgorithm::Unspecified);
                    let mut row = times(k.times.as_ref());
                    row["id"] = json!(k.id);
                    row["algorithm"] =
                        json!(algorithm.as_str_name().trim_start_matches("KEY_ALGORITHM_"));
                    row
                })
                .collect();
            let columns = [
                "id",
                "algorithm",
                "expire_time",
                "last_use_time",
                "revoke_time",
            ];
            show::list(output, &columns, &rows);
        }
        KeysCommand::Revoke { id, key_id } => {
            let request = RevokeServiceAccountKeyRequest {
                service_account_id: id,
                key_id: key_id.clone(),
            };
            accounts.revoke_service_account_key(request).await?;
            println!("revoked key {key_id}");
        }
    }
    Ok(())
}

async fn secrets(
    mut accounts: Accounts,
    command: SecretsCommand,
    output: Output,
) -> anyhow::Result<()> {
    match command {
        SecretsCommand::Add { id } => {
            let request = AddServiceAccountSecretRequest {
                service_account_id: id.clone(),
                expire_time: None,
            };
            let added = accounts
                .add_service_account_secret(request)
                .await?
                .into_inner();
            println!("client_id      {id}");
            println!("client_secret  {}", added.client_secret);
            println!("(shown once: it is stored only as a hash)");
        }
        SecretsCommand::List { id } => {
            let request = ListServiceAccountSecretsRequest {
                service_account_id: id,
            };
            let list = accounts
                .list_service_account_secrets(request)
                .await?
                .into_inner();
            let rows: Vec<_> = list
                .secrets
                .iter()
                .map(|s| {
                    let mut row = times(s.times.as_ref());
                    row["id"] = json!(s.id);
                    row["prefix"] = json!(s.prefix);
                    row
                })
                .collect();
            let columns = [
                "id",
                "prefix",
                "expire_time",
                "last_use_time",
                "revoke_time",
            ];
            show::list(output, &columns, &rows);
        }
        SecretsCommand::Revoke { id, secret_id } => {
            let request = RevokeServiceAccountSecretRequest {
                service_account_id: id,
                secret_id: secret_id.clone(),
            };
            accounts.revoke_service_account_secret(request).await?;
            println!("revoked secret {secret_id}");
        }
    }
    Ok(())
}

fn print_account(a: &ServiceAccount) {
    println!("id           {}", a.id);
    println!("name         {}", a.name);
    println!("role         {}", show::role(a.role));
    println!("disabled     {}", a.disabled);
    if !a.certificate_sha256.is_empty() {
        println!("certificate  {}", a.certificate_sha256);
    }
    println!("created      {}", show::when(a.create_time.as_ref()));
}

/// A credential's times as row fields.
fn times(t: Option<&CredentialTimes>) -> serde_json::Value {
    let t = t.cloned().unwrap_or_default();
    json!({
        "expire_time": show::time(t.expire_time.as_ref()),
        "last_use_time": show::time(t.last_use_time.as_ref()),
        "revoke_time": show::time(t.revoke_time.as_ref()),
    })
}

/// Writes a secret file readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}
