//! Passkeys (WebAuthn, through webauthn-rs): registered by a signed-in
//! person who gives their password, then used to sign in without a password
//! or email ([`login`]) and as the second step after a password
//! ([`second_factor`]).
//!
//! - [`registration`]: adding, listing and deleting passkeys.
//! - [`store`]: the `passkeys` table.
//! - [`ceremony`]: the challenges waiting for a browser's answer.
//!
//! Every passkey asks for user verification (a PIN or biometric on the
//! device), so a passkey sign-in counts as multi-factor. Options go to the
//! browser as the JSON webauthn-rs writes (`{"publicKey": {…}}`, binary
//! fields base64url), which `PublicKeyCredential.parse…OptionsFromJSON`
//! reads; answers come back as `credential.toJSON()`.

pub mod ceremony;
pub mod login;
pub mod registration;
pub mod second_factor;
pub mod store;

use serde::de::DeserializeOwned;
use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::{
    config::PasskeyConfig,
    error::{ApiError, ApiResult, BoxError},
};

/// The relying party the configuration describes.
pub fn relying_party(config: &PasskeyConfig) -> Result<Webauthn, BoxError> {
    let default_origin = Url::parse("http://localhost").expect("a valid URL");
    let (first, more) = match config.passkey_origins.split_first() {
        Some((first, more)) => (first, more),
        None => (&default_origin, &[][..]),
    };
    let rp_id = config.passkey_rp_id.as_str();
    let mut builder = WebauthnBuilder::new(rp_id, first)
        .map_err(|e| format!("--passkey-origin {first} is not in --passkey-rp-id {rp_id}: {e}"))?
        .rp_name(&config.passkey_rp_name)
        .allow_any_port(rp_id == "localhost");
    for origin in more {
        builder = builder.append_allowed_origin(origin);
    }
    Ok(builder
        .build()
        .map_err(|e| format!("passkey settings: {e}"))?)
}

/// A browser's answer, as JSON; the error is a field violation's
/// description.
pub fn parse_answer<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    if json.is_empty() {
        return Err("is required".into());
    }
    if json.len() > 64 * 1024 {
        return Err("is longer than 64 KiB".into());
    }
    serde_json::from_str(json)
        .map_err(|e| format!("is not a PublicKeyCredential as `toJSON()` writes it: {e}"))
}

/// Options for the browser, as JSON.
fn options_json(options: &impl serde::Serialize) -> ApiResult<String> {
    serde_json::to_string(options).map_err(ApiError::internal)
}
