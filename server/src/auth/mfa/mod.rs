//! A second factor: an authenticator app (TOTP, RFC 6238) or passkeys
//! ([`crate::auth::passkeys`]), with recovery codes, and sign-in in two
//! steps for accounts that have one.
//!
//! - [`enrollment`]: adding and removing the app, recovery codes, status.
//! - [`totp`]: the factor itself (sealed secret, each code once).
//! - [`recovery`]: single-use codes, stored hashed.
//! - [`challenge`]: the first step's state and the second step.
//!
//! Changing factors needs the password (under the sign-in lockout), so a
//! stolen access token can neither add a factor that locks the owner out
//! nor remove one.

pub mod challenge;
pub mod enrollment;
mod recovery;
mod totp;

use crate::{
    auth::passkeys,
    db::{AnyConnection, Tx},
    error::ApiResult,
};

/// Whether the account has a second factor: an authenticator app or a
/// passkey.
pub fn enrolled(conn: &mut AnyConnection, user_id: &str) -> ApiResult<bool> {
    Ok(totp::enrolled(conn, user_id)? || passkeys::store::count(conn, user_id)? > 0)
}

/// New recovery codes (replacing any), for an account's first factor.
pub fn issue_recovery_codes(tx: &mut Tx<'_>, user_id: &str) -> ApiResult<Vec<String>> {
    recovery::replace(tx, user_id)
}

/// After a factor was removed: the recovery codes go with the last one.
pub fn after_factor_removed(tx: &mut Tx<'_>, user_id: &str) -> ApiResult<()> {
    if !enrolled(tx.conn(), user_id)? {
        recovery::remove(tx, user_id)?;
    }
    Ok(())
}
