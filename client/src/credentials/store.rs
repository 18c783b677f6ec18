//! Where a signed-in session's tokens are kept between calls and between
//! runs: in memory, in a file only its owner can read, or anywhere a
//! [`TokenStore`] puts them.

use std::{
    fmt,
    io::Write as _,
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde::{Deserialize, Serialize};

use crate::{Error, Result, auth::v1::TokenPair};

/// A session's token pair as kept by a [`TokenStore`].
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The access token.
    pub access_token: String,
    /// When the access token expires, in unix seconds.
    pub access_expires: i64,
    /// The refresh token (spent by each refresh; the successor replaces it).
    pub refresh_token: String,
    /// The organization the session acts in (empty: none yet).
    pub organization_id: String,
}

impl fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("access_expires", &self.access_expires)
            .field("organization_id", &self.organization_id)
            .finish_non_exhaustive()
    }
}

impl From<&TokenPair> for StoredTokens {
    fn from(pair: &TokenPair) -> Self {
        Self {
            access_token: pair.access_token.clone(),
            access_expires: pair
                .access_token_expire_time
                .as_ref()
                .map_or(0, |t| t.seconds),
            refresh_token: pair.refresh_token.clone(),
            organization_id: pair.organization_id.clone(),
        }
    }
}

/// Keeps a session's tokens. `save` must be durable before it returns: the
/// server has spent the previous refresh token.
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// The kept tokens, if any.
    fn load(&self) -> Result<Option<StoredTokens>>;
    /// Replaces the kept tokens.
    fn save(&self, tokens: &StoredTokens) -> Result<()>;
}

/// Tokens kept for the life of the process.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Option<StoredTokens>>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that starts with `tokens` (e.g. a pair from `Login`).
    pub fn with(tokens: StoredTokens) -> Self {
        Self(Mutex::new(Some(tokens)))
    }
}

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<StoredTokens>> {
        Ok(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    fn save(&self, tokens: &StoredTokens) -> Result<()> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokens.clone());
        Ok(())
    }
}

/// Tokens kept in a JSON file that only its owner can read (mode 0600),
/// replaced atomically (written aside, then renamed), so a crash never
/// leaves half a file and another process never reads one.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store at `path`; the file (and its folder) are made on first save.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where the tokens are kept.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TokenStore for FileStore {
    fn load(&self) -> Result<Option<StoredTokens>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::local(
                    tonic::Code::InvalidArgument,
                    format!("{} is not a token file: {e}", self.path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(
                format_args!("reading {}", self.path.display()),
                e,
            )),
        }
    }

    fn save(&self, tokens: &StoredTokens) -> Result<()> {
        let json = serde_json::to_vec_pretty(tokens).unwrap_or_default();
        write_private(&self.path, &json)
    }
}

/// Writes `bytes` to `path` with mode 0600, atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let failed = |e| Error::io(format_args!("writing {}", path.display()), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let aside = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&aside)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    std::fs::rename(&aside, path).map_err(failed)
}
