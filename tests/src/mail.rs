//! Reading what the server mailed (its mail folder).

use std::path::Path;

/// The value of the last `<label>: <value>` line in the newest mail to `to`.
pub fn last_value_mailed(dir: &Path, to: &str, label: &str) -> Option<String> {
    let mut mails: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    // File names are UUIDv7: sorting them sorts by time.
    mails.sort();
    let needle = format!("To: <{to}>");
    mails.iter().rev().find_map(|path| {
        let text = std::fs::read_to_string(path).ok()?;
        if !text.lines().any(|l| l == needle) {
            return None;
        }
        text.lines()
            .rev()
            .find_map(|l| l.strip_prefix(&format!("{label}: ")))
            .map(str::to_owned)
    })
}

/// Every mail to `to` in `dir`, oldest first, as text.
pub fn mails_to(dir: &Path, to: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    // File names are UUIDv7: sorting them sorts by time.
    paths.sort();
    let needle = format!("To: <{to}>");
    paths
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter(|text| text.lines().any(|l| l == needle))
        .collect()
}
