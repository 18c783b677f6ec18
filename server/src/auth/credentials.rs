//! What the liveness check reads for the two credentials that are not
//! sessions: a service account's token (its credential and account) and a
//! person's personal access token. Cached with sessions in `liveness.rs`.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};

use crate::{
    access::Role,
    context::{Caller, Credential, Principal},
    crypto::jwt::AccessClaims,
    db::{
        AnyConnection, TenantScope, Tx,
        schema::{organizations, personal_access_tokens, service_accounts, service_credentials},
    },
    error::{ApiError, ApiResult},
    ids::{CredentialId, OrgId, PersonalAccessTokenId, UserId},
};

pub const SERVICE_ENDED: ApiError = ApiError::Unauthenticated(
    "the service account of this token was disabled or deleted, or its credential revoked",
);
pub const TOKEN_ENDED: ApiError =
    ApiError::Unauthenticated("invalid, expired or revoked personal access token");
const TOKEN_OUTRANKED: ApiError = ApiError::Unauthenticated(
    "the owner of this personal access token no longer holds its role in its organization",
);

/// How often a token's last use is written, at most.
const LAST_USE_STEP_SECS: i64 = 60;

/// A service account's credential and account, as they are now.
#[derive(Debug, Clone)]
pub struct ServiceState {
    account_id: String,
    org_id: String,
    role: Role,
    live: bool,
}

impl ServiceState {
    /// The service account behind verified claims, or UNAUTHENTICATED.
    pub fn caller(&self, claims: &AccessClaims) -> ApiResult<Caller> {
        if !self.live
            || claims.sub != self.account_id
            || claims.tid.as_deref() != Some(self.org_id.as_str())
        {
            return Err(SERVICE_ENDED);
        }
        Ok(Caller {
            principal: Principal::Service {
                account_id: UserId::trusted(self.account_id.clone()),
            },
            credential: Credential::ServiceToken {
                credential_id: CredentialId::trusted(claims.sid.clone()),
            },
            org_id: Some(OrgId::trusted(self.org_id.clone())),
            role: Some(self.role),
        })
    }
}

/// Reads the credential a service token was exchanged for, its account and
/// organization; `None` when the credential is gone (account deleted).
pub fn load_service(tx: &mut Tx<'_>, credential_id: &str) -> ApiResult<Option<ServiceState>> {
    if let AnyConnection::Postgresql(pg) = tx.conn_for_own_settings() {
        return load_service_in_one(pg, credential_id);
    }
    let row: Option<(String, String, Option<NaiveDateTime>)> = service_credentials::table
        .find(credential_id)
        .select((
            service_credentials::service_account_id,
            service_credentials::org_id,
            service_credentials::revoked_at,
        ))
        .first(tx.conn())
        .optional()?;
    let Some((account_id, org_id, revoked_at)) = row else {
        return Ok(None);
    };
    let org_live = organization_live(tx, &org_id)?;
    // The organization comes from the credential row the server wrote.
    let mut t = tx.tenant(&TenantScope::verified(org_id.clone()))?;
    let account: Option<(String, Option<NaiveDateTime>)> = t
        .service_accounts()
        .filter(service_accounts::id.eq(&account_id))
        .select((service_accounts::role, service_accounts::disabled_at))
        .first(t.conn())
        .optional()?;
    let Some((role, disabled_at)) = account else {
        return Ok(None);
    };
    Ok(Some(ServiceState {
        account_id,
        org_id,
        role: Role::from_stored(&role)?,
        live: revoked_at.is_none() && disabled_at.is_none() && org_live,
    }))
}

/// A personal access token and its owner's role, as they are now.
#[derive(Debug, Clone)]
pub struct TokenState {
    pub token_id: String,
    user_id: String,
    org_id: String,
    cap: Role,
    current: Option<Role>,
    live: bool,
    expires_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

impl TokenState {
    /// The person behind the token, acting with its role; UNAUTHENTICATED
    /// once it is revoked or expired, or its owner left the organization or
    /// holds a lower role than the token's.
    pub fn caller(&self, now: NaiveDateTime) -> ApiResult<Caller> {
        if !self.live || self.expires_at <= now {
            return Err(TOKEN_ENDED);
        }
        if self.current.is_none_or(|current| current < self.cap) {
            return Err(TOKEN_OUTRANKED);
        }
        Ok(Caller {
            principal: Principal::Person {
                user_id: UserId::trusted(self.user_id.clone()),
            },
            credential: Credential::PersonalAccessToken {
                token_id: PersonalAccessTokenId::trusted(self.token_id.clone()),
            },
            org_id: Some(OrgId::trusted(self.org_id.clone())),
            role: Some(self.cap),
        })
    }

