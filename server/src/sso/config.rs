//! The organization's SSO configuration. The client secret is write-only:
//! sealed with AES-256-GCM under the master key (bound to the organization,
//! tagged with the key id) and never returned or logged.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};
use tenantry_proto::sso::v1 as pb;

use super::{oidc, settings};
use crate::{
    audit::{self, Action, Event},
    context::{Caller, RequestMeta},
    db::{
        Tenant,
        rows::SsoConfigRow,
        schema::{organizations, sso_configs},
    },
    error::{ApiError, ApiResult, Violations},
    state::AppState,
};

pub const NOT_CONFIGURED: ApiError = ApiError::NotFound("single sign-on configuration");

pub fn load(t: &mut Tenant<'_>) -> ApiResult<Option<SsoConfigRow>> {
    Ok(t.sso_configs()
        .select(SsoConfigRow::as_select())
        .first(t.conn())
        .optional()?)
}

pub fn parsed(row: &SsoConfigRow) -> ApiResult<settings::Settings> {
    serde_json::from_str(&row.settings).map_err(ApiError::internal)
}

/// The stored client secret, decrypted.
pub fn secret(state: &AppState, row: &SsoConfigRow) -> ApiResult<Option<String>> {
    let (Some(key_id), Some(sealed)) = (&row.secret_key_id, &row.secret_sealed) else {
        return Ok(None);
    };
    let bytes = STANDARD.decode(sealed).map_err(ApiError::internal)?;
    let plain = state
        .master_keys
        .open(key_id, &bytes, row.org_id.as_bytes())
        .map_err(ApiError::internal)?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(ApiError::internal)
}

fn to_proto(row: &SsoConfigRow) -> ApiResult<pb::SsoConfig> {
    Ok(settings::to_proto(
        &row.issuer_url,
        &row.client_id,
        row.secret_sealed.is_some(),
        row.enabled,
        &parsed(row)?,
        row.updated_at,
    ))
}

/// The caller's organization's configuration; NOT_FOUND when it has none.
async fn load_configured(state: &AppState, caller: &Caller) -> ApiResult<SsoConfigRow> {
    let scope = caller.tenant()?;
    state
        .db
        .read(move |tx| load(&mut tx.tenant(&scope)?))
        .await?
        .ok_or(NOT_CONFIGURED)
}

