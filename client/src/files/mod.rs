//! File helpers on [`Tenantry`](crate::Tenantry): streamed upload from a
//! path or any `AsyncRead`, resumable upload through upload sessions, and
//! download to any `AsyncWrite` that resumes by range and checks the
//! SHA-256. Each reports its progress to a callback.

mod download;
mod resumable;
mod upload;

pub use resumable::ResumableUpload;

/// How far a transfer is, passed to the progress callback after each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes transferred so far, counting those sent or written before a
    /// resume.
    pub done: u64,
    /// The whole size, when known.
    pub total: Option<u64>,
}

/// The size of each chunk the helpers send (the server takes up to 4 MiB
/// per `AppendUploadChunk` and per streamed message).
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// A progress callback that ignores progress.
pub fn no_progress(_: Progress) {}

/// Fills `buffer` from `reader` as far as it goes: fewer bytes than its
/// length only at the end of the input.
async fn read_chunk(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
    buffer: &mut [u8],
) -> std::io::Result<usize> {
    use tokio::io::AsyncReadExt as _;
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
