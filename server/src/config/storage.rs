//! Mail and file storage.

use std::path::PathBuf;

use bytesize::ByteSize;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Folder where outgoing mail is written as `.eml` files (one per
    /// message) for a relay or a developer to pick up. Default:
    /// `<data-dir>/mail`.
    #[arg(long, env = "TENANTRY_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,

    /// Largest file anyone may upload; an organization's admins may set a
    /// lower limit for their organization.
    #[arg(long, env = "TENANTRY_MAX_FILE_SIZE", default_value = "5GiB")]
    pub max_file_size: ByteSize,

    /// Bytes of file content each new organization may store.
    #[arg(long, env = "TENANTRY_DEFAULT_STORAGE_QUOTA", default_value = "10GiB")]
    pub default_storage_quota: ByteSize,
}
