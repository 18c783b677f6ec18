//! The token exchange of service accounts: a client secret (RFC 6749 §4.4)
//! or a JWT assertion signed with one of the account's keys (RFC 7523), for
//! an access token — the same EdDSA JWT as people's, with `kind: service`.
//! Shared by `AuthService.ExchangeToken` and `POST /oauth/token`.
//!
//! Failures count toward a lockout per client, as wrong passwords count per
//! address; a success clears it.

use std::{sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::NaiveDateTime;
use jsonwebtoken::Validation;
use serde::Deserialize;

use super::{
    keys::{self, KeyAlgorithm},
    store::{self, Presented},
};
use crate::{
    access::Role,
    auth::lockout,
    crypto::{
        jwt::{AccessClaims, Confirmation, SERVICE_KIND},
        tokens::hash_token,
    },
    db::{TenantScope, Tx, rows::ServiceCredentialRow, upsert},
    error::ApiError,
    ids::ServiceAccountId,
    state::{AppState, after},
};

/// What a service presents.
#[derive(Debug, Clone)]
pub enum Grant {
    ClientCredentials {
        client_id: String,
        client_secret: String,
    },
    JwtBearer {
        assertion: String,
    },
}

/// An access token for a service account.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub expires_at: NaiveDateTime,
    pub expires_in: i64,
    pub account_id: String,
    pub org_id: String,
    pub role: Role,
}

