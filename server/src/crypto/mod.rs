//! Keys, tokens and hashes. Nothing here logs or returns a secret.

pub mod jwt;
pub mod master_key;
pub mod password;
pub mod signing_keys;
pub mod tokens;

use std::{fs, io::Write as _, os::unix::fs::OpenOptionsExt as _, path::Path};

/// Writes a secret file readable by its owner only; refuses to overwrite, so
/// two instances starting at once on one data folder keep the first key.
pub(crate) fn write_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
