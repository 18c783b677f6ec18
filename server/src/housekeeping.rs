//! The recurring `housekeeping` job: deletes what has expired (sessions,
//! verification, reset and sign-in challenge tokens, counters, SSO states), so tables
//! hold what is live (and a little history) rather than everything ever
//! written. Upload sessions expire through jobs of their own
//! (`files::janitor`); delivered mail leaves the outbox as it goes.
//!
//! Each run is one transaction per kind of row, so any instance may run it
//! and a crash in between leaves nothing inconsistent.

use chrono::NaiveDateTime;
use diesel::{BoolExpressionMethods as _, ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};

use crate::{
    auth::{lockout, mfa, rate_window},
    db::{
        TenantScope, Tx,
        schema::{
            assertion_jtis, email_verifications, organizations, password_resets, sessions,
            sso_link_requests, sso_login_states,
        },
    },
    error::ApiResult,
    jobs::Outcome,
    state::{AppState, after},
};

/// Ended sessions are kept this long: a person's list of the addresses
/// they signed in from (which the lockout trusts) comes from them.
const SESSION_HISTORY: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// What one run deleted, by kind (logged).
#[derive(Debug, Default)]
pub struct Swept {
    pub sessions: usize,
    pub email_verifications: usize,
    pub password_resets: usize,
    pub sign_in_counters: usize,
    pub rate_windows: usize,
    pub assertion_ids: usize,
    pub mfa_challenges: usize,
    pub passkey_ceremonies: usize,
    pub sso_states: usize,
}

pub async fn run(state: &AppState) -> ApiResult<Outcome> {
    let swept = sweep(state).await?;
    tracing::info!(?swept, "housekeeping");
    Ok(Outcome::Later(after(
        state.now(),
        state.config.storage.janitor_interval,
    )))
}

/// Deletes everything that has expired by now.
pub async fn sweep(state: &AppState) -> ApiResult<Swept> {
    let now = state.now();
    let limits = state.config.limits.clone();
    let mut swept = state
        .db
        .write(move |tx| {
            Ok(Swept {
                sessions: ended_sessions(tx, now - SESSION_HISTORY)?,
                email_verifications: diesel::delete(
                    email_verifications::table.filter(email_verifications::expires_at.lt(now)),
                )
                .execute(tx.conn())?,
                password_resets: diesel::delete(
                    password_resets::table.filter(password_resets::expires_at.lt(now)),
                )
                .execute(tx.conn())?,
                sign_in_counters: lockout::forget_stale(tx.conn(), &limits, now)?,
                rate_windows: rate_window::forget_before(
                    tx.conn(),
                    now - chrono::TimeDelta::days(1),
                )?,
                assertion_ids: diesel::delete(
                    assertion_jtis::table.filter(assertion_jtis::expires_at.lt(now)),
                )
                .execute(tx.conn())?,
                mfa_challenges: mfa::challenge::forget_expired(tx.conn(), now)?,
                passkey_ceremonies: crate::auth::passkeys::ceremony::forget_expired(
                    tx.conn(),
                    now,
                )?,
                ..Swept::default()
            })
        })
        .await?;
    swept.sso_states = state.db.write(move |tx| sso_states(tx, now)).await?;
    Ok(swept)
}

/// Sessions that ended (revoked, idle or past their absolute expiry)
/// before `horizon`; their refresh tokens go with them (cascade).
fn ended_sessions(tx: &mut Tx<'_>, horizon: NaiveDateTime) -> ApiResult<usize> {
    let ended = sessions::absolute_expires_at
        .lt(horizon)
        .or(sessions::idle_expires_at.lt(horizon))
        .or(sessions::revoked_at.lt(horizon));
    Ok(diesel::delete(sessions::table.filter(ended)).execute(tx.conn())?)
}

/// Expired SSO sign-in states and link requests, organization by
/// organization (they are tenant rows: row-level security shows one
/// organization's at a time).
fn sso_states(tx: &mut Tx<'_>, now: NaiveDateTime) -> ApiResult<usize> {
    let orgs: Vec<String> = organizations::table
        .select(organizations::id)
        .load(tx.conn())?;
    let mut deleted = 0;
    for org in orgs {
        let mut t = tx.tenant(&TenantScope::verified(org))?;
        let states = diesel::delete(
            t.sso_login_states()
                .filter(sso_login_states::expires_at.lt(now)),
        );
        deleted += states.execute(t.conn())?;
        let links = diesel::delete(
            t.sso_link_requests()
                .filter(sso_link_requests::expires_at.lt(now)),
        );
        deleted += links.execute(t.conn())?;
    }
    Ok(deleted)
}
