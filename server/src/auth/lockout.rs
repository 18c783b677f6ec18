//! The sign-in lockout, fair to the account's owner. Kept in the database so
//! every instance sees the same counts.
//!
//! A lock per account would let anyone who knows an address keep its owner
//! out. So failures are counted three ways (per normalized email, whether
//! or not an account exists, so a lock tells nothing about who has one):
//! - per (account, client address): after `lockout_threshold` that address
//!   is locked out of that account;
//! - per client address: after `lockout_address_threshold` (spraying one
//!   password over many accounts) the address is locked out of all;
//! - per account: after `lockout_account_threshold` (an attack from many
//!   addresses) the account is locked for addresses it was never signed in
//!   from. Its owner, from an address a session of theirs came from, is
//!   never slowed, and can always reset the password.
//!
//! A lock lasts `lockout_base`, doubled with each further failure up to
//! `lockout_max`; it ends by itself; failures older than `lockout_reset`
//! are forgotten; a successful sign-in clears its (account, address) count.

use chrono::NaiveDateTime;
use diesel::{
    BoolExpressionMethods as _, EscapeExpressionMethods as _, ExpressionMethods as _,
    OptionalExtension as _, QueryDsl as _, RunQueryDsl as _, TextExpressionMethods as _,
};

use crate::{
    config::LimitsConfig,
    context::RequestMeta,
    db::{
        AnyConnection,
        rows::LoginThrottleRow,
        schema::{login_throttle, sessions},
        upsert,
    },
    error::ApiResult,
    state::after,
};

/// A sign-in attempt: whose account, from where.
pub struct Attempt {
    email_key: String,
    user_id: Option<String>,
    address: String,
}

impl Attempt {
    /// An attempt at `email` (any case), whose account is `user_id` if one
    /// exists, from the request's client address.
    pub fn new(email: &str, user_id: Option<&str>, meta: &RequestMeta) -> Self {
        let address = match meta.client_ip.as_str() {
            "" => "unknown",
            known => known,
        };
        Self {
            email_key: crate::validate::email_key(email),
            user_id: user_id.map(str::to_owned),
            address: address.to_owned(),
        }
    }

    pub fn email_key(&self) -> &str {
        &self.email_key
    }
    fn pair_subject(&self) -> String {
        format!("account {} from {}", self.email_key, self.address)
    }

    fn address_subject(&self) -> String {
        format!("address {}", self.address)
    }

    fn account_subject(&self) -> String {
        format!("account {}", self.email_key)
    }
}

/// When the lock on this attempt ends, if it is locked now.
pub fn locked_until(
    conn: &mut AnyConnection,
    attempt: &Attempt,
    now: NaiveDateTime,
) -> ApiResult<Option<NaiveDateTime>> {
    let mut until = subject_locked_until(conn, &attempt.pair_subject(), now)?;
    until = until.max(subject_locked_until(conn, &attempt.address_subject(), now)?);
    if let Some(account) = subject_locked_until(conn, &attempt.account_subject(), now)?
        && !known_address(conn, attempt)?
    {
        until = until.max(Some(account));
    }
    Ok(until)
}

/// Counts a failure three ways; returns when the lock on this attempt ends,
/// if it is locked now.
pub fn record_failure(
    conn: &mut AnyConnection,
    limits: &LimitsConfig,
    attempt: &Attempt,
    now: NaiveDateTime,
) -> ApiResult<Option<NaiveDateTime>> {
    let counts = [
        (attempt.pair_subject(), limits.lockout_threshold),
        (attempt.address_subject(), limits.lockout_address_threshold),
        (attempt.account_subject(), limits.lockout_account_threshold),
    ];
    for (subject, threshold) in counts {
        record_subject_failure(conn, limits, threshold, &subject, now)?;
    }
    locked_until(conn, attempt, now)
}

/// After a right password: this address starts afresh with this account.
pub fn clear(conn: &mut AnyConnection, attempt: &Attempt) -> ApiResult<()> {
    clear_subject(conn, &attempt.pair_subject())
}

/// After a password reset: the owner proved control of the address, so
/// every count on the account is dropped (not the addresses' own).
pub fn clear_account(conn: &mut AnyConnection, email_key: &str) -> ApiResult<()> {
    diesel::delete(
        login_throttle::table.filter(
            login_throttle::subject
                .eq(format!("account {email_key}"))
                .or(login_throttle::subject
                    .like(format!("account {} from %", escape(email_key)))
                    .escape('\\')),
        ),
    )
    .execute(conn)?;
    Ok(())
}

