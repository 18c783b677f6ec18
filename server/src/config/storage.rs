//! File storage.

use std::{path::PathBuf, time::Duration};

use bytesize::ByteSize;
use clap::Args;

use super::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Folder for file content when no S3 bucket is set. Default:
    /// `<data-dir>/blobs`.
    #[arg(long, env = "TENANTRY_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,

    /// Largest file anyone may upload; an organization's admins may set a
    /// lower limit for their organization.
    #[arg(long, env = "TENANTRY_MAX_FILE_SIZE", default_value = "5GiB")]
    pub max_file_size: ByteSize,

    /// Bytes of file content each new organization may store.
    #[arg(long, env = "TENANTRY_DEFAULT_STORAGE_QUOTA", default_value = "10GiB")]
    pub default_storage_quota: ByteSize,

    /// An upload session expires (and its bytes are removed) this long after
    /// its last chunk.
    #[arg(long, env = "TENANTRY_UPLOAD_SESSION_TTL", default_value = "24h", value_parser = parse_duration)]
    pub upload_session_ttl: Duration,

    /// A deleted file can be restored for this long; then it is purged.
    #[arg(long, env = "TENANTRY_FILE_RETENTION", default_value = "30d", value_parser = parse_duration)]
    pub file_retention: Duration,

    /// Stored bytes that no file refers to (a crash between writing and
    /// committing) are removed once they are this old.
    #[arg(long, env = "TENANTRY_ORPHAN_GRACE", default_value = "1h", value_parser = parse_duration)]
    pub orphan_grace: Duration,

    /// How often each instance looks for due background jobs.
    #[arg(long, env = "TENANTRY_JOB_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub job_interval: Duration,

    /// How often the janitor sweeps the store for orphans and unfinished
    /// writes.
    #[arg(long, env = "TENANTRY_JANITOR_INTERVAL", default_value = "1h", value_parser = parse_duration)]
    pub janitor_interval: Duration,

    #[command(flatten)]
    pub s3: S3Config,
}

/// File content in any S3 API instead of the local folder.
#[derive(Debug, Clone, Args)]
pub struct S3Config {
    /// Bucket for file content; setting it switches the blob store to S3.
    #[arg(long, env = "TENANTRY_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// Endpoint of a non-AWS S3 API, e.g. `http://127.0.0.1:9000`.
    #[arg(long, env = "TENANTRY_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    #[arg(long, env = "TENANTRY_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    #[arg(long, env = "TENANTRY_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,

    #[arg(long, env = "TENANTRY_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,

    /// Path-style URLs (`endpoint/bucket/key`), as most non-AWS servers want.
    #[arg(long, env = "TENANTRY_S3_FORCE_PATH_STYLE")]
    pub s3_force_path_style: bool,

    /// Key prefix inside the bucket.
    #[arg(long, env = "TENANTRY_S3_PREFIX", default_value = "")]
    pub s3_prefix: String,
}
