//! Sign-in lockout, per account (per normalized email, whether or not an
//! account exists, so the lockout tells nothing about who has one). Kept in
//! the database so every instance sees the same count.
//!
//! After `threshold` failures the account is locked for `base`, doubled with
//! each further failure up to `max`; it unlocks by itself; failures older than
//! `reset` are forgotten; a successful sign-in clears the count.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};

use crate::{
    config::LimitsConfig,
    db::{AnyConnection, rows::LoginThrottleRow, schema::login_throttle, upsert},
    error::ApiResult,
    state::after,
};

/// When the lock on `email` ends, if it is locked now.
pub fn locked_until(
    conn: &mut AnyConnection,
    email: &str,
    now: NaiveDateTime,
) -> ApiResult<Option<NaiveDateTime>> {
    let until: Option<Option<NaiveDateTime>> = login_throttle::table
        .find(email)
        .select(login_throttle::locked_until)
        .first(conn)
        .optional()?;
    Ok(until.flatten().filter(|until| *until > now))
}

/// Counts a failure; returns when the lock it caused ends, if it caused one.
pub fn record_failure(
    conn: &mut AnyConnection,
    limits: &LimitsConfig,
    email: &str,
    now: NaiveDateTime,
) -> ApiResult<Option<NaiveDateTime>> {
    upsert::insert_login_throttle_if_absent(
        conn,
        &LoginThrottleRow {
            email: email.to_owned(),
            failures: 0,
            last_failure_at: now,
            locked_until: None,
        },
    )?;
    // Incrementing first takes the row lock (PostgreSQL) before reading.
    let row: LoginThrottleRow = diesel::update(login_throttle::table.find(email))
        .set(login_throttle::failures.eq(login_throttle::failures + 1))
        .returning(login_throttle::all_columns)
        .get_result(conn)?;
    let stale = after(row.last_failure_at, limits.lockout_reset) < now;
    let failures = if stale { 1 } else { row.failures };
    let locked_until = lock_window(limits, failures).map(|window| after(now, window));
    diesel::update(login_throttle::table.find(email))
        .set((
            login_throttle::failures.eq(failures),
            login_throttle::last_failure_at.eq(now),
            login_throttle::locked_until.eq(locked_until),
        ))
        .execute(conn)?;
    Ok(locked_until)
}

pub fn clear(conn: &mut AnyConnection, email: &str) -> ApiResult<()> {
    diesel::delete(login_throttle::table.find(email)).execute(conn)?;
    Ok(())
}

fn lock_window(limits: &LimitsConfig, failures: i64) -> Option<std::time::Duration> {
    let over = failures.checked_sub(i64::from(limits.lockout_threshold))?;
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
        assert_eq!(lock_window(limits, 4), None);
        assert_eq!(lock_window(limits, 5), Some(Duration::from_secs(30)));
        assert_eq!(lock_window(limits, 6), Some(Duration::from_secs(60)));
        assert_eq!(lock_window(limits, 50), Some(Duration::from_secs(900)));
    }
}
