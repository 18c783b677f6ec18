//! Refresh-token rotation with reuse detection.
//!
//! A refresh token is spent when used and replaced by a successor derived
//! from it under a server key. Presenting a spent token again means it was
//! copied: the whole session is revoked — unless it is presented within the
//! grace window and its successor is still unspent, which is what a client
//! whose response was lost does; it then gets that same successor again.

use chrono::NaiveDateTime;
use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};
use tenantry_proto::auth::v1 as pb;

use super::{credentials, issue, liveness};
use crate::{
    audit::{self, Action, Event},
    context::RequestMeta,
    crypto::tokens::{derive_token, hash_token},
    db::{
        TenantScope, Tx,
        rows::{RefreshTokenRow, SessionRow},
        schema::{refresh_tokens, sessions},
    },
    error::{ApiError, ApiResult},
    state::{AppState, after},
    validate,
};

enum Outcome {
    Issued(Box<issue::Unsigned>),
    /// Refused, with what the caller is told; any revocation it caused is
    /// committed.
    Refused(&'static str),
}

pub async fn refresh(
    state: &AppState,
    meta: RequestMeta,
    request: pb::RefreshRequest,
) -> ApiResult<pb::RefreshResponse> {
    validate::check_token(&request.refresh_token)
        .map_err(|d| ApiError::invalid("refresh_token", d))?;
    let token = request.refresh_token;
    match state
        .write(move |tx, st| rotate(tx, st, &meta, &token))
        .await?
    {
        Outcome::Issued(tokens) => Ok(pb::RefreshResponse {
            tokens: Some(tokens.sign(state)?),
        }),
        Outcome::Refused(reason) => Err(ApiError::Unauthenticated(reason)),
    }
}

fn rotate(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
) -> ApiResult<Outcome> {
    let now = state.now();
    let hash = hash_token(token);
    // The token and its session in one statement.
    let found: Option<(RefreshTokenRow, SessionRow)> = refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(&hash))
        .select((RefreshTokenRow::as_select(), SessionRow::as_select()))
        .first(tx.conn())
        .optional()?;
    let Some((mut presented, session)) = found else {
        return Ok(Outcome::Refused("invalid refresh token"));
    };
    if let Some(reason) = session_refusal(&session, &presented, now) {
        return Ok(Outcome::Refused(reason));
    }
    if needs_second_factor(tx, &session)? {
        return Ok(Outcome::Refused(liveness::MFA_NOW_REQUIRED));
    }
    let successor = Successor::of(state, token);
    if presented.spent_at.is_none() {
        if let Some(issued) = spend(tx, state, &hash, &session, &successor)? {
            return Ok(issued);
        }
        // Another refresh spent it a moment ago: as if presented again.
        presented =
            find_token(tx, &hash)?.ok_or(ApiError::Unauthenticated("invalid refresh token"))?;
    }
    presented_again(tx, state, meta, &presented, &session, successor)
}

/// The token that follows a refresh token: derived from it under a server
/// key, so every instance derives the same one.
struct Successor {
    token: String,
    hash: String,
}

impl Successor {
    fn of(state: &AppState, token: &str) -> Self {
        let token = derive_token(&state.refresh_key, issue::REFRESH_PREFIX, token);
        let hash = hash_token(&token);
        Self { token, hash }
    }
}

/// Spends the unspent token `hash` and issues its successor; `None` when a
/// concurrent refresh spent it first (only one may).
fn spend(
    tx: &mut Tx<'_>,
    state: &AppState,
    hash: &str,
    session: &SessionRow,
    successor: &Successor,
) -> ApiResult<Option<Outcome>> {
    let now = state.now();
    let claimed = diesel::update(
        refresh_tokens::table
            .find(hash)
            .filter(refresh_tokens::spent_at.is_null()),
    )
    .set((
        refresh_tokens::spent_at.eq(now),
        refresh_tokens::successor_hash.eq(&successor.hash),
    ))
    .execute(tx.conn())?;
    if claimed != 1 {
        return Ok(None);
    }
    let idle =
        after(now, state.config.sessions.session_idle_timeout).min(session.absolute_expires_at);
    diesel::update(sessions::table.find(&session.id))
        .set((
            sessions::last_active_at.eq(now),
            sessions::idle_expires_at.eq(idle),
        ))
        .execute(tx.conn())?;
    let expires = issue::store_refresh_token(tx, state, session, &successor.token, now)?;
    let pair = issue::token_pair(tx, state, session, successor.token.clone(), expires, now)?;
    Ok(Some(Outcome::Issued(Box::new(pair))))
}

