//! Creating, reading, changing and deleting organizations; the caller's
//! memberships; switching the organization a session is pinned to.

use tenantry_proto::org::v1 as pb;

use super::{LoginPolicy, convert, rules, store};
use crate::{
    access::Role,
    audit::{self, Action, Event, chain::GENESIS},
    auth::{
        issue::{self, AuthMethod},
        login::{MFA_REQUIRED, SSO_REQUIRED, pin_target},
    },
    context::{Caller, RequestMeta},
    db::{
        TenantScope, Tx, UserScope,
        rows::{MembershipRow, OrganizationRow},
    },
    error::{ApiError, ApiResult, Violations},
    paging::time_key,
    state::AppState,
};

pub async fn create_organization(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::CreateOrganizationRequest,
) -> ApiResult<pb::CreateOrganizationResponse> {
    let mut violations = Violations::new();
    let name = violations.take("name", rules::clean_name(&request.name));
    violations.take("slug", rules::check_slug(&request.slug));
    violations.finish()?;
    state
        .write(move |tx, st| {
            let now = st.now();
            let storage = &st.config.storage;
            let org = OrganizationRow {
                id: uuid::Uuid::now_v7().to_string(),
                name: name.unwrap_or_default(),
                slug: request.slug,
                login_policy: LoginPolicy::Local,
                max_file_size: i64::try_from(storage.max_file_size.as_u64()).unwrap_or(i64::MAX),
                storage_quota: i64::try_from(storage.default_storage_quota.as_u64())
                    .unwrap_or(i64::MAX),
                audit_seq: 0,
                audit_head: GENESIS.into(),
                created_at: now,
                updated_at: now,
                deleted_at: None,
                storage_used: 0,
                storage_stored: 0,
                require_mfa: false,
            };
            store::insert_organization(tx, &org)?;
            // The organization is the one this transaction just created.
            let mut t = tx.tenant(&TenantScope::verified(&org.id))?;
            let owner = MembershipRow {
                org_id: org.id.clone(),
                user_id: caller.user_id().to_string(),
                role: Role::Owner,
                created_at: now,
                updated_at: now,
            };
            store::insert_membership(&mut t, &owner)?;
            let event = Event::by(&caller, Action::OrgCreated, "organization", &org.id)
                .details(serde_json::json!({ "name": org.name, "slug": org.slug }));
            audit::record(&mut t, now, &meta, event)?;
            let tokens = pin(tx, st, &caller, &org.id)?;
            Ok((org, tokens))
        })
        .await
        .and_then(|(org, tokens)| {
            Ok(pb::CreateOrganizationResponse {
                organization: Some(convert::organization(&org)),
                tokens: Some(tokens.sign(state)?),
            })
        })
}

/// Re-pins the caller's session to `org_id` and remembers it for sign-in.
fn pin(
    tx: &mut Tx<'_>,
    state: &AppState,
    caller: &Caller,
    org_id: &str,
) -> ApiResult<issue::Unsigned> {
    store::remember_last_org(tx, caller.user_id(), org_id)?;
    issue::repin_session(tx, state, caller.session()?, Some(org_id.to_owned()))
}

/// What an update changed, for its audit event.
fn changed(
    before: &OrganizationRow,
    after: &OrganizationRow,
) -> serde_json::Map<String, serde_json::Value> {
    let mut changes = serde_json::Map::new();
    if before.name != after.name {
        changes.insert("name".into(), after.name.clone().into());
    }
    if before.login_policy != after.login_policy {
        changes.insert("login_policy".into(), after.login_policy.as_str().into());
    }
    if before.max_file_size != after.max_file_size {
        changes.insert("max_file_size_bytes".into(), after.max_file_size.into());
    }
    if before.require_mfa != after.require_mfa {
        changes.insert("require_mfa".into(), after.require_mfa.into());
    }
    changes
}

pub async fn update_mfa_policy(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::UpdateMfaPolicyRequest,
) -> ApiResult<pb::UpdateMfaPolicyResponse> {
    let scope = caller.tenant()?;
    state
        .write(move |tx, st| {
            let now = st.now();
            let before = store::find_organization(tx, &scope)?;
            if request.require_mfa && !before.require_mfa && !caller.multi_factor() {
                return Err(ApiError::failed_precondition(
                    "sign in with your second factor before requiring one of every member",
                ));
            }
            let mut after = before.clone();
            after.require_mfa = request.require_mfa;
            after.updated_at = now;
            store::update_organization(tx, &after)?;
            // Sessions without a second factor stop working here at once.
            st.liveness.forget_all();
            let mut t = tx.tenant(&scope)?;
            let event = Event::by(&caller, Action::OrgUpdated, "organization", &after.id)
                .details(changed(&before, &after).into());
            audit::record(&mut t, now, &meta, event)?;
            Ok(pb::UpdateMfaPolicyResponse {
                organization: Some(convert::organization(&after)),
            })
        })
        .await
}

