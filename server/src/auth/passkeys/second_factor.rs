//! A passkey as the second step after a password: Login offers the
//! account's passkeys with its challenge, and CompleteMfaLogin checks the
//! browser's answer against them.

use chrono::NaiveDateTime;
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential};

use super::{options_json, store};
use crate::{
    db::Tx,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// What the challenge carries when the account has passkeys.
pub struct Offer {
    /// For the browser: `{"publicKey": {…}}`.
    pub options: String,
    /// Kept with the challenge.
    pub state: String,
}

pub fn offer(tx: &mut Tx<'_>, state: &AppState, user_id: &str) -> ApiResult<Option<Offer>> {
    let passkeys: Vec<_> = store::of_user(tx.conn(), user_id)?
        .into_iter()
        .map(|p| p.passkey)
        .collect();
    if passkeys.is_empty() {
        return Ok(None);
    }
    let (options, authentication) = state
        .passkeys
        .start_passkey_authentication(&passkeys)
        .map_err(ApiError::internal)?;
    Ok(Some(Offer {
        options: options_json(&options)?,
        state: serde_json::to_string(&authentication).map_err(ApiError::internal)?,
    }))
}

/// Whether `answer` signs the offered challenge with one of the user's
/// passkeys; records that passkey's use.
pub fn accept(
    tx: &mut Tx<'_>,
    state: &AppState,
    user_id: &str,
    offered: &str,
    answer: &PublicKeyCredential,
    now: NaiveDateTime,
) -> ApiResult<bool> {
    let authentication: PasskeyAuthentication =
        serde_json::from_str(offered).map_err(ApiError::internal)?;
    let Ok(result) = state
        .passkeys
        .finish_passkey_authentication(answer, &authentication)
    else {
        return Ok(false);
    };
    let used = store::of_user(tx.conn(), user_id)?
        .into_iter()
        .find(|p| p.passkey.cred_id() == result.cred_id());
    // Deleted since the challenge was offered.
    let Some(mut used) = used else {
        return Ok(false);
    };
    used.passkey.update_credential(&result);
    store::record_use(tx.conn(), &used, now)?;
    Ok(true)
}