/// A spent token presented again: within the grace, its unspent successor
/// again (a client whose answer was lost); otherwise someone holds a copy.
fn presented_again(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    presented: &RefreshTokenRow,
    session: &SessionRow,
    successor: Successor,
) -> ApiResult<Outcome> {
    let now = state.now();
    let grace = after(
        presented.spent_at.unwrap_or(now),
        state.config.tokens.refresh_grace,
    );
    if now <= grace
        && presented.successor_hash.as_deref() == Some(successor.hash.as_str())
        && let Some(next) = find_token(tx, &successor.hash)?.filter(|t| t.spent_at.is_none())
    {
        let pair = issue::token_pair(tx, state, session, successor.token, next.expires_at, now)?;
        return Ok(Outcome::Issued(Box::new(pair)));
    }

    // Spent a moment ago because the session changed organization (another
    // tab refreshed at the same time): refused, but nobody stole it.
    if now <= grace && presented.successor_hash.as_deref() == Some(issue::SUPERSEDED) {
        return Ok(Outcome::Refused(
            "this refresh token was replaced when the session changed organization: use the new one",
        ));
    }

    // A spent token came back: someone holds a copy.
    revoke_for_reuse(tx, state, meta, session)?;
    Ok(Outcome::Refused(
        "refresh token reuse detected: the session has been revoked",
    ))
}

/// Ends the session whose spent refresh token came back, and audits it.
fn revoke_for_reuse(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    session: &SessionRow,
) -> ApiResult<()> {
    let now = state.now();
    diesel::update(sessions::table.find(&session.id))
        .set((
            sessions::revoked_at.eq(now),
            sessions::revoke_reason.eq("refresh_token_reuse"),
        ))
        .execute(tx.conn())?;
    state.liveness.forget(&session.id);
    let scope = session
        .org_id
        .clone()
        .map_or_else(TenantScope::account_events, TenantScope::verified);
    let mut t = tx.tenant(&scope)?;
    let event = Event::by_user(
        &session.user_id,
        Action::AuthSessionReuseDetected,
        "session",
        &session.id,
    )
    .failed()
    .details(serde_json::json!({ "revoked": true }));
    audit::record(&mut t, now, meta, event)
}

fn find_token(tx: &mut Tx<'_>, hash: &str) -> ApiResult<Option<RefreshTokenRow>> {
    Ok(refresh_tokens::table
        .find(hash)
        .select(RefreshTokenRow::as_select())
        .first(tx.conn())
        .optional()?)
}

/// Whether the session has no second factor and its organization now
/// requires one (the same rule as its access tokens').
fn needs_second_factor(tx: &mut Tx<'_>, session: &SessionRow) -> ApiResult<bool> {
    let Some(org) = &session.org_id else {
        return Ok(false);
    };
    if issue::AuthMethod::from_stored(&session.auth_method).multi_factor() {
        return Ok(false);
    }
    Ok(credentials::organization_state(tx, org)?.unwrap_or(false))
}

fn session_refusal(
    session: &SessionRow,
    token: &RefreshTokenRow,
    now: NaiveDateTime,
) -> Option<&'static str> {
    if session.revoked_at.is_some() {
        Some("the session has ended")
    } else if now >= session.absolute_expires_at {
        Some("the session has expired; sign in again")
    } else if now >= session.idle_expires_at {
        Some("the session expired after inactivity; sign in again")
    } else if now >= token.expires_at {
        Some("the refresh token has expired; sign in again")
    } else {
        None
    }
}
