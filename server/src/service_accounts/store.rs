//! The queries of service accounts and their credentials. Accounts are the
//! organization's rows (reached through its scope); credentials are found by
//! the token exchange before any organization is known, like sessions, and
//! otherwise only after their account was found in the caller's scope.

use chrono::NaiveDateTime;
use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};

use crate::{
    db::{
        Tenant, TenantScope, Tx,
        rows::{ServiceAccountRow, ServiceCredentialRow},
        schema::{service_accounts, service_credentials},
    },
    error::{ApiError, ApiResult},
};

/// What kind of credential a row holds.
pub const KEY: &str = "key";
pub const SECRET: &str = "secret";

pub fn insert_account(t: &mut Tenant<'_>, row: &ServiceAccountRow) -> ApiResult<()> {
    t.insert_service_accounts().values(row).execute(t.conn())?;
    Ok(())
}

/// One of the organization's accounts; NOT_FOUND for any other id.
pub fn find_account(t: &mut Tenant<'_>, id: &str) -> ApiResult<ServiceAccountRow> {
    t.service_accounts()
        .filter(service_accounts::id.eq(id))
        .select(ServiceAccountRow::as_select())
        .first(t.conn())
        .optional()?
        .ok_or(ApiError::NotFound("service account"))
}

/// A page of the organization's accounts, oldest first, after `after` (an id:
/// ids are UUIDv7, so their order is their creation order).
pub fn list_accounts(
    t: &mut Tenant<'_>,
    limit: i64,
    after: Option<String>,
) -> ApiResult<Vec<ServiceAccountRow>> {
    let mut query = t
        .service_accounts()
        .select(ServiceAccountRow::as_select())
        .order(service_accounts::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(service_accounts::id.gt(after));
    }
    Ok(query.load(t.conn())?)
}

/// Writes an account's changed fields back.
pub fn save_account(t: &mut Tenant<'_>, row: &ServiceAccountRow) -> ApiResult<()> {
    diesel::update(
        t.service_accounts()
            .filter(service_accounts::id.eq(&row.id)),
    )
    .set((
        service_accounts::name.eq(&row.name),
        service_accounts::description.eq(&row.description),
        service_accounts::role.eq(row.role.as_str()),
        service_accounts::disabled_at.eq(row.disabled_at),
        service_accounts::certificate_sha256.eq(&row.certificate_sha256),
        service_accounts::updated_at.eq(row.updated_at),
    ))
    .execute(t.conn())?;
    Ok(())
}

/// Deletes an account with its credentials.
pub fn delete_account(tx: &mut Tx<'_>, scope: &TenantScope, id: &str) -> ApiResult<()> {
    diesel::delete(
        service_credentials::table.filter(service_credentials::service_account_id.eq(id)),
    )
    .execute(tx.conn())?;
    let mut t = tx.tenant(scope)?;
    diesel::delete(t.service_accounts().filter(service_accounts::id.eq(id))).execute(t.conn())?;
    Ok(())
}

pub fn insert_credential(tx: &mut Tx<'_>, row: &ServiceCredentialRow) -> ApiResult<()> {
    diesel::insert_into(service_credentials::table)
        .values(row)
        .execute(tx.conn())?;
    Ok(())
}

/// An account's credentials of one kind, newest first.
pub fn list_credentials(
    tx: &mut Tx<'_>,
    account_id: &str,
    kind: &str,
) -> ApiResult<Vec<ServiceCredentialRow>> {
    Ok(service_credentials::table
        .filter(service_credentials::service_account_id.eq(account_id))
        .filter(service_credentials::kind.eq(kind))
        .order((
            service_credentials::created_at.desc(),
            service_credentials::id.desc(),
        ))
        .load(tx.conn())?)
}

/// Revokes one of an account's credentials of `kind`; NOT_FOUND for any
/// other id. Revoking twice is not an error.
pub fn revoke_credential(
    tx: &mut Tx<'_>,
    account_id: &str,
    kind: &str,
    id: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let found = service_credentials::table
        .find(id)
        .filter(service_credentials::service_account_id.eq(account_id))
        .filter(service_credentials::kind.eq(kind))
        .select(service_credentials::id)
        .first::<String>(tx.conn())
        .optional()?;
    if found.is_none() {
        return Err(ApiError::NotFound(if kind == KEY {
            "key"
        } else {
            "secret"
        }));
    }
    diesel::update(
        service_credentials::table
            .find(id)
            .filter(service_credentials::revoked_at.is_null()),
    )
    .set(service_credentials::revoked_at.eq(now))
    .execute(tx.conn())?;
    Ok(())
}

/// What an exchange presents of a credential.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// A client secret, by its hash.
    Secret(&'a str),
    /// A key, by its id (the assertion's `kid`).
    Key(&'a str),
}

/// The credential of the account `client_id` that an exchange presents.
pub fn presented_credential(
    tx: &mut Tx<'_>,
    client_id: &str,
    presented: Presented<'_>,
) -> ApiResult<Option<ServiceCredentialRow>> {
    let query = service_credentials::table
        .filter(service_credentials::service_account_id.eq(client_id))
        .into_boxed();
    let query = match presented {
        Presented::Secret(hash) => query
            .filter(service_credentials::kind.eq(SECRET))
            .filter(service_credentials::secret_hash.eq(hash)),
        Presented::Key(id) => query
            .filter(service_credentials::kind.eq(KEY))
            .filter(service_credentials::id.eq(id)),
    };
    Ok(query.first(tx.conn()).optional()?)
}

/// Records that a credential was used now.
pub fn mark_used(tx: &mut Tx<'_>, id: &str, now: NaiveDateTime) -> ApiResult<()> {
    diesel::update(service_credentials::table.find(id))
        .set(service_credentials::last_used_at.eq(now))
        .execute(tx.conn())?;
    Ok(())
}
