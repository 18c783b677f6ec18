//! The queries of single sign-on (sign-in flows, link requests, identities
//! and the accounts they provision), named after what they do. The
//! configuration's own queries are in [`super::config`].

use chrono::NaiveDateTime;
use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};

use crate::{
    db::{
        OwnRows, Tenant, Tx,
        rows::{SsoIdentityRow, SsoLinkRequestRow, SsoLoginStateRow, UserRow},
        schema::{organizations, sso_identities, sso_link_requests, sso_login_states, users},
    },
    error::ApiResult,
};

/// A live organization's id and stored login policy, by its public slug.
pub fn find_org_by_slug(tx: &mut Tx<'_>, slug: &str) -> ApiResult<Option<(String, String)>> {
    Ok(organizations::table
        .filter(organizations::slug.eq(slug))
        .filter(organizations::deleted_at.is_null())
        .select((organizations::id, organizations::login_policy))
        .first(tx.conn())
        .optional()?)
}

// Sign-in flows (BeginSsoLogin, CompleteSsoLogin).

pub fn insert_login_state(t: &mut Tenant<'_>, row: &SsoLoginStateRow) -> ApiResult<()> {
    t.insert_sso_login_states().values(row).execute(t.conn())?;
    Ok(())
}

pub fn find_login_state(t: &mut Tenant<'_>, hash: &str) -> ApiResult<Option<SsoLoginStateRow>> {
    Ok(t.sso_login_states()
        .filter(sso_login_states::state_hash.eq(hash))
        .select(SsoLoginStateRow::as_select())
        .first(t.conn())
        .optional()?)
}

/// Marks the state used; `false` when another call used it first.
pub fn claim_login_state(t: &mut Tenant<'_>, hash: &str, now: NaiveDateTime) -> ApiResult<bool> {
    let claimed = diesel::update(
        t.sso_login_states()
            .filter(sso_login_states::state_hash.eq(hash))
            .filter(sso_login_states::used_at.is_null()),
    )
    .set(sso_login_states::used_at.eq(now))
    .execute(t.conn())?;
    Ok(claimed == 1)
}

// Link requests (ConfirmSsoLink).

pub fn insert_link_request(t: &mut Tenant<'_>, row: &SsoLinkRequestRow) -> ApiResult<()> {
    t.insert_sso_link_requests().values(row).execute(t.conn())?;
    Ok(())
}

/// The request whose mailed token (`by_mail`) or link token has this hash.
pub fn find_link_request(
    t: &mut Tenant<'_>,
    hash: &str,
    by_mail: bool,
) -> ApiResult<Option<SsoLinkRequestRow>> {
    let query = t
        .sso_link_requests()
        .select(SsoLinkRequestRow::as_select())
        .into_boxed();
    let query = if by_mail {
        query.filter(sso_link_requests::email_token_hash.eq(hash))
    } else {
        query.filter(sso_link_requests::link_token_hash.eq(hash))
    };
    Ok(query.first(t.conn()).optional()?)
}

/// Marks the request used; `false` when another call used it first.
pub fn claim_link_request(t: &mut Tenant<'_>, id: &str, now: NaiveDateTime) -> ApiResult<bool> {
    let claimed = diesel::update(
        t.sso_link_requests()
            .filter(sso_link_requests::id.eq(id))
            .filter(sso_link_requests::used_at.is_null()),
    )
    .set(sso_link_requests::used_at.eq(now))
    .execute(t.conn())?;
    Ok(claimed == 1)
}

// Identities.

/// The identity linked before for this issuer and subject.
pub fn find_identity(
    t: &mut Tenant<'_>,
    issuer: &str,
    subject: &str,
) -> ApiResult<Option<SsoIdentityRow>> {
    Ok(t.sso_identities()
        .filter(sso_identities::issuer.eq(issuer))
        .filter(sso_identities::subject.eq(subject))
        .select(SsoIdentityRow::as_select())
        .first(t.conn())
        .optional()?)
}

pub fn insert_identity(t: &mut Tenant<'_>, row: &SsoIdentityRow) -> ApiResult<()> {
    t.insert_sso_identities().values(row).execute(t.conn())?;
    Ok(())
}

/// Notes a sign-in through the identity, with the email it asserted.
pub fn note_identity_login(
    t: &mut Tenant<'_>,
    id: &str,
    email: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(t.sso_identities().filter(sso_identities::id.eq(id)))
        .set((
            sso_identities::last_login_at.eq(now),
            sso_identities::email.eq(email),
        ))
        .execute(t.conn())?;
    Ok(())
}

/// The caller's identities, oldest first, in one organization if given.
pub fn list_my_identities(
    own: &mut OwnRows<'_>,
    org: Option<String>,
) -> ApiResult<Vec<SsoIdentityRow>> {
    let mut query = own
        .sso_identities()
        .order(sso_identities::created_at.asc())
        .select(SsoIdentityRow::as_select())
        .into_boxed();
    if let Some(org) = org {
        query = query.filter(sso_identities::org_id.eq(org));
    }
    Ok(query.load(own.conn())?)
}

pub fn delete_identity(t: &mut Tenant<'_>, id: &str) -> ApiResult<()> {
    diesel::delete(t.sso_identities().filter(sso_identities::id.eq(id))).execute(t.conn())?;
    Ok(())
}

// Accounts.

/// An account created at first sign-in.
pub fn insert_provisioned_user(tx: &mut Tx<'_>, user: &UserRow) -> ApiResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(tx.conn())?;
    Ok(())
}

/// After a sign-in: the organization the account signs in to next, and
/// its display name (the provider's, when the rules follow it).
pub fn note_account_login(
    tx: &mut Tx<'_>,
    user_id: &str,
    org_id: &str,
    display_name: &str,
) -> ApiResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::last_org_id.eq(org_id),
            users::display_name.eq(display_name),
        ))
        .execute(tx.conn())?;
    Ok(())
}
