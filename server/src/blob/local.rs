//! Blobs in a local folder: each write goes to `.tmp/` and is renamed into
//! place when complete, so a half-written file is never visible at its key.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use tokio::io::{AsyncSeekExt as _, AsyncWriteExt as _, BufWriter};
use tokio_util::io::ReaderStream;

use super::{BlobError, BlobStore, BlobWriter, ByteStream, Listed, keys};

const TMP: &str = ".tmp";
const READ_CHUNK: usize = 256 * 1024;
const WRITE_BUFFER: usize = 1024 * 1024;

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
}

struct LocalWriter {
    file: BufWriter<tokio::fs::File>,
    temp: PathBuf,
    dest: PathBuf,
}

#[async_trait]
impl BlobWriter for LocalWriter {
    async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        Ok(self.file.write_all(&bytes).await?)
    }

    async fn finish(mut self: Box<Self>) -> Result<(), BlobError> {
        let result = async {
            self.file.flush().await?;
            self.file.get_ref().sync_all().await?;
            if let Some(dir) = self.dest.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            tokio::fs::rename(&self.temp, &self.dest).await
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&self.temp).await;
        }
        Ok(result?)
    }

    async fn abort(self: Box<Self>) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}

#[async_trait]
impl BlobStore for LocalStore {
    async fn create(&self, key: &str) -> Result<Box<dyn BlobWriter>, BlobError> {
        let dest = self.path(key)?;
        let temp = self.temp_path();
        let file = tokio::fs::File::create(&temp).await?;
        Ok(Box::new(LocalWriter {
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            temp,
            dest,
        }))
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let mut writer = self.create(key).await?;
        writer.write(bytes).await?;
        writer.finish().await
    }

    async fn read(
        &self,
        key: &str,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ByteStream, BlobError> {
        let path = self.path(key)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound);
            }
            Err(err) => return Err(err.into()),
        };
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        let reader = tokio::io::AsyncReadExt::take(file, length.unwrap_or(u64::MAX));
        Ok(ReaderStream::with_capacity(reader, READ_CHUNK)
            .map(|chunk| chunk.map_err(BlobError::from))
            .boxed())
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
        let (stale, _) = {
            let mut out = Vec::new();
            walk(&self.root, &dir, &mut out)?;
            (out, ())
        };
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
