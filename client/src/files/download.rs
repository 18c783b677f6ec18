//! `Download` (server streaming) to any writer: a stream that breaks is
//! resumed by range from the last byte written, and the bytes are checked
//! against the file's SHA-256 at the end.

use std::path::Path;

use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tonic::Code;

use super::{Progress, read_chunk};
use crate::{
    Error, Result, Tenantry,
    file::v1::{DownloadRequest, File, download_response::Part},
};

/// Broken streams resumed per download before giving up.
const RESUMES: u32 = 3;

/// Where a download is.
struct Received {
    offset: u64,
    hasher: Sha256,
    file: Option<File>,
}

impl Tenantry {
    /// Writes the file's bytes to `writer` and returns its metadata. A
    /// stream that breaks (`Unavailable`, `ResourceExhausted`) is resumed
    /// from the last byte written; the result is checked against the file's
    /// SHA-256 (`DataLoss` when it differs).
    ///
    /// ```no_run
    /// # async fn demo(tenantry: tenantry_client::Tenantry, file_id: &str) -> tenantry_client::Result<()> {
    /// let mut bytes = Vec::new();
    /// let file = tenantry
    ///     .download(file_id, &mut bytes, |p| println!("{}/{:?}", p.done, p.total))
    ///     .await?;
    /// assert_eq!(bytes.len() as i64, file.size_bytes);
    /// # Ok(()) }
    /// ```
    pub async fn download(
        &self,
        file_id: &str,
        writer: &mut (impl AsyncWrite + Unpin + Send),
        progress: impl FnMut(Progress) + Send,
    ) -> Result<File> {
        let start = Received {
            offset: 0,
            hasher: Sha256::new(),
            file: None,
        };
        self.download_from(file_id, start, writer, progress).await
    }

    /// Downloads into the file at `path`. When the file already holds the
    /// start of the download (an earlier run stopped), only the rest is
    /// fetched; the whole is checked against the SHA-256 all the same.
    ///
    /// ```no_run
    /// # async fn demo(tenantry: tenantry_client::Tenantry, file_id: &str) -> tenantry_client::Result<()> {
    /// tenantry.download_to_path(file_id, "report.pdf", tenantry_client::files::no_progress).await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_to_path(
        &self,
        file_id: &str,
        path: impl AsRef<Path>,
        progress: impl FnMut(Progress) + Send,
    ) -> Result<File> {
        let path = path.as_ref();
        let failed = |e| Error::io(format_args!("writing {}", path.display()), e);
        let mut target = tokio::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .await
            .map_err(failed)?;
        let start = hash_existing(&mut target).await.map_err(failed)?;
        self.download_from(file_id, start, &mut target, progress)
            .await
    }

    async fn download_from(
        &self,
        file_id: &str,
        mut at: Received,
        writer: &mut (impl AsyncWrite + Unpin + Send),
        mut progress: impl FnMut(Progress) + Send,
    ) -> Result<File> {
        let mut resumes = 0;
        loop {
            let before = at.offset;
            match self.receive(file_id, &mut at, writer, &mut progress).await {
                Ok(()) => break,
                Err(e) if e.is_retryable() && resumes < RESUMES => {
                    // Progress since the last break earns a fresh budget.
                    resumes = if at.offset > before { 1 } else { resumes + 1 };
                }
                Err(e) => return Err(e),
            }
        }
        writer
            .flush()
            .await
            .map_err(|e| Error::io("writing the download", e))?;
        let file = at.file.unwrap_or_default();
        let got = hex::encode(at.hasher.finalize());
        if got != file.sha256 {
            return Err(Error::local(
                Code::DataLoss,
                format!(
                    "downloaded bytes have SHA-256 {got}, the file has {}",
                    file.sha256
                ),
            ));
        }
        Ok(file)
    }

    /// One `Download` call from `at.offset` to the end.
    async fn receive(
        &self,
        file_id: &str,
        at: &mut Received,
        writer: &mut (impl AsyncWrite + Unpin + Send),
        progress: &mut (impl FnMut(Progress) + Send),
    ) -> Result<()> {
        let request = DownloadRequest {
            file_id: file_id.to_owned(),
            offset: i64::try_from(at.offset).unwrap_or(i64::MAX),
            length: 0,
        };
        let mut stream = self.files().download(request).await?.into_inner();
        let mut total = None;
        while let Some(message) = stream.message().await? {
            match message.part {
                Some(Part::File(file)) => {
                    total = u64::try_from(file.size_bytes).ok();
                    progress(Progress {
                        done: at.offset,
                        total,
                    });
                    at.file = Some(file);
                }
                Some(Part::Chunk(chunk)) => {
                    writer
                        .write_all(&chunk)
                        .await
                        .map_err(|e| Error::io("writing the download", e))?;
                    at.hasher.update(&chunk);
                    at.offset += chunk.len() as u64;
                    progress(Progress {
                        done: at.offset,
                        total,
                    });
                }
                None => {}
            }
        }
        Ok(())
    }
}

/// The hash and length of what `file` already holds.
async fn hash_existing(file: &mut tokio::fs::File) -> std::io::Result<Received> {
    let mut hasher = Sha256::new();
    let mut offset = 0;
    let mut buffer = vec![0; super::CHUNK_BYTES];
    loop {
        let n = read_chunk(file, &mut buffer).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        offset += n as u64;
    }
    Ok(Received {
        offset,
        hasher,
        file: None,
    })
}
