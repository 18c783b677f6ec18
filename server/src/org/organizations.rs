//! Creating, reading, changing and deleting organizations; the caller's
//! memberships; switching the organization a session is pinned to.

use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, OptionalExtension as _, QueryDsl as _,
    RunQueryDsl as _, SelectableHelper as _, result::DatabaseErrorKind,
};
use tenantry_proto::org::v1 as pb;

use super::{LoginPolicy, convert, rules};
use crate::{
    access::Role,
    audit::{self, Action, Event, chain::GENESIS},
    auth::{
        issue::{self, AuthMethod},
        login::{SSO_REQUIRED, pin_target},
    },
    context::{Caller, RequestMeta},
    db::{
        TenantScope, Tx, UserScope,
        rows::{MembershipRow, OrganizationRow},
        schema::{memberships, organizations, sessions, users},
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
            };
            let inserted = diesel::insert_into(organizations::table)
                .values(&org)
                .execute(tx.conn());
            if let Err(diesel::result::Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _,
            )) = inserted
            {
                return Err(ApiError::AlreadyExists("this slug is taken".into()));
            }
            inserted?;
            // The organization is the one this transaction just created.
            let mut t = tx.tenant(&TenantScope::verified(&org.id))?;
            let owner = MembershipRow {
                org_id: org.id.clone(),
                user_id: caller.user_id().to_string(),
                role: Role::Owner,
                created_at: now,
                updated_at: now,
            };
            t.insert_memberships().values(&owner).execute(t.conn())?;
            let event = Event::by_user(
                caller.user_id(),
                Action::OrgCreated,
                "organization",
                &org.id,
            )
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
    diesel::update(users::table.find(caller.user_id()))
        .set(users::last_org_id.eq(org_id))
        .execute(tx.conn())?;
    issue::repin_session(tx, state, caller.session_id(), Some(org_id.to_owned()))
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
    changes
}

/// The organization of a scope (it is live: the session check saw to that).
pub fn load(tx: &mut Tx<'_>, scope: &TenantScope) -> ApiResult<OrganizationRow> {
    organizations::table
        .find(scope.org_id())
        .filter(organizations::deleted_at.is_null())
        .select(OrganizationRow::as_select())
        .first(tx.conn())
        .optional()?
        .ok_or(ApiError::NotFound("organization"))
}

pub async fn get_organization(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::GetOrganizationResponse> {
    let scope = caller.tenant()?;
    let org = state.db.read(move |tx| load(tx, &scope)).await?;
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
            let before = load(tx, &scope)?;
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
            diesel::update(organizations::table.find(&after.id))
                .set((
                    organizations::name.eq(&after.name),
                    organizations::login_policy.eq(&after.login_policy),
                    organizations::max_file_size.eq(after.max_file_size),
                    organizations::updated_at.eq(now),
                ))
                .execute(tx.conn())?;
            let mut changes = changed(&before, &after);
            if before.login_policy != LoginPolicy::Sso && after.login_policy == LoginPolicy::Sso {
                let ended = end_password_sessions(tx, &scope, now)?;
                changes.insert("password_sessions_ended".into(), ended.into());
                st.liveness.forget_all();
            }
            let mut t = tx.tenant(&scope)?;
            let event = Event::by_user(
                caller.user_id(),
                Action::OrgUpdated,
                "organization",
                &after.id,
            )
            .details(changes.into());
            audit::record(&mut t, now, &meta, event)?;
            Ok(pb::UpdateOrganizationResponse {
                organization: Some(convert::organization(&after)),
            })
        })
        .await
}

/// Ends the members' password sessions pinned to the organization when it
/// starts requiring SSO (owners keep theirs, as they keep their password
/// sign-in); returns how many.
fn end_password_sessions(
    tx: &mut Tx<'_>,
    scope: &TenantScope,
    now: chrono::NaiveDateTime,
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
            .filter(sessions::auth_method.eq(AuthMethod::Password.as_str()))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::user_id.ne_all(owners)),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoke_reason.eq("sso_required"),
    ))
    .execute(tx.conn())?)
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
            let org = load(tx, &scope)?;
            if org.slug != request.confirm_slug {
                return Err(ApiError::invalid(
                    "confirm_slug",
                    "does not match this organization's slug",
                ));
            }
            diesel::update(organizations::table.find(&org.id))
                .set((
                    organizations::deleted_at.eq(now),
                    organizations::updated_at.eq(now),
                ))
                .execute(tx.conn())?;
            let ended = diesel::update(
                sessions::table
                    .filter(sessions::org_id.eq(&org.id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set((
                sessions::revoked_at.eq(now),
                sessions::revoke_reason.eq("organization_deleted"),
            ))
            .execute(tx.conn())?;
            st.liveness.forget_all();
            let mut t = tx.tenant(&scope)?;
            let event = Event::by_user(
                caller.user_id(),
                Action::OrgDeleted,
                "organization",
                &org.id,
            )
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
            let mut own = tx.user(&scope)?;
            let mut query = own
                .memberships()
                .inner_join(organizations::table)
                .filter(organizations::deleted_at.is_null())
                .select((MembershipRow::as_select(), OrganizationRow::as_select()))
                .order((memberships::created_at.asc(), memberships::org_id.asc()))
                .limit(page.limit())
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
            let rows: Vec<(MembershipRow, OrganizationRow)> = query.load(own.conn())?;
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
            if target.needs_sso() {
                let method: String = sessions::table
                    .find(caller.session_id())
                    .select(sessions::auth_method)
                    .first(tx.conn())?;
                if method != AuthMethod::Sso.as_str() {
                    return Err(ApiError::failed_precondition(SSO_REQUIRED));
                }
            }
            let org_id = target.org_id;
            let tokens = pin(tx, st, &caller, &org_id)?;
            // A live membership of the caller's, just read.
            let mut t = tx.tenant(&TenantScope::verified(&org_id))?;
            let event = Event::by_user(
                caller.user_id(),
                Action::AuthOrganizationSwitched,
                "session",
                caller.session_id(),
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

/// How many owners the organization has. Locks the organization's row
/// first, so two owners leaving (or demoting each other) at once queue here
/// and the second counts after the first has committed — the organization
/// cannot end up with none.
pub fn owner_count(t: &mut crate::db::Tenant<'_>) -> ApiResult<i64> {
    let org_id = t.org_id().to_owned();
    diesel::update(organizations::table.find(&org_id))
        .set(organizations::audit_seq.eq(organizations::audit_seq))
        .execute(t.conn())?;
    Ok(t.memberships()
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(t.conn())?)
}

/// Refuses when `user_id` is the organization's last owner and would stop
/// being one.
pub fn keep_an_owner(t: &mut crate::db::Tenant<'_>, current: Role) -> ApiResult<()> {
    if current == Role::Owner && owner_count(t)? <= 1 {
        return Err(ApiError::failed_precondition(
            "an organization must keep at least one owner: make someone else owner first",
        ));
    }
    Ok(())
}
