//! The HTTP side door on the gRPC port: plain routes for clients that do not
//! speak gRPC (JWKS for token verifiers, the OAuth 2.0 token endpoint and its
//! metadata, signed download links).

use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use serde_json::{Value, json};

use crate::{service_accounts::oauth, state::AppState};

/// Paths served here; the access table lets them through without a token
/// (each route checks what it needs itself).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Whether `path` is one of the routes here.
pub fn serves(path: &str) -> bool {
    path == JWKS_PATH
        || path == crate::files::download_url::PATH
        || path == oauth::TOKEN_PATH
        || path == oauth::METADATA_PATH
}

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(JWKS_PATH, get(jwks))
        .route(oauth::TOKEN_PATH, post(oauth::token))
        .route(oauth::METADATA_PATH, get(oauth::metadata))
        .route(
            crate::files::download_url::PATH,
            get(crate::files::download_url::serve),
        )
        .fallback(unknown)
        .with_state(state)
}

/// What tonic answers for a path no service serves.
async fn unknown() -> axum::response::Response {
    let (parts, ()) = tonic::Status::unimplemented("unknown method")
        .into_http::<()>()
        .into_parts();
    axum::response::Response::from_parts(parts, axum::body::Body::empty())
}

async fn jwks(State(state): State<AppState>) -> Json<Value> {
    let keys: Vec<Value> = state
        .tokens
        .keys()
        .published()
        .iter()
        .map(|key| {
            json!({ "kty": "OKP", "crv": "Ed25519", "x": key.x, "kid": key.kid, "alg": "EdDSA", "use": "sig" })
        })
        .collect();
    Json(json!({ "keys": keys }))
}