pub async fn get_organization(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::GetOrganizationResponse> {
    let scope = caller.tenant()?;
    let org = state
        .db
        .read(move |tx| store::find_organization(tx, &scope))
        .await?;
    Ok(pb::GetOrganizationResponse {
        organization: Some(convert::organization(&org)),
    })
}

pub async fn update_organization(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::UpdateOrganizationRequest,
) -> ApiResult<pb::UpdateOrganizationResponse> {
    let scope = caller.tenant()?;
    let mut violations = Violations::new();
    let name = match &request.name {
        Some(raw) => violations.take("name", rules::clean_name(raw)),
        None => None,
    };
    let policy = LoginPolicy::from_proto(request.login_policy).unwrap_or_else(|_| {
        violations.add("login_policy", "is not a known policy");
        None
    });
    let server_max = i64::try_from(state.config.storage.max_file_size.as_u64()).unwrap_or(i64::MAX);
    if let Some(size) = request.max_file_size_bytes
        && !(1..=server_max).contains(&size)
    {
        violations.add(
            "max_file_size_bytes",
            format!("must be between 1 and {server_max}"),
        );
    }
    violations.finish()?;
    state
        .write(move |tx, st| {
            let now = st.now();
            let before = store::find_organization(tx, &scope)?;
            if policy == Some(LoginPolicy::Sso)
                && !crate::sso::config::enabled(&mut tx.tenant(&scope)?)?
            {
                return Err(ApiError::failed_precondition(
                    "set up and enable single sign-on before requiring it",
                ));
            }
            let mut after = before.clone();
            if let Some(name) = name {
                after.name = name;
            }
            if let Some(policy) = policy {
                after.login_policy = policy;
            }
            if let Some(size) = request.max_file_size_bytes {
                after.max_file_size = size;
            }
            after.updated_at = now;
            store::update_organization(tx, &after)?;
            let mut changes = changed(&before, &after);
            if before.login_policy != LoginPolicy::Sso && after.login_policy == LoginPolicy::Sso {
                let ended = store::end_password_sessions(tx, &scope, now)?;
                changes.insert("password_sessions_ended".into(), ended.into());
                st.liveness.forget_all();
            }
            let mut t = tx.tenant(&scope)?;
            let event = Event::by(&caller, Action::OrgUpdated, "organization", &after.id)
                .details(changes.into());
            audit::record(&mut t, now, &meta, event)?;
            Ok(pb::UpdateOrganizationResponse {
                organization: Some(convert::organization(&after)),
            })
        })
        .await
}

pub async fn delete_organization(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::DeleteOrganizationRequest,
) -> ApiResult<pb::DeleteOrganizationResponse> {
    let scope = caller.tenant()?;
    if request.confirm_slug.is_empty() {
        return Err(ApiError::invalid(
            "confirm_slug",
            "is required: the organization's slug",
        ));
    }
    state
        .write(move |tx, st| {
            let now = st.now();
            let org = store::find_organization(tx, &scope)?;
            if org.slug != request.confirm_slug {
                return Err(ApiError::invalid(
                    "confirm_slug",
                    "does not match this organization's slug",
                ));
            }
            let ended = store::delete_organization(tx, &org.id, now)?;
            st.liveness.forget_all();
            let mut t = tx.tenant(&scope)?;
            let event = Event::by(&caller, Action::OrgDeleted, "organization", &org.id)
                .details(serde_json::json!({ "slug": org.slug, "sessions_ended": ended }));
            audit::record(&mut t, now, &meta, event)
        })
        .await?;
    Ok(pb::DeleteOrganizationResponse {})
}

pub async fn list_my_organizations(
    state: &AppState,
    caller: Caller,
    request: pb::ListMyOrganizationsRequest,
) -> ApiResult<pb::ListMyOrganizationsResponse> {
    let page = state
        .page_tokens
        .parse(caller.user_id(), &request, 50, 100)?;
    let after = page.after_time_and_id()?;
    let scope = UserScope::from_auth(&caller);
    let confined_to = caller.confined_to().map(ToString::to_string);
    let (rows, next_page_token) = state
        .db
        .read(move |tx| {
            let rows = store::list_my_organizations(tx, &scope, confined_to, page.limit(), after)?;
            Ok(page.finish(rows, |(m, _)| {
                vec![time_key(m.created_at), m.org_id.clone()]
            }))
        })
        .await?;
    Ok(pb::ListMyOrganizationsResponse {
        memberships: rows
            .iter()
            .map(|(m, o)| convert::membership(o, m))
            .collect(),
        next_page_token,
    })
}

pub async fn switch_organization(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::SwitchOrganizationRequest,
) -> ApiResult<pb::SwitchOrganizationResponse> {
    let org_id = crate::ids::OrgId::parse(&request.organization_id)
        .map_err(|d| ApiError::invalid("organization_id", d))?;
    state
        .write(move |tx, st| {
            let mut own = tx.user(&UserScope::from_auth(&caller))?;
            let target =
                pin_target(&mut own, &org_id)?.ok_or(ApiError::NotFound("organization"))?;
            let method =
                AuthMethod::from_stored(&store::session_auth_method(tx, caller.session()?)?);
            if target.needs_sso() && !method.is_sso() {
                return Err(ApiError::failed_precondition(SSO_REQUIRED));
            }
            if target.needs_mfa(method.multi_factor()) {
                return Err(ApiError::failed_precondition(MFA_REQUIRED));
            }
            let org_id = target.org_id;
            let tokens = pin(tx, st, &caller, &org_id)?;
            // A live membership of the caller's, just read.
            let mut t = tx.tenant(&TenantScope::verified(&org_id))?;
            let event = Event::by(
                &caller,
                Action::AuthOrganizationSwitched,
                "session",
                caller.session()?,
            );
            audit::record(&mut t, st.now(), &meta, event)?;
            Ok(tokens)
        })
        .await
        .and_then(|tokens| {
            Ok(pb::SwitchOrganizationResponse {
                tokens: Some(tokens.sign(state)?),
            })
        })
}
