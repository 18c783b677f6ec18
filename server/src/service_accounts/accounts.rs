//! Service accounts themselves: create, read, change, disable, delete. An
//! account's role is VIEWER to ADMIN and never above its maker's.

use tenantry_proto::serviceaccount::v1 as pb;

use super::{convert, store};
use crate::{
    access::Role,
    audit::{self, Action, Event},
    context::{Caller, RequestMeta},
    db::{TenantScope, rows::ServiceAccountRow},
    error::{ApiError, ApiResult, Violations},
    ids::ServiceAccountId,
    state::AppState,
    validate::{short_name, visible_text},
};

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 1_000;

/// A role a service account may hold, given to it by `granter`.
fn check_role(violations: &mut Violations, value: i32, granter: Role) -> Option<Role> {
    match Role::from_proto(value) {
        Some(Role::Owner) | None => {
            violations.add("role", "must be VIEWER, MEMBER or ADMIN");
            None
        }
        Some(role) if role > granter => {
            violations.add("role", "must not be above your own role");
            None
        }
        Some(role) => Some(role),
    }
}

fn check_description(violations: &mut Violations, raw: &str) -> Option<String> {
    let text = raw.trim();
    let checked = if text.chars().count() > MAX_DESCRIPTION {
        Err(format!("must be at most {MAX_DESCRIPTION} characters"))
    } else {
        visible_text(text).map(|()| text.to_owned())
    };
    violations.take("description", checked)
}

/// The thumbprint of a client certificate to bind an account to; `None`
/// inside for an empty text (no binding).
fn check_certificate(violations: &mut Violations, pem: &str) -> Option<Option<String>> {
    if pem.trim().is_empty() {
        return Some(None);
    }
    violations
        .take("client_certificate_pem", crate::tls::pem_thumbprint(pem))
        .map(Some)
}

pub fn parse_account_id(raw: &str) -> ApiResult<ServiceAccountId> {
    ServiceAccountId::parse(raw).map_err(|d| ApiError::invalid("service_account_id", d))
}

pub async fn create_service_account(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::CreateServiceAccountRequest,
) -> ApiResult<pb::CreateServiceAccountResponse> {
    let scope = caller.tenant()?;
    let granter = caller.member_role()?;
    let mut violations = Violations::new();
    let name = violations.take("name", short_name(&request.name, MAX_NAME));
    let description = check_description(&mut violations, &request.description);
    let role = check_role(&mut violations, request.role, granter);
    let certificate = check_certificate(&mut violations, &request.client_certificate_pem);
    violations.finish()?;
    let now = state.now();
    let row = ServiceAccountRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: scope.org_id().to_string(),
        name: name.unwrap_or_default(),
        description: description.unwrap_or_default(),
        role: role.unwrap_or(Role::Viewer),
        disabled_at: None,
        certificate_sha256: certificate.flatten(),
        created_at: now,
        updated_at: now,
    };
    let written = row.clone();
    state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            store::insert_account(&mut t, &written)?;
            let event = Event::by(
                &caller,
                Action::ServiceAccountCreated,
                "service_account",
                &written.id,
            )
            .details(serde_json::json!({ "name": written.name, "role": written.role.as_str() }));
            audit::record(&mut t, st.now(), &meta, event)
        })
        .await?;
    Ok(pb::CreateServiceAccountResponse {
        service_account: Some(convert::account(&row)),
    })
}

pub async fn get_service_account(
    state: &AppState,
    caller: Caller,
    request: pb::GetServiceAccountRequest,
) -> ApiResult<pb::GetServiceAccountResponse> {
    let scope = caller.tenant()?;
    let id = parse_account_id(&request.service_account_id)?;
    let row = state
        .db
        .read(move |tx| store::find_account(&mut tx.tenant(&scope)?, &id))
        .await?;
    Ok(pb::GetServiceAccountResponse {
        service_account: Some(convert::account(&row)),
    })
}

pub async fn list_service_accounts(
    state: &AppState,
    caller: Caller,
    request: pb::ListServiceAccountsRequest,
) -> ApiResult<pb::ListServiceAccountsResponse> {
    let scope = caller.tenant()?;
    let page = state.page_tokens.parse(scope.org_id(), &request, 50, 100)?;
    let after = page.after_text_and_id()?.map(|(_, id)| id);
    let (rows, next_page_token) = state
        .db
        .read(move |tx| {
            let rows = store::list_accounts(&mut tx.tenant(&scope)?, page.limit(), after)?;
            Ok(page.finish(rows, |r| vec![String::new(), r.id.clone()]))
        })
        .await?;
    Ok(pb::ListServiceAccountsResponse {
        service_accounts: rows.iter().map(convert::account).collect(),
        next_page_token,
    })
}