/// Whether a session of the account was ever opened from this address.
fn known_address(conn: &mut AnyConnection, attempt: &Attempt) -> ApiResult<bool> {
    let Some(user_id) = &attempt.user_id else {
        return Ok(false);
    };
    let found: Option<String> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::client_ip.eq(&attempt.address))
        .select(sessions::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// When the lock on `subject` ends, if it is locked now.
pub fn subject_locked_until(
    conn: &mut AnyConnection,
    subject: &str,
    now: NaiveDateTime,
) -> ApiResult<Option<NaiveDateTime>> {
    let until: Option<Option<NaiveDateTime>> = login_throttle::table
        .find(subject)
        .select(login_throttle::locked_until)
        .first(conn)
        .optional()?;
    Ok(until.flatten().filter(|until| *until > now))
}

/// Counts a failure of `subject`; returns when the lock it caused ends, if
/// it caused one.
pub fn record_subject_failure(
    conn: &mut AnyConnection,
    limits: &LimitsConfig,
    threshold: u32,
    subject: &str,
    now: NaiveDateTime,
) -> ApiResult<Option<NaiveDateTime>> {
    upsert::insert_login_throttle_if_absent(
        conn,
        &LoginThrottleRow {
            subject: subject.to_owned(),
            failures: 0,
            last_failure_at: now,
            locked_until: None,
        },
    )?;
    // Incrementing first takes the row lock (PostgreSQL) before reading.
    let row: LoginThrottleRow = diesel::update(login_throttle::table.find(subject))
        .set(login_throttle::failures.eq(login_throttle::failures + 1))
        .returning(login_throttle::all_columns)
        .get_result(conn)?;
    let stale = after(row.last_failure_at, limits.lockout_reset) < now;
    let failures = if stale { 1 } else { row.failures };
    let locked_until = lock_window(limits, threshold, failures).map(|window| after(now, window));
    diesel::update(login_throttle::table.find(subject))
        .set((
            login_throttle::failures.eq(failures),
            login_throttle::last_failure_at.eq(now),
            login_throttle::locked_until.eq(locked_until),
        ))
        .execute(conn)?;
    Ok(locked_until)
}

pub fn clear_subject(conn: &mut AnyConnection, subject: &str) -> ApiResult<()> {
    diesel::delete(login_throttle::table.find(subject)).execute(conn)?;
    Ok(())
}

/// Drops counts whose last failure is older than `lockout_reset` and whose
/// lock has ended (housekeeping); returns how many.
pub fn forget_stale(
    conn: &mut AnyConnection,
    limits: &LimitsConfig,
    now: NaiveDateTime,
) -> ApiResult<usize> {
    let horizon = now - chrono::Duration::from_std(limits.lockout_reset).unwrap_or_default();
    let stale = login_throttle::last_failure_at.lt(horizon).and(
        login_throttle::locked_until
            .is_null()
            .or(login_throttle::locked_until.lt(now)),
    );
    Ok(diesel::delete(login_throttle::table.filter(stale)).execute(conn)?)
}

/// `LIKE` treats `%` and `_` as patterns; an email may hold `_`.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn lock_window(
    limits: &LimitsConfig,
    threshold: u32,
    failures: i64,
) -> Option<std::time::Duration> {
    let over = failures.checked_sub(i64::from(threshold))?;
    if over < 0 {
        return None;
    }
    let factor = 2_u32.saturating_pow(u32::try_from(over).unwrap_or(u32::MAX).min(20));
    Some(
        limits
            .lockout_base
            .saturating_mul(factor)
            .min(limits.lockout_max),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser as _;

    use super::*;

    #[test]
    fn window_starts_at_threshold_and_doubles_to_max() {
        let config = crate::config::Config::parse_from(["x"]);
        let limits = &config.limits;
        assert_eq!(lock_window(limits, 5, 4), None);
        assert_eq!(lock_window(limits, 5, 5), Some(Duration::from_secs(30)));
        assert_eq!(lock_window(limits, 5, 6), Some(Duration::from_secs(60)));
        assert_eq!(lock_window(limits, 5, 50), Some(Duration::from_secs(900)));
        assert_eq!(lock_window(limits, 100, 99), None);
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape("a_b%c\\d"), "a\\_b\\%c\\\\d");
    }
}
