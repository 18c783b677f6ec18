//! `Upload` (client streaming) from a path or any reader.

use std::path::Path;

use futures::{StreamExt as _, channel::oneshot};
use tokio::io::AsyncRead;

use super::{CHUNK_BYTES, Progress, read_chunk};
use crate::{
    Error, Result, Tenantry,
    file::v1::{FileMetadata, UploadRequest, UploadResponse, upload_request::Part},
};

impl Tenantry {
    /// Streams `reader` to the server as one file, one chunk in memory at a
    /// time. Set `metadata.expected_size` (and `expected_sha256`) when you
    /// know them: the server then refuses a file that does not match. A
    /// failure to read aborts the upload; the server keeps nothing.
    ///
    /// ```no_run
    /// # async fn demo(tenantry: tenantry_client::Tenantry) -> tenantry_client::Result<()> {
    /// use tenantry_client::file::v1::FileMetadata;
    ///
    /// let metadata = FileMetadata { name: "hello.txt".into(), ..Default::default() };
    /// let uploaded = tenantry
    ///     .upload(metadata, &b"hello"[..], |p| println!("{} bytes sent", p.done))
    ///     .await?;
    /// println!("stored as {}", uploaded.file.unwrap_or_default().id);
    /// # Ok(()) }
    /// ```
    pub async fn upload(
        &self,
        metadata: FileMetadata,
        reader: impl AsyncRead + Send + Unpin + 'static,
        progress: impl FnMut(Progress) + Send + 'static,
    ) -> Result<UploadResponse> {
        let total = metadata.expected_size.and_then(|s| u64::try_from(s).ok());
        let (failed, read_error) = oneshot::channel();
        let first = UploadRequest {
            part: Some(Part::Metadata(metadata)),
        };
        let chunks = chunks(reader, total, progress, failed);
        let messages = futures::stream::once(async { first }).chain(chunks);
        let mut files = self.files();
        tokio::select! {
            uploaded = files.upload(messages) => Ok(uploaded?.into_inner()),
            // Dropping the call resets the stream: the server discards it.
            Ok(err) = read_error => Err(err),
        }
    }

    /// Uploads the file at `path`. `metadata.name` defaults to the file's
    /// name and `expected_size` to its size.
    ///
    /// ```no_run
    /// # async fn demo(tenantry: tenantry_client::Tenantry) -> tenantry_client::Result<()> {
    /// let uploaded = tenantry
    ///     .upload_path("report.pdf", Default::default(), tenantry_client::files::no_progress)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn upload_path(
        &self,
        path: impl AsRef<Path>,
        mut metadata: FileMetadata,
        progress: impl FnMut(Progress) + Send + 'static,
    ) -> Result<UploadResponse> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::io(format_args!("opening {}", path.display()), e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| Error::io(format_args!("reading {}", path.display()), e))?
            .len();
        if metadata.name.is_empty() {
            metadata.name = file_name(path);
        }
        metadata.expected_size = metadata.expected_size.or(i64::try_from(size).ok());
        self.upload(metadata, file, progress).await
    }
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The reader's bytes as upload messages. A read error is sent to `failed`
/// and ends the stream.
fn chunks(
    reader: impl AsyncRead + Send + Unpin + 'static,
    total: Option<u64>,
    progress: impl FnMut(Progress) + Send + 'static,
    failed: oneshot::Sender<Error>,
) -> impl futures::Stream<Item = UploadRequest> + Send + 'static {
    let state = (reader, progress, Some(failed), 0_u64);
    futures::stream::unfold(
        state,
        move |(mut reader, mut progress, mut failed, done)| async move {
            let mut buffer = vec![0; CHUNK_BYTES];
            let filled = match read_chunk(&mut reader, &mut buffer).await {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) => {
                    if let Some(failed) = failed.take() {
                        let _ = failed.send(Error::io("reading the upload", e));
                    }
                    return futures::future::pending().await;
                }
            };
            buffer.truncate(filled);
            let done = done + filled as u64;
            progress(Progress { done, total });
            let message = UploadRequest {
                part: Some(Part::Chunk(buffer.into())),
            };
            Some((message, (reader, progress, failed, done)))
        },
    )
}
