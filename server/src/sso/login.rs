//! Signing in through the organization's provider.
//!
//! `state` names the organization and is stored only hashed; the PKCE
//! verifier and the nonce are derived from it under a server key, so they
//! are never stored and never leave the server (any instance can complete a
//! flow another began). A state is single-use and lives 10 minutes, bound to
//! its organization and redirect URI.

use tenantry_proto::sso::v1 as pb;

use super::{config, oidc, provision, store};
use crate::{
    audit,
    clock::to_proto,
    context::RequestMeta,
    crypto::tokens::{derive_token, hash_token, random_token},
    db::{
        TenantScope,
        rows::{SsoConfigRow, SsoLoginStateRow},
    },
    error::{ApiError, ApiResult, Violations},
    org::{LoginPolicy, rules::check_slug},
    state::{AppState, after},
    validate::check_token,
};

const FLOW_TTL: std::time::Duration = std::time::Duration::from_secs(600);

fn not_set_up() -> ApiError {
    ApiError::NotFound("single sign-on for this organization")
}

/// `sso_<organization, hex>_<256 random bits>`.
fn new_state(org_id: &str) -> ApiResult<String> {
    let org = uuid::Uuid::try_parse(org_id).map_err(ApiError::internal)?;
    Ok(format!("sso_{}_{}", org.simple(), &random_token("x")[2..]))
}

fn org_of(state: &str) -> Option<String> {
    let (org, secret) = state.strip_prefix("sso_")?.split_once('_')?;
    (secret.len() >= 43).then_some(())?;
    uuid::Uuid::try_parse(org).ok().map(|u| u.to_string())
}

/// The PKCE verifier and nonce of a flow.
fn derived(state: &AppState, flow: &str) -> (String, String) {
    let key = state.master_keys.derive("sso-flow");
    (
        derive_token(&key, "pkce", flow),
        derive_token(&key, "nonce", flow),
    )
}

pub async fn begin_sso_login(
    state: &AppState,
    request: pb::BeginSsoLoginRequest,
) -> ApiResult<pb::BeginSsoLoginResponse> {
    let mut violations = Violations::new();
    violations.take("organization_slug", check_slug(&request.organization_slug));
    if request.redirect_uri.is_empty() || request.redirect_uri.len() > 2048 {
        violations.add("redirect_uri", "is required (at most 2048 bytes)");
    }
    violations.finish()?;
    let slug = request.organization_slug.clone();
    let (org_id, policy, row) = state
        .db
        .read(move |tx| {
            let (org_id, policy) = store::find_org_by_slug(tx, &slug)?.ok_or_else(not_set_up)?;
            // The organization comes from the public registry by its slug.
            let mut t = tx.tenant(&TenantScope::verified(&org_id))?;
            let row = config::load(&mut t)?
                .filter(|c| c.enabled)
                .ok_or_else(not_set_up)?;
            Ok((org_id, policy, row))
        })
        .await?;
    if LoginPolicy::from_stored(&policy)? == LoginPolicy::Local {
        return Err(ApiError::failed_precondition(
            "this organization signs in with passwords only",
        ));
    }
    let settings = config::parsed(&row)?;
    if !settings.redirect_uris.contains(&request.redirect_uri) {
        return Err(ApiError::invalid(
            "redirect_uri",
            "is not one of the organization's allowed redirect URIs",
        ));
    }
    let metadata = oidc::discover(&state.oidc_http, &row.issuer_url).await?;
    let flow = new_state(&org_id)?;
    let (verifier, nonce) = derived(state, &flow);
    let client = oidc::Client {
        metadata,
        client_id: &row.client_id,
        client_secret: None,
        redirect_uri: &request.redirect_uri,
    };
    let mut scopes = settings.scopes.clone();
    scopes.retain(|s| s != "openid");
    let url = client.authorization_url(&scopes, &flow, &nonce, &verifier)?;
    let now = state.now();
    let expires = after(now, FLOW_TTL);
    let stored = SsoLoginStateRow {
        state_hash: hash_token(&flow),
        org_id: org_id.clone(),
        redirect_uri: request.redirect_uri,
        created_at: now,
        expires_at: expires,
        used_at: None,
    };
    state
        .db
        .write(move |tx| {
            store::insert_login_state(&mut tx.tenant(&TenantScope::verified(&org_id))?, &stored)
        })
        .await?;
    Ok(pb::BeginSsoLoginResponse {
        authorization_url: url,
        expire_time: Some(to_proto(expires)),
    })
}

