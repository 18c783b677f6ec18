//! The shared checks of input every feature takes: ids and tokens the server
//! handed out, and email addresses. Each returns the description of a field
//! violation (`Violations::take` turns it into one). Checks that belong to
//! one feature (passwords, slugs, labels) live in that feature's `rules`.

/// Trims the address and lowercases its domain (the local part may be case
/// sensitive).
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    if email.is_empty() {
        return Err("is required".into());
    }
    if email.len() > 254 {
        return Err("must be at most 254 bytes".into());
    }
    if email.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters".into());
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("must look like name@example.com".into());
    };
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return Err("must look like name@example.com".into());
    }
    let domain_ok = domain.contains('.')
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if !domain_ok {
        return Err("must have a domain such as example.com".into());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// An id the server handed out (a UUID), in canonical form.
pub fn parse_id(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("is required".into());
    }
    uuid::Uuid::try_parse(raw)
        .map(|id| id.to_string())
        .map_err(|_| "must be an id this server handed out".into())
}

/// An opaque token the server handed out: present and of sane length.
pub fn check_token(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err("is required".into());
    }
    if raw.len() > 256 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("is not a token this server handed out".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_domains_lowercased() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").unwrap(),
            "Ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@localhost",
            "a b@example.com",
            "ann@exa..mple.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ids_are_canonical_uuids() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(parse_id(&id.simple().to_string()), Ok(id.to_string()));
        assert!(parse_id("").is_err());
        assert!(parse_id("not-an-id").is_err());
    }

    #[test]
    fn tokens_are_visible_ascii_of_sane_length() {
        assert!(check_token("rt_abc").is_ok());
        assert!(check_token("").is_err());
        assert!(check_token("a b").is_err());
        assert!(check_token(&"x".repeat(257)).is_err());
    }
}