    /// Whether the stored last use is a minute old or more.
    pub fn needs_last_use(&self, now: NaiveDateTime) -> bool {
        self.last_used_at
            .is_none_or(|at| (now - at).num_seconds() >= LAST_USE_STEP_SECS)
    }
}

/// Reads a personal access token by its hash, with its owner's role now.
pub fn load_token(tx: &mut Tx<'_>, hash: &str) -> ApiResult<Option<TokenState>> {
    if let AnyConnection::Postgresql(pg) = tx.conn_for_own_settings() {
        return load_token_in_one(pg, hash);
    }
    let row: Option<crate::db::rows::PersonalAccessTokenRow> = personal_access_tokens::table
        .filter(personal_access_tokens::token_hash.eq(hash))
        .first(tx.conn())
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let org_live = organization_live(tx, &row.org_id)?;
    // The organization comes from the token row the server wrote.
    let current = tx
        .tenant(&TenantScope::verified(row.org_id.clone()))?
        .member_role(&row.user_id)?;
    Ok(Some(TokenState {
        token_id: row.id,
        user_id: row.user_id,
        org_id: row.org_id,
        cap: row.role,
        current,
        live: row.revoked_at.is_none() && org_live,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
    }))
}

/// On PostgreSQL, [`load_token`] as one statement (`liveness_pg`).
fn load_token_in_one(pg: &mut diesel::PgConnection, hash: &str) -> ApiResult<Option<TokenState>> {
    let Some(row) = super::liveness_pg::token(pg, hash)? else {
        return Ok(None);
    };
    Ok(Some(TokenState {
        cap: Role::from_stored(&row.role)?,
        current: row
            .member_role
            .as_deref()
            .map(Role::from_stored)
            .transpose()?,
        live: row.revoked_at.is_none() && row.org_live,
        token_id: row.id,
        user_id: row.user_id,
        org_id: row.org_id,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
    }))
}

/// On PostgreSQL, [`load_service`] as one statement (`liveness_pg`).
fn load_service_in_one(
    pg: &mut diesel::PgConnection,
    credential_id: &str,
) -> ApiResult<Option<ServiceState>> {
    let Some(row) = super::liveness_pg::service(pg, credential_id)? else {
        return Ok(None);
    };
    let (Some(role), true) = (row.role, row.account_found) else {
        return Ok(None);
    };
    Ok(Some(ServiceState {
        account_id: row.service_account_id,
        org_id: row.org_id,
        role: Role::from_stored(&role)?,
        live: row.revoked_at.is_none() && row.disabled_at.is_none() && row.org_live,
    }))
}

/// Records a personal access token's use.
pub fn mark_token_used(tx: &mut Tx<'_>, token_id: &str, now: NaiveDateTime) -> ApiResult<()> {
    diesel::update(personal_access_tokens::table.find(token_id))
        .set(personal_access_tokens::last_used_at.eq(now))
        .execute(tx.conn())?;
    Ok(())
}

/// Whether the organization exists and is not deleted.
pub fn organization_live(tx: &mut Tx<'_>, org_id: &str) -> ApiResult<bool> {
    Ok(organization_state(tx, org_id)?.is_some())
}

/// Whether the organization requires a second factor; `None` when it does
/// not exist or was deleted.
pub fn organization_state(tx: &mut Tx<'_>, org_id: &str) -> ApiResult<Option<bool>> {
    let row: Option<(Option<NaiveDateTime>, bool)> = organizations::table
        .find(org_id)
        .select((organizations::deleted_at, organizations::require_mfa))
        .first(tx.conn())
        .optional()?;
    Ok(row.and_then(|(deleted, require_mfa)| deleted.is_none().then_some(require_mfa)))
}
