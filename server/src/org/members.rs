//! Members of the pinned organization and their roles.

use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, OptionalExtension as _, QueryDsl as _,
    RunQueryDsl as _, SelectableHelper as _,
};
use tenantry_proto::org::v1 as pb;

use super::{convert, organizations, rules};
use crate::{
    access::Role,
    audit::{self, Action, Event},
    clock::to_proto,
    context::{Caller, RequestMeta},
    db::{
        Tenant,
        rows::{MembershipRow, UserRow},
        schema::{memberships, users},
    },
    error::{ApiError, ApiResult, Violations},
    paging::time_key,
    state::AppState,
};

fn member(row: &MembershipRow, user: &UserRow) -> pb::Member {
    pb::Member {
        user_id: row.user_id.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        role: convert::role(row.role),
        join_time: Some(to_proto(row.created_at)),
    }
}

pub async fn list_members(
    state: &AppState,
    caller: Caller,
    request: pb::ListMembersRequest,
) -> ApiResult<pb::ListMembersResponse> {
    let scope = caller.tenant()?;
    let page = state.page_tokens.parse(scope.org_id(), &request, 50, 100)?;
    let after = page.after_time_and_id()?;
    let (rows, next_page_token) = state
        .db
        .read(move |tx| {
            let mut t = tx.tenant(&scope)?;
            let mut query = t
                .memberships()
                .inner_join(users::table)
                .select((MembershipRow::as_select(), UserRow::as_select()))
                .order((memberships::created_at.asc(), memberships::user_id.asc()))
                .limit(page.limit())
                .into_boxed();
            if let Some((time, id)) = after {
                query = query.filter(
                    memberships::created_at.gt(time).or(memberships::created_at
                        .eq(time)
                        .and(memberships::user_id.gt(id))),
                );
            }
            let rows: Vec<(MembershipRow, UserRow)> = query.load(t.conn())?;
            Ok(page.finish(rows, |(m, _)| {
                vec![time_key(m.created_at), m.user_id.clone()]
            }))
        })
        .await?;
    Ok(pb::ListMembersResponse {
        members: rows.iter().map(|(m, u)| member(m, u)).collect(),
        next_page_token,
    })
}

/// The member's row and account, NOT_FOUND when not a member here.
fn find(t: &mut Tenant<'_>, user_id: &str) -> ApiResult<(MembershipRow, UserRow)> {
    t.memberships()
        .inner_join(users::table)
        .filter(memberships::user_id.eq(user_id))
        .select((MembershipRow::as_select(), UserRow::as_select()))
        .first(t.conn())
        .optional()?
        .ok_or(ApiError::NotFound("member"))
}

pub async fn update_member_role(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::UpdateMemberRoleRequest,
) -> ApiResult<pb::UpdateMemberRoleResponse> {
    let scope = caller.tenant()?;
    let actor = caller.member_role()?;
    let mut violations = Violations::new();
    let user_id = violations.take("user_id", crate::ids::UserId::parse(&request.user_id));
    let new_role = Role::from_proto(request.role);
    if new_role.is_none() {
        violations.add("role", "must be VIEWER, MEMBER, ADMIN or OWNER");
    }
    violations.finish()?;
    let (user_id, new_role) = (
        user_id.unwrap_or_default(),
        new_role.unwrap_or(Role::Viewer),
    );
    state
        .write(move |tx, st| {
            let now = st.now();
            let mut t = tx.tenant(&scope)?;
            let (mut row, user) = find(&mut t, &user_id)?;
            let current = row.role;
            if !rules::may_manage(actor, current, Some(new_role)) {
                return Err(ApiError::permission_denied(
                    "you may only manage members below your role and grant roles up to your own",
                ));
            }
            if new_role != Role::Owner {
                organizations::keep_an_owner(&mut t, current)?;
            }
            diesel::update(t.memberships().filter(memberships::user_id.eq(&user_id)))
                .set((
                    memberships::role.eq(new_role.as_str()),
                    memberships::updated_at.eq(now),
                ))
                .execute(t.conn())?;
            let event = Event::by_user(
                caller.user_id(),
                Action::OrgMemberRoleUpdated,
                "user",
                &user_id,
            )
            .details(serde_json::json!({ "from": current.as_str(), "to": new_role.as_str() }));
            audit::record(&mut t, now, &meta, event)?;
            st.liveness.forget_all();
            row.role = new_role;
            Ok(pb::UpdateMemberRoleResponse {
                member: Some(member(&row, &user)),
            })
        })
        .await
}

pub async fn remove_member(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::RemoveMemberRequest,
) -> ApiResult<pb::RemoveMemberResponse> {
    let scope = caller.tenant()?;
    let actor = caller.member_role()?;
    let user_id =
        crate::ids::UserId::parse(&request.user_id).map_err(|d| ApiError::invalid("user_id", d))?;
    state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            let (row, _) = find(&mut t, &user_id)?;
            let current = row.role;
            if !rules::may_manage(actor, current, None) {
                return Err(ApiError::permission_denied(
                    "you may only remove members below your role",
                ));
            }
            leave(
                &mut t,
                st,
                &meta,
                caller.user_id(),
                &user_id,
                current,
                Action::OrgMemberRemoved,
            )
        })
        .await?;
    Ok(pb::RemoveMemberResponse {})
}

pub async fn leave_organization(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
) -> ApiResult<pb::LeaveOrganizationResponse> {
    let scope = caller.tenant()?;
    let current = caller.member_role()?;
    state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            leave(
                &mut t,
                st,
                &meta,
                caller.user_id(),
                caller.user_id(),
                current,
                Action::OrgMemberLeft,
            )
        })
        .await?;
    Ok(pb::LeaveOrganizationResponse {})
}

/// Ends a membership (keeping an owner) and audits it.
fn leave(
    t: &mut Tenant<'_>,
    state: &AppState,
    meta: &RequestMeta,
    actor: &str,
    user_id: &str,
    current: Role,
    action: Action,
) -> ApiResult<()> {
    organizations::keep_an_owner(t, current)?;
    diesel::delete(t.memberships().filter(memberships::user_id.eq(user_id))).execute(t.conn())?;
    let event = Event::by_user(actor, action, "user", user_id)
        .details(serde_json::json!({ "role": current.as_str() }));
    audit::record(t, state.now(), meta, event)?;
    state.liveness.forget_all();
    Ok(())
}