fn stale() -> ApiError {
    ApiError::failed_precondition(
        "this sign-in is unknown, expired or already completed: start again",
    )
}

/// How claiming a sign-in's state ended. A stale state is an outcome, not
/// an error, so that the audit event of a replay commits.
enum Claim {
    Claimed(Box<(SsoLoginStateRow, SsoConfigRow)>),
    Stale,
    NotSetUp,
}

/// Claims the state (single use) and loads the configuration.
async fn claim(
    state: &AppState,
    scope: TenantScope,
    flow: &str,
    meta: &RequestMeta,
) -> ApiResult<(SsoLoginStateRow, SsoConfigRow)> {
    let hash = hash_token(flow);
    let meta = meta.clone();
    let claim = state
        .write(move |tx, st| {
            let now = st.now();
            let mut t = tx.tenant(&scope)?;
            let Some(row) = store::find_login_state(&mut t, &hash)? else {
                return Ok(Claim::Stale);
            };
            let problem = if row.used_at.is_some() {
                Some("state_replayed")
            } else if row.expires_at <= now {
                Some("state_expired")
            } else {
                None
            };
            if let Some(reason) = problem {
                let details = serde_json::json!({ "reason": reason });
                audit::record(&mut t, now, &meta, provision::failed_login(&scope, details))?;
                return Ok(Claim::Stale);
            }
            if !store::claim_login_state(&mut t, &hash, now)? {
                return Ok(Claim::Stale);
            }
            Ok(match config::load(&mut t)?.filter(|c| c.enabled) {
                Some(config) => Claim::Claimed(Box::new((row, config))),
                None => Claim::NotSetUp,
            })
        })
        .await?;
    match claim {
        Claim::Claimed(claimed) => Ok(*claimed),
        Claim::Stale => Err(stale()),
        Claim::NotSetUp => Err(not_set_up()),
    }
}

pub async fn complete_sso_login(
    state: &AppState,
    meta: RequestMeta,
    request: pb::CompleteSsoLoginRequest,
) -> ApiResult<pb::CompleteSsoLoginResponse> {
    let mut violations = Violations::new();
    violations.take("state", check_token(&request.state));
    if request.code.is_empty() || request.code.len() > 4096 {
        violations.add("code", "is required (at most 4096 bytes)");
    }
    violations.finish()?;
    let org_id = org_of(&request.state).ok_or_else(stale)?;
    // The organization named by the state is proven by the stored hash.
    let scope = TenantScope::verified(&org_id);
    let (flow, row) = claim(state, scope.clone(), &request.state, &meta).await?;
    let settings = config::parsed(&row)?;
    let secret = config::secret(state, &row)?;

    let verified = async {
        let metadata = oidc::discover(&state.oidc_http, &row.issuer_url).await?;
        // RFC 9207: an `iss` sent back must be the provider's own.
        if !request.iss.is_empty()
            && request.iss.trim_end_matches('/') != metadata.issuer().as_str().trim_end_matches('/')
        {
            return Err(oidc::OidcError::Invalid(
                "the authorization response came from another issuer".into(),
            ));
        }
        let client = oidc::Client {
            metadata,
            client_id: &row.client_id,
            client_secret: secret,
            redirect_uri: &flow.redirect_uri,
        };
        let (verifier, nonce) = derived(state, &request.state);
        client
            .redeem(&state.oidc_http, &request.code, &verifier, &nonce)
            .await
    }
    .await;
    let claims = match verified {
        Ok(claims) => claims,
        Err(err) => {
            tracing::info!(error = %err, "single sign-on did not verify");
            provision::audit_failure(state, &scope, &meta, err.reason(), None).await?;
            return Err(err.into());
        }
    };
    provision::sign_in(state, scope, meta, row.issuer_url.clone(), settings, claims).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_name_their_organization() {
        let org = uuid::Uuid::now_v7().to_string();
        let state = new_state(&org).unwrap();
        assert_eq!(org_of(&state), Some(org));
        assert_eq!(org_of("sso_zz_short"), None);
        assert!(check_token(&state).is_ok());
    }
}
