//! Mail and (later) blob storage.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Folder where outgoing mail is written as `.eml` files (one per
    /// message) for a relay or a developer to pick up. Default:
    /// `<data-dir>/mail`.
    #[arg(long, env = "TENANTRY_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,
}
