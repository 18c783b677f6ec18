//! Keys and client secrets of a service account: added (the private key or
//! secret returned once), listed (never the secret), revoked. Each is found
//! only through its account in the caller's organization.

use chrono::Duration;
use tenantry_proto::serviceaccount::v1 as pb;

use super::{
    accounts::parse_account_id,
    convert,
    keys::{self, KeyAlgorithm},
    store::{self, KEY, SECRET},
};
use crate::{
    audit::{self, Action, Event},
    context::{Caller, RequestMeta},
    crypto::tokens::{hash_token, random_token},
    db::{TenantScope, rows::ServiceCredentialRow},
    error::{ApiError, ApiResult, Violations},
    ids::{CredentialId, ServiceAccountId},
    state::AppState,
    validate::expiry,
};

const DEFAULT_LIFETIME_DAYS: i64 = 365;
const MAX_LIFETIME_DAYS: i64 = 366;
/// `tnt_cs_<256 random bits, base64url>`.
const SECRET_PREFIX: &str = "tnt_cs";
const SHOWN: usize = 11;

fn lifetime(
    raw: Option<&prost_types::Timestamp>,
    now: chrono::NaiveDateTime,
) -> Result<chrono::NaiveDateTime, String> {
    expiry(
        raw,
        now,
        Duration::days(DEFAULT_LIFETIME_DAYS),
        Duration::days(MAX_LIFETIME_DAYS),
    )
}

/// What every new credential names: its account and when it expires,
/// checked into `violations` with the kind's own fields.
struct Common {
    account: Option<ServiceAccountId>,
    expires_at: Option<chrono::NaiveDateTime>,
}

impl Common {
    fn check(
        violations: &mut Violations,
        raw_account: &str,
        expire_time: Option<&prost_types::Timestamp>,
        now: chrono::NaiveDateTime,
    ) -> Self {
        Self {
            account: violations.take("service_account_id", ServiceAccountId::parse(raw_account)),
            expires_at: violations.take("expire_time", lifetime(expire_time, now)),
        }
    }

    /// A row of `kind` (after the violations were reported), its
    /// kind-specific columns empty.
    fn row(
        self,
        caller: &Caller,
        kind: &str,
        now: chrono::NaiveDateTime,
    ) -> ApiResult<ServiceCredentialRow> {
        Ok(ServiceCredentialRow {
            id: uuid::Uuid::now_v7().to_string(),
            service_account_id: self.account.unwrap_or_default().into_string(),
            org_id: caller.tenant()?.org_id().to_string(),
            kind: kind.to_owned(),
            algorithm: None,
            public_key_pem: None,
            generated: true,
            secret_hash: None,
            secret_prefix: None,
            created_at: now,
            expires_at: self.expires_at.unwrap_or(now),
            revoked_at: None,
            last_used_at: None,
        })
    }
}

pub async fn add_key(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::AddServiceAccountKeyRequest,
) -> ApiResult<pb::AddServiceAccountKeyResponse> {
    let now = state.now();
    let mut violations = Violations::new();
    let common = Common::check(
        &mut violations,
        &request.service_account_id,
        request.expire_time.as_ref(),
        now,
    );
    let uploaded = if request.public_key_pem.trim().is_empty() {
        None
    } else {
        violations.take(
            "public_key_pem",
            keys::parse_public(&request.public_key_pem),
        )
    };
    let algorithm = match pb::KeyAlgorithm::try_from(request.algorithm) {
        Ok(pb::KeyAlgorithm::Unspecified | pb::KeyAlgorithm::Ed25519) => KeyAlgorithm::Ed25519,
        Ok(pb::KeyAlgorithm::Rs256) => KeyAlgorithm::Rs256,
        Err(_) => {
            violations.add("algorithm", "must be ED25519 or RS256");
            KeyAlgorithm::Ed25519
        }
    };
    violations.finish()?;
    let key = match uploaded {
        Some(key) => key,
        None => tokio::task::spawn_blocking(move || keys::generate(algorithm))
            .await
            .map_err(ApiError::internal)??,
    };
    let row = ServiceCredentialRow {
        algorithm: Some(key.algorithm.as_str().to_owned()),
        public_key_pem: Some(key.public_pem),
        generated: key.private_pem.is_some(),
        ..common.row(&caller, KEY, now)?
    };
    let details =
        serde_json::json!({ "algorithm": key.algorithm.as_str(), "generated": row.generated });
    let row = add(
        state,
        meta,
        caller,
        row,
        Action::ServiceAccountKeyAdded,
        details,
    )
    .await?;
    let key_file = key
        .private_pem
        .map(|pem| {
            keys::key_file(
                &row.id,
                &row.service_account_id,
                &pem,
                state.tokens.issuer(),
            )
        })
        .unwrap_or_default();
    Ok(pb::AddServiceAccountKeyResponse {
        key: Some(convert::key(&row)?),
        key_file,
    })
}

