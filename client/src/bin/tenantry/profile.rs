//! The signed-in session on disk (mode 0600) and a client that sends its
//! access token, refreshing the pair first when the access token has (almost)
//! run out — or, for a service account signed in with a key file, exchanging
//! a new assertion (a service has no refresh token).

use std::{os::unix::fs::OpenOptionsExt as _, path::PathBuf, time::SystemTime};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tenantry_client::{
    Client,
    auth::v1::{RefreshRequest, TokenPair},
};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    server: String,
    access_token: String,
    access_expires: i64,
    refresh_token: String,
    organization_id: String,
    /// For a service account: the key file it signs in with.
    #[serde(default)]
    key_file: String,
}

pub struct Session {
    server: String,
    path: PathBuf,
    stored: Stored,
    client: Client,
}

impl Session {
    pub async fn open(
        server: &str,
        path: Option<PathBuf>,
        ca_cert: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        let path = path.unwrap_or_else(default_path);
        let stored: Stored = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {}", path.display()))?,
            Err(_) => Stored::default(),
        };
        let ca = match ca_cert {
            Some(path) => {
                Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
            }
            None => None,
        };
        let client = Client::connect_with_ca(server.to_owned(), ca.as_deref())
            .await
            .with_context(|| format!("cannot reach {server}"))?;
        let stored = if stored.server == server {
            stored
        } else {
            Stored::default()
        };
        Ok(Self {
            server: server.to_owned(),
            path,
            stored,
            client,
        })
    }

    /// A client without a token (public calls).
    pub fn anonymous(&self) -> Client {
        Client::from_channel(self.client.channel())
    }

    /// A client with a fresh access token; errors when not signed in.
    pub async fn signed_in(&mut self) -> anyhow::Result<Client> {
        if !self.stored.key_file.is_empty() {
            if self.stored.access_expires - 30 < now() {
                let key_file = PathBuf::from(&self.stored.key_file);
                self.sign_in_with_key(&key_file).await?;
            }
            return Ok(self.client.with_token(self.stored.access_token.clone()));
        }
        if self.stored.refresh_token.is_empty() {
            anyhow::bail!("not signed in: run `tenantry login --email …` first");
        }
        if self.stored.access_expires - 30 < now() {
            let tokens = self
                .anonymous()
                .auth()
                .refresh(RefreshRequest {
                    refresh_token: self.stored.refresh_token.clone(),
                })
                .await
                .context("refreshing the session (sign in again if it has ended)")?
                .into_inner()
                .tokens
                .context("server sent no tokens")?;
            self.store(&tokens)?;
        }
        Ok(self.client.with_token(self.stored.access_token.clone()))
    }

    /// Keeps a new token pair (sign-in, refresh, switch).
    pub fn store(&mut self, tokens: &TokenPair) -> anyhow::Result<()> {
        self.stored = Stored {
            server: self.server.clone(),
            access_token: tokens.access_token.clone(),
            access_expires: tokens
                .access_token_expire_time
                .as_ref()
                .map_or(0, |t| t.seconds),
            refresh_token: tokens.refresh_token.clone(),
            organization_id: tokens.organization_id.clone(),
            key_file: String::new(),
        };
        self.save()
    }

    /// Signs a service account in with its key file and keeps the token
    /// (and the key file's path, to sign in again when it runs out).
    pub async fn sign_in_with_key(
        &mut self,
        key_file: &std::path::Path,
    ) -> anyhow::Result<tenantry_client::auth::v1::ExchangeTokenResponse> {
        let key_file = std::fs::canonicalize(key_file)
            .with_context(|| format!("reading {}", key_file.display()))?;
        let answer = crate::key_file::exchange(&self.anonymous(), &key_file, now()).await?;
        self.stored = Stored {
            server: self.server.clone(),
            access_token: answer.access_token.clone(),
            access_expires: answer
                .access_token_expire_time
                .as_ref()
                .map_or(0, |t| t.seconds),
            refresh_token: String::new(),
            organization_id: answer.organization_id.clone(),
            key_file: key_file.display().to_string(),
        };
        self.save()?;
        Ok(answer)
    }

    pub fn forget(&mut self) -> anyhow::Result<()> {
        self.stored = Stored::default();
        self.save()
    }

    fn save(&self) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temp = self.path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        serde_json::to_writer_pretty(&mut file, &self.stored)?;
        std::fs::rename(&temp, &self.path)?;
        Ok(())
    }
}

fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("tenantry").join("profile.json")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
