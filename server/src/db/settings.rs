//! The row-level-security settings a pooled PostgreSQL connection keeps
//! between reads.
//!
//! A read runs without a transaction. The settings of its scope are made
//! for the session (`set_config(…, false)`), the connection keeps them, and
//! the next read sets them again only if its scope differs: a read for the
//! tenant the connection last served is its query alone, one round trip.
//!
//! Why this cannot leak between tenants:
//! - a statement made inside a scope runs after that scope's settings were
//!   made on this connection: [`Tx::tenant`](super::Tx::tenant) and
//!   [`Tx::user`](super::Tx::user) compare and set before they hand out the
//!   scoped handle;
//! - a statement made before any scope runs with none: `Tx::conn` clears
//!   what an earlier read left;
//! - if making or clearing them fails, the read answers that failure,
//!   whatever its statements returned (even if it went on after the error);
//! - what a worker remembers is trusted only while nothing failed: a new
//!   connection, any error and any panic make it [`Settings::Unknown`], and
//!   the next read sets the settings outright;
//! - a write runs in a transaction: it begins by clearing the kept settings
//!   for itself and sets its scope's for the transaction alone
//!   (`set_config(…, true)`), which end with it.

use diesel::{RunQueryDsl as _, sql_types::Text};

use super::connection::AnyConnection;
use crate::error::ApiResult;

/// What a worker knows of its connection's session-level settings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Settings {
    /// Anything: set them before the next statement that depends on them.
    #[default]
    Unknown,
    /// These, with `""` for none.
    Kept { org: String, user: String },
}

impl Settings {
    fn are(&self, org: &str, user: &str) -> bool {
        matches!(self, Self::Kept { org: o, user: u } if o == org && u == user)
    }

    /// Whether no scope's settings are kept (a write need not clear them).
    pub fn are_none(&self) -> bool {
        self.are("", "")
    }
}

/// Makes `org` and `user` (`None`: none) the connection's settings for the
/// session, unless they already are.
pub fn keep(
    conn: &mut AnyConnection,
    kept: &mut Settings,
    org: Option<&str>,
    user: Option<&str>,
) -> ApiResult<()> {
    let (org, user) = (org.unwrap_or(""), user.unwrap_or(""));
    if kept.are(org, user) {
        return Ok(());
    }
    *kept = Settings::Unknown;
    set(conn, org, user, false)?;
    *kept = Settings::Kept {
        org: org.to_owned(),
        user: user.to_owned(),
    };
    Ok(())
}

/// Sets them for the rest of the current transaction only.
pub fn local(conn: &mut AnyConnection, org: Option<&str>, user: Option<&str>) -> ApiResult<()> {
    set(conn, org.unwrap_or(""), user.unwrap_or(""), true)
}

/// The `BEGIN` of a write whose connection keeps a scope's settings: they
/// are cleared for the transaction (one batch, one round trip).
pub const BEGIN_CLEARED: &str = "BEGIN; SELECT set_config('app.tenant_id', '', true), \
     set_config('app.user_id', '', true)";

fn set(conn: &mut AnyConnection, org: &str, user: &str, local: bool) -> ApiResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        // One round trip: diesel sends an uncached statement with its
        // parameters in one message (PQsendQueryParams).
        diesel::sql_query(
            "SELECT set_config('app.tenant_id', $1, $3), set_config('app.user_id', $2, $3)",
        )
        .bind::<Text, _>(org)
        .bind::<Text, _>(user)
        .bind::<diesel::sql_types::Bool, _>(local)
        .execute(pg)?;
    }
    Ok(())
}
