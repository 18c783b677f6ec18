//! Blobs in a local folder: each write goes to `.tmp/` and is renamed into
//! place when complete, so a half-written file is never visible at its key.
//!
//! Each chunk of a write or read is one job on tokio's blocking pool: the
//! request task hashes one chunk while a pool thread writes the previous,
//! and a download reads one chunk ahead of the one it sends (memory stays at
//! a couple of chunks); no thread is held between chunks, so a stalled
//! upload or a slow reader costs no thread. Writeback
//! to the disk starts every 32 MiB instead of all at the final fsync
//! (measured in BENCHMARKS.md).

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

use super::{BlobError, BlobStore, BlobWriter, ByteStream, Listed, keys};

const TMP: &str = ".tmp";
const READ_CHUNK: usize = 1024 * 1024;
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

    /// The object's bytes, read a chunk at a time on the blocking pool (no
    /// thread waits on a slow reader); hashed as they pass when
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
        file.seek(std::io::SeekFrom::Start(offset))?;
        let reading = Reading {
            file,
            left: length.unwrap_or(u64::MAX),
            hasher: expected_sha256.map(|expected| (Sha256::new(), expected)),
        };
        // One read ahead: the next chunk is read while this one is sent.
        let first = tokio::task::spawn_blocking(move || reading.next());
        let chunks = futures::stream::unfold(Some(first), |pending| async move {
            match pending?.await {
                Ok((Some(chunk), next)) => {
                    let ahead = next.map(|r| tokio::task::spawn_blocking(move || r.next()));
                    Some((chunk, ahead))
                }
                Ok((None, _)) => None,
                Err(join) => Some((Err(BlobError::Io(std::io::Error::other(join))), None)),
            }
        });
        Ok(chunks.boxed())
    }
}

/// A read in progress, moved to a blocking thread for each chunk.
struct Reading {
    file: std::fs::File,
    left: u64,
    hasher: Option<(Sha256, String)>,
}

impl Reading {
    /// The next chunk (or the end, or the checksum's verdict at the end), and
    /// what is left to read after it.
    fn next(mut self) -> (Option<Result<Bytes, BlobError>>, Option<Self>) {
        if self.left > 0 {
            let want = usize::try_from(self.left.min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
            let mut buffer = BytesMut::zeroed(want);
            match self.file.read(&mut buffer) {
                Ok(0) => {}
                Ok(read) => {
                    buffer.truncate(read);
                    self.left = self.left.saturating_sub(read as u64);
                    if let Some((hasher, _)) = self.hasher.as_mut() {
                        hasher.update(&buffer);
                    }
                    return (Some(Ok(buffer.freeze())), Some(self));
                }
                Err(err) => return (Some(Err(err.into())), None),
            }
        }
        match self.hasher {
            Some((hasher, expected)) if hex::encode(hasher.clone().finalize()) != expected => {
                (Some(Err(BlobError::Corrupt)), None)
            }
            _ => (None, None),
        }
    }
}

/// A file being written, moved to a blocking thread for each chunk.
struct Open {
    file: std::fs::File,
    unflushed: u64,
}

impl Open {
    fn write(mut self, bytes: &[u8]) -> std::io::Result<Self> {
        self.file.write_all(bytes)?;
        self.unflushed += bytes.len() as u64;
        if self.unflushed >= FLUSH_EVERY {
            // Keep the disk busy while more bytes arrive.
            self.file.sync_data()?;
            self.unflushed = 0;
        }
        Ok(self)
    }
}

type Pending = tokio::task::JoinHandle<std::io::Result<Open>>;

/// Each chunk is written by a job on the blocking pool while the request
/// task receives and hashes the next; between chunks no thread is held, so
/// a stalled upload costs a file descriptor, not a thread.
struct LocalWriter {
    /// The write in flight, which hands the file back.
    pending: Option<Pending>,
    temp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl LocalWriter {
    /// The file back from the write in flight.
    async fn file(&mut self) -> Result<Open, BlobError> {
        let pending = self
            .pending
            .take()
            .ok_or_else(|| BlobError::Io(std::io::Error::other("an earlier write failed")))?;
        match pending.await {
            Ok(open) => Ok(open?),
            Err(join) => Err(BlobError::Io(std::io::Error::other(join))),
        }
    }
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
        let open = self.file().await?;
        self.pending = Some(tokio::task::spawn_blocking(move || open.write(&bytes)));
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<(), BlobError> {
        let open = self.file().await?;
        let (temp, dest) = (self.temp.clone(), self.dest.clone());
        self.done = true;
        tokio::task::spawn_blocking(move || finish_file(&open.file, &temp, &dest))
            .await
            .map_err(|join| BlobError::Io(std::io::Error::other(join)))??;
        Ok(())
    }

    async fn abort(mut self: Box<Self>) {
        self.done = true;
        // Wait for the write in flight so nothing is written after removal.
        drop(self.file().await);
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}

impl Drop for LocalWriter {
    /// Neither finished nor aborted: the partial file goes, in the background.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (pending, temp) = (self.pending.take(), self.temp.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(pending) = pending {
                    drop(pending.await);
                }
                let _ = tokio::fs::remove_file(&temp).await;
            });
        }
    }
}

#[async_trait]
impl BlobStore for LocalStore {
    async fn create(&self, key: &str) -> Result<Box<dyn BlobWriter>, BlobError> {
        let dest = self.path(key)?;
        let temp = self.temp_path();
        let created = temp.clone();
        let pending = tokio::task::spawn_blocking(move || {
            Ok(Open {
                file: std::fs::File::create(created)?,
                unflushed: 0,
            })
        });
        Ok(Box::new(LocalWriter {
            pending: Some(pending),
            temp,
            dest,
            done: false,
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
