//! What the server accepts as an email, a password, a name or an id. Each
//! check returns the description of a field violation.

pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

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
    crate::validate::visible_text(name)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
