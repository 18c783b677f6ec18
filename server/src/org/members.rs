//! Members of the pinned organization and their roles.

use tenantry_proto::org::v1 as pb;

use super::{convert, rules, store};
use crate::{
    access::Role,
    audit::{self, Action, Event},
    clock::to_proto,
    context::{Caller, RequestMeta},
    db::{
        Tenant,
        rows::{MembershipRow, UserRow},
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
            let rows = store::list_members(&mut tx.tenant(&scope)?, page.limit(), after)?;
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
            let (mut row, user) = store::find_member(&mut t, &user_id)?;
            let current = row.role;
            if !rules::may_manage(actor, current, Some(new_role)) {
                return Err(ApiError::permission_denied(
                    "you may only manage members below your role and grant roles up to your own",
                ));
            }
            if new_role != Role::Owner {
                keep_an_owner(&mut t, current)?;
            }
            store::update_member_role(&mut t, &user_id, new_role, now)?;
            let event = Event::by(&caller, Action::OrgMemberRoleUpdated, "user", &user_id)
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
            let (row, _) = store::find_member(&mut t, &user_id)?;
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
                &caller,
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
                &caller,
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
    actor: &Caller,
    user_id: &str,
    current: Role,
    action: Action,
) -> ApiResult<()> {
    keep_an_owner(t, current)?;
    store::delete_membership(t, user_id)?;
    let event = Event::by(actor, action, "user", user_id)
        .details(serde_json::json!({ "role": current.as_str() }));
    audit::record(t, state.now(), meta, event)?;
    state.liveness.forget_all();
    Ok(())
}

/// Refuses when `user_id` is the organization's last owner and would stop
/// being one.
fn keep_an_owner(t: &mut Tenant<'_>, current: Role) -> ApiResult<()> {
    if current == Role::Owner && store::owner_count(t)? <= 1 {
        return Err(ApiError::failed_precondition(
            "an organization must keep at least one owner: make someone else owner first",
        ));
    }
    Ok(())
}