pub async fn update_service_account(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::UpdateServiceAccountRequest,
) -> ApiResult<pb::UpdateServiceAccountResponse> {
    let scope = caller.tenant()?;
    let granter = caller.member_role()?;
    let id = parse_account_id(&request.service_account_id)?;
    let mut violations = Violations::new();
    let name = request
        .name
        .as_deref()
        .and_then(|raw| violations.take("name", short_name(raw, MAX_NAME)));
    let description = request
        .description
        .as_deref()
        .and_then(|raw| check_description(&mut violations, raw));
    let role = request
        .role
        .and_then(|value| check_role(&mut violations, value, granter));
    let certificate = request
        .client_certificate_pem
        .as_deref()
        .and_then(|pem| check_certificate(&mut violations, pem));
    violations.finish()?;
    let row = change(
        state,
        meta,
        caller,
        scope,
        id,
        Action::ServiceAccountUpdated,
        move |row| {
            if let Some(name) = name {
                row.name = name;
            }
            if let Some(description) = description {
                row.description = description;
            }
            if let Some(role) = role {
                row.role = role;
            }
            if let Some(certificate) = certificate {
                row.certificate_sha256 = certificate;
            }
        },
    )
    .await?;
    Ok(pb::UpdateServiceAccountResponse {
        service_account: Some(convert::account(&row)),
    })
}

pub async fn set_disabled(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    raw_id: &str,
    disabled: bool,
) -> ApiResult<pb::ServiceAccount> {
    let scope = caller.tenant()?;
    let id = parse_account_id(raw_id)?;
    let now = state.now();
    let action = if disabled {
        Action::ServiceAccountDisabled
    } else {
        Action::ServiceAccountEnabled
    };
    let row = change(state, meta, caller, scope, id, action, move |row| {
        row.disabled_at = if disabled {
            row.disabled_at.or(Some(now))
        } else {
            None
        };
    })
    .await?;
    Ok(convert::account(&row))
}

/// Reads an account, applies `edit`, writes it back, audits the change and
/// drops cached token checks (a role or state change applies at once).
async fn change(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    scope: TenantScope,
    id: ServiceAccountId,
    action: Action,
    edit: impl FnOnce(&mut ServiceAccountRow) + Send + 'static,
) -> ApiResult<ServiceAccountRow> {
    let granter = caller.member_role()?;
    state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            let mut row = store::find_account(&mut t, &id)?;
            if row.role > granter {
                return Err(ApiError::permission_denied(
                    "you may only manage service accounts up to your own role",
                ));
            }
            edit(&mut row);
            row.updated_at = st.now();
            store::save_account(&mut t, &row)?;
            let event =
                Event::by(&caller, action, "service_account", &row.id).details(serde_json::json!({
                    "name": row.name,
                    "role": row.role.as_str(),
                    "disabled": row.disabled_at.is_some(),
                    "certificate_sha256": row.certificate_sha256,
                }));
            audit::record(&mut t, st.now(), &meta, event)?;
            st.liveness.forget_all();
            Ok(row)
        })
        .await
}

pub async fn delete_service_account(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::DeleteServiceAccountRequest,
) -> ApiResult<pb::DeleteServiceAccountResponse> {
    let scope = caller.tenant()?;
    let granter = caller.member_role()?;
    let id = parse_account_id(&request.service_account_id)?;
    state
        .write(move |tx, st| {
            let row = store::find_account(&mut tx.tenant(&scope)?, &id)?;
            if row.role > granter {
                return Err(ApiError::permission_denied(
                    "you may only manage service accounts up to your own role",
                ));
            }
            store::delete_account(tx, &scope, &row.id)?;
            st.liveness.forget_all();
            let event = Event::by(
                &caller,
                Action::ServiceAccountDeleted,
                "service_account",
                &row.id,
            )
            .details(serde_json::json!({ "name": row.name }));
            audit::record(&mut tx.tenant(&scope)?, st.now(), &meta, event)
        })
        .await?;
    Ok(pb::DeleteServiceAccountResponse {})
}
