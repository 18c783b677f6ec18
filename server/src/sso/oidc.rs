//! Talking to an OpenID provider (the `openidconnect` crate): discovery, the
//! authorization URL (code flow, PKCE S256, state, nonce), and redeeming the
//! code — with the ID token's signature (provider JWKS), issuer, audience,
//! expiry and nonce checked. Requests go through [`ProviderHttp`] (public
//! addresses only, no redirects).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
    core::{CoreClient, CoreProviderMetadata, CoreResponseType},
};

use super::http::ProviderHttp;
use crate::error::ApiError;

/// Why a provider step failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider did not answer, or not like an OpenID provider.
    #[error("{0}")]
    Unavailable(String),
    /// The provider refused the code.
    #[error("{0}")]
    Refused(String),
    /// The provider's answer did not verify.
    #[error("{0}")]
    Invalid(String),
}

impl OidcError {
    /// A short, stable reason for the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            OidcError::Unavailable(_) => "provider_unavailable",
            OidcError::Refused(_) => "code_refused",
            OidcError::Invalid(_) => "id_token_invalid",
        }
    }
}

impl From<OidcError> for ApiError {
    fn from(err: OidcError) -> Self {
        match err {
            OidcError::Unavailable(message) => ApiError::Unavailable(message),
            OidcError::Refused(_) => {
                ApiError::Unauthenticated("the identity provider refused the sign-in")
            }
            OidcError::Invalid(_) => {
                ApiError::Unauthenticated("the identity provider's answer did not verify")
            }
        }
    }
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub async fn discover(
    http: &ProviderHttp,
    issuer: &str,
) -> Result<CoreProviderMetadata, OidcError> {
    let issuer_url = IssuerUrl::new(issuer.to_owned())
        .map_err(|e| OidcError::Unavailable(format!("the issuer URL is not valid: {e}")))?;
    CoreProviderMetadata::discover_async(issuer_url, http)
        .await
        .map_err(|e| {
            OidcError::Unavailable(format!(
                "the identity provider at {issuer} did not answer discovery: {}",
                chain(&e)
            ))
        })
}

/// A client configured from discovery (authorization URL set, token and
/// userinfo URLs as the provider declared them).
type Configured = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// What a flow needs from the organization's configuration.
pub struct Client<'a> {
    pub metadata: CoreProviderMetadata,
    pub client_id: &'a str,
    pub client_secret: Option<String>,
    pub redirect_uri: &'a str,
}

impl Client<'_> {
    fn configured(&self) -> Result<Configured, OidcError> {
        let redirect = RedirectUrl::new(self.redirect_uri.to_owned())
            .map_err(|e| OidcError::Invalid(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.client_id.to_owned()),
            self.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// The authorization URL for `state` and `nonce`, with the PKCE
    /// challenge of `verifier`.
    pub fn authorization_url(
        &self,
        scopes: &[String],
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        let client = self.configured()?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            verifier.to_owned(),
        ));
        let (state, nonce) = (state.to_owned(), nonce.to_owned());
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        Ok(request.url().0.to_string())
    }

    /// Redeems `code` (with the PKCE verifier and the client secret) and
    /// verifies the ID token; returns its claims as JSON.
    pub async fn redeem(
        &self,
        http: &ProviderHttp,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<serde_json::Value, OidcError> {
        let client = self.configured()?;
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| {
                OidcError::Unavailable(format!("the provider has no token endpoint: {e}"))
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        let response = request.request_async(http).await.map_err(|e| match e {
            openidconnect::RequestTokenError::ServerResponse(server) => {
                OidcError::Refused(server.to_string())
            }
            openidconnect::RequestTokenError::Request(request) => OidcError::Unavailable(format!(
                "the token endpoint did not answer: {}",
                chain(&request)
            )),
            other => OidcError::Invalid(chain(&other)),
        })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::Invalid("the token response has no ID token".into()))?;
        // Signature (JWKS), issuer, audience, expiry and nonce.
        id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
            .map_err(|e| OidcError::Invalid(chain(&e)))?;
        // The payload is now authenticated; read any claim from it (group
        // claims are not part of the standard set).
        id_token
            .to_string()
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| OidcError::Invalid("unreadable ID token payload".into()))
    }
}
