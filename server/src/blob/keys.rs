//! Blob keys: `orgs/<organization>/…`, random and sharded, never derived
//! from anything a user typed.

/// A new key for content of `org_id`: `orgs/<org>/blobs/ab/cd/<uuid>`.
pub fn content(org_id: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("orgs/{org_id}/blobs/{}/{}/{id}", &id[..2], &id[2..4])
}

/// A new key for a chunk of an upload session.
pub fn upload_part(org_id: &str, session_id: &str, offset: i64) -> String {
    let id = uuid::Uuid::new_v4().simple();
    format!("orgs/{org_id}/uploads/{session_id}/{offset:020}-{id}")
}

/// The organization a key belongs to.
pub fn org_of(key: &str) -> Option<&str> {
    key.strip_prefix("orgs/")?
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
}

/// The upload session a part key belongs to.
pub fn session_of(key: &str) -> Option<&str> {
    let mut parts = key.strip_prefix("orgs/")?.split('/');
    let _org = parts.next()?;
    (parts.next()? == "uploads").then_some(())?;
    parts.next()
}

/// Whether a key is one the server could have made: relative, no `..`, no
/// empty segments (a local store must never leave its folder).
pub fn is_safe(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sharded_under_their_organization() {
        let key = content("org-1");
        assert!(key.starts_with("orgs/org-1/blobs/"));
        assert_eq!(key.split('/').count(), 6);
        assert_eq!(org_of(&key), Some("org-1"));
        assert_ne!(content("org-1"), key);
        let part = upload_part("org-1", "s-1", 42);
        assert_eq!(
            (org_of(&part), session_of(&part)),
            (Some("org-1"), Some("s-1"))
        );
        assert_eq!(session_of(&key), None);
        assert!(is_safe(&key) && is_safe(&part));
        for bad in ["", "/etc/passwd", "orgs/../x", "orgs//x", "a\\b"] {
            assert!(!is_safe(bad), "{bad}");
        }
    }
}
