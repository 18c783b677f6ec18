//! A way back in for someone who forgot their password: a single-use token
//! mailed to the account's address (stored hashed, valid 30 minutes), which
//! sets a new password and ends every session.
//!
//! RequestPasswordReset does the same work whatever the address (count the
//! request, audit it, mail the address: a token, or a notice that it has no
//! account), so neither its answer nor its time tells whether an account
//! exists (OWASP Forgot Password Cheat Sheet).

use std::time::Duration;

use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};
use tenantry_proto::auth::v1 as pb;

use super::{
    lockout,
    rate_window::{self, Limit},
    rules, store,
    store::Ending,
    users,
};
use crate::{
    audit::{self, Action, Actor, Event},
    context::RequestMeta,
    crypto::tokens::{hash_token, random_token},
    db::{TenantScope, Tx, rows::PasswordResetRow, schema::password_resets},
    error::{ApiError, ApiResult, Violations},
    mail::{Mail, templates},
    state::{AppState, after},
    validate,
};

/// How long a reset token works.
pub const RESET_TTL: Duration = Duration::from_secs(30 * 60);

/// Requests per address: enough for a lost mail or two, too few to flood
/// someone's mailbox.
const PER_ADDRESS: Limit = Limit {
    hits: 3,
    window: Duration::from_secs(15 * 60),
};

pub async fn request_password_reset(
    state: &AppState,
    meta: RequestMeta,
    request: pb::RequestPasswordResetRequest,
) -> ApiResult<pb::RequestPasswordResetResponse> {
    let email =
        validate::normalize_email(&request.email).map_err(|d| ApiError::invalid("email", d))?;
    let mail = state
        .write(move |tx, st| prepare_reset(tx, st, &meta, &email))
        .await?;
    state.mailer.send(mail).await;
    Ok(pb::RequestPasswordResetResponse {})
}

/// Counts the request, stores a token when the account exists, audits, and
/// returns the mail to send.
fn prepare_reset(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    email: &str,
) -> ApiResult<Mail> {
    let now = state.now();
    let key = validate::email_key(email);
    let subject = format!("password reset {key}");
    rate_window::hit(
        tx.conn(),
        &subject,
        &PER_ADDRESS,
        "password reset requests for this address",
        now,
    )?;
    let user = users::find_by_email(tx.conn(), &key)?;
    let (actor, mail) = match &user {
        Some(user) => {
            let token = random_token("pr");
            let row = PasswordResetRow {
                token_hash: hash_token(&token),
                user_id: user.id.clone(),
                email: user.email.clone(),
                created_at: now,
                expires_at: after(now, RESET_TTL),
                used_at: None,
            };
            replace_reset(tx, &row)?;
            let mail = templates::password_reset(&user.email, &token, RESET_TTL);
            (Actor::User(user.id.clone()), mail)
        }
        None => (Actor::Anonymous, templates::no_account(email)),
    };
    let mut t = tx.tenant(&TenantScope::account_events())?;
    let event = Event::new(actor, Action::AuthPasswordResetRequested, "account", &key)
        .details(serde_json::json!({ "account_exists": user.is_some() }));
    audit::record(&mut t, now, meta, event)?;
    Ok(mail)
}

pub async fn reset_password(
    state: &AppState,
    meta: RequestMeta,
    request: pb::ResetPasswordRequest,
) -> ApiResult<pb::ResetPasswordResponse> {
    let mut violations = Violations::new();
    violations.take("token", validate::check_token(&request.token));
    violations.take(
        "new_password",
        rules::check_new_password(&request.new_password, ""),
    );
    violations.finish()?;
    let hash = hash_token(&request.token);
    let now = state.now();
    let lookup = hash.clone();
    let reset = state
        .db
        .read(move |tx| find_live(tx, &lookup, now))
        .await?
        .ok_or(ApiError::NotFound("reset token"))?;
    rules::check_new_password(&request.new_password, &reset.email)
        .map_err(|d| ApiError::invalid("new_password", d))?;
    let password_hash = state.passwords.hash(request.new_password).await?;
    let revoked = state
        .write(move |tx, st| apply_reset(tx, st, &meta, &hash, &password_hash))
        .await?;
    Ok(pb::ResetPasswordResponse {
        revoked_sessions: i64::try_from(revoked).unwrap_or(i64::MAX),
    })
}

/// Spends the token (once: a second use in parallel finds it spent), sets
/// the password, ends every session, clears the account's lockout and
/// audits. Returns how many sessions ended.
fn apply_reset(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    token_hash: &str,
    password_hash: &str,
) -> ApiResult<usize> {
    let now = state.now();
    let reset = find_live(tx, token_hash, now)?.ok_or(ApiError::NotFound("reset token"))?;
    let spent = diesel::update(
        password_resets::table
            .find(token_hash)
            .filter(password_resets::used_at.is_null()),
    )
    .set(password_resets::used_at.eq(now))
    .execute(tx.conn())?;
    if spent != 1 {
        return Err(ApiError::NotFound("reset token"));
    }
    store::set_password_hash(tx, &reset.user_id, password_hash, now)?;
    // The token reached the address: it is the owner's.
    store::mark_email_verified(tx, &reset.user_id, &reset.email, now)?;
    let ending = Ending {
        user_id: &reset.user_id,
        only: None,
        except: None,
        org: None,
        reason: "password_reset",
    };
    let revoked = store::end_sessions(tx, &ending, now)?;
    state.liveness.forget_all();
    lockout::clear_account(tx.conn(), &validate::email_key(&reset.email))?;
    let mut t = tx.tenant(&TenantScope::account_events())?;
    let event = Event::by_user(
        &reset.user_id,
        Action::AuthUserPasswordReset,
        "user",
        &reset.user_id,
    )
    .details(serde_json::json!({ "revoked_sessions": revoked }));
    audit::record(&mut t, now, meta, event)?;
    Ok(revoked)
}

/// Stores a reset, withdrawing the account's unused ones: only the newest
/// mail works.
fn replace_reset(tx: &mut Tx<'_>, row: &PasswordResetRow) -> ApiResult<()> {
    diesel::delete(
        password_resets::table
            .filter(password_resets::user_id.eq(&row.user_id))
            .filter(password_resets::used_at.is_null()),
    )
    .execute(tx.conn())?;
    diesel::insert_into(password_resets::table)
        .values(row)
        .execute(tx.conn())?;
    Ok(())
}

/// The unused, unexpired reset with this token hash.
fn find_live(
    tx: &mut Tx<'_>,
    token_hash: &str,
    now: chrono::NaiveDateTime,
) -> ApiResult<Option<PasswordResetRow>> {
    Ok(password_resets::table
        .find(token_hash)
        .select(PasswordResetRow::as_select())
        .first(tx.conn())
        .optional()?
        .filter(|r| r.used_at.is_none() && r.expires_at > now))
}