pub async fn add_secret(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::AddServiceAccountSecretRequest,
) -> ApiResult<pb::AddServiceAccountSecretResponse> {
    let now = state.now();
    let mut violations = Violations::new();
    let common = Common::check(
        &mut violations,
        &request.service_account_id,
        request.expire_time.as_ref(),
        now,
    );
    violations.finish()?;
    let secret = random_token(SECRET_PREFIX);
    let row = ServiceCredentialRow {
        secret_hash: Some(hash_token(&secret)),
        secret_prefix: Some(secret.chars().take(SHOWN).collect()),
        ..common.row(&caller, SECRET, now)?
    };
    let details = serde_json::json!({});
    let row = add(
        state,
        meta,
        caller,
        row,
        Action::ServiceAccountSecretAdded,
        details,
    )
    .await?;
    Ok(pb::AddServiceAccountSecretResponse {
        secret: Some(convert::secret(&row)),
        client_secret: secret,
    })
}

/// Stores a credential of an account of the caller's organization, audited.
async fn add(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    row: ServiceCredentialRow,
    action: Action,
    details: serde_json::Value,
) -> ApiResult<ServiceCredentialRow> {
    let scope = caller.tenant()?;
    state
        .write(move |tx, st| {
            store::find_account(&mut tx.tenant(&scope)?, &row.service_account_id)?;
            store::insert_credential(tx, &row)?;
            let event = Event::by(&caller, action, "service_account", &row.service_account_id)
                .details(with_credential(details, &row.id));
            audit::record(&mut tx.tenant(&scope)?, st.now(), &meta, event)?;
            Ok(row)
        })
        .await
}

fn with_credential(mut details: serde_json::Value, id: &str) -> serde_json::Value {
    if let Some(map) = details.as_object_mut() {
        map.insert("credential_id".into(), id.into());
    }
    details
}

/// An account's credentials of `kind`, after finding it in the caller's
/// organization.
pub async fn list(
    state: &AppState,
    caller: Caller,
    raw_account: &str,
    kind: &'static str,
) -> ApiResult<Vec<ServiceCredentialRow>> {
    let scope = caller.tenant()?;
    let account = parse_account_id(raw_account)?;
    state
        .db
        .read(move |tx| {
            store::find_account(&mut tx.tenant(&scope)?, &account)?;
            store::list_credentials(tx, &account, kind)
        })
        .await
}

/// Revokes one of an account's credentials; its tokens stop working.
pub async fn revoke(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    (raw_account, raw_id): (&str, &str),
    kind: &'static str,
) -> ApiResult<()> {
    let scope: TenantScope = caller.tenant()?;
    let account = parse_account_id(raw_account)?;
    let field = if kind == KEY { "key_id" } else { "secret_id" };
    let id = CredentialId::parse(raw_id).map_err(|d| ApiError::invalid(field, d))?;
    let action = if kind == KEY {
        Action::ServiceAccountKeyRevoked
    } else {
        Action::ServiceAccountSecretRevoked
    };
    state
        .write(move |tx, st| {
            store::find_account(&mut tx.tenant(&scope)?, &account)?;
            store::revoke_credential(tx, &account, kind, &id, st.now())?;
            st.liveness.forget_all();
            let event = Event::by(&caller, action, "service_account", account.as_str())
                .details(serde_json::json!({ "credential_id": id.as_str() }));
            audit::record(&mut tx.tenant(&scope)?, st.now(), &meta, event)
        })
        .await
}
