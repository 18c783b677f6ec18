//! Proving control of an email address: a single-use token, mailed, stored
//! hashed, valid for `email_verification_ttl`.

use tenantry_proto::auth::v1 as pb;

use super::{store, users};
use crate::{
    audit::{self, Action, Event},
    clock::to_proto,
    context::{Caller, RequestMeta},
    crypto::tokens::{hash_token, random_token},
    db::{
        TenantScope, Tx,
        rows::{EmailVerificationRow, UserRow},
    },
    error::{ApiError, ApiResult},
    state::{AppState, after},
    validate,
};

/// Stores a new verification for the user's current email; returns its token.
/// Only the newest token works: the ones mailed before it are withdrawn.
pub fn create(tx: &mut Tx<'_>, state: &AppState, user: &UserRow) -> ApiResult<String> {
    let now = state.now();
    let token = random_token("ev");
    let row = EmailVerificationRow {
        token_hash: hash_token(&token),
        user_id: user.id.clone(),
        email: user.email.clone(),
        created_at: now,
        expires_at: after(now, state.config.sessions.email_verification_ttl),
        used_at: None,
    };
    store::replace_email_verification(tx, &row)?;
    Ok(token)
}

/// Mails the token (see [`crate::mail::Mailer::send`] for failures: the
/// user can ask for another one).
pub async fn send(state: &AppState, email: &str, token: &str) {
    let ttl = state.config.sessions.email_verification_ttl;
    let mail = crate::mail::templates::email_verification(email, token, ttl);
    state.mailer.send(mail).await;
}

pub async fn request_email_verification(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::RequestEmailVerificationResponse> {
    let (user, token) = state
        .write(move |tx, st| {
            let user = users::find(tx.conn(), caller.user_id())?;
            if user.email_verified {
                return Err(ApiError::failed_precondition(
                    "this email address is already verified",
                ));
            }
            let token = create(tx, st, &user)?;
            Ok((user, token))
        })
        .await?;
    send(state, &user.email, &token).await;
    Ok(pb::RequestEmailVerificationResponse {
        expire_time: Some(to_proto(after(
            state.now(),
            state.config.sessions.email_verification_ttl,
        ))),
    })
}

pub async fn verify_email(
    state: &AppState,
    meta: RequestMeta,
    request: pb::VerifyEmailRequest,
) -> ApiResult<pb::VerifyEmailResponse> {
    validate::check_token(&request.token).map_err(|d| ApiError::invalid("token", d))?;
    let hash = hash_token(&request.token);
    let now = state.now();
    state
        .db
        .write(move |tx| {
            let row = store::find_live_email_verification(tx, &hash, now)?
                .ok_or(ApiError::NotFound("verification token"))?;
            // The address may have changed since the mail went out.
            if !store::mark_email_verified(tx, &row.user_id, &row.email, now)? {
                return Err(ApiError::NotFound("verification token"));
            }
            store::use_email_verification(tx, &hash, now)?;
            let mut t = tx.tenant(&TenantScope::account_events())?;
            let event = Event::by_user(
                &row.user_id,
                Action::AuthUserEmailVerified,
                "user",
                &row.user_id,
            )
            .details(serde_json::json!({ "email": row.email }));
            audit::record(&mut t, now, &meta, event)?;
            Ok(pb::VerifyEmailResponse {})
        })
        .await
}
