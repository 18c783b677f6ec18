//! Where file bytes live: a local folder or any S3 API, behind one trait.
//! Keys are made by the server (never from a file's name), prefixed by
//! organization and sharded; nothing is visible at a key until its write
//! has finished.

pub mod keys;
mod local;
mod s3;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

pub use local::LocalStore;
pub use s3::S3Store;

use crate::error::ApiError;

pub type ByteStream = BoxStream<'static, Result<Bytes, BlobError>>;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such blob")]
    NotFound,
    #[error("blob store i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("s3: {0}")]
    S3(String),
    /// The stored bytes do not hash to what was recorded.
    #[error("stored bytes do not match their SHA-256")]
    Corrupt,
}

impl From<BlobError> for ApiError {
    fn from(err: BlobError) -> Self {
        match err {
            BlobError::NotFound => {
                tracing::error!("a file's bytes are missing from the blob store");
                ApiError::DataLoss("the file's bytes are missing from the store".into())
            }
            BlobError::Corrupt => {
                tracing::error!("a file's stored bytes do not match their SHA-256");
                ApiError::DataLoss("the stored bytes do not match the file's SHA-256".into())
            }
            BlobError::Io(io) if is_full(&io) => {
                tracing::error!(error = %io, "the blob store's disk is full");
                ApiError::ResourceExhausted {
                    message: "the file store is out of space: retry once there is room".into(),
                    retry_after: None,
                }
            }
            other => {
                tracing::error!(error = %other, "blob store failure");
                ApiError::Unavailable("the file store is not available, retry later".into())
            }
        }
    }
}

/// A disk out of space (ENOSPC), a quota reached (EDQUOT) or a file-size
/// limit (EFBIG): the store is full, not broken.
fn is_full(err: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        err.kind(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
    )
}

/// Where a multipart upload that could not be aborted (the store was down
/// when the write failed) is written down, so that it is aborted later by
/// whichever instance runs the job, after a restart too.
#[async_trait]
pub trait AbortLater: Send + Sync {
    /// Whether it was written down; if not, the store retries in memory.
    async fn remember(&self, object: &str, upload_id: &str) -> bool;
}

/// An object in a listing.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub modified: DateTime<Utc>,
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Starts a streamed write to `key`; nothing is visible there until
    /// [`BlobWriter::finish`].
    async fn create(&self, key: &str) -> Result<Box<dyn BlobWriter>, BlobError>;

    /// Stores a small object in one go.
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError>;

    /// Streams `length` bytes (all when `None`) from `offset`.
    async fn read(
        &self,
        key: &str,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ByteStream, BlobError>;

    /// Streams the whole object and checks that it hashes to `sha256` (hex);
    /// if not, the stream ends with [`BlobError::Corrupt`].
    async fn read_checked(&self, key: &str, sha256: &str) -> Result<ByteStream, BlobError> {
        Ok(checked(self.read(key, 0, None).await?, sha256.to_owned()))
    }

    /// Removes an object; removing a missing one is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// One page of the objects under `prefix` (pass the returned token for
    /// the next).
    async fn list(
        &self,
        prefix: &str,
        token: Option<String>,
    ) -> Result<(Vec<Listed>, Option<String>), BlobError>;

    /// Removes writes that never finished (temporary files, multipart
    /// uploads) and are idle since before `before`; a store that cannot tell
    /// when a write was last fed waits longer, so that no write still in
    /// flight is cut. Returns how many.
    async fn sweep_unfinished(&self, before: DateTime<Utc>) -> Result<u64, BlobError>;

    /// Aborts a multipart upload left open when a write failed (see
    /// [`AbortLater`]); one that is gone already counts as aborted. Stores
    /// without multipart uploads have nothing to do.
    async fn abort_multipart(&self, _object: &str, _upload_id: &str) -> Result<(), BlobError> {
        Ok(())
    }

    /// A URL that downloads the object until `signed_at + ttl`, when the
    /// store can make one.
    async fn presign(
        &self,
        key: &str,
        signed_at: DateTime<Utc>,
        ttl: Duration,
        filename: &str,
    ) -> Result<Option<String>, BlobError>;

    fn kind(&self) -> &'static str;
}

#[async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError>;
    /// Makes the object visible at its key.
    async fn finish(self: Box<Self>) -> Result<(), BlobError>;
    /// Drops what was written.
    async fn abort(self: Box<Self>);
}

/// A `Content-Disposition` that downloads under `filename` (RFC 6266, with
/// an ASCII fallback), so a browser never renders uploaded content inline.
pub fn attachment(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// `bytes`, hashed on the way, ending with [`BlobError::Corrupt`] when the
/// digest is not `expected` (hex).
pub fn checked(bytes: ByteStream, expected: String) -> ByteStream {
    use futures::StreamExt as _;
    use sha2::{Digest as _, Sha256};
    let state = (bytes, Some(Sha256::new()), expected);
    futures::stream::unfold(state, |(mut bytes, mut hasher, expected)| async move {
        let mut digest = hasher.take()?;
        match bytes.next().await {
            Some(Ok(chunk)) => {
                digest.update(&chunk);
                Some((Ok(chunk), (bytes, Some(digest), expected)))
            }
            Some(Err(err)) => Some((Err(err), (bytes, None, expected))),
            None if hex::encode(digest.finalize()) == expected => None,
            None => Some((Err(BlobError::Corrupt), (bytes, None, expected))),
        }
    })
    .boxed()
}
