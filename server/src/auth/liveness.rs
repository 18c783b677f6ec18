//! Is the session behind an access token still live, and what is the caller's
//! role now? Asked on every authenticated call — for a person's session, a
//! personal access token, or a service account's credential alike.
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
    db::{AnyConnection, Db, TenantScope, schema::sessions},
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
    method: AuthMethod,
    /// The pinned organization requires a second factor.
    require_mfa: bool,
}

/// What a credential's row says now (see `credentials.rs`).
#[derive(Debug, Clone)]
enum Live {
    Session(SessionState),
    Service(super::credentials::ServiceState),
    Token(super::credentials::TokenState),
}

#[derive(Debug, Clone)]
struct Cached {
    state: Option<Live>,
    fetched_at: DateTime<Utc>,
    epoch: u64,
}

pub struct SessionLiveness {
    db: Db,
    clock: SharedClock,
    ttl: chrono::Duration,
    cache: quick_cache::sync::Cache<String, Cached>,
    /// When this instance last recorded each personal access token's use.
    noted: quick_cache::sync::Cache<String, DateTime<Utc>>,
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
            noted: quick_cache::sync::Cache::new(10_000),
            epoch: AtomicU64::new(0),
            uncached_until: AtomicU64::new(0),
            started: std::time::Instant::now(),
        }
    }

    /// The caller behind verified claims, or UNAUTHENTICATED when their
    /// session has ended or the token was superseded.
    pub async fn context(&self, claims: &AccessClaims) -> ApiResult<Caller> {
        if claims.is_service() {
            return self.service(claims).await;
        }
        let now = self.clock.now();
        let id = claims.sid.clone();
        let live = self
            .state(&claims.sid, now, move |tx| load(tx, &id))
            .await?;
        let Some(Live::Session(state)) = live else {
            return Err(ENDED);
        };
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
        if state.require_mfa && !state.method.multi_factor() {
            return Err(ApiError::Unauthenticated(MFA_NOW_REQUIRED));
        }
        Ok(Caller {
            principal: Principal::Person {
                user_id: UserId::trusted(state.user_id),
            },
            credential: Credential::Session {
                session_id: SessionId::trusted(claims.sid.clone()),
                method: if state.method.is_sso() {
                    SessionMethod::Sso
                } else {
                    SessionMethod::Password
                },
                multi_factor: state.method.multi_factor(),
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

    /// The caller behind a service account's verified token.
    async fn service(&self, claims: &AccessClaims) -> ApiResult<Caller> {
        let now = self.clock.now();
        let id = claims.sid.clone();
        let key = format!("svc:{}", claims.sid);
        let live = self
            .state(&key, now, move |tx| {
                Ok(super::credentials::load_service(tx, &id)?.map(Live::Service))
            })
            .await?;
        let Some(Live::Service(state)) = live else {
            return Err(super::credentials::SERVICE_ENDED);
        };
        state.caller(claims)
    }

    /// The caller behind a personal access token (`tnt_pat_…`).
    pub async fn personal_token(&self, token: &str) -> ApiResult<Caller> {
        let now = self.clock.now();
        let hash = crate::crypto::tokens::hash_token(token);
        let key = format!("pat:{hash}");
        let live = self
            .state(&key, now, move |tx| {
                Ok(super::credentials::load_token(tx, &hash)?.map(Live::Token))
            })
            .await?;
        let Some(Live::Token(state)) = live else {
            return Err(super::credentials::TOKEN_ENDED);
        };
        let caller = state.caller(now.naive_utc())?;
        if state.needs_last_use(now.naive_utc()) {
            self.note_use(&state.token_id, now);
        }
        Ok(caller)
    }

    /// Records when a personal access token was last used, without holding
    /// up the call (at most once a minute per token and instance: the cached
    /// row still shows the old time for a while after the write).
    fn note_use(&self, token_id: &str, now: DateTime<Utc>) {
        if self
            .noted
            .get(token_id)
            .is_some_and(|at| (now - at).num_seconds() < 60)
        {
            return;
        }
        self.noted.insert(token_id.to_owned(), now);
        let (db, token_id, now) = (self.db.clone(), token_id.to_owned(), now.naive_utc());
        tokio::spawn(async move {
            let written = db
                .write(move |tx| super::credentials::mark_token_used(tx, &token_id, now))
                .await;
            if let Err(err) = written {
                tracing::warn!(error = %err, "could not record a token's last use");
            }
        });
    }

    async fn state<F>(&self, key: &str, now: DateTime<Utc>, load: F) -> ApiResult<Option<Live>>
    where
        F: FnOnce(&mut crate::db::Tx<'_>) -> ApiResult<Option<Live>> + Send + 'static,
    {
        let epoch = self.epoch.load(Ordering::Relaxed);
        if let Some(hit) = self.cache.get(key)
            && hit.epoch == epoch
            && now - hit.fetched_at < self.ttl
        {
            self.hits.increment(1);
            return Ok(hit.state);
        }
        self.misses.increment(1);
        let state = self.db.read(load).await?;
        if self.elapsed_ms() < self.uncached_until.load(Ordering::Relaxed) {
            return Ok(state);
        }
        self.cache.insert(
            key.to_owned(),
            Cached {
                state: state.clone(),
                fetched_at: now,
                epoch,
            },
        );
        Ok(state)
    }
}

fn load(tx: &mut crate::db::Tx<'_>, session_id: &str) -> ApiResult<Option<Live>> {
    if let AnyConnection::Postgresql(pg) = tx.conn_for_own_settings() {
        return load_in_one(pg, session_id);
    }
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
    let mut require_mfa = false;
    if let Some(org) = &org_id {
        let org_state = super::credentials::organization_state(tx, org)?;
        live &= org_state.is_some();
        require_mfa = org_state.unwrap_or_default();
        // The organization comes from the session row the server wrote.
        role = tx
            .tenant(&TenantScope::verified(org.clone()))?
            .member_role(&user_id)?;
    }
    Ok(Some(Live::Session(SessionState {
        user_id,
        org_id,
        pin,
        live,
        absolute_expires_at,
        role,
        method: AuthMethod::from_stored(&method),
        require_mfa,
    })))
}

/// On PostgreSQL, the same check as one statement (`liveness_pg`).
fn load_in_one(pg: &mut diesel::PgConnection, session_id: &str) -> ApiResult<Option<Live>> {
    let Some(row) = super::liveness_pg::session(pg, session_id)? else {
        return Ok(None);
    };
    let pinned = row.org_id.is_some();
    Ok(Some(Live::Session(SessionState {
        live: row.revoked_at.is_none() && (!pinned || row.org_live),
        role: row.role.as_deref().map(Role::from_stored).transpose()?,
        require_mfa: pinned && row.org_live && row.require_mfa,
        user_id: row.user_id,
        org_id: row.org_id,
        pin: row.pin_generation,
        absolute_expires_at: row.absolute_expires_at,
        method: AuthMethod::from_stored(&row.auth_method),
    })))
}

/// What a session without a second factor is told once its organization
/// requires one (its tokens and its refresh token stop working).
pub const MFA_NOW_REQUIRED: &str = "this organization requires multi-factor authentication: \
     sign in again with your second factor";
