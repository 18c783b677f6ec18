//! Blobs in a local folder: each write goes to `.tmp/` and is renamed into
//! place when complete, so a half-written file is never visible at its key.
//!
//! A write or read runs on a blocking thread of its own, joined to the
//! request by a small bounded channel: the request task hashes one chunk
//! while the thread writes the previous (memory stays at a few chunks), and
//! writeback to the disk starts every 32 MiB instead of all at the final
//! fsync (measured in BENCHMARKS.md).

use std::{
    io::{Read as _, Seek as _, Write as _},
    path::{Path, PathBuf},
    time::Duration,
};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::{BlobError, BlobStore, BlobWriter, ByteStream, Listed, keys};

const TMP: &str = ".tmp";
const READ_CHUNK: usize = 1024 * 1024;
/// Chunks in flight between a request and its file thread.
const IN_FLIGHT: usize = 4;
/// Bytes after which written data is flushed toward the disk.
const FLUSH_EVERY: u64 = 32 * 1024 * 1024;

#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join(TMP))?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        if !keys::is_safe(key) {
            return Err(BlobError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("refusing unsafe blob key {key:?}"),
            )));
        }
        Ok(self.root.join(key))
    }

    fn temp_path(&self) -> PathBuf {
        self.root
            .join(TMP)
            .join(format!("{}.part", uuid::Uuid::new_v4().simple()))
    }

    /// The object's bytes from a reader thread; hashed there when
    /// `expected_sha256` is given.
    fn stream(
        &self,
        key: &str,
        offset: u64,
        length: Option<u64>,
        expected_sha256: Option<String>,
    ) -> Result<ByteStream, BlobError> {
        let path = self.path(key)?;
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound);
            }
            Err(err) => return Err(err.into()),
        };
        let (chunks, stream) = mpsc::channel::<Result<Bytes, BlobError>>(IN_FLIGHT);
        tokio::task::spawn_blocking(move || {
            let mut hasher = expected_sha256.as_ref().map(|_| Sha256::new());
            let mut left = length.unwrap_or(u64::MAX);
            if let Err(err) = file.seek(std::io::SeekFrom::Start(offset)) {
                let _ = chunks.blocking_send(Err(err.into()));
                return;
            }
            while left > 0 {
                let want = usize::try_from(left.min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
                let mut buffer = BytesMut::zeroed(want);
                let read = match file.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(err) => {
                        let _ = chunks.blocking_send(Err(err.into()));
                        return;
                    }
                };
                buffer.truncate(read);
                left = left.saturating_sub(read as u64);
                if let Some(hasher) = hasher.as_mut() {
                    hasher.update(&buffer);
                }
                // A closed channel: the caller went away.
                if chunks.blocking_send(Ok(buffer.freeze())).is_err() {
                    return;
                }
            }
            if let (Some(hasher), Some(expected)) = (hasher, expected_sha256)
                && hex::encode(hasher.finalize()) != expected
            {
                let _ = chunks.blocking_send(Err(BlobError::Corrupt));
            }
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(stream).boxed())
    }
}

/// What the request task tells its file thread.
enum Command {
    Write(Bytes),
    /// Sync, rename into place, report.
    Finish(oneshot::Sender<std::io::Result<()>>),
}

struct LocalWriter {
    commands: mpsc::Sender<Command>,
    /// The first error of the thread, reported at the next call.
    failed: oneshot::Receiver<std::io::Error>,
    temp: PathBuf,
}

impl LocalWriter {
    fn thread_error(&mut self) -> BlobError {
        match self.failed.try_recv() {
            Ok(err) => BlobError::Io(err),
            Err(_) => BlobError::Io(std::io::Error::other("the file writer stopped")),
        }
    }
}

/// Runs on the file thread: writes what arrives, flushes as it goes.
fn write_file(
    temp: &Path,
    dest: &Path,
    mut commands: mpsc::Receiver<Command>,
) -> Result<(), std::io::Error> {
    let mut file = std::fs::File::create(temp)?;
    let mut unflushed = 0_u64;
    while let Some(command) = commands.blocking_recv() {
        match command {
            Command::Write(bytes) => {
                file.write_all(&bytes)?;
                unflushed += bytes.len() as u64;
                if unflushed >= FLUSH_EVERY {
                    // Keep the disk busy while more bytes arrive.
                    file.sync_data()?;
                    unflushed = 0;
                }
            }
            Command::Finish(done) => {
                let result = finish_file(&file, temp, dest);
                let _ = done.send(result);
                return Ok(());
            }
        }
    }
    // The writer was dropped or aborted: nothing must remain.
    drop(file);
    std::fs::remove_file(temp)
}

