//! The OAuth 2.0 token endpoint on the HTTP side door, for clients that do
//! not speak gRPC: `POST /oauth/token` (form-encoded) with the
//! client-credentials grant (RFC 6749 §4.4; client_secret_basic or
//! client_secret_post) or the JWT-bearer grant (RFC 7523), answered in RFC
//! 6749 §5.1 JSON or §5.2 errors; and its metadata (RFC 8414).

use std::collections::HashMap;

use axum::{
    Extension, Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use serde_json::json;

use super::exchange::{self, Grant, Refusal};
use crate::{connections::ConnectionInfo, state::AppState};

pub const TOKEN_PATH: &str = "/oauth/token";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_CREDENTIALS: &str = "client_credentials";

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<AppState>,
    connection: Option<Extension<ConnectionInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let grant = match read_grant(&headers, &body) {
        Ok(grant) => grant,
        Err(refusal) => return refused(refusal),
    };
    let client_cert = connection.and_then(|Extension(c)| c.client_cert);
    match exchange::exchange(&state, grant, client_cert).await {
        Ok(issued) => no_store(
            StatusCode::OK,
            json!({
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": issued.role.as_str(),
            }),
        ),
        Err(refusal) => refused(refusal),
    }
}

/// The grant a token request carries, or the §5.2 error it deserves.
fn read_grant(headers: &HeaderMap, body: &[u8]) -> Result<Grant, Refusal> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(Refusal::InvalidRequest(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut form = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if form.insert(name.into_owned(), value.into_owned()).is_some() {
            return Err(Refusal::InvalidRequest(
                "a parameter is given more than once",
            ));
        }
    }
    match form.get("grant_type").map(String::as_str) {
        None => Err(Refusal::InvalidRequest("grant_type is missing")),
        Some(CLIENT_CREDENTIALS) => client_credentials(headers, &form),
        Some(JWT_BEARER) => match form.get("assertion") {
            Some(assertion) if !assertion.is_empty() => Ok(Grant::JwtBearer {
                assertion: assertion.clone(),
            }),
            _ => Err(Refusal::InvalidRequest("assertion is missing")),
        },
        Some(_) => Err(Refusal::UnsupportedGrantType),
    }
}

/// The client of a client-credentials request: HTTP Basic (each part
/// form-encoded, RFC 6749 §2.3.1) or `client_id` and `client_secret` in the
/// body — one of the two.
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Grant, Refusal> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, encoded)| encoded.trim().to_owned());
    let in_body = form.get("client_secret");
    match (basic, in_body) {
        (Some(_), Some(_)) => Err(Refusal::InvalidRequest(
            "use one way to authenticate the client, not two",
        )),
        (Some(encoded), None) => {
            let decoded = STANDARD
                .decode(encoded)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(Refusal::InvalidClient("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or(Refusal::InvalidClient("malformed Basic credentials"))?;
            Ok(Grant::ClientCredentials {
                client_id: form_decoded(id),
                client_secret: form_decoded(secret),
            })
        }
        (None, Some(secret)) => Ok(Grant::ClientCredentials {
            client_id: form.get("client_id").cloned().unwrap_or_default(),
            client_secret: secret.clone(),
        }),
        (None, None) => Err(Refusal::InvalidClient("the client is not authenticated")),
    }
}

fn form_decoded(part: &str) -> String {
    url::form_urlencoded::parse(format!("x={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// An RFC 6749 §5.2 error answer.
fn refused(refusal: Refusal) -> Response {
    let (status, error, description) = match refusal {
        Refusal::InvalidClient(why) => (StatusCode::UNAUTHORIZED, "invalid_client", why.to_owned()),
        Refusal::InvalidGrant(why) => (StatusCode::BAD_REQUEST, "invalid_grant", why.to_owned()),
        Refusal::InvalidRequest(why) => {
            (StatusCode::BAD_REQUEST, "invalid_request", why.to_owned())
        }
        Refusal::UnsupportedGrantType => (
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type must be {CLIENT_CREDENTIALS} or {JWT_BEARER}"),
        ),
        Refusal::Locked(wait) => {
            let secs = wait.as_secs().max(1);
            let mut answer = no_store(
                StatusCode::TOO_MANY_REQUESTS,
                json!({
                    "error": "temporarily_unavailable",
                    "error_description": format!("too many failed exchanges for this client; try again in {secs} s"),
                }),
            );
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return answer;
        }
        Refusal::Failed(err) => {
            tracing::error!(error = %err, "token exchange failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error".to_owned(),
            )
        }
    };
    let mut answer = no_store(
        status,
        json!({ "error": error, "error_description": description }),
    );
    if status == StatusCode::UNAUTHORIZED {
        answer.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tenantry\""),
        );
    }
    answer
}

/// JSON that no cache may keep (RFC 6749 §5.1).
fn no_store(status: StatusCode, body: serde_json::Value) -> Response {
    let mut answer = (status, Json(body)).into_response();
    let headers = answer.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    answer
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414). The endpoint's
/// address is the issuer's when the issuer is a URL, else the one this
/// request came to.
pub async fn metadata(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let issuer = state.tokens.issuer();
    let base = if issuer.starts_with("https://") || issuer.starts_with("http://") {
        issuer.trim_end_matches('/').to_owned()
    } else {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    };
    Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{base}{TOKEN_PATH}"),
        "jwks_uri": format!("{base}{}", crate::side_door::JWKS_PATH),
        "grant_types_supported": [CLIENT_CREDENTIALS, JWT_BEARER],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "RS256"],
        "response_types_supported": [],
    }))
    .into_response()
}
