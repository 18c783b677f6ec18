//! Is the session behind an access token still live, and what is the caller's
//! role now? Asked on every authenticated call.
//!
//! Each instance keeps what it read for `session_cache_ttl` (default 500 ms,
//! measured against the server clock): a revocation, role change or removal
//! made on another instance takes effect here within that time; on the
//! instance that made it, at once (it drops its cached entries).
//!
//! Changes drop entries from inside their transaction, before it commits; a
//! check in between would read the old state and keep it for the whole TTL.
//! So for a moment after any drop, what is read is not kept.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};

use crate::ids::{OrgId, SessionId, UserId};
use crate::{
    access::Role,
    auth::issue::AuthMethod,
    clock::SharedClock,
    context::{Caller, Credential, Principal, SessionMethod},
    crypto::jwt::AccessClaims,
    db::{
        Db, TenantScope,
        schema::{organizations, sessions},
    },
    error::{ApiError, ApiResult},
    ops::meters::Meters,
};

#[derive(Debug, Clone)]
struct SessionState {
    user_id: String,
    org_id: Option<String>,
    pin: i64,
    live: bool,
    absolute_expires_at: NaiveDateTime,
    role: Option<Role>,
    sso: bool,
}

#[derive(Debug, Clone)]
struct Cached {
    state: Option<SessionState>,
    fetched_at: DateTime<Utc>,
    epoch: u64,
}

pub struct SessionLiveness {
    db: Db,
    clock: SharedClock,
    ttl: chrono::Duration,
    cache: quick_cache::sync::Cache<String, Cached>,
    hits: metrics::Counter,
    misses: metrics::Counter,
    /// Bumped to drop every cached entry at once (role changes).
    epoch: AtomicU64,
    /// Until when (ms since `started`) nothing read is cached.
    uncached_until: AtomicU64,
    started: std::time::Instant,
}

/// Far longer than a transaction takes from dropping entries to commit.
const COMMIT_WINDOW_MS: u64 = 2_000;

const ENDED: ApiError = ApiError::Unauthenticated("the session of this token has ended");

impl SessionLiveness {
    pub fn new(db: Db, clock: SharedClock, ttl: std::time::Duration, meters: &Meters) -> Self {
        let (hits, misses) = meters.session_cache();
        Self {
            hits,
            misses,
            db,
            clock,
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::zero()),
            cache: quick_cache::sync::Cache::new(100_000),
            epoch: AtomicU64::new(0),
            uncached_until: AtomicU64::new(0),
            started: std::time::Instant::now(),
        }
    }

    /// The caller behind verified claims, or UNAUTHENTICATED when their
    /// session has ended or the token was superseded.
    pub async fn context(&self, claims: &AccessClaims) -> ApiResult<Caller> {
        let now = self.clock.now();
        let state = self.state(&claims.sid, now).await?.ok_or(ENDED)?;
        if state.user_id != claims.sub
            || !state.live
            || state.absolute_expires_at <= now.naive_utc()
        {
            return Err(ENDED);
        }
        if state.org_id != claims.tid || state.pin != claims.pin {
            return Err(ApiError::Unauthenticated(
                "this token was replaced when the session switched organization",
            ));
        }
        Ok(Caller {
            principal: Principal::Person {
                user_id: UserId::trusted(state.user_id),
            },
            credential: Credential::Session {
                session_id: SessionId::trusted(claims.sid.clone()),
                method: if state.sso {
                    SessionMethod::Sso
                } else {
                    SessionMethod::Password
                },
            },
            org_id: state.org_id.map(OrgId::trusted),
            role: state.role,
        })
    }

    /// Drops one session's entry (after revoking it here).
    pub fn forget(&self, session_id: &str) {
        self.hold_off();
        self.cache.remove(session_id);
    }

    /// Drops every entry (after a change that touches many sessions or roles).
    pub fn forget_all(&self) {
        self.hold_off();
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Caches nothing until the change that called this has surely committed.
    fn hold_off(&self) {
        let until = self.elapsed_ms().saturating_add(COMMIT_WINDOW_MS);
        self.uncached_until.fetch_max(until, Ordering::Relaxed);
    }

    async fn state(&self, session_id: &str, now: DateTime<Utc>) -> ApiResult<Option<SessionState>> {
        let epoch = self.epoch.load(Ordering::Relaxed);
        if let Some(hit) = self.cache.get(session_id)
            && hit.epoch == epoch
            && now - hit.fetched_at < self.ttl
        {
            self.hits.increment(1);
            return Ok(hit.state);
        }
        self.misses.increment(1);
        let id = session_id.to_owned();
        let state = self.db.read(move |tx| load(tx, &id)).await?;
        if self.elapsed_ms() < self.uncached_until.load(Ordering::Relaxed) {
            return Ok(state);
        }
        self.cache.insert(
            session_id.to_owned(),
            Cached {
                state: state.clone(),
                fetched_at: now,
                epoch,
            },
        );
        Ok(state)
    }
}

fn load(tx: &mut crate::db::Tx<'_>, session_id: &str) -> ApiResult<Option<SessionState>> {
    type Row = (
        String,
        Option<String>,
        Option<NaiveDateTime>,
        NaiveDateTime,
        String,
        i64,
    );
    let row: Option<Row> = sessions::table
        .find(session_id)
        .select((
            sessions::user_id,
            sessions::org_id,
            sessions::revoked_at,
            sessions::absolute_expires_at,
            sessions::auth_method,
            sessions::pin_generation,
        ))
        .first(tx.conn())
        .optional()?;
    let Some((user_id, org_id, revoked_at, absolute_expires_at, method, pin)) = row else {
        return Ok(None);
    };
    let mut live = revoked_at.is_none();
    let mut role = None;
    if let Some(org) = &org_id {
        let deleted: Option<Option<NaiveDateTime>> = organizations::table
            .find(org)
            .select(organizations::deleted_at)
            .first(tx.conn())
            .optional()?;
        live &= matches!(deleted, Some(None));
        // The organization comes from the session row the server wrote.
        role = tx
            .tenant(&TenantScope::verified(org.clone()))?
            .member_role(&user_id)?;
    }
    Ok(Some(SessionState {
        user_id,
        org_id,
        pin,
        live,
        absolute_expires_at,
        role,
        sso: method == AuthMethod::Sso.as_str(),
    }))
}
