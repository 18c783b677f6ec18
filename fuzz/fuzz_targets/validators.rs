//! The validators every request field goes through: any text is accepted
//! or refused with a description, never a panic; what they accept is
//! normalized once for good (validating it again changes nothing).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantry_server::validate;

fuzz_target!(|text: &str| {
    if let Ok(email) = validate::normalize_email(text) {
        assert_eq!(
            validate::normalize_email(&email).as_deref(),
            Ok(email.as_str())
        );
        let _ = validate::email_key(&email);
    }
    if let Ok(id) = validate::parse_id(text) {
        assert_eq!(validate::parse_id(&id).as_deref(), Ok(id.as_str()));
    }
    if let Ok(name) = validate::short_name(text, 64) {
        assert!(name.chars().count() <= 64);
        assert_eq!(
            validate::short_name(&name, 64).as_deref(),
            Ok(name.as_str())
        );
    }
    let _ = validate::visible_text(text);
    // Invitation, reset, verification and SSO state tokens are checked this
    // way before they are hashed and looked up.
    if validate::check_token(text).is_ok() {
        assert!(text.len() <= 256 && !text.is_empty());
    }
});
