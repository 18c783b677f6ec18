//! Proving control of an email address: a single-use token, mailed, stored
//! hashed, valid for `email_verification_ttl`.

use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};
use tenantry_proto::auth::v1 as pb;

use super::users;
use crate::{
    audit::{self, Action, Event},
    clock::to_proto,
    context::{Caller, RequestMeta},
    crypto::tokens::{hash_token, random_token},
    db::{
        TenantScope, Tx,
        rows::{EmailVerificationRow, UserRow},
        schema::{email_verifications, users as users_table},
    },
    error::{ApiError, ApiResult},
    state::{AppState, after},
    validate,
};

/// Stores a new verification for the user's current email; returns its token.
/// Only the newest token works: the ones mailed before it are withdrawn.
pub fn create(tx: &mut Tx<'_>, state: &AppState, user: &UserRow) -> ApiResult<String> {
    let now = state.now();
    diesel::delete(
        email_verifications::table
            .filter(email_verifications::user_id.eq(&user.id))
            .filter(email_verifications::used_at.is_null()),
    )
    .execute(tx.conn())?;
    let token = random_token("ev");
    let row = EmailVerificationRow {
        token_hash: hash_token(&token),
        user_id: user.id.clone(),
        email: user.email.clone(),
        created_at: now,
        expires_at: after(now, state.config.sessions.email_verification_ttl),
        used_at: None,
    };
    diesel::insert_into(email_verifications::table)
        .values(&row)
        .execute(tx.conn())?;
    Ok(token)
}

/// Mails the token. A mail that cannot be written is logged, not fatal: the
/// user can ask for another one.
pub async fn send(state: &AppState, email: &str, token: &str) {
    let body = format!(
        "Confirm your email address for Tenantry.\r\n\r\n\
         Verification token: {token}\r\n\r\n\
         Your application passes it to VerifyEmail. It expires in {}.\r\n",
        humantime::format_duration(state.config.sessions.email_verification_ttl)
    );
    if let Err(err) = state
        .mailer
        .send(email, "Confirm your email address", &body)
        .await
    {
        tracing::error!(error = %err, "could not queue the verification mail");
    }
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
            let row = email_verifications::table
                .find(&hash)
                .select(EmailVerificationRow::as_select())
                .first(tx.conn())
                .optional()?
                .filter(|r| r.used_at.is_none() && r.expires_at > now)
                .ok_or(ApiError::NotFound("verification token"))?;
            // The address may have changed since the mail went out.
            let updated = diesel::update(
                users_table::table
                    .find(&row.user_id)
                    .filter(users_table::email.eq(&row.email)),
            )
            .set((
                users_table::email_verified.eq(true),
                users_table::updated_at.eq(now),
            ))
            .execute(tx.conn())?;
            if updated == 0 {
                return Err(ApiError::NotFound("verification token"));
            }
            diesel::update(email_verifications::table.find(&hash))
                .set(email_verifications::used_at.eq(now))
                .execute(tx.conn())?;
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
