//! Access tokens: JWTs signed with EdDSA. Verification accepts only EdDSA,
//! only known key ids, only our issuer and audience, and checks expiry against
//! the server's clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::signing_keys::SigningKeys;
use crate::error::ApiError;

/// Tokens issued a little in the future (clock skew between instances) are
/// accepted up to this many seconds.
const ALLOWED_SKEW_SECS: i64 = 60;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user.
    pub sub: String,
    /// The session; for a service token, the credential it was exchanged for.
    pub sid: String,
    /// The organization the token is pinned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// The session's pin generation when the token was issued: a token of
    /// an earlier pin is refused, even if the session is back in `tid`.
    #[serde(default)]
    pub pin: i64,
    /// The role in that organization when the token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `service` for a service account's token; absent for a person's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The OAuth client a service token was issued to (RFC 9068 §2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The client certificate the token is bound to (RFC 8705 §3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}

/// What a token is bound to: the SHA-256 thumbprint (base64url) of a client
/// certificate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

/// The `kind` claim of a service account's token.
pub const SERVICE_KIND: &str = "service";

impl AccessClaims {
    /// Whether the token was issued to a service account.
    pub fn is_service(&self) -> bool {
        self.kind.as_deref() == Some(SERVICE_KIND)
    }
}

pub struct TokenCodec {
    keys: Arc<SigningKeys>,
    issuer: String,
    audience: String,
    validation: Validation,
    /// Tokens whose signature and claims already verified: a token's
    /// signature cannot change, so a client calling again with the same token
    /// skips the Ed25519 verification (expiry is still checked every call,
    /// and revocation by the session check).
    verified: quick_cache::sync::Cache<String, AccessClaims>,
}

impl std::fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCodec")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl TokenCodec {
    pub fn new(keys: Arc<SigningKeys>, issuer: String, audience: String) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[&audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the server's clock below.
        validation.validate_exp = false;
        validation.leeway = 0;
        Self {
            keys,
            issuer,
            audience,
            validation,
            verified: quick_cache::sync::Cache::new(100_000),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    pub fn sign(&self, claims: &AccessClaims) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.keys.active_kid().to_owned());
        jsonwebtoken::encode(&header, claims, self.keys.active()).map_err(ApiError::internal)
    }

    /// The claims of a valid token; the reason otherwise (for logs only: the
    /// caller always hears "invalid or expired token").
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, &'static str> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = self.verify_signature(token)?;
                self.verified.insert(token.to_owned(), claims.clone());
                claims
            }
        };
        let now = now.timestamp();
        if claims.exp <= now {
            return Err("token expired");
        }
        if claims.iat > now + ALLOWED_SKEW_SECS {
            return Err("token issued in the future");
        }
        Ok(claims)
    }

    /// Algorithm, key id, signature, issuer and audience.
    fn verify_signature(&self, token: &str) -> Result<AccessClaims, &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed token")?;
        if header.alg != Algorithm::EdDSA {
            return Err("unexpected algorithm");
        }
        let kid = header.kid.ok_or("token has no key id")?;
        let key = self.keys.verifying(&kid).ok_or("unknown key id")?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation)
            .map_err(|_| "bad signature or claims")?;
        Ok(data.claims)
    }
}
