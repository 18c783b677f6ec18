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
