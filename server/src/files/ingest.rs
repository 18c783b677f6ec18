//! Taking in a file's bytes: written to the blob store as they arrive, hashed
//! and counted on the way, with the size limit, the declared size and the
//! quota checked at every chunk. Dropped before it finishes (an error, a
//! client that went away), it removes what it wrote.

use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use crate::{
    blob::{BlobStore, BlobWriter, keys},
    error::{ApiError, ApiResult},
};

/// How much of the start of a file goes to content sniffing.
const SNIFF_BYTES: usize = 8192;

/// What an upload may use, read from the organization before it starts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_file_size: i64,
    /// Quota minus what is already used.
    pub quota_left: i64,
}

/// Bytes stored and described, not yet a file.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub key: String,
    /// False when the bytes were only verified against content already
    /// stored at `key` (nothing was written).
    pub written: bool,
    pub size: i64,
    pub sha256: String,
    pub detected_content_type: String,
}

pub struct Ingest {
    writer: Option<Box<dyn BlobWriter>>,
    /// Hashing only: the content is already stored at `key`.
    verify_only: bool,
    key: String,
    hasher: Sha256,
    size: i64,
    head: Vec<u8>,
    limits: Limits,
    expected_size: Option<i64>,
}

pub fn too_large(max: i64) -> ApiError {
    ApiError::invalid(
        "chunk",
        format!("the file is larger than the maximum of {max} bytes"),
    )
}

pub fn over_quota() -> ApiError {
    ApiError::ResourceExhausted {
        message: "the organization's storage quota would be exceeded".into(),
        retry_after: None,
    }
}

/// Refuses a declared size the limits already rule out (before any byte).
pub fn check_declared(expected_size: Option<i64>, limits: Limits) -> ApiResult<()> {
    match expected_size {
        Some(size) if size > limits.max_file_size => Err(ApiError::invalid(
            "metadata.expected_size",
            format!(
                "is larger than the maximum of {} bytes",
                limits.max_file_size
            ),
        )),
        Some(size) if size > limits.quota_left => Err(over_quota()),
        _ => Ok(()),
    }
}

impl Ingest {
    pub async fn start(
        store: Arc<dyn BlobStore>,
        org_id: &str,
        limits: Limits,
        expected_size: Option<i64>,
    ) -> ApiResult<Self> {
        check_declared(expected_size, limits)?;
        let key = keys::content(org_id);
        let writer = store.create(&key).await?;
        Ok(Self::new(Some(writer), key, limits, expected_size))
    }

    /// An upload of content the organization already stores at `key` (its
    /// SHA-256 was declared): the bytes are hashed to prove it, not written.
    pub fn verify_only(key: String, limits: Limits, expected_size: Option<i64>) -> ApiResult<Self> {
        check_declared(expected_size, limits)?;
        Ok(Self::new(None, key, limits, expected_size))
    }

    /// Nothing taken in yet; with no writer, the bytes are only verified.
    fn new(
        writer: Option<Box<dyn BlobWriter>>,
        key: String,
        limits: Limits,
        expected_size: Option<i64>,
    ) -> Self {
        Self {
            verify_only: writer.is_none(),
            writer,
            key,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
            limits,
            expected_size,
        }
    }

    pub async fn push(&mut self, chunk: Bytes) -> ApiResult<()> {
        let size = self.size + i64::try_from(chunk.len()).unwrap_or(i64::MAX);
        if size > self.limits.max_file_size {
            return Err(too_large(self.limits.max_file_size));
        }
        if let Some(expected) = self.expected_size
            && size > expected
        {
            return Err(ApiError::invalid(
                "metadata.expected_size",
                format!("more than the declared {expected} bytes arrived"),
            ));
        }
        if size > self.limits.quota_left {
            return Err(over_quota());
        }
        if self.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(&chunk);
        self.size = size;
        if self.verify_only {
            return Ok(());
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| ApiError::internal("write after finish"))?;
        writer.write(chunk).await?;
        Ok(())
    }

    /// Throws away what was written (and waits until it is gone).
    pub async fn abort(mut self) {
        if let Some(writer) = self.writer.take() {
            writer.abort().await;
        }
    }

    /// Finishes the write and checks the declared size and checksum; on any
    /// failure nothing stays behind.
    pub async fn finish(mut self, expected_sha256: Option<&str>) -> ApiResult<Ingested> {
        if let Some(expected) = self.expected_size
            && self.size != expected
        {
            let error = ApiError::invalid(
                "metadata.expected_size",
                format!("{} bytes arrived, {expected} were declared", self.size),
            );
            self.abort().await;
            return Err(error);
        }
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        if let Some(expected) = expected_sha256
            && expected != sha256
        {
            self.abort().await;
            return Err(ApiError::DataLoss(format!(
                "the content's SHA-256 is {sha256}, not the expected {expected}"
            )));
        }
        if !self.verify_only {
            let writer = self
                .writer
                .take()
                .ok_or_else(|| ApiError::internal("finished twice"))?;
            writer.finish().await?;
        }
        Ok(Ingested {
            written: !self.verify_only,
            key: std::mem::take(&mut self.key),
            size: self.size,
            sha256,
            detected_content_type: sniff(&self.head),
        })
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            // Neither finished nor aborted (the caller went away): throw the
            // partial write away in the background.
            tokio::spawn(writer.abort());
        }
    }
}

/// Feeds `chunks` into `ingest`, aborting it on the first error.
/// Takes in every chunk, then finishes (checking size and checksum).
pub async fn take_in<S>(
    mut ingest: Ingest,
    mut chunks: S,
    expected_sha256: Option<&str>,
) -> ApiResult<Ingested>
where
    S: futures::Stream<Item = ApiResult<Option<Bytes>>> + Unpin,
{
    use futures::StreamExt as _;
    while let Some(next) = chunks.next().await {
        let pushed = match next {
            Ok(Some(chunk)) => ingest.push(chunk).await,
            Ok(None) => Ok(()),
            Err(err) => Err(err),
        };
        if let Err(err) = pushed {
            ingest.abort().await;
            return Err(err);
        }
    }
    ingest.finish(expected_sha256).await
}

/// The type the first bytes announce (magic numbers), or "" when unknown.
pub fn sniff(head: &[u8]) -> String {
    infer::get(head)
        .map(|t| t.mime_type().to_owned())
        .unwrap_or_default()
}
