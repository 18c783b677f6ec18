//! The queries of organizations, members and invitations, named after what
//! they do. Handlers validate, decide, then call these inside one
//! transaction; nothing here checks permissions.

use chrono::NaiveDateTime;
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, OptionalExtension as _, QueryDsl as _,
    RunQueryDsl as _, SelectableHelper as _,
    result::{DatabaseErrorKind, Error::DatabaseError},
};

use crate::{
    access::Role,
    auth::issue::AuthMethod,
    db::{
        Tenant, TenantScope, Tx, UserScope, lower,
        rows::{InvitationRow, MembershipRow, OrganizationRow, UserRow},
        schema::{invitations, memberships, organizations, sessions, users},
    },
    error::{ApiError, ApiResult},
    validate::email_key,
};

/// Where a list page starts: after this (time, id).
pub type After = Option<(NaiveDateTime, String)>;

// Organizations.

/// Inserts a new organization; a taken slug is ALREADY_EXISTS.
pub fn insert_organization(tx: &mut Tx<'_>, org: &OrganizationRow) -> ApiResult<()> {
    match diesel::insert_into(organizations::table)
        .values(org)
        .execute(tx.conn())
    {
        Err(DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(ApiError::AlreadyExists("this slug is taken".into()))
        }
        inserted => inserted.map(|_| ()).map_err(Into::into),
    }
}

/// The organization of a scope, NOT_FOUND once deleted.
pub fn find_organization(tx: &mut Tx<'_>, scope: &TenantScope) -> ApiResult<OrganizationRow> {
    organizations::table
        .find(scope.org_id())
        .filter(organizations::deleted_at.is_null())
        .select(OrganizationRow::as_select())
        .first(tx.conn())
        .optional()?
        .ok_or(ApiError::NotFound("organization"))
}

/// Saves the fields UpdateOrganization may change.
pub fn update_organization(tx: &mut Tx<'_>, org: &OrganizationRow) -> ApiResult<()> {
    diesel::update(organizations::table.find(&org.id))
        .set((
            organizations::name.eq(&org.name),
            organizations::login_policy.eq(&org.login_policy),
            organizations::max_file_size.eq(org.max_file_size),
            organizations::require_mfa.eq(org.require_mfa),
            organizations::updated_at.eq(org.updated_at),
        ))
        .execute(tx.conn())?;
    Ok(())
}

/// Marks the organization deleted and ends every session pinned to it;
/// returns how many sessions ended.
pub fn delete_organization(tx: &mut Tx<'_>, org_id: &str, now: NaiveDateTime) -> ApiResult<usize> {
    diesel::update(organizations::table.find(org_id))
        .set((
            organizations::deleted_at.eq(now),
            organizations::updated_at.eq(now),
        ))
        .execute(tx.conn())?;
    Ok(diesel::update(
        sessions::table
            .filter(sessions::org_id.eq(org_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoke_reason.eq("organization_deleted"),
    ))
    .execute(tx.conn())?)
}

/// Ends the members' password sessions pinned to the organization (owners
/// keep theirs, as they keep their password sign-in); returns how many.
pub fn end_password_sessions(
    tx: &mut Tx<'_>,
    scope: &TenantScope,
    now: NaiveDateTime,
) -> ApiResult<usize> {
    let owners: Vec<String> = {
        let mut t = tx.tenant(scope)?;
        t.memberships()
            .filter(memberships::role.eq(Role::Owner.as_str()))
            .select(memberships::user_id)
            .load(t.conn())?
    };
    Ok(diesel::update(
        sessions::table
            .filter(sessions::org_id.eq(scope.org_id()))
            .filter(
                sessions::auth_method
                    .ne_all([AuthMethod::Sso.as_str(), AuthMethod::SsoWithMfa.as_str()]),
            )
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::user_id.ne_all(owners)),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoke_reason.eq("sso_required"),
    ))
    .execute(tx.conn())?)
}

