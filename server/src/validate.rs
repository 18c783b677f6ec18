//! The shared checks of input every feature takes: ids and tokens the server
//! handed out, and email addresses. Each returns the description of a field
//! violation (`Violations::take` turns it into one). Checks that belong to
//! one feature (passwords, slugs, labels) live in that feature's `rules`.

/// Trims the address and lowercases its domain; the local part is kept as
/// typed, for display. Addresses are *compared* by [`email_key`].
///
/// The profile accepted: an ASCII address, `local@domain`, where the local
/// part is 1–64 characters of letters, digits, dots and
/// ``!#$%&'*+/=?^_`{|}~-`` (RFC 5322 dot-atom, no quoted strings), and the
/// domain is two or more labels of letters, digits and hyphens (an
/// internationalized domain in its `xn--` form); 254 bytes at most.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    if email.is_empty() {
        return Err("is required".into());
    }
    if email.len() > 254 {
        return Err("must be at most 254 bytes".into());
    }
    if !email.is_ascii() {
        return Err(
            "must be an ASCII address (write an international domain in its xn-- form)".into(),
        );
    }
    if email.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters".into());
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("must look like name@example.com".into());
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext));
    if !local_ok {
        return Err("must look like name@example.com".into());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !domain.contains('.') || !domain.split('.').all(label_ok) {
        return Err("must have a domain such as example.com".into());
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// What two addresses are compared by: `Ann@Example.com` and
/// `ann@example.com` are one account, one invitee, one lockout.
pub fn email_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// Characters that change how text around them reads without showing
/// themselves: bidirectional controls (which can make `exe.pdf` of
/// `fdp.exe`), zero-width characters, and line or paragraph separators.
pub fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'
                | '\u{FEFF}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// The one check of every human-visible string (names, display names, label
/// values): nothing hidden or controlling, see [`is_hidden_or_control`].
pub fn visible_text(raw: &str) -> Result<(), String> {
    if raw.chars().any(is_hidden_or_control) {
        return Err(
            "must not contain control, direction-changing, zero-width or line-separator characters"
                .into(),
        );
    }
    Ok(())
}

/// A name people read in lists (organizations, service accounts, tokens):
/// trimmed, 1 to `max` characters, all visible.
pub fn short_name(raw: &str, max: usize) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("is required".into());
    }
    if name.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    visible_text(name)?;
    Ok(name.to_owned())
}

/// When a credential expires: `default` after `now` when unset, else a
/// time in the future at most `max` away.
pub fn expiry(
    raw: Option<&prost_types::Timestamp>,
    now: chrono::NaiveDateTime,
    default: chrono::Duration,
    max: chrono::Duration,
) -> Result<chrono::NaiveDateTime, String> {
    let Some(raw) = raw else {
        return Ok(now + default);
    };
    let at = crate::clock::from_proto(raw).ok_or("must be a valid time")?;
    if at <= now {
        return Err("must be in the future".into());
    }
    if at > now + max {
        return Err(format!("must be at most {} days away", max.num_days()));
    }
    Ok(at)
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
            "ann\u{202E}@example.com",
            "an\u{200B}n@example.com",
            "ann@exam\u{202E}ple.com",
            "ann@bücher.de",
            "ann..lee@example.com",
            "\"ann lee\"@example.com",
            "ann@-example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn addresses_compare_whatever_their_case() {
        let typed = normalize_email("Mixed@Example.com").unwrap();
        assert_eq!(typed, "Mixed@example.com", "kept as typed for display");
        assert_eq!(email_key(&typed), email_key("mixed@example.com"));
        assert!(normalize_email("o'brien+tag@xn--bcher-kva.de").is_ok());
    }

    #[test]
    fn visible_text_refuses_what_hides_or_reorders() {
        assert!(visible_text("Acme GmbH — Zürich 東京").is_ok());
        for bad in [
            "a\u{202E}b",
            "a\u{200B}b",
            "a\u{200E}b",
            "a\u{2028}b",
            "a\u{2066}b",
            "a\nb",
            "\u{FEFF}a",
        ] {
            assert!(visible_text(bad).is_err(), "{bad:?} accepted");
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