/// Why an exchange was refused, in the terms of RFC 6749 §5.2.
#[derive(Debug)]
pub enum Refusal {
    /// The client could not be authenticated (unknown, wrong secret,
    /// disabled).
    InvalidClient(&'static str),
    /// The assertion is not acceptable (forged, expired, replayed, for
    /// another audience, its key revoked).
    InvalidGrant(&'static str),
    /// Too many failures for this client: try again after this long.
    Locked(Duration),
    /// The request itself is malformed.
    InvalidRequest(&'static str),
    /// A grant type this server does not issue tokens for.
    UnsupportedGrantType,
    /// Our own failure.
    Failed(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        Refusal::Failed(err)
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::InvalidClient(why) | Refusal::InvalidGrant(why) => {
                ApiError::Unauthenticated(why)
            }
            Refusal::Locked(wait) => ApiError::ResourceExhausted {
                message: format!(
                    "too many failed exchanges for this client; try again in {} s",
                    wait.as_secs().max(1)
                ),
                retry_after: Some(wait.max(Duration::from_secs(1))),
            },
            Refusal::InvalidRequest(why) => ApiError::invalid("grant", why),
            Refusal::UnsupportedGrantType => ApiError::invalid("grant", "must be set"),
            Refusal::Failed(err) => err,
        }
    }
}

const WRONG_CLIENT: Refusal = Refusal::InvalidClient("unknown client or wrong client secret");
const BAD_ASSERTION: Refusal =
    Refusal::InvalidGrant("the assertion is malformed, forged, expired or not for this server");
const DISABLED: &str = "the service account is disabled";
const UNBOUND: &str =
    "this service account is bound to a client certificate: connect with it over mutual TLS";
/// The longest an assertion may live (RFC 7523 leaves it to the server).
const MAX_ASSERTION_SECS: i64 = 3600;
/// Clock skew allowed between the service and this server.
const SKEW_SECS: i64 = 60;

/// Exchanges a grant for an access token, counted in the sign-in metrics.
/// `client_cert` is the thumbprint of the certificate the connection
/// presented (mutual TLS), if any.
pub async fn exchange(
    state: &AppState,
    grant: Grant,
    client_cert: Option<Arc<str>>,
) -> Result<Issued, Refusal> {
    let method = match grant {
        Grant::ClientCredentials { .. } => "client_credentials",
        Grant::JwtBearer { .. } => "jwt_bearer",
    };
    let answer = run(state, grant, client_cert).await;
    let outcome = match &answer {
        Ok(_) => "success",
        Err(Refusal::InvalidClient(_) | Refusal::InvalidGrant(_)) => "failure",
        Err(Refusal::Locked(_)) => "locked",
        Err(Refusal::InvalidRequest(_) | Refusal::UnsupportedGrantType) => "invalid",
        Err(Refusal::Failed(_)) => "error",
    };
    state.meters.exchange(method, outcome);
    answer
}

async fn run(
    state: &AppState,
    grant: Grant,
    client_cert: Option<Arc<str>>,
) -> Result<Issued, Refusal> {
    let client_id = client_of(&grant)?;
    let now = state.now();
    let throttle = throttle_key(&client_id);
    let key = throttle.clone();
    let lock = state
        .read(move |tx, _| lockout::subject_locked_until(tx.conn(), &key, now))
        .await?;
    if let Some(until) = lock {
        return Err(locked(until, now));
    }
    let presented = grant.clone();
    let id = client_id.clone();
    let credential = state
        .read(move |tx, _| find_presented(tx, &id, &presented))
        .await?;
    let checked = match credential {
        Some(credential) => check(state, &grant, &credential, now).map(|spend| (credential, spend)),
        None => Err(refusal_for(&grant)),
    };
    let settled = match checked {
        Ok((credential, spend)) => {
            state
                .write(move |tx, st| {
                    settle(tx, st, &credential, spend.as_ref(), client_cert.as_deref())
                })
                .await?
        }
        Err(refusal) => Settled::Refused(refusal),
    };
    match settled {
        Settled::Issued(unsigned) => unsigned.sign(state),
        Settled::Refused(refusal @ (Refusal::InvalidClient(_) | Refusal::InvalidGrant(_))) => {
            let limits = state.config.limits.clone();
            let lock = state
                .write(move |tx, _| {
                    let threshold = limits.lockout_threshold;
                    lockout::record_subject_failure(tx.conn(), &limits, threshold, &throttle, now)
                })
                .await?;
            Err(lock.map_or(refusal, |until| locked(until, now)))
        }
        Settled::Refused(other) => Err(other),
    }
}

/// The lockout counts failures per client under this key.
fn throttle_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

fn locked(until: NaiveDateTime, now: NaiveDateTime) -> Refusal {
    let secs = (until - now).num_seconds().max(1);
    Refusal::Locked(Duration::from_secs(u64::try_from(secs).unwrap_or(1)))
}

/// The client id a grant names (for an assertion, its unverified `iss`:
/// nothing is trusted before the signature is checked).
fn client_of(grant: &Grant) -> Result<String, Refusal> {
    let raw = match grant {
        Grant::ClientCredentials { client_id, .. } => client_id.clone(),
        Grant::JwtBearer { assertion } => unverified_issuer(assertion).ok_or(BAD_ASSERTION)?,
    };
    ServiceAccountId::parse(&raw)
        .map(ServiceAccountId::into_string)
        .map_err(|_| refusal_for(grant))
}

fn unverified_issuer(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Issuer>(&bytes).ok().map(|c| c.iss)
}

fn refusal_for(grant: &Grant) -> Refusal {
    match grant {
        Grant::ClientCredentials { .. } => WRONG_CLIENT,
        Grant::JwtBearer { .. } => BAD_ASSERTION,
    }
}

fn find_presented(
    tx: &mut Tx<'_>,
    client_id: &str,
    grant: &Grant,
) -> Result<Option<ServiceCredentialRow>, ApiError> {
    match grant {
        Grant::ClientCredentials { client_secret, .. } => {
            let hash = hash_token(client_secret);
            store::presented_credential(tx, client_id, Presented::Secret(&hash))
        }
        Grant::JwtBearer { assertion } => {
            let Some(kid) = jsonwebtoken::decode_header(assertion)
                .ok()
                .and_then(|h| h.kid)
            else {
                return Ok(None);
            };
            store::presented_credential(tx, client_id, Presented::Key(&kid))
        }
    }
}

/// The credential is live and, for an assertion, the signature and claims
/// hold; then the verified assertion, whose id is still to be spent.
fn check(
    state: &AppState,
    grant: &Grant,
    credential: &ServiceCredentialRow,
    now: NaiveDateTime,
) -> Result<Option<Assertion>, Refusal> {
    if credential.revoked_at.is_some() || credential.expires_at <= now {
        return Err(refusal_for(grant));
    }
    match grant {
        Grant::ClientCredentials { .. } => Ok(None),
        Grant::JwtBearer { assertion } => {
            check_assertion(state, assertion, credential, now).map(Some)
        }
    }
}

#[derive(Debug, Deserialize)]
struct Assertion {
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    jti: String,
}

fn check_assertion(
    state: &AppState,
    assertion: &str,
    credential: &ServiceCredentialRow,
    now: NaiveDateTime,
) -> Result<Assertion, Refusal> {
    let algorithm = KeyAlgorithm::from_stored(credential.algorithm.as_deref().unwrap_or_default())?;
    let pem = credential.public_key_pem.as_deref().unwrap_or_default();
    let key = keys::verifying(algorithm, pem)?;
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| BAD_ASSERTION)?;
    if header.alg != algorithm.jws() {
        return Err(BAD_ASSERTION);
    }
    let client_id = &credential.service_account_id;
    let issuer = state.tokens.issuer();
    let mut validation = Validation::new(algorithm.jws());
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.clone());
    validation.set_audience(&[issuer.to_owned(), format!("{issuer}/oauth/token")]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    // Times are checked below against the server's clock.
    validation.validate_exp = false;
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Assertion>(assertion, &key, &validation)
        .map_err(|_| BAD_ASSERTION)?
        .claims;
    let now = now.and_utc().timestamp();
    if claims.exp <= now {
        return Err(Refusal::InvalidGrant("the assertion has expired"));
    }
    if claims.exp > now + MAX_ASSERTION_SECS + SKEW_SECS {
        return Err(Refusal::InvalidGrant(
            "the assertion must expire within an hour",
        ));
    }
    if claims.iat.is_some_and(|iat| iat > now + SKEW_SECS)
        || claims.nbf.is_some_and(|nbf| nbf > now + SKEW_SECS)
    {
        return Err(Refusal::InvalidGrant("the assertion is not valid yet"));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(Refusal::InvalidGrant(
            "the assertion needs a jti of 1 to 256 characters",
        ));
    }
    Ok(claims)
}

/// After the credential checked out: the assertion id is spent, the account
/// must be enabled, the lockout is cleared and the use recorded.
fn settle(
    tx: &mut Tx<'_>,
    state: &AppState,
    credential: &ServiceCredentialRow,
    assertion: Option<&Assertion>,
    client_cert: Option<&str>,
) -> Result<Settled, ApiError> {
    let now = state.now();
    if let Some(assertion) = assertion
        && !spend_assertion(tx, &credential.service_account_id, assertion, now)?
    {
        return Ok(Settled::Refused(Refusal::InvalidGrant(
            "this assertion was already used",
        )));
    }
    // The organization comes from the credential row the server wrote.
    let mut t = tx.tenant(&TenantScope::verified(credential.org_id.clone()))?;
    let account = store::find_account(&mut t, &credential.service_account_id)?;
    if account.disabled_at.is_some() {
        return Ok(Settled::Refused(match assertion {
            None => Refusal::InvalidClient(DISABLED),
            Some(_) => Refusal::InvalidGrant(DISABLED),
        }));
    }
    if let Some(bound) = &account.certificate_sha256
        && client_cert != Some(bound.as_str())
    {
        return Ok(Settled::Refused(Refusal::InvalidClient(UNBOUND)));
    }
    lockout::clear_subject(tx.conn(), &throttle_key(&account.id))?;
    store::mark_used(tx, &credential.id, now)?;
    let expires_at = after(now, state.config.tokens.access_token_ttl);
    Ok(Settled::Issued(Unsigned {
        claims: AccessClaims {
            sub: account.id.clone(),
            sid: credential.id.clone(),
            tid: Some(account.org_id.clone()),
            pin: 0,
            role: Some(account.role.as_str().to_owned()),
            kind: Some(SERVICE_KIND.to_owned()),
            client_id: Some(account.id.clone()),
            cnf: account
                .certificate_sha256
                .clone()
                .map(|x5t_s256| Confirmation { x5t_s256 }),
            iat: now.and_utc().timestamp(),
            exp: expires_at.and_utc().timestamp(),
            iss: state.tokens.issuer().to_owned(),
            aud: state.tokens.audience().to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
        },
        expires_at,
        role: account.role,
    }))
}

/// How an exchange that reached the database ended.
enum Settled {
    Issued(Unsigned),
    Refused(Refusal),
}

/// An access token to sign once the transaction has committed.
struct Unsigned {
    claims: AccessClaims,
    expires_at: NaiveDateTime,
    role: Role,
}

impl Unsigned {
    fn sign(self, state: &AppState) -> Result<Issued, Refusal> {
        let access_token = state.tokens.sign(&self.claims)?;
        Ok(Issued {
            access_token,
            expires_at: self.expires_at,
            expires_in: self.claims.exp - self.claims.iat,
            account_id: self.claims.sub,
            org_id: self.claims.tid.unwrap_or_default(),
            role: self.role,
        })
    }
}

/// Records the assertion's id until it expires; false for a replay. The id
/// is the client's: two clients may pick the same one.
fn spend_assertion(
    tx: &mut Tx<'_>,
    client_id: &str,
    assertion: &Assertion,
    now: NaiveDateTime,
) -> Result<bool, ApiError> {
    let expires = chrono::DateTime::from_timestamp(assertion.exp, 0)
        .map_or(now, |at| at.naive_utc())
        .max(now);
    let key = hash_token(&format!("{client_id}\n{}", assertion.jti));
    upsert::insert_assertion_jti_if_absent(tx.conn(), &key, expires)
}

/// Deletes the ids of assertions that have expired: a replay of one would
/// be refused for its `exp` anyway.
pub async fn forget_spent_assertions(state: &AppState) -> Result<usize, ApiError> {
    use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};

    use crate::db::schema::assertion_jtis;
    let now = state.now();
    state
        .write(move |tx, _| {
            let expired = assertion_jtis::table.filter(assertion_jtis::expires_at.lt(now));
            Ok(diesel::delete(expired).execute(tx.conn())?)
        })
        .await
}
