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
