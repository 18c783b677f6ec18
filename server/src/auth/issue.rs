//! Opening sessions and issuing token pairs. Used by sign-in, refresh,
//! organization creation and switching, and SSO.
//!
//! Inside a transaction these build an [`Unsigned`] pair; callers sign it
//! after the commit, so the (comparatively slow) Ed25519 signature is never
//! made while the database's write lock is held.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};
use tenantry_proto::auth::v1 as pb;

use crate::{
    access::Role,
    clock::to_proto,
    context::RequestMeta,
    crypto::{
        jwt::AccessClaims,
        tokens::{hash_token, random_token},
    },
    db::{
        TenantScope, Tx,
        rows::{RefreshTokenRow, SessionRow},
        schema::{refresh_tokens, sessions},
    },
    error::{ApiError, ApiResult},
    state::{AppState, after},
};

pub const REFRESH_PREFIX: &str = "rt";

/// The successor recorded for refresh tokens spent because their session
/// moved to another organization (not a hash: no token derives to it).
pub const SUPERSEDED: &str = "superseded";

/// Why a session signed in through SSO cannot move.
const SSO_SESSION_STAYS: &str = "this session signed in through an organization's identity provider and stays in that organization: sign in again to use another one";

/// How a session signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    /// A password, then a code from the authenticator app.
    PasswordAndTotp,
    /// A password, then a recovery code.
    PasswordAndRecoveryCode,
    /// A password, then a passkey.
    PasswordAndPasskey,
    /// A passkey alone: it checks the person (user verification) as well as
    /// the device, so it counts as multi-factor.
    Passkey,
    Sso,
    /// Single sign-on whose provider reported a second factor (`amr`).
    SsoWithMfa,
}

impl AuthMethod {
    const ALL: [AuthMethod; 7] = [
        AuthMethod::Password,
        AuthMethod::PasswordAndTotp,
        AuthMethod::PasswordAndRecoveryCode,
        AuthMethod::PasswordAndPasskey,
        AuthMethod::Passkey,
        AuthMethod::Sso,
        AuthMethod::SsoWithMfa,
    ];

    /// As stored in `sessions.auth_method` and audited.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::PasswordAndTotp => "password+totp",
            AuthMethod::PasswordAndRecoveryCode => "password+recovery_code",
            AuthMethod::PasswordAndPasskey => "password+passkey",
            AuthMethod::Passkey => "passkey",
            AuthMethod::Sso => "sso",
            AuthMethod::SsoWithMfa => "sso+mfa",
        }
    }

    /// The stored name back; an unknown one counts as a password alone.
    pub fn from_stored(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .unwrap_or(AuthMethod::Password)
    }

    pub fn is_sso(self) -> bool {
        matches!(self, AuthMethod::Sso | AuthMethod::SsoWithMfa)
    }

    /// Whether the session was opened with a second factor.
    pub fn multi_factor(self) -> bool {
        !matches!(self, AuthMethod::Password | AuthMethod::Sso)
    }
}

/// Opens a session for `user_id` pinned to `org_id` (if any) and issues its
/// first token pair.
pub fn open_session(
    tx: &mut Tx<'_>,
    state: &AppState,
    user_id: &str,
    org_id: Option<String>,
    method: AuthMethod,
    meta: &RequestMeta,
) -> ApiResult<Unsigned> {
    let now = state.now();
    let absolute = after(now, state.config.sessions.session_absolute_timeout);
    let session = SessionRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user_id.to_owned(),
        org_id,
        created_at: now,
        last_active_at: now,
        idle_expires_at: after(now, state.config.sessions.session_idle_timeout).min(absolute),
        absolute_expires_at: absolute,
        revoked_at: None,
        revoke_reason: None,
        user_agent: meta.user_agent.clone(),
        client_ip: meta.client_ip.clone(),
        auth_method: method.as_str().to_owned(),
        pin_generation: 0,
    };
    diesel::insert_into(sessions::table)
        .values(&session)
        .execute(tx.conn())?;
    let refresh = random_token(REFRESH_PREFIX);
    let refresh_expires = store_refresh_token(tx, state, &session, &refresh, now)?;
    token_pair(tx, state, &session, refresh, refresh_expires, now)
}

/// Re-pins a live session to another organization (or none): its refresh
/// tokens are spent, and tokens pinned to the old organization stop working.
pub fn repin_session(
    tx: &mut Tx<'_>,
    state: &AppState,
    session_id: &str,
    org_id: Option<String>,
) -> ApiResult<Unsigned> {
    let now = state.now();
    // An identity provider vouches for its own organization only (an admin
    // may point it anywhere): its sessions never move to another one.
    let (method, pinned): (String, Option<String>) = sessions::table
        .find(session_id)
        .select((sessions::auth_method, sessions::org_id))
        .first(tx.conn())?;
    if method == AuthMethod::Sso.as_str() && pinned != org_id {
        return Err(ApiError::failed_precondition(SSO_SESSION_STAYS));
    }
    let session: SessionRow = diesel::update(sessions::table.find(session_id))
        .set((
            sessions::org_id.eq(&org_id),
            sessions::last_active_at.eq(now),
            sessions::pin_generation.eq(sessions::pin_generation + 1),
        ))
        .returning(sessions::all_columns)
        .get_result(tx.conn())?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::session_id.eq(session_id))
            .filter(refresh_tokens::spent_at.is_null()),
    )
    .set((
        refresh_tokens::spent_at.eq(now),
        refresh_tokens::successor_hash.eq(SUPERSEDED),
    ))
    .execute(tx.conn())?;
    state.liveness.forget(session_id);
    let refresh = random_token(REFRESH_PREFIX);
    let refresh_expires = store_refresh_token(tx, state, &session, &refresh, now)?;
    token_pair(tx, state, &session, refresh, refresh_expires, now)
}

