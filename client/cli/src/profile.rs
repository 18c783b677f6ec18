//! The signed-in session on disk (mode 0600) and handles that call with it.
//! The SDK does the work: a person's session is a `StoredSession` over this
//! profile (refreshed, rotation kept here), a service account a `KeyFile`
//! (a new assertion exchanged per run; a service has no refresh token).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tenantry_client::{
    Error, Tenantry,
    auth::v1::{ExchangeTokenResponse, TokenPair},
    credentials::{KeyFile, StoredSession, StoredTokens, TokenStore, write_private},
};

use crate::show::Output;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    server: String,
    #[serde(flatten)]
    tokens: StoredTokens,
    /// For a service account: the key file it signs in with.
    #[serde(default)]
    key_file: String,
}

/// The profile file as the SDK's token store.
#[derive(Debug, Clone)]
struct Profile {
    server: String,
    path: PathBuf,
}

impl Profile {
    fn read(&self) -> anyhow::Result<Stored> {
        let stored: Stored = match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {}", self.path.display()))?,
            Err(_) => Stored::default(),
        };
        // A profile signed in to another server is not ours.
        Ok(if stored.server == self.server {
            stored
        } else {
            Stored::default()
        })
    }

    fn write(&self, stored: &Stored) -> Result<(), Error> {
        let json = serde_json::to_vec_pretty(stored).unwrap_or_default();
        write_private(&self.path, &json)
    }
}

impl TokenStore for Profile {
    fn load(&self) -> Result<Option<StoredTokens>, Error> {
        let stored = self.read().map_err(|e| {
            Error::local(
                tenantry_client::tonic::Code::InvalidArgument,
                format!("{e:#}"),
            )
        })?;
        Ok((!stored.tokens.refresh_token.is_empty()).then_some(stored.tokens))
    }

    fn save(&self, tokens: &StoredTokens) -> Result<(), Error> {
        self.write(&Stored {
            server: self.server.clone(),
            tokens: tokens.clone(),
            key_file: String::new(),
        })
    }
}

pub struct Session {
    profile: Profile,
    tenantry: Tenantry,
    pub output: Output,
}

impl Session {
    pub fn open(
        server: &str,
        path: Option<PathBuf>,
        ca_cert: Option<&Path>,
        output: Output,
    ) -> anyhow::Result<Self> {
        let mut builder = Tenantry::builder(server)
            .user_agent(concat!("tenantry-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            builder = builder.ca_certificate(pem);
        }
        Ok(Self {
            profile: Profile {
                server: server.to_owned(),
                path: path.unwrap_or_else(default_path),
            },
            tenantry: builder.build()?,
            output,
        })
    }

    /// A handle without credentials (public calls).
    pub fn anonymous(&self) -> Tenantry {
        self.tenantry.clone()
    }

    /// A handle that calls as the profile's session or service account.
    pub fn signed_in(&self) -> anyhow::Result<Tenantry> {
        let stored = self.profile.read()?;
        if !stored.key_file.is_empty() {
            let key = KeyFile::from_path(&stored.key_file)?;
            return Ok(self.tenantry.with_credentials(key));
        }
        if stored.tokens.refresh_token.is_empty() {
            anyhow::bail!(Error::local(
                tenantry_client::tonic::Code::Unauthenticated,
                "not signed in: run `tenantry login --email …` first",
            ));
        }
        Ok(self
            .tenantry
            .with_credentials(StoredSession::new(self.profile.clone())))
    }

    /// Keeps a new token pair (sign-in, organization created).
    pub fn store(&self, tokens: &TokenPair) -> anyhow::Result<()> {
        Ok(self.profile.save(&StoredTokens::from(tokens))?)
    }

    /// Signs a service account in with its key file and keeps the key
    /// file's path, to sign in with it on every run.
    pub async fn sign_in_with_key(&self, key_file: &Path) -> anyhow::Result<ExchangeTokenResponse> {
        let key_file = std::fs::canonicalize(key_file)
            .with_context(|| format!("reading {}", key_file.display()))?;
        let key = KeyFile::from_path(&key_file)?;
        let answer = key.exchange(self.tenantry.auth()).await?;
        self.profile.write(&Stored {
            server: self.profile.server.clone(),
            tokens: StoredTokens::default(),
            key_file: key_file.display().to_string(),
        })?;
        Ok(answer)
    }

    pub fn forget(&self) -> anyhow::Result<()> {
        Ok(self.profile.write(&Stored::default())?)
    }
}

fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("tenantry").join("profile.json")
}
