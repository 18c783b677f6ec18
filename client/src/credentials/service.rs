//! A service account's credentials, exchanged for access tokens through
//! `AuthService.ExchangeToken`: a key file (a JWT assertion it signs,
//! RFC 7523) or a client id and secret (the client-credentials grant).
//! A service has no refresh token: each renewal is a new exchange.

use std::{fmt, path::Path};

use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use tonic::Code;

use super::{AccessToken, Credentials, Fetch, unix_now};
use crate::{
    AuthClient, Error, Result,
    auth::v1::{
        ExchangeTokenRequest, ExchangeTokenResponse,
        exchange_token_request::{self, Grant},
    },
};

/// A service account's key file, as `AddServiceAccountKey` (or
/// `tenantry service-accounts keys add`) returns it:
/// `{"type": "serviceaccount", "key_id", "client_id", "private_key", "issuer"}`.
/// Each renewal signs a new single-use assertion with it.
#[derive(Clone, Deserialize)]
pub struct KeyFile {
    key_id: String,
    client_id: String,
    private_key: String,
    /// The server's token issuer: the `aud` of assertions.
    #[serde(default = "default_issuer")]
    issuer: String,
    #[serde(skip)]
    signing: Option<Signing>,
}

#[derive(Clone)]
struct Signing {
    algorithm: Algorithm,
    key: EncodingKey,
}

fn default_issuer() -> String {
    "tenantry".into()
}

/// How long an assertion is valid: enough for clock skew, short enough that
/// a leaked one is soon useless (each is single-use anyway).
const ASSERTION_SECS: i64 = 120;

impl KeyFile {
    /// Reads the key file at `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format_args!("reading {}", path.display()), e))?;
        Self::from_json(&text)
            .map_err(|e| Error::local(e.code(), format!("{}: {}", path.display(), e.message())))
    }

    /// Parses a key file's JSON.
    pub fn from_json(json: &str) -> Result<Self> {
        let invalid = |what: String| Error::local(Code::InvalidArgument, what);
        let mut key: Self =
            serde_json::from_str(json).map_err(|e| invalid(format!("not a key file: {e}")))?;
        let pem = key.private_key.as_bytes();
        let signing = match EncodingKey::from_ed_pem(pem) {
            Ok(key) => Signing {
                algorithm: Algorithm::EdDSA,
                key,
            },
            Err(_) => Signing {
                algorithm: Algorithm::RS256,
                key: EncodingKey::from_rsa_pem(pem).map_err(|_| {
                    invalid("the key file's private key is neither Ed25519 nor RSA".into())
                })?,
            },
        };
        key.signing = Some(signing);
        Ok(key)
    }

    /// The service account's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// A fresh assertion (RFC 7523 §3) for the token endpoint.
    pub fn assertion(&self) -> Result<String> {
        let Some(signing) = &self.signing else {
            return Err(Error::local(Code::InvalidArgument, "key file not parsed"));
        };
        let mut header = Header::new(signing.algorithm);
        header.kid = Some(self.key_id.clone());
        let now = unix_now();
        let claims = serde_json::json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "iat": now,
            "exp": now + ASSERTION_SECS,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        jsonwebtoken::encode(&header, &claims, &signing.key)
            .map_err(|e| Error::local(Code::InvalidArgument, format!("signing: {e}")))
    }
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("key_id", &self.key_id)
            .field("client_id", &self.client_id)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// A service account's client id and secret (`tnt_cs_…`).
#[derive(Clone)]
pub struct ClientCredentials {
    client_id: String,
    client_secret: String,
}

impl ClientCredentials {
    /// The account's client id and one of its secrets.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

async fn exchange(mut auth: AuthClient, grant: Grant) -> Result<ExchangeTokenResponse> {
    let request = ExchangeTokenRequest { grant: Some(grant) };
    Ok(auth.exchange_token(request).await?.into_inner())
}

fn access_token(answer: ExchangeTokenResponse) -> AccessToken {
    let expires = answer.access_token_expire_time.map_or(0, |t| t.seconds);
    AccessToken::new(answer.access_token, expires)
}

impl KeyFile {
    /// Exchanges a fresh assertion for an access token (what the SDK does
    /// on each renewal), e.g. to show who the key signs in as.
    pub async fn exchange(&self, auth: AuthClient) -> Result<ExchangeTokenResponse> {
        let assertion = self.assertion()?;
        exchange(
            auth,
            Grant::JwtBearer(exchange_token_request::JwtBearer { assertion }),
        )
        .await
    }
}

impl ClientCredentials {
    /// Exchanges the secret for an access token (what the SDK does on each
    /// renewal).
    pub async fn exchange(&self, auth: AuthClient) -> Result<ExchangeTokenResponse> {
        let grant = Grant::ClientCredentials(exchange_token_request::ClientCredentials {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        });
        exchange(auth, grant).await
    }
}

impl Credentials for KeyFile {
    fn fetch<'a>(&'a self, fetch: &'a Fetch) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move { self.exchange(fetch.auth()).await.map(access_token) })
    }
}

impl Credentials for ClientCredentials {
    fn fetch<'a>(&'a self, fetch: &'a Fetch) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move { self.exchange(fetch.auth()).await.map(access_token) })
    }
}