/// Stores a refresh token's hash; returns when it expires.
pub fn store_refresh_token(
    tx: &mut Tx<'_>,
    state: &AppState,
    session: &SessionRow,
    token: &str,
    now: NaiveDateTime,
) -> ApiResult<NaiveDateTime> {
    let expires_at =
        after(now, state.config.tokens.refresh_token_ttl).min(session.absolute_expires_at);
    let row = RefreshTokenRow {
        token_hash: hash_token(token),
        session_id: session.id.clone(),
        created_at: now,
        expires_at,
        spent_at: None,
        successor_hash: None,
    };
    diesel::insert_into(refresh_tokens::table)
        .values(&row)
        .execute(tx.conn())?;
    Ok(expires_at)
}

/// A token pair, its access token not yet signed.
#[derive(Debug, Clone)]
pub struct Unsigned {
    claims: AccessClaims,
    access_expires: NaiveDateTime,
    refresh_token: String,
    refresh_expires: NaiveDateTime,
    role: Option<Role>,
}

impl Unsigned {
    pub fn session_id(&self) -> &str {
        &self.claims.sid
    }

    /// Signs the access token (after the transaction has committed).
    pub fn sign(self, state: &AppState) -> ApiResult<pb::TokenPair> {
        Ok(pb::TokenPair {
            access_token: state.tokens.sign(&self.claims)?,
            access_token_expire_time: Some(to_proto(self.access_expires)),
            refresh_token: self.refresh_token,
            refresh_token_expire_time: Some(to_proto(self.refresh_expires)),
            session_id: self.claims.sid,
            organization_id: self.claims.tid.unwrap_or_default(),
            role: self.role.map_or(pb::Role::Unspecified, Role::to_proto) as i32,
        })
    }
}

/// A token pair for `session` whose access token carries the caller's
/// current role.
pub fn token_pair(
    tx: &mut Tx<'_>,
    state: &AppState,
    session: &SessionRow,
    refresh_token: String,
    refresh_expires: NaiveDateTime,
    now: NaiveDateTime,
) -> ApiResult<Unsigned> {
    let role = match &session.org_id {
        Some(org) => current_role(tx, org, &session.user_id)?,
        None => None,
    };
    let (org_id, pin) = match (&session.org_id, role) {
        (Some(_), None) => (None, unpin_from_lost_org(tx, state, session)?),
        (org_id, _) => (org_id.clone(), session.pin_generation),
    };
    let access_expires =
        after(now, state.config.tokens.access_token_ttl).min(session.absolute_expires_at);
    let claims = AccessClaims {
        sub: session.user_id.clone(),
        sid: session.id.clone(),
        tid: org_id,
        pin,
        role: role.map(|r| r.as_str().to_owned()),
        kind: None,
        client_id: None,
        cnf: None,
        iat: now.and_utc().timestamp(),
        exp: access_expires.and_utc().timestamp(),
        iss: state.tokens.issuer().to_owned(),
        aud: state.tokens.audience().to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
    };
    Ok(Unsigned {
        claims,
        access_expires,
        refresh_token,
        refresh_expires,
        role,
    })
}

/// A session whose person is no longer a member of its organization (removed,
/// or the organization deleted): a password session goes on pinned to no
/// organization (the person picks another with SwitchOrganization); a single
/// sign-on session, which exists only for that organization, is refused.
/// Returns the session's new pin generation.
fn unpin_from_lost_org(tx: &mut Tx<'_>, state: &AppState, session: &SessionRow) -> ApiResult<i64> {
    if session.auth_method == AuthMethod::Sso.as_str() {
        return Err(ApiError::Unauthenticated(
            "you are no longer a member of the organization this single sign-on session \
             was for: sign in again",
        ));
    }
    let pin = diesel::update(sessions::table.find(&session.id))
        .set((
            sessions::org_id.eq(None::<String>),
            sessions::pin_generation.eq(sessions::pin_generation + 1),
        ))
        .returning(sessions::pin_generation)
        .get_result(tx.conn())?;
    state.liveness.forget(&session.id);
    Ok(pin)
}

/// The user's role in `org_id`, read in that organization's scope (the
/// organization comes from a session row the server wrote).
pub fn current_role(tx: &mut Tx<'_>, org_id: &str, user_id: &str) -> ApiResult<Option<Role>> {
    tx.tenant(&TenantScope::verified(org_id))?
        .member_role(user_id)
}
