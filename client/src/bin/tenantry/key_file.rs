//! A service account's key file (`tenantry service-accounts keys add`
//! writes one) and the JWT assertion it signs (RFC 7523), exchanged for an
//! access token.

use std::path::Path;

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tenantry_client::{
    Client,
    auth::v1::{
        ExchangeTokenRequest, ExchangeTokenResponse,
        exchange_token_request::{Grant, JwtBearer},
    },
};

#[derive(Debug, serde::Deserialize)]
struct KeyFile {
    key_id: String,
    client_id: String,
    private_key: String,
    /// The server's token issuer: the `aud` of assertions.
    #[serde(default = "default_issuer")]
    issuer: String,
}

fn default_issuer() -> String {
    "tenantry".into()
}

/// How long an assertion is valid: long enough for clock skew, short
/// enough that a leaked one is soon useless (each is single-use anyway).
const ASSERTION_SECS: i64 = 120;

/// Exchanges a fresh assertion signed with the key file at `path`.
pub async fn exchange(
    client: &Client,
    path: &Path,
    now: i64,
) -> anyhow::Result<ExchangeTokenResponse> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let key: KeyFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a key file", path.display()))?;
    let assertion = sign(&key, now)?;
    let grant = Grant::JwtBearer(JwtBearer { assertion });
    let answer = client
        .auth()
        .exchange_token(ExchangeTokenRequest { grant: Some(grant) })
        .await?
        .into_inner();
    Ok(answer)
}

fn sign(key: &KeyFile, now: i64) -> anyhow::Result<String> {
    let pem = key.private_key.as_bytes();
    let (algorithm, encoding) = match EncodingKey::from_ed_pem(pem) {
        Ok(encoding) => (Algorithm::EdDSA, encoding),
        Err(_) => (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(pem)
                .context("the key file's private key is neither Ed25519 nor RSA")?,
        ),
    };
    let mut header = Header::new(algorithm);
    header.kid = Some(key.key_id.clone());
    let claims = serde_json::json!({
        "iss": key.client_id,
        "sub": key.client_id,
        "aud": key.issuer,
        "iat": now,
        "exp": now + ASSERTION_SECS,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    Ok(jsonwebtoken::encode(&header, &claims, &encoding)?)
}