fn finish_file(file: &std::fs::File, temp: &Path, dest: &Path) -> std::io::Result<()> {
    let result = (|| {
        file.sync_all()?;
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(temp, dest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(temp);
    }
    result
}

#[async_trait]
impl BlobWriter for LocalWriter {
    async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        if self.commands.send(Command::Write(bytes)).await.is_err() {
            return Err(self.thread_error());
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<(), BlobError> {
        let (done, result) = oneshot::channel();
        if self.commands.send(Command::Finish(done)).await.is_err() {
            return Err(self.thread_error());
        }
        match result.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(self.thread_error()),
        }
    }

    async fn abort(self: Box<Self>) {
        let temp = self.temp.clone();
        // Closing the channel makes the thread remove its file; wait for it
        // so the caller can rely on nothing being left.
        drop(self.commands);
        let _ = self.failed.await;
        let _ = tokio::fs::remove_file(&temp).await;
    }
}

#[async_trait]
impl BlobStore for LocalStore {
    async fn create(&self, key: &str) -> Result<Box<dyn BlobWriter>, BlobError> {
        let dest = self.path(key)?;
        let temp = self.temp_path();
        let (commands, queue) = mpsc::channel(IN_FLIGHT);
        let (report, failed) = oneshot::channel();
        let thread_temp = temp.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(err) = write_file(&thread_temp, &dest, queue) {
                let _ = std::fs::remove_file(&thread_temp);
                let _ = report.send(err);
            }
            // Dropping `report` tells a waiting `abort` the thread is done.
        });
        Ok(Box::new(LocalWriter {
            commands,
            failed,
            temp,
        }))
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let mut writer = self.create(key).await?;
        writer.write(bytes).await?;
        writer.finish().await
    }

    /// Hashes on the reader thread, beside the request task that sends.
    async fn read_checked(&self, key: &str, sha256: &str) -> Result<ByteStream, BlobError> {
        self.stream(key, 0, None, Some(sha256.to_owned()))
    }

    async fn read(
        &self,
        key: &str,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ByteStream, BlobError> {
        self.stream(key, offset, length, None)
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err.into()),
            _ => Ok(()),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        _token: Option<String>,
    ) -> Result<(Vec<Listed>, Option<String>), BlobError> {
        let root = self.root.clone();
        let start = root.join(prefix.trim_end_matches('/'));
        let listed = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            walk(&root, &start, &mut out)?;
            Ok::<_, std::io::Error>(out)
        })
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))??;
        Ok((listed, None))
    }

    async fn sweep_unfinished(&self, before: DateTime<Utc>) -> Result<u64, BlobError> {
        let dir = self.root.join(TMP);
        let mut stale = Vec::new();
        walk(&self.root, &dir, &mut stale)?;
        let mut removed = 0;
        for entry in stale.into_iter().filter(|e| e.modified < before) {
            if tokio::fs::remove_file(self.root.join(&entry.key))
                .await
                .is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn presign(
        &self,
        _key: &str,
        _at: DateTime<Utc>,
        _ttl: Duration,
        _name: &str,
    ) -> Result<Option<String>, BlobError> {
        Ok(None)
    }

    fn kind(&self) -> &'static str {
        "local"
    }
}

/// Files under `dir`, as keys relative to `root` (the temporary folder only
/// when asked for directly).
fn walk(root: &Path, dir: &Path, out: &mut Vec<Listed>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let meta = entry.metadata()?;
        if meta.is_dir() {
            if dir == root && entry.file_name() == TMP {
                continue;
            }
            walk(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let modified: DateTime<Utc> = meta.modified()?.into();
            out.push(Listed {
                key: relative.to_string_lossy().replace('\\', "/"),
                modified,
            });
        }
    }
    Ok(())
}
