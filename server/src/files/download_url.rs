//! Download links that need no token: presigned by S3, or — for the local
//! store — signed by this server (HMAC-SHA256 under a key derived from the
//! master key) and served by its HTTP side door at `/files/download`.

use std::time::Duration;

use axum::{
    body::Body,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::StreamExt as _;
use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tenantry_proto::file::v1 as pb;

use super::{read::file_id, store};
use crate::db::rows::FileRow;
use crate::{
    blob::attachment,
    clock::to_proto,
    context::Caller,
    db::TenantScope,
    error::{ApiError, ApiResult},
    state::AppState,
};

pub const PATH: &str = "/files/download";
const DEFAULT_TTL: i32 = 15 * 60;
const MAX_TTL: i32 = 60 * 60;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Organization.
    o: String,
    /// File.
    f: String,
    /// The member who created the link: it dies when they leave.
    u: String,
    /// Expiry, Unix seconds.
    e: i64,
}

pub async fn create_download_url(
    state: &AppState,
    caller: Caller,
    request: pb::CreateDownloadUrlRequest,
) -> ApiResult<pb::CreateDownloadUrlResponse> {
    let scope = caller.tenant()?;
    let id = file_id(&request.file_id)?;
    let ttl = match request.ttl_seconds {
        0 => DEFAULT_TTL,
        t if (1..=MAX_TTL).contains(&t) => t,
        _ => {
            return Err(ApiError::invalid(
                "ttl_seconds",
                "must be between 1 and 3600",
            ));
        }
    };
    let s = scope.clone();
    let (file, key) = state
        .db
        .read(move |tx| {
            let mut t = tx.tenant(&s)?;
            let file = store::find(&mut t, &id, false)?;
            let key = store::blob_key(&mut t, &file.sha256)?;
            Ok((file, key))
        })
        .await?;
    let now = state.clock.now();
    let ttl = Duration::from_secs(u64::try_from(ttl).unwrap_or(900));
    let expires = now + chrono::Duration::from_std(ttl).unwrap_or_default();
    let url = match state.blobs.presign(&key, now, ttl, &file.name).await? {
        Some(url) => url,
        None => {
            let claims = Claims {
                o: scope.org_id().to_string(),
                f: file.id.clone(),
                u: caller.user_id().to_string(),
                e: expires.timestamp(),
            };
            format!(
                "{}{PATH}?token={}",
                state.config.public_url(),
                sign(&state.download_key, &claims)
            )
        }
    };
    Ok(pb::CreateDownloadUrlResponse {
        url,
        expire_time: Some(to_proto(expires.naive_utc())),
    })
}

fn mac(key: &[u8; 32], payload: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(payload.as_bytes());
    mac
}

fn sign(key: &[u8; 32], claims: &Claims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &payload).finalize().into_bytes());
    format!("{payload}.{signature}")
}

/// Whether `token` is an authentic link token unexpired at `now` (Unix
/// seconds): the fuzz target's way in.
pub fn is_valid_token(key: &[u8; 32], token: &str, now: i64) -> bool {
    verify(key, token, now).is_some()
}

/// The claims of an authentic, unexpired token.
fn verify(key: &[u8; 32], token: &str, now: i64) -> Option<Claims> {
    let (payload, signature) = token.split_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    mac(key, payload).verify_slice(&signature).ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (claims.e > now).then_some(claims)
}

/// The file a verified link names and its blob, while the link holds: its
/// organization still exists, its creator is still a member, and the file
/// is not deleted.
fn link_target(tx: &mut crate::db::Tx<'_>, claims: &Claims) -> ApiResult<(FileRow, String)> {
    use diesel::prelude::*;

    use crate::db::schema::organizations;
    let alive: i64 = organizations::table
        .find(&claims.o)
        .filter(organizations::deleted_at.is_null())
        .count()
        .get_result(tx.conn())?;
    if alive == 0 {
        return Err(ApiError::NotFound("organization"));
    }
    // The organization comes from a token this server signed.
    let mut t = tx.tenant(&TenantScope::verified(&claims.o))?;
    if t.member_role(&claims.u)?.is_none() {
        return Err(ApiError::permission_denied(
            "this download link was revoked: its creator is no longer a member",
        ));
    }
    let file = store::find(&mut t, &claims.f, false)?;
    let key = store::blob_key(&mut t, &file.sha256)?;
    Ok((file, key))
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: String,
}

/// `GET /files/download?token=…`: the file as an attachment (never rendered
/// inline), or 403 for a link that is forged or expired, 404 for a file
/// deleted since.
pub async fn serve(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Response {
    let Some(claims) = verify(
        &state.download_key,
        &query.token,
        state.clock.now().timestamp(),
    ) else {
        return (
            StatusCode::FORBIDDEN,
            "this download link is invalid or has expired\n",
        )
            .into_response();
    };
    let (file, key) = match state.db.read(move |tx| link_target(tx, &claims)).await {
        Ok(found) => found,
        Err(ApiError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, "this file no longer exists\n").into_response();
        }
        Err(ApiError::PermissionDenied(message)) => {
            return (StatusCode::FORBIDDEN, format!("{message}\n")).into_response();
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot serve a signed download");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let bytes = match state.blobs.read(&key, 0, None).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(error = %err, "cannot read a file's bytes");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut response = Response::new(Body::from_stream(
        bytes.map(|chunk| chunk.map_err(std::io::Error::other)),
    ));
    let headers = response.headers_mut();
    let pairs = [
        (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
        (header::CONTENT_LENGTH, file.size.to_string()),
        (header::CONTENT_DISPOSITION, attachment(&file.name)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_when_authentic_and_fresh() {
        let key = [7_u8; 32];
        let claims = Claims {
            o: "o".into(),
            f: "f".into(),
            u: "u".into(),
            e: 100,
        };
        let token = sign(&key, &claims);
        assert_eq!(verify(&key, &token, 99).map(|c| c.f), Some("f".into()));
        assert!(verify(&key, &token, 100).is_none(), "expired");
        assert!(verify(&[8; 32], &token, 0).is_none(), "other key");
        let (payload, sig) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"o":"o","f":"g","e":100}"#);
        assert!(
            verify(&key, &format!("{forged}.{sig}"), 0).is_none(),
            "other payload"
        );
        assert!(verify(&key, payload, 0).is_none(), "no signature");
    }
}
