//! File commands: streamed upload and download with progress, resumable
//! downloads, listing, links.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use tenantry_client::file::v1::{
    CreateDownloadUrlRequest, DeleteFileRequest, DownloadRequest, FileMetadata,
    GetStorageUsageRequest, ListFilesRequest, UploadRequest, download_response, upload_request,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::profile::Session;

const CHUNK: usize = 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum FilesCommand {
    /// Uploads a file (streamed; memory stays at one chunk).
    Upload {
        path: PathBuf,
        /// Name to store (default: the file's name).
        #[arg(long)]
        name: Option<String>,
        /// Declared content type.
        #[arg(long, default_value = "")]
        content_type: String,
        /// `key=value`, repeatable.
        #[arg(long = "label")]
        labels: Vec<String>,
    },
    /// Downloads a file; with `--resume`, continues a partial download.
    Download {
        file_id: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        resume: bool,
    },
    /// Files, newest first.
    List {
        #[arg(long, default_value = "")]
        prefix: String,
    },
    /// A link that downloads the file without a token.
    Url {
        file_id: String,
        #[arg(long, default_value_t = 900)]
        ttl_seconds: i32,
    },
    /// Deletes a file (restorable for the retention period).
    Rm { file_id: String },
    /// Storage used, saved by deduplication, and the quota.
    Usage,
}

fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

pub async fn run(session: &mut Session, command: FilesCommand) -> anyhow::Result<()> {
    let files = session.signed_in().await?.files();
    match command {
        FilesCommand::Upload {
            path,
            name,
            content_type,
            labels,
        } => {
            let file = tokio::fs::File::open(&path)
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            let size = file.metadata().await?.len();
            let name = name.unwrap_or_else(|| {
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let labels = labels
                .iter()
                .map(|l| {
                    l.split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .context("labels are key=value")
                })
                .collect::<anyhow::Result<_>>()?;
            let metadata = FileMetadata {
                name,
                content_type,
                expected_size: Some(i64::try_from(size)?),
                labels,
                ..FileMetadata::default()
            };
            let bar = progress(size);
            let first = UploadRequest {
                part: Some(upload_request::Part::Metadata(metadata)),
            };
            let stream = futures::StreamExt::chain(
                futures::stream::once(async { first }),
                file_chunks(file, bar.clone()),
            );
            let uploaded = files.clone().upload(stream).await?.into_inner();
            bar.finish_and_clear();
            let f = uploaded.file.unwrap_or_default();
            let dedup = if uploaded.deduplicated {
                " (already stored: no second copy)"
            } else {
                ""
            };
            println!(
                "uploaded {} as {} — {} bytes, sha256 {}{dedup}",
                f.name, f.id, f.size_bytes, f.sha256
            );
        }
        FilesCommand::Download {
            file_id,
            out,
            resume,
        } => {
            let offset = if resume {
                tokio::fs::metadata(&out)
                    .await
                    .map(|m| m.len())
                    .unwrap_or(0)
            } else {
                0
            };
            let mut stream = files
                .clone()
                .download(DownloadRequest {
                    file_id,
                    offset: i64::try_from(offset)?,
                    length: 0,
                })
                .await?
                .into_inner();
            let mut target = tokio::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(resume)
                .truncate(!resume)
                .open(&out)
                .await?;
            let mut bar = None;
            while let Some(message) = stream.message().await? {
                match message.part {
                    Some(download_response::Part::File(f)) => {
                        let b = progress(u64::try_from(f.size_bytes).unwrap_or(0));
                        b.set_position(offset);
                        bar = Some(b);
                    }
                    Some(download_response::Part::Chunk(chunk)) => {
                        target.write_all(&chunk).await?;
                        if let Some(b) = &bar {
                            b.inc(chunk.len() as u64);
                        }
                    }
                    None => {}
                }
            }
            target.flush().await?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            println!("wrote {}", out.display());
        }
        FilesCommand::List { prefix } => {
            let list = files
                .clone()
                .list_files(ListFilesRequest {
                    name_prefix: prefix,
                    ..Default::default()
                })
                .await?
                .into_inner();
            for f in list.files {
                println!(
                    "{}  {:>12}  {:<24} {}",
                    f.id, f.size_bytes, f.declared_content_type, f.name
                );
            }
        }
        FilesCommand::Url {
            file_id,
            ttl_seconds,
        } => {
            let url = files
                .clone()
                .create_download_url(CreateDownloadUrlRequest {
                    file_id,
                    ttl_seconds,
                })
                .await?
                .into_inner();
            println!("{}", url.url);
        }
        FilesCommand::Rm { file_id } => {
            files
                .clone()
                .delete_file(DeleteFileRequest { file_id })
                .await?;
            println!("deleted (restorable until the retention period ends)");
        }
        FilesCommand::Usage => {
            let u = files
                .clone()
                .get_storage_usage(GetStorageUsageRequest {})
                .await?
                .into_inner();
            println!(
                "files {}  used {} of {} bytes  stored {}  saved by dedup {}",
                u.file_count, u.used_bytes, u.quota_bytes, u.stored_bytes, u.saved_by_dedup_bytes
            );
        }
    }
    Ok(())
}

/// The file's bytes as upload messages, one chunk at a time. (A read error
/// ends the stream early; the server then refuses the upload because fewer
/// bytes arrived than declared.)
fn file_chunks(
    file: tokio::fs::File,
    bar: ProgressBar,
) -> impl futures::Stream<Item = UploadRequest> + Send + 'static {
    futures::stream::unfold((file, bar), |(mut file, bar)| async move {
        let mut buffer = vec![0; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match file.read(&mut buffer[filled..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => filled += n,
            }
        }
        if filled == 0 {
            return None;
        }
        buffer.truncate(filled);
        bar.inc(filled as u64);
        let message = UploadRequest {
            part: Some(upload_request::Part::Chunk(bytes::Bytes::from(buffer))),
        };
        Some((message, (file, bar)))
    })
}
