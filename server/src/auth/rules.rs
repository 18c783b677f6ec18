//! What the server accepts as an email, a password, a name or an id. Each
//! check returns the description of a field violation.

pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

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

/// A password someone types to sign in: present and not absurdly long.
pub fn check_password_input(password: &str) -> Result<(), String> {
    if password.is_empty() {
        return Err("is required".into());
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!("must be at most {MAX_PASSWORD_BYTES} bytes"));
    }
    Ok(())
}

/// A new password: 12+ characters, at most 1,024 bytes, not the email.
pub fn check_new_password(password: &str, email: &str) -> Result<(), String> {
    check_password_input(password)?;
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    let lowered = password.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if lowered == email.to_lowercase() || lowered == local {
        return Err("must not be your email address".into());
    }
    Ok(())
}

/// A display name; empty means the email's local part.
pub fn clean_display_name(raw: &str, email: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(format!(
            "must be at most {MAX_DISPLAY_NAME_CHARS} characters"
        ));
    }
    if name.is_empty() {
        return Ok(email.split('@').next().unwrap_or_default().to_owned());
    }
    Ok(name.to_owned())
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
    fn password_policy() {
        let email = "ann@example.com";
        assert!(check_new_password("correct horse battery", email).is_ok());
        assert!(check_new_password("short", email).is_err());
        assert!(check_new_password("ANN@example.com", email).is_err());
        assert!(check_new_password(&"x".repeat(1025), email).is_err());
        // 12 characters that are more than 12 bytes are fine.
        assert!(check_new_password("ééééééééééé1", email).is_ok());
    }
}
