//! The few statements whose SQL differs between the backends (diesel's
//! `on_conflict` does not compile on a multi-backend connection).

use diesel::RunQueryDsl as _;

use super::{AnyConnection, rows::LoginThrottleRow, schema::login_throttle};
use crate::error::ApiResult;

/// Inserts the row unless one with its key exists.
pub fn insert_login_throttle_if_absent(
    conn: &mut AnyConnection,
    row: &LoginThrottleRow,
) -> ApiResult<()> {
    match conn {
        AnyConnection::Postgresql(pg) => {
            diesel::insert_into(login_throttle::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(pg)?;
        }
        AnyConnection::Sqlite(sqlite) => {
            diesel::insert_or_ignore_into(login_throttle::table)
                .values(row)
                .execute(sqlite)?;
        }
    }
    Ok(())
}

/// Inserts a job unless one with its id exists (recurring jobs have fixed
/// ids, so every instance may ask for them at start).
pub fn insert_job_if_absent(conn: &mut AnyConnection, row: &super::rows::JobRow) -> ApiResult<()> {
    use super::schema::jobs;
    match conn {
        AnyConnection::Postgresql(pg) => {
            diesel::insert_into(jobs::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(pg)?;
        }
        AnyConnection::Sqlite(sqlite) => {
            diesel::insert_or_ignore_into(jobs::table)
                .values(row)
                .execute(sqlite)?;
        }
    }
    Ok(())
}

/// Records an assertion id until it expires; false when it was seen before
/// (a replay).
pub fn insert_assertion_jti_if_absent(
    conn: &mut AnyConnection,
    jti_hash: &str,
    expires_at: chrono::NaiveDateTime,
) -> ApiResult<bool> {
    use diesel::ExpressionMethods as _;

    use super::schema::assertion_jtis;
    let row = (
        assertion_jtis::jti_hash.eq(jti_hash),
        assertion_jtis::expires_at.eq(expires_at),
    );
    let inserted = match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(assertion_jtis::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        AnyConnection::Sqlite(sqlite) => diesel::insert_or_ignore_into(assertion_jtis::table)
            .values(row)
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

/// Starts a rate window for `subject` at `now` unless one exists.
pub fn insert_rate_window_if_absent(
    conn: &mut AnyConnection,
    subject: &str,
    now: chrono::NaiveDateTime,
) -> ApiResult<()> {
    use diesel::ExpressionMethods as _;

    use super::schema::rate_windows;
    let row = (
        rate_windows::subject.eq(subject),
        rate_windows::window_start.eq(now),
        rate_windows::hits.eq(0_i64),
    );
    match conn {
        AnyConnection::Postgresql(pg) => {
            diesel::insert_into(rate_windows::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(pg)?;
        }
        AnyConnection::Sqlite(sqlite) => {
            diesel::insert_or_ignore_into(rate_windows::table)
                .values(row)
                .execute(sqlite)?;
        }
    }
    Ok(())
}