/// The caller's live organizations with their memberships, oldest first.
pub fn list_my_organizations(
    tx: &mut Tx<'_>,
    scope: &UserScope,
    confined_to: Option<String>,
    limit: i64,
    after: After,
) -> ApiResult<Vec<(MembershipRow, OrganizationRow)>> {
    let mut own = tx.user(scope)?;
    let mut query = own
        .memberships()
        .inner_join(organizations::table)
        .filter(organizations::deleted_at.is_null())
        .select((MembershipRow::as_select(), OrganizationRow::as_select()))
        .order((memberships::created_at.asc(), memberships::org_id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(org) = confined_to {
        query = query.filter(memberships::org_id.eq(org));
    }
    if let Some((time, id)) = after {
        query = query.filter(
            memberships::created_at.gt(time).or(memberships::created_at
                .eq(time)
                .and(memberships::org_id.gt(id))),
        );
    }
    Ok(query.load(own.conn())?)
}

/// Remembers the organization the user signs in to next time.
pub fn remember_last_org(tx: &mut Tx<'_>, user_id: &str, org_id: &str) -> ApiResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::last_org_id.eq(org_id))
        .execute(tx.conn())?;
    Ok(())
}

/// How the session was opened (`password`, `sso`).
pub fn session_auth_method(tx: &mut Tx<'_>, session_id: &str) -> ApiResult<String> {
    Ok(sessions::table
        .find(session_id)
        .select(sessions::auth_method)
        .first(tx.conn())?)
}

// Members.

pub fn insert_membership(t: &mut Tenant<'_>, row: &MembershipRow) -> ApiResult<()> {
    t.insert_memberships().values(row).execute(t.conn())?;
    Ok(())
}

/// Members with their accounts, oldest first.
pub fn list_members(
    t: &mut Tenant<'_>,
    limit: i64,
    after: After,
) -> ApiResult<Vec<(MembershipRow, UserRow)>> {
    let mut query = t
        .memberships()
        .inner_join(users::table)
        .select((MembershipRow::as_select(), UserRow::as_select()))
        .order((memberships::created_at.asc(), memberships::user_id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((time, id)) = after {
        query = query.filter(
            memberships::created_at.gt(time).or(memberships::created_at
                .eq(time)
                .and(memberships::user_id.gt(id))),
        );
    }
    Ok(query.load(t.conn())?)
}

/// The member's row and account, NOT_FOUND when not a member here.
pub fn find_member(t: &mut Tenant<'_>, user_id: &str) -> ApiResult<(MembershipRow, UserRow)> {
    t.memberships()
        .inner_join(users::table)
        .filter(memberships::user_id.eq(user_id))
        .select((MembershipRow::as_select(), UserRow::as_select()))
        .first(t.conn())
        .optional()?
        .ok_or(ApiError::NotFound("member"))
}

/// Whether a member of this organization has this address (any case).
pub fn member_with_email(t: &mut Tenant<'_>, email: &str) -> ApiResult<bool> {
    let found: Option<String> = t
        .memberships()
        .inner_join(users::table)
        .filter(lower(users::email).eq(email_key(email)))
        .select(memberships::user_id)
        .first(t.conn())
        .optional()?;
    Ok(found.is_some())
}

pub fn update_member_role(
    t: &mut Tenant<'_>,
    user_id: &str,
    role: Role,
    now: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(t.memberships().filter(memberships::user_id.eq(user_id)))
        .set((
            memberships::role.eq(role.as_str()),
            memberships::updated_at.eq(now),
        ))
        .execute(t.conn())?;
    Ok(())
}

pub fn delete_membership(t: &mut Tenant<'_>, user_id: &str) -> ApiResult<()> {
    diesel::delete(t.memberships().filter(memberships::user_id.eq(user_id))).execute(t.conn())?;
    Ok(())
}

/// How many owners the organization has. Locks the organization's row
/// first, so two owners leaving (or demoting each other) at once queue here
/// and the second counts after the first has committed — the organization
/// cannot end up with none.
pub fn owner_count(t: &mut Tenant<'_>) -> ApiResult<i64> {
    let org_id = t.org_id().to_owned();
    diesel::update(organizations::table.find(&org_id))
        .set(organizations::audit_seq.eq(organizations::audit_seq))
        .execute(t.conn())?;
    Ok(t.memberships()
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(t.conn())?)
}

// Invitations.

/// Revokes the pending invitation for this address, if any (a new one
/// replaces it).
pub fn revoke_pending_invitation(
    t: &mut Tenant<'_>,
    email: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(
        t.invitations()
            .filter(lower(invitations::email).eq(email_key(email)))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(now))
    .execute(t.conn())?;
    Ok(())
}

/// Stores a new pending invitation. The one-pending-per-address index
/// settles a concurrent call for the same address: the loser is told to
/// retry, which then replaces the winner's.
pub fn insert_pending_invitation(t: &mut Tenant<'_>, row: &InvitationRow) -> ApiResult<()> {
    match t.insert_invitations().values(row).execute(t.conn()) {
        Err(DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Err(ApiError::Aborted(
            "another invitation for this address was created at the same moment: retry to \
             replace it"
                .into(),
        )),
        inserted => inserted.map(|_| ()).map_err(Into::into),
    }
}

/// Invitations, newest first.
pub fn list_invitations(
    t: &mut Tenant<'_>,
    limit: i64,
    after: After,
) -> ApiResult<Vec<InvitationRow>> {
    let mut query = t
        .invitations()
        .select(InvitationRow::as_select())
        .order((invitations::created_at.desc(), invitations::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((time, id)) = after {
        query = query.filter(
            invitations::created_at
                .lt(time)
                .or(invitations::created_at.eq(time).and(invitations::id.lt(id))),
        );
    }
    Ok(query.load(t.conn())?)
}

pub fn find_invitation(t: &mut Tenant<'_>, id: &str) -> ApiResult<InvitationRow> {
    t.invitations()
        .filter(invitations::id.eq(id))
        .select(InvitationRow::as_select())
        .first(t.conn())
        .optional()?
        .ok_or(ApiError::NotFound("invitation"))
}

pub fn find_invitation_by_hash(t: &mut Tenant<'_>, hash: &str) -> ApiResult<InvitationRow> {
    t.invitations()
        .filter(invitations::token_hash.eq(hash))
        .select(InvitationRow::as_select())
        .first(t.conn())
        .optional()?
        .ok_or(ApiError::NotFound("invitation"))
}

pub fn revoke_invitation(t: &mut Tenant<'_>, id: &str, now: NaiveDateTime) -> ApiResult<()> {
    diesel::update(t.invitations().filter(invitations::id.eq(id)))
        .set(invitations::revoked_at.eq(now))
        .execute(t.conn())?;
    Ok(())
}

/// Marks the invitation used by `user_id`. Of two accepts at once, the
/// second waits on the row here and then finds it used.
pub fn claim_invitation(
    t: &mut Tenant<'_>,
    invitation: &InvitationRow,
    user_id: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let claimed = diesel::update(
        t.invitations()
            .filter(invitations::id.eq(&invitation.id))
            .filter(
                invitations::accepted_at
                    .is_null()
                    .and(invitations::revoked_at.is_null()),
            ),
    )
    .set((
        invitations::accepted_at.eq(now),
        invitations::accepted_by.eq(user_id),
    ))
    .execute(t.conn())?;
    if claimed != 1 {
        return Err(ApiError::failed_precondition(
            "this invitation has already been used",
        ));
    }
    Ok(())
}
