//! Resumable upload through upload sessions (`CreateUploadSession`,
//! `AppendUploadChunk`, `GetUploadSession`, `CompleteUploadSession`). The
//! session lives on the server for a day without activity, so an upload
//! continues after a failure, on another server instance, or after the
//! caller restarts with the session's id.

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tonic::Code;

use super::{CHUNK_BYTES, Progress, read_chunk};
use crate::{
    Error, Result, Tenantry,
    file::v1::{
        AppendUploadChunkRequest, CompleteUploadSessionRequest, CompleteUploadSessionResponse,
        CreateUploadSessionRequest, FileMetadata, GetUploadSessionRequest, UploadSession,
    },
};

/// An upload session on the server. Keep [`id`](Self::id) to resume after
/// a restart with [`Tenantry::resume_upload`].
#[derive(Debug, Clone)]
pub struct ResumableUpload {
    tenantry: Tenantry,
    session: UploadSession,
}

impl Tenantry {
    /// Opens an upload session for a file described by `metadata`.
    ///
    /// ```no_run
    /// # async fn demo(tenantry: tenantry_client::Tenantry) -> tenantry_client::Result<()> {
    /// use tenantry_client::file::v1::FileMetadata;
    ///
    /// let metadata = FileMetadata { name: "big.iso".into(), ..Default::default() };
    /// let upload = tenantry.start_upload(metadata).await?;
    /// std::fs::write("upload.id", upload.id()).ok(); // to resume after a restart
    /// let file = tokio::fs::File::open("big.iso").await.unwrap();
    /// let done = upload.send(file, |p| println!("{}/{:?}", p.done, p.total)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn start_upload(&self, metadata: FileMetadata) -> Result<ResumableUpload> {
        let request = CreateUploadSessionRequest {
            metadata: Some(metadata),
        };
        let created = self.files().create_upload_session(request).await?;
        self.session(created.into_inner().session)
    }

    /// The upload session `session_id`, to continue with
    /// [`ResumableUpload::send`] from where the server got to.
    ///
    /// ```no_run
    /// # async fn demo(tenantry: tenantry_client::Tenantry) -> tenantry_client::Result<()> {
    /// let id = std::fs::read_to_string("upload.id").unwrap();
    /// let upload = tenantry.resume_upload(id.trim()).await?;
    /// let file = tokio::fs::File::open("big.iso").await.unwrap();
    /// upload.send(file, tenantry_client::files::no_progress).await?;
    /// # Ok(()) }
    /// ```
    pub async fn resume_upload(&self, session_id: impl Into<String>) -> Result<ResumableUpload> {
        let request = GetUploadSessionRequest {
            session_id: session_id.into(),
        };
        let found = self.files().get_upload_session(request).await?;
        self.session(found.into_inner().session)
    }

    fn session(&self, session: Option<UploadSession>) -> Result<ResumableUpload> {
        let session = session
            .ok_or_else(|| Error::local(Code::Internal, "the server sent no upload session"))?;
        Ok(ResumableUpload {
            tenantry: self.clone(),
            session,
        })
    }
}

impl ResumableUpload {
    /// The session's id.
    pub fn id(&self) -> &str {
        &self.session.id
    }

    /// Bytes the server had when this value was made.
    pub fn received_bytes(&self) -> u64 {
        u64::try_from(self.session.received_bytes).unwrap_or(0)
    }

    /// Sends the whole file's bytes from `reader` (from its start: the bytes
    /// the server already has are read and skipped), then completes the
    /// session. A chunk whose answer was lost is sent again (the server
    /// takes a chunk at an offset it already has as a no-op). When this
    /// fails, call [`Tenantry::resume_upload`] and `send` again.
    pub async fn send(
        self,
        mut reader: impl AsyncRead + Send + Unpin,
        mut progress: impl FnMut(Progress) + Send,
    ) -> Result<CompleteUploadSessionResponse> {
        let total = self
            .session
            .metadata
            .as_ref()
            .and_then(|m| m.expected_size)
            .and_then(|s| u64::try_from(s).ok());
        let mut offset = self.server_offset().await?;
        skip(&mut reader, offset).await?;
        progress(Progress {
            done: offset,
            total,
        });
        let mut buffer = vec![0; CHUNK_BYTES];
        loop {
            let filled = read_chunk(&mut reader, &mut buffer)
                .await
                .map_err(|e| Error::io("reading the upload", e))?;
            if filled == 0 {
                break;
            }
            let chunk = bytes::Bytes::copy_from_slice(&buffer[..filled]);
            offset = self.append(offset, chunk).await?;
            progress(Progress {
                done: offset,
                total,
            });
        }
        let request = CompleteUploadSessionRequest {
            session_id: self.session.id.clone(),
        };
        let completed = self
            .tenantry
            .files()
            .complete_upload_session(request)
            .await?;
        Ok(completed.into_inner())
    }

    async fn server_offset(&self) -> Result<u64> {
        let request = GetUploadSessionRequest {
            session_id: self.session.id.clone(),
        };
        let session = self.tenantry.files().get_upload_session(request).await?;
        let received = session.into_inner().session.map_or(0, |s| s.received_bytes);
        Ok(u64::try_from(received).unwrap_or(0))
    }

    /// Appends `chunk` at `offset`; the new offset.
    async fn append(&self, offset: u64, chunk: bytes::Bytes) -> Result<u64> {
        let request = AppendUploadChunkRequest {
            session_id: self.session.id.clone(),
            offset: i64::try_from(offset).unwrap_or(i64::MAX),
            chunk,
        };
        let appended = self.tenantry.files().append_upload_chunk(request).await?;
        Ok(u64::try_from(appended.into_inner().received_bytes).unwrap_or(0))
    }
}

/// Reads and drops the first `count` bytes.
async fn skip(reader: &mut (impl AsyncRead + Unpin), count: u64) -> Result<()> {
    let skipped = tokio::io::copy(&mut reader.take(count), &mut tokio::io::sink())
        .await
        .map_err(|e| Error::io("reading the upload", e))?;
    if skipped < count {
        return Err(Error::local(
            Code::InvalidArgument,
            format!("the server has {count} bytes of this upload but the input has only {skipped}"),
        ));
    }
    Ok(())
}
