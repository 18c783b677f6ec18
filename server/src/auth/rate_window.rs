//! Fixed-window counters in the database, shared by every instance: for
//! limits that must hold across instances and restarts (the per-instance
//! rate limiter in `layers` sheds load; these protect someone's mailbox).

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};

use crate::{
    db::{AnyConnection, schema::rate_windows, upsert},
    error::{ApiError, ApiResult},
    state::after,
};

/// How many hits a subject may make per window.
pub struct Limit {
    pub hits: i64,
    pub window: Duration,
}

/// Counts a hit on `subject`; RESOURCE_EXHAUSTED with the time until the
/// window ends when it is over the limit (the caller's transaction then
/// rolls back, so the refused hit is not counted).
pub fn hit(
    conn: &mut AnyConnection,
    subject: &str,
    limit: &Limit,
    what: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    upsert::insert_rate_window_if_absent(conn, subject, now)?;
    // Incrementing first takes the row lock (PostgreSQL) before reading.
    let (start, hits): (NaiveDateTime, i64) = diesel::update(rate_windows::table.find(subject))
        .set(rate_windows::hits.eq(rate_windows::hits + 1))
        .returning((rate_windows::window_start, rate_windows::hits))
        .get_result(conn)?;
    let ends = after(start, limit.window);
    if ends <= now {
        diesel::update(rate_windows::table.find(subject))
            .set((rate_windows::window_start.eq(now), rate_windows::hits.eq(1)))
            .execute(conn)?;
        return Ok(());
    }
    if hits <= limit.hits {
        return Ok(());
    }
    let secs = (ends - now).num_seconds().max(1);
    Err(ApiError::ResourceExhausted {
        message: format!("too many {what}; try again in {secs} s"),
        retry_after: Some(Duration::from_secs(secs.unsigned_abs())),
    })
}

/// Drops windows that ended before `horizon` (housekeeping).
pub fn forget_before(conn: &mut AnyConnection, horizon: NaiveDateTime) -> ApiResult<usize> {
    Ok(
        diesel::delete(rate_windows::table.filter(rate_windows::window_start.lt(horizon)))
            .execute(conn)?,
    )
}
