//! The authenticator-app factor: a 160-bit secret sealed under the master
//! key (bound to its account), SHA-1, 6 digits, 30-second steps, one step
//! of skew either way. A code is accepted once: the step it matched is
//! kept, and only later steps are accepted after it (RFC 6238 §5.2).

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};
use rand::RngCore as _;
use totp_rs::{Builder, Secret, Totp};

use crate::{
    db::{AnyConnection, Tx, schema::totp_factors},
    error::{ApiError, ApiResult},
    state::AppState,
};

/// What the app is told the codes are for.
const ISSUER: &str = "Tenantry";

/// The factor as stored.
pub struct Factor {
    pub totp: Totp,
    pub confirmed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    last_used_step: i64,
}

/// A new secret for `email`'s app.
pub fn generate(email: &str) -> ApiResult<(Vec<u8>, Totp)> {
    let mut secret = vec![0_u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let totp = build(&secret, email)?;
    Ok((secret, totp))
}

/// The secret as an app takes it typed in.
pub fn base32(secret: &[u8]) -> String {
    Secret::new(secret.to_vec().into_boxed_slice()).to_base32()
}

fn build(secret: &[u8], email: &str) -> ApiResult<Totp> {
    Builder::new()
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(Some(ISSUER))
        .with_account_name(email.replace(':', ""))
        .build()
        .map_err(ApiError::internal)
}

/// Whether the user has a confirmed authenticator app.
pub fn enrolled(conn: &mut AnyConnection, user_id: &str) -> ApiResult<bool> {
    let confirmed: Option<Option<NaiveDateTime>> = totp_factors::table
        .find(user_id)
        .select(totp_factors::confirmed_at)
        .first(conn)
        .optional()?;
    Ok(matches!(confirmed, Some(Some(_))))
}

/// Stores a new (unconfirmed) secret, replacing an unconfirmed one.
pub fn store(tx: &mut Tx<'_>, state: &AppState, user_id: &str, secret: &[u8]) -> ApiResult<()> {
    let (key_id, sealed) = state.master_keys.seal(secret, user_id.as_bytes());
    diesel::delete(totp_factors::table.find(user_id)).execute(tx.conn())?;
    diesel::insert_into(totp_factors::table)
        .values((
            totp_factors::user_id.eq(user_id),
            totp_factors::key_id.eq(key_id),
            totp_factors::sealed_secret.eq(sealed),
            totp_factors::confirmed_at.eq(None::<NaiveDateTime>),
            totp_factors::last_used_step.eq(0_i64),
            totp_factors::created_at.eq(state.now()),
        ))
        .execute(tx.conn())?;
    Ok(())
}

/// The user's factor, confirmed or not.
pub fn load(
    tx: &mut Tx<'_>,
    state: &AppState,
    user_id: &str,
    email: &str,
) -> ApiResult<Option<Factor>> {
    type Row = (String, Vec<u8>, Option<NaiveDateTime>, i64, NaiveDateTime);
    let row: Option<Row> = totp_factors::table
        .find(user_id)
        .select((
            totp_factors::key_id,
            totp_factors::sealed_secret,
            totp_factors::confirmed_at,
            totp_factors::last_used_step,
            totp_factors::created_at,
        ))
        .first(tx.conn())
        .optional()?;
    let Some((key_id, sealed, confirmed_at, last_used_step, created_at)) = row else {
        return Ok(None);
    };
    let secret = state
        .master_keys
        .open(&key_id, &sealed, user_id.as_bytes())
        .map_err(|_| ApiError::internal("a TOTP secret does not open with the master keys"))?;
    Ok(Some(Factor {
        totp: build(&secret, email)?,
        confirmed_at,
        created_at,
        last_used_step,
    }))
}

/// Whether `code` is right now and was not used before; a right one is
/// spent (its step is kept).
pub fn accept(
    tx: &mut Tx<'_>,
    state: &AppState,
    user_id: &str,
    factor: &Factor,
    code: &str,
) -> ApiResult<bool> {
    let now = u64::try_from(state.now().and_utc().timestamp()).unwrap_or_default();
    let Some(step) = factor.totp.check(code, now) else {
        return Ok(false);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if step <= factor.last_used_step {
        return Ok(false);
    }
    // Only a later step moves it: two sign-ins racing with one code, one wins.
    let spent = diesel::update(
        totp_factors::table
            .find(user_id)
            .filter(totp_factors::last_used_step.lt(step)),
    )
    .set(totp_factors::last_used_step.eq(step))
    .execute(tx.conn())?;
    Ok(spent == 1)
}

pub fn confirm(tx: &mut Tx<'_>, user_id: &str, now: NaiveDateTime) -> ApiResult<()> {
    diesel::update(totp_factors::table.find(user_id))
        .set(totp_factors::confirmed_at.eq(now))
        .execute(tx.conn())?;
    Ok(())
}

pub fn remove(tx: &mut Tx<'_>, user_id: &str) -> ApiResult<bool> {
    Ok(diesel::delete(totp_factors::table.find(user_id)).execute(tx.conn())? == 1)
}

/// A 6-digit code as typed (spaces allowed), or the field violation.
pub fn check_code_input(code: &str) -> Result<String, String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() {
        return Err("is required".into());
    }
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be the 6 digits the authenticator app shows".into());
    }
    Ok(digits)
}
