//! What the server accepts as a file's name, type, labels and checksums.

use std::collections::BTreeMap;

use crate::error::Violations;
use tenantry_proto::file::v1 as pb;

pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_LABELS: usize = 32;
pub const MAX_LABEL_VALUE: usize = 256;
pub const MAX_CHUNK: usize = 4 * 1024 * 1024;

/// A file's metadata, checked.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub name: String,
    pub content_type: String,
    pub expected_size: Option<i64>,
    pub expected_sha256: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// Checks `metadata`, naming violations under `field` (e.g. `metadata`).
pub fn metadata(
    metadata: Option<pb::FileMetadata>,
    field: &str,
    violations: &mut Violations,
) -> Option<Metadata> {
    let Some(m) = metadata else {
        violations.add(field, "is required");
        return None;
    };
    let name = violations.take(&format!("{field}.name"), name(&m.name));
    let content_type = violations.take(
        &format!("{field}.content_type"),
        content_type(&m.content_type),
    );
    if m.expected_size.is_some_and(|s| s < 0) {
        violations.add(format!("{field}.expected_size"), "must not be negative");
    }
    let expected_sha256 = violations.take(
        &format!("{field}.expected_sha256"),
        sha256(&m.expected_sha256),
    );
    let labels = violations.take(
        &format!("{field}.labels"),
        labels(m.labels.into_iter().collect()),
    );
    Some(Metadata {
        name: name?,
        content_type: content_type?,
        expected_size: m.expected_size,
        expected_sha256: expected_sha256?,
        labels: labels?,
    })
}

/// 1 to 255 characters of visible text (no control, bidirectional or
/// zero-width characters, which disguise a name's extension).
pub fn name(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Err("is required".into());
    }
    if raw.chars().count() > MAX_NAME_CHARS {
        return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
    }
    crate::validate::visible_text(raw)?;
    Ok(raw.to_owned())
}

/// `type/subtype` (parameters allowed), lowercased; empty means
/// `application/octet-stream`.
pub fn content_type(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok("application/octet-stream".into());
    }
    if value.len() > 255 || value.chars().any(char::is_control) {
        return Err("must be at most 255 characters, without control characters".into());
    }
    let essence = value.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match essence.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => Ok(value.to_ascii_lowercase()),
        _ => Err("must look like type/subtype, e.g. image/png".into()),
    }
}

/// 64 hex digits (lowercased), or nothing.
pub fn sha256(raw: &str) -> Result<Option<String>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() != 64 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("must be 64 hexadecimal digits".into());
    }
    Ok(Some(raw.to_ascii_lowercase()))
}

pub fn labels(labels: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    if labels.len() > MAX_LABELS {
        return Err(format!("at most {MAX_LABELS} labels"));
    }
    for (key, value) in &labels {
        label_key(key)?;
        if value.len() > MAX_LABEL_VALUE {
            return Err(format!(
                "value of {key:?} must be at most {MAX_LABEL_VALUE} bytes"
            ));
        }
        crate::validate::visible_text(value).map_err(|e| format!("value of {key:?} {e}"))?;
    }
    Ok(labels)
}

fn label_key(key: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key {key:?} must be 1 to 63 of a-z, 0-9, `_`, `.`, `-`"
        ))
    }
}

/// A label filter: `key` or `key=value`.
pub fn label_filter(raw: &str) -> Result<Option<(String, Option<String>)>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let (key, value) = match raw.split_once('=') {
        Some((k, v)) => (k, Some(v.to_owned())),
        None => (raw, None),
    };
    label_key(key)?;
    Ok(Some((key.to_owned(), value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name("report (final).pdf").is_ok());
        assert!(
            name("../../etc/passwd").is_ok(),
            "names are metadata: any text is safe"
        );
        for bad in [
            "",
            "  ",
            "a\nb",
            "nul\0",
            "evil\u{202E}fdp.exe",
            &"x".repeat(256),
        ] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("").unwrap(), "application/octet-stream");
        assert_eq!(content_type("Image/PNG").unwrap(), "image/png");
        assert!(content_type("text/plain; charset=utf-8").is_ok());
        for bad in ["png", "a/", "/b", "a b/c"] {
            assert!(content_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn labels_and_filters() {
        let ok: BTreeMap<_, _> = [("env".to_owned(), "prod".to_owned())].into();
        assert!(labels(ok).is_ok());
        let bad: BTreeMap<_, _> = [("Env".to_owned(), String::new())].into();
        assert!(labels(bad).is_err());
        assert_eq!(
            label_filter("env=prod").unwrap(),
            Some(("env".into(), Some("prod".into())))
        );
        assert_eq!(label_filter("env").unwrap(), Some(("env".into(), None)));
        assert!(label_filter("=x").is_err());
    }
}
