//! The caller's own account: read it, rename, change the password, delete it.

use tenantry_proto::auth::v1 as pb;

use super::{lockout, login, rules, sessions, store, users};
use crate::{
    access::Role,
    audit::{self, Action, Event},
    context::{Caller, RequestMeta},
    db::{TenantScope, UserScope, rows::UserRow},
    error::{ApiError, ApiResult, Violations},
    state::AppState,
};

pub async fn get_me(state: &AppState, caller: Caller) -> ApiResult<pb::GetMeResponse> {
    let user_id = caller.user_id().to_string();
    let user = state
        .db
        .read(move |tx| users::find(tx.conn(), &user_id))
        .await?;
    Ok(pb::GetMeResponse {
        user: Some(users::to_proto_user(&user)),
        session_id: caller
            .session_id()
            .map(ToString::to_string)
            .unwrap_or_default(),
        organization_id: caller.org_id.map(String::from).unwrap_or_default(),
        role: caller.role.map_or(pb::Role::Unspecified, Role::to_proto) as i32,
    })
}

pub async fn update_profile(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::UpdateProfileRequest,
) -> ApiResult<pb::UpdateProfileResponse> {
    if request.display_name.trim().is_empty() {
        return Err(ApiError::invalid("display_name", "is required"));
    }
    state
        .write(move |tx, st| {
            let user = users::find(tx.conn(), caller.user_id())?;
            let name = rules::clean_display_name(&request.display_name, &user.email)
                .map_err(|d| ApiError::invalid("display_name", d))?;
            let now = st.now();
            store::update_display_name(tx, &user.id, &name, now)?;
            let mut t = tx.tenant(&TenantScope::account_events())?;
            let event = Event::by_user(&user.id, Action::AuthUserProfileUpdated, "user", &user.id)
                .details(serde_json::json!({ "display_name": name }));
            audit::record(&mut t, now, &meta, event)?;
            let user = users::find(t.conn(), caller.user_id())?;
            Ok(pb::UpdateProfileResponse {
                user: Some(users::to_proto_user(&user)),
            })
        })
        .await
}

pub async fn change_password(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::ChangePasswordRequest,
) -> ApiResult<pb::ChangePasswordResponse> {
    let user_id = caller.user_id().to_string();
    let user = state
        .db
        .read(move |tx| users::find(tx.conn(), &user_id))
        .await?;
    let mut violations = Violations::new();
    violations.take(
        "current_password",
        rules::check_password_input(&request.current_password),
    );
    violations.take(
        "new_password",
        rules::check_new_password(&request.new_password, &user.email),
    );
    violations.finish()?;
    check_password(state, &meta, &user, request.current_password)
        .await
        .map_err(|e| wrong_as(e, "the current password is wrong"))?;
    let hash = state.passwords.hash(request.new_password).await?;
    let revoked = state
        .write(move |tx, st| {
            let now = st.now();
            store::set_password_hash(tx, caller.user_id(), &hash, now)?;
            let revoked = sessions::end_sessions(
                tx,
                st,
                &caller,
                None,
                Some(caller.session()?),
                "password_changed",
            )?;
            let mut t = tx.tenant(&TenantScope::account_events())?;
            let event = Event::by(
                &caller,
                Action::AuthUserPasswordChanged,
                "user",
                caller.user_id(),
            )
            .details(serde_json::json!({ "revoked_sessions": revoked }));
            audit::record(&mut t, now, &meta, event)?;
            Ok(revoked)
        })
        .await?;
    Ok(pb::ChangePasswordResponse {
        revoked_sessions: i64::try_from(revoked).unwrap_or(i64::MAX),
    })
}

/// Verifies the signed-in user's password, under the same lockout as
/// sign-in: a stolen access token must not become a way to guess it. A
/// wrong one is counted and audited.
pub async fn check_password(
    state: &AppState,
    meta: &RequestMeta,
    user: &UserRow,
    password: String,
) -> ApiResult<()> {
    let now = state.now();
    let attempt = lockout::Attempt::new(&user.email, Some(&user.id), meta);
    let checked = lockout::Attempt::new(&user.email, Some(&user.id), meta);
    if let Some(until) = state
        .db
        .read(move |tx| lockout::locked_until(tx.conn(), &checked, now))
        .await?
    {
        return Err(login::locked(until - now));
    }
    if state
        .passwords
        .verify(password, user.password_hash.clone())
        .await?
    {
        return Ok(());
    }
    let meta = meta.clone();
    let lock = state
        .write(move |tx, st| {
            login::record_failure(tx, st, &attempt, &meta, Action::AuthUserPasswordCheck)
        })
        .await?;
    Err(lock.map_or_else(
        || ApiError::permission_denied("the password is wrong"),
        |until| login::locked(until - now),
    ))
}

/// A wrong password said in the words of the call.
fn wrong_as(err: ApiError, message: &str) -> ApiError {
    match err {
        ApiError::PermissionDenied(_) => ApiError::permission_denied(message),
        other => other,
    }
}

pub async fn delete_account(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::DeleteAccountRequest,
) -> ApiResult<pb::DeleteAccountResponse> {
    rules::check_password_input(&request.password).map_err(|d| ApiError::invalid("password", d))?;
    let user_id = caller.user_id().to_string();
    let user = state
        .db
        .read(move |tx| users::find(tx.conn(), &user_id))
        .await?;
    if user.password_hash.is_none() {
        return Err(ApiError::failed_precondition(
            "this account has no password (it signs in through SSO); ask an organization admin to remove it",
        ));
    }
    check_password(state, &meta, &user, request.password).await?;
    state
        .write(move |tx, st| {
            let now = st.now();
            let orgs = store::my_memberships(&mut tx.user(&UserScope::verified(caller.user_id()))?)?;
            for (org_id, role) in &orgs {
                let mut t = tx.tenant(&TenantScope::verified(org_id.clone()))?;
                if *role == Role::Owner && crate::org::owner_count(&mut t)? <= 1 {
                    return Err(ApiError::failed_precondition(format!(
                        "you are the last owner of organization {org_id}: make someone else owner or delete it first"
                    )));
                }
                crate::org::delete_membership(&mut t, caller.user_id())?;
                let event = Event::by(&caller, Action::OrgMemberAccountDeleted, "user", caller.user_id());
                audit::record(&mut t, now, &meta, event)?;
            }
            sessions::end_sessions(tx, st, &caller, None, None, "account_deleted")?;
            store::delete_user(tx, caller.user_id())?;
            let mut t = tx.tenant(&TenantScope::account_events())?;
            let event = Event::by(&caller, Action::AuthUserDeleted, "user", caller.user_id())
                .details(serde_json::json!({ "organizations_left": orgs.len() }));
            audit::record(&mut t, now, &meta, event)
        })
        .await?;
    Ok(pb::DeleteAccountResponse {})
}
