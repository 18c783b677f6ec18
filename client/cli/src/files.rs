//! File commands: streamed upload and download with progress (the SDK's
//! helpers), resumable downloads, listing, links.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use futures::TryStreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tenantry_client::{
    Tenantry,
    file::v1::{
        CreateDownloadUrlRequest, DeleteFileRequest, FileMetadata, GetStorageUsageRequest,
        ListFilesRequest,
    },
    files::Progress,
};

use crate::{
    profile::Session,
    show::{self, Output},
};

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

/// A progress bar the SDK's helpers move.
fn progress() -> (ProgressBar, impl FnMut(Progress) + Send + 'static) {
    let bar = ProgressBar::hidden();
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let shown = bar.clone();
    let update = move |p: Progress| {
        if let Some(total) = p.total
            && shown.length() != Some(total)
        {
            shown.set_length(total);
            shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        shown.set_position(p.done);
    };
    (bar, update)
}

pub async fn run(session: &mut Session, command: FilesCommand) -> anyhow::Result<()> {
    let tenantry = session.signed_in()?;
    let mut files = tenantry.files();
    match command {
        FilesCommand::Upload {
            path,
            name,
            content_type,
            labels,
        } => upload(&tenantry, path, name, content_type, &labels).await?,
        FilesCommand::Download {
            file_id,
            out,
            resume,
        } => download(&tenantry, &file_id, &out, resume).await?,
        FilesCommand::List { prefix } => list(&tenantry, prefix, session.output).await?,
        FilesCommand::Url {
            file_id,
            ttl_seconds,
        } => {
            let url = files
                .create_download_url(CreateDownloadUrlRequest {
                    file_id,
                    ttl_seconds,
                })
                .await?
                .into_inner();
            println!("{}", url.url);
        }
        FilesCommand::Rm { file_id } => {
            files.delete_file(DeleteFileRequest { file_id }).await?;
            println!("deleted (restorable until the retention period ends)");
        }
        FilesCommand::Usage => {
            let u = files
                .get_storage_usage(GetStorageUsageRequest {})
                .await?
                .into_inner();
            let size = |bytes: i64| show::size(u64::try_from(bytes).unwrap_or(0));
            let quota = if u.quota_bytes > 0 {
                size(u.quota_bytes)
            } else {
                "no quota".into()
            };
            println!(
                "{} files, {} used of {quota}; {} stored, {} saved by deduplication",
                u.file_count,
                size(u.used_bytes),
                size(u.stored_bytes),
                size(u.saved_by_dedup_bytes)
            );
        }
    }
    Ok(())
}

async fn upload(
    tenantry: &Tenantry,
    path: PathBuf,
    name: Option<String>,
    content_type: String,
    labels: &[String],
) -> anyhow::Result<()> {
    let labels = labels
        .iter()
        .map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .context("labels are key=value")
        })
        .collect::<anyhow::Result<_>>()?;
    let metadata = FileMetadata {
        name: name.unwrap_or_default(),
        content_type,
        labels,
        ..FileMetadata::default()
    };
    let (bar, update) = progress();
    let uploaded = tenantry.upload_path(&path, metadata, update).await?;
    bar.finish_and_clear();
    let f = uploaded.file.unwrap_or_default();
    let dedup = if uploaded.deduplicated {
        " (already stored: no second copy)"
    } else {
        ""
    };
    println!(
        "uploaded {} as {} — {}, sha256 {}{dedup}",
        f.name,
        f.id,
        show::size(u64::try_from(f.size_bytes).unwrap_or(0)),
        f.sha256
    );
    Ok(())
}

/// Downloads into `out`: from the start, or after what `out` holds.
async fn download(
    tenantry: &Tenantry,
    file_id: &str,
    out: &Path,
    resume: bool,
) -> anyhow::Result<()> {
    if !resume {
        std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    }
    let (bar, update) = progress();
    let file = tenantry.download_to_path(file_id, out, update).await?;
    bar.finish_and_clear();
    let size = show::size(u64::try_from(file.size_bytes).unwrap_or(0));
    println!("wrote {} ({size}, sha256 checked)", out.display());
    Ok(())
}

async fn list(tenantry: &Tenantry, prefix: String, output: Output) -> anyhow::Result<()> {
    let request = ListFilesRequest {
        name_prefix: prefix,
        ..Default::default()
    };
    let rows: Vec<_> = tenantry
        .list(request)
        .map_ok(|f| {
            json!({
                "id": f.id, "size_bytes": f.size_bytes,
                "content_type": f.declared_content_type, "name": f.name,
                "create_time": show::time(f.create_time.as_ref()),
                "sha256": f.sha256,
            })
        })
        .try_collect()
        .await?;
    let columns = ["id", "size_bytes", "create_time", "content_type", "name"];
    show::list(output, &columns, &rows);
    Ok(())
}
