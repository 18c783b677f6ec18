//! A WebAuthn ceremony waiting for the browser: the state webauthn-rs needs
//! to check the answer (it holds the challenge), stored so any instance can
//! finish it. Each is for one purpose, lasts 5 minutes and is used once:
//! taking it deletes it. A sign-in commits that whatever the answer; a
//! registration refused as a bad answer rolls back, so the person may try
//! again within the 5 minutes.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    crypto::tokens::{hash_token, random_token},
    db::{AnyConnection, Tx, schema::passkey_ceremonies},
    error::{ApiError, ApiResult},
    state::after,
};

pub const TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Registration,
    Login,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Registration => "registration",
            Purpose::Login => "login",
        }
    }

    fn token_prefix(self) -> &'static str {
        match self {
            Purpose::Registration => "pkr",
            Purpose::Login => "pkl",
        }
    }
}

/// Stores a ceremony; returns its token and when it expires.
pub fn begin(
    tx: &mut Tx<'_>,
    purpose: Purpose,
    user_id: Option<&str>,
    state: &impl Serialize,
    now: NaiveDateTime,
) -> ApiResult<(String, NaiveDateTime)> {
    let token = random_token(purpose.token_prefix());
    let expires_at = after(now, TTL);
    diesel::insert_into(passkey_ceremonies::table)
        .values((
            passkey_ceremonies::token_hash.eq(hash_token(&token)),
            passkey_ceremonies::purpose.eq(purpose.as_str()),
            passkey_ceremonies::user_id.eq(user_id),
            passkey_ceremonies::state.eq(serde_json::to_string(state).map_err(ApiError::internal)?),
            passkey_ceremonies::created_at.eq(now),
            passkey_ceremonies::expires_at.eq(expires_at),
        ))
        .execute(tx.conn())?;
    Ok((token, expires_at))
}

/// Takes (deletes) a live ceremony of `purpose`: its user and state, or
/// `None` when the token is unknown, expired, used or for something else.
pub fn take<S: DeserializeOwned>(
    tx: &mut Tx<'_>,
    purpose: Purpose,
    token: &str,
    now: NaiveDateTime,
) -> ApiResult<Option<(Option<String>, S)>> {
    let hash = hash_token(token);
    let row: Option<(String, Option<String>, String, NaiveDateTime)> = passkey_ceremonies::table
        .find(&hash)
        .select((
            passkey_ceremonies::purpose,
            passkey_ceremonies::user_id,
            passkey_ceremonies::state,
            passkey_ceremonies::expires_at,
        ))
        .first(tx.conn())
        .optional()?;
    let Some((stored_purpose, user_id, state, expires_at)) = row else {
        return Ok(None);
    };
    if stored_purpose != purpose.as_str() {
        return Ok(None);
    }
    // A conditional delete: of two finishes in parallel, one wins.
    let taken = diesel::delete(passkey_ceremonies::table.find(&hash)).execute(tx.conn())?;
    if taken == 0 || expires_at <= now {
        return Ok(None);
    }
    let state = serde_json::from_str(&state).map_err(ApiError::internal)?;
    Ok(Some((user_id, state)))
}

/// Ceremonies that expired before `now` (housekeeping).
pub fn forget_expired(conn: &mut AnyConnection, now: NaiveDateTime) -> ApiResult<usize> {
    Ok(
        diesel::delete(passkey_ceremonies::table.filter(passkey_ceremonies::expires_at.lt(now)))
            .execute(conn)?,
    )
}
