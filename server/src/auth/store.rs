//! The queries of accounts, sessions and email verifications that the
//! handlers of `auth` make, named after what they do. Opening and
//! rotating sessions live with the tokens ([`super::issue`],
//! [`super::refresh`]); lockout counters in [`super::lockout`].

use chrono::NaiveDateTime;
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, OptionalExtension as _, QueryDsl as _,
    RunQueryDsl as _, SelectableHelper as _,
};

use crate::{
    access::Role,
    db::{
        OwnRows, Tx,
        rows::{EmailVerificationRow, SessionRow},
        schema::{email_verifications, memberships, organizations, sessions, users},
    },
    error::ApiResult,
};

/// Where a list page starts: after this (time, id).
pub type After = Option<(NaiveDateTime, String)>;

// Sessions.

/// The user's live sessions, newest first, in one organization if given.
pub fn list_sessions(
    tx: &mut Tx<'_>,
    user_id: &str,
    org: Option<String>,
    now: NaiveDateTime,
    limit: i64,
    after: After,
) -> ApiResult<Vec<SessionRow>> {
    let mut query = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::absolute_expires_at.gt(now))
        .filter(sessions::idle_expires_at.gt(now))
        .select(SessionRow::as_select())
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(org) = org {
        query = query.filter(sessions::org_id.eq(org));
    }
    if let Some((time, id)) = after {
        query = query.filter(
            sessions::created_at
                .lt(time)
                .or(sessions::created_at.eq(time).and(sessions::id.lt(id))),
        );
    }
    Ok(query.load(tx.conn())?)
}

/// Which of a user's live sessions to end.
pub struct Ending<'a> {
    pub user_id: &'a str,
    /// Only this one.
    pub only: Option<&'a str>,
    /// All but this one.
    pub except: Option<&'a str>,
    /// Only those pinned to this organization.
    pub org: Option<&'a str>,
    pub reason: &'a str,
}

/// Revokes the sessions `ending` names; returns how many ended.
pub fn end_sessions(tx: &mut Tx<'_>, ending: &Ending<'_>, now: NaiveDateTime) -> ApiResult<usize> {
    let mut target = diesel::update(sessions::table)
        .filter(sessions::user_id.eq(ending.user_id))
        .filter(sessions::revoked_at.is_null())
        .into_boxed();
    if let Some(id) = ending.only {
        target = target.filter(sessions::id.eq(id));
    }
    if let Some(id) = ending.except {
        target = target.filter(sessions::id.ne(id));
    }
    if let Some(org) = ending.org {
        target = target.filter(sessions::org_id.eq(org));
    }
    Ok(target
        .set((
            sessions::revoked_at.eq(now),
            sessions::revoke_reason.eq(ending.reason),
        ))
        .execute(tx.conn())?)
}

// Accounts.

pub fn update_display_name(
    tx: &mut Tx<'_>,
    user_id: &str,
    name: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::display_name.eq(name), users::updated_at.eq(now)))
        .execute(tx.conn())?;
    Ok(())
}

pub fn set_password_hash(
    tx: &mut Tx<'_>,
    user_id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(tx.conn())?;
    Ok(())
}

/// The user's memberships in live organizations: (organization, role).
pub fn my_memberships(own: &mut OwnRows<'_>) -> ApiResult<Vec<(String, Role)>> {
    let rows: Vec<(String, String)> = own
        .memberships()
        .inner_join(organizations::table)
        .filter(organizations::deleted_at.is_null())
        .select((memberships::org_id, memberships::role))
        .load(own.conn())?;
    rows.into_iter()
        .map(|(org, role)| Ok((org, Role::from_stored(&role)?)))
        .collect()
}

pub fn delete_user(tx: &mut Tx<'_>, user_id: &str) -> ApiResult<()> {
    diesel::delete(users::table.find(user_id)).execute(tx.conn())?;
    Ok(())
}

// Email verifications.

/// Stores a verification, withdrawing the user's unused ones.
pub fn replace_email_verification(tx: &mut Tx<'_>, row: &EmailVerificationRow) -> ApiResult<()> {
    diesel::delete(
        email_verifications::table
            .filter(email_verifications::user_id.eq(&row.user_id))
            .filter(email_verifications::used_at.is_null()),
    )
    .execute(tx.conn())?;
    diesel::insert_into(email_verifications::table)
        .values(row)
        .execute(tx.conn())?;
    Ok(())
}

/// The unused, unexpired verification with this token hash.
pub fn find_live_email_verification(
    tx: &mut Tx<'_>,
    hash: &str,
    now: NaiveDateTime,
) -> ApiResult<Option<EmailVerificationRow>> {
    Ok(email_verifications::table
        .find(hash)
        .select(EmailVerificationRow::as_select())
        .first(tx.conn())
        .optional()?
        .filter(|r| r.used_at.is_none() && r.expires_at > now))
}

/// Marks the address verified if it is still the account's; `false` when
/// the address changed since the mail went out.
pub fn mark_email_verified(
    tx: &mut Tx<'_>,
    user_id: &str,
    email: &str,
    now: NaiveDateTime,
) -> ApiResult<bool> {
    let updated = diesel::update(users::table.find(user_id).filter(users::email.eq(email)))
        .set((users::email_verified.eq(true), users::updated_at.eq(now)))
        .execute(tx.conn())?;
    Ok(updated == 1)
}

pub fn use_email_verification(tx: &mut Tx<'_>, hash: &str, now: NaiveDateTime) -> ApiResult<()> {
    diesel::update(email_verifications::table.find(hash))
        .set(email_verifications::used_at.eq(now))
        .execute(tx.conn())?;
    Ok(())
}