pub async fn get_sso_config(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::GetSsoConfigResponse> {
    let row = load_configured(state, &caller).await?;
    Ok(pb::GetSsoConfigResponse {
        config: Some(to_proto(&row)?),
    })
}

/// The sealed secret to store: a new one, or the stored one — kept only for
/// the same provider and client, else an admin who never saw the secret
/// could point the issuer at a server of theirs and receive it at the token
/// endpoint.
fn secret_to_store(
    new: Option<&(String, String)>,
    existing: Option<&SsoConfigRow>,
    checked: &settings::Checked,
) -> ApiResult<(Option<String>, Option<String>)> {
    match (new, existing) {
        (Some((key, sealed)), _) => Ok((Some(key.clone()), Some(sealed.clone()))),
        (None, Some(old))
            if old.secret_sealed.is_some()
                && old.issuer_url == checked.issuer_url
                && old.client_id == checked.client_id =>
        {
            Ok((old.secret_key_id.clone(), old.secret_sealed.clone()))
        }
        (None, Some(old)) if old.secret_sealed.is_some() => Err(ApiError::invalid(
            "client_secret",
            "is required again when the issuer or the client id changes",
        )),
        (None, _) => Err(ApiError::invalid(
            "client_secret",
            "is required: the flow uses a confidential client",
        )),
    }
}

pub async fn upsert_sso_config(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::UpsertSsoConfigRequest,
) -> ApiResult<pb::UpsertSsoConfigResponse> {
    let scope = caller.tenant()?;
    let mut violations = Violations::new();
    let checked = settings::check(request.config, &mut violations);
    if request.client_secret.len() > 4096 {
        violations.add("client_secret", "must be at most 4096 bytes");
    }
    violations.finish()?;
    let checked = checked.ok_or_else(|| ApiError::invalid("config", "is required"))?;
    let sealed = (!request.client_secret.is_empty()).then(|| {
        let (key_id, bytes) = state
            .master_keys
            .seal(request.client_secret.as_bytes(), scope.org_id().as_bytes());
        (key_id, STANDARD.encode(bytes))
    });
    let row = state
        .write(move |tx, st| {
            let now = st.now();
            let mut t = tx.tenant(&scope)?;
            let existing = load(&mut t)?;
            let (secret_key_id, secret_sealed) =
                secret_to_store(sealed.as_ref(), existing.as_ref(), &checked)?;
            let row = SsoConfigRow {
                org_id: scope.org_id().to_string(),
                issuer_url: checked.issuer_url.clone(),
                client_id: checked.client_id.clone(),
                secret_key_id,
                secret_sealed,
                settings: serde_json::to_string(&checked.settings).map_err(ApiError::internal)?,
                enabled: checked.enabled,
                created_at: existing.as_ref().map_or(now, |e| e.created_at),
                updated_at: now,
            };
            if existing.is_some() {
                diesel::update(t.sso_configs())
                    .set((
                        sso_configs::issuer_url.eq(&row.issuer_url),
                        sso_configs::client_id.eq(&row.client_id),
                        sso_configs::secret_key_id.eq(&row.secret_key_id),
                        sso_configs::secret_sealed.eq(&row.secret_sealed),
                        sso_configs::settings.eq(&row.settings),
                        sso_configs::enabled.eq(row.enabled),
                        sso_configs::updated_at.eq(now),
                    ))
                    .execute(t.conn())?;
            } else {
                t.insert_sso_configs().values(&row).execute(t.conn())?;
            }
            let action = if existing.is_some() {
                Action::SsoConfigUpdated
            } else {
                Action::SsoConfigCreated
            };
            let event = Event::by(&caller, action, "sso_config", scope.org_id()).details(
                serde_json::json!({
                    "issuer_url": row.issuer_url,
                    "client_id": row.client_id,
                    "enabled": row.enabled,
                    "secret_changed": sealed.is_some(),
                    "auto_provision": checked.settings.auto_provision,
                    "allowed_email_domains": checked.settings.allowed_domains,
                }),
            );
            audit::record(&mut t, now, &meta, event)?;
            Ok(row)
        })
        .await?;
    Ok(pb::UpsertSsoConfigResponse {
        config: Some(to_proto(&row)?),
    })
}

pub async fn delete_sso_config(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
) -> ApiResult<pb::DeleteSsoConfigResponse> {
    let scope = caller.tenant()?;
    state
        .write(move |tx, st| {
            let policy: String = organizations::table
                .find(scope.org_id())
                .select(organizations::login_policy)
                .first(tx.conn())?;
            if policy == "sso" {
                return Err(ApiError::failed_precondition(
                    "this organization requires single sign-on: change its login policy first",
                ));
            }
            let mut t = tx.tenant(&scope)?;
            if diesel::delete(t.sso_configs()).execute(t.conn())? == 0 {
                return Err(NOT_CONFIGURED);
            }
            let event = Event::by(
                &caller,
                Action::SsoConfigDeleted,
                "sso_config",
                scope.org_id(),
            );
            audit::record(&mut t, st.now(), &meta, event)
        })
        .await?;
    Ok(pb::DeleteSsoConfigResponse {})
}

pub async fn test_sso_config(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::TestSsoConfigResponse> {
    let row = load_configured(state, &caller).await?;
    Ok(
        match oidc::discover(&state.oidc_http, &row.issuer_url).await {
            Ok(metadata) => pb::TestSsoConfigResponse {
                ok: true,
                error: String::new(),
                issuer: metadata.issuer().to_string(),
                authorization_endpoint: metadata.authorization_endpoint().to_string(),
                token_endpoint: metadata
                    .token_endpoint()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                userinfo_endpoint: metadata
                    .userinfo_endpoint()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                jwks_uri: metadata.jwks_uri().to_string(),
                scopes_supported: metadata
                    .scopes_supported()
                    .map(|s| s.iter().map(|s| s.to_string()).collect())
                    .unwrap_or_default(),
            },
            Err(err) => pb::TestSsoConfigResponse {
                ok: false,
                error: err.to_string(),
                ..Default::default()
            },
        },
    )
}

/// Whether the organization has an enabled configuration (for policies that
/// require single sign-on).
pub fn enabled(t: &mut Tenant<'_>) -> ApiResult<bool> {
    Ok(t.sso_configs()
        .filter(sso_configs::enabled.eq(true))
        .count()
        .get_result::<i64>(t.conn())?
        > 0)
}
