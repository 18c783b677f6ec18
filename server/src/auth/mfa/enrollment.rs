//! Adding and removing the authenticator app, replacing recovery codes,
//! and what the caller has. Each change needs the password and is audited.

use std::time::Duration;

use tenantry_proto::auth::v1 as pb;

use super::{recovery, totp};
use crate::{
    audit::{self, Action, Event},
    auth::{profile::check_password, users},
    clock::to_proto,
    context::{Caller, RequestMeta},
    db::{TenantScope, Tx},
    error::{ApiError, ApiResult},
    state::{AppState, after},
};

/// How long an enrollment waits for its first code.
const ENROLLMENT_TTL: Duration = Duration::from_secs(10 * 60);

const ENROLLED: &str = "an authenticator app is already enrolled: remove it first (RemoveTotp)";
const NOT_ENROLLED: &str = "no authenticator app is enrolled";
const NO_FACTOR: &str = "the account has no second factor (an authenticator app or a passkey)";

pub async fn get_mfa_status(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::GetMfaStatusResponse> {
    state
        .db
        .read(move |tx| {
            let user_id = caller.user_id();
            let left = if super::enrolled(tx.conn(), user_id)? {
                recovery::remaining(tx.conn(), user_id)?
            } else {
                0
            };
            let passkeys = crate::auth::passkeys::store::count(tx.conn(), user_id)?;
            Ok(pb::GetMfaStatusResponse {
                totp_enabled: totp::enrolled(tx.conn(), user_id)?,
                recovery_codes_remaining: i32::try_from(left).unwrap_or(i32::MAX),
                passkey_count: i32::try_from(passkeys).unwrap_or(i32::MAX),
            })
        })
        .await
}

pub async fn begin_totp_enrollment(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::BeginTotpEnrollmentRequest,
) -> ApiResult<pb::BeginTotpEnrollmentResponse> {
    let user = reauthenticate(state, &meta, &caller, request.password).await?;
    let (secret, app) = totp::generate(&user.email)?;
    let base32 = totp::base32(&secret);
    let user_id = user.id.clone();
    state
        .write(move |tx, st| {
            if totp::enrolled(tx.conn(), &user_id)? {
                return Err(ApiError::failed_precondition(ENROLLED));
            }
            totp::store(tx, st, &user_id, &secret)
        })
        .await?;
    Ok(pb::BeginTotpEnrollmentResponse {
        secret: base32,
        otpauth_uri: app.to_url().map_err(ApiError::internal)?,
        expire_time: Some(to_proto(after(state.now(), ENROLLMENT_TTL))),
    })
}

pub async fn confirm_totp_enrollment(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::ConfirmTotpEnrollmentRequest,
) -> ApiResult<pb::ConfirmTotpEnrollmentResponse> {
    let code = totp::check_code_input(&request.code).map_err(|d| ApiError::invalid("code", d))?;
    let codes = state
        .write(move |tx, st| {
            let user = users::find(tx.conn(), caller.user_id())?;
            let now = st.now();
            let pending = totp::load(tx, st, &user.id, &user.email)?
                .filter(|f| f.confirmed_at.is_none() && after(f.created_at, ENROLLMENT_TTL) > now)
                .ok_or_else(|| {
                    ApiError::failed_precondition(
                        "no enrollment is waiting for a code: start again with BeginTotpEnrollment",
                    )
                })?;
            if !totp::accept(tx, st, &user.id, &pending, &code)? {
                return Err(ApiError::invalid(
                    "code",
                    "is not the code the authenticator app shows now",
                ));
            }
            totp::confirm(tx, &user.id, now)?;
            let codes = recovery::replace(tx, &user.id)?;
            record(tx, st, &meta, &caller, Action::AuthMfaTotpEnrolled)?;
            Ok(codes)
        })
        .await?;
    Ok(pb::ConfirmTotpEnrollmentResponse {
        recovery_codes: codes,
    })
}

pub async fn remove_totp(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::RemoveTotpRequest,
) -> ApiResult<pb::RemoveTotpResponse> {
    reauthenticate(state, &meta, &caller, request.password).await?;
    state
        .write(move |tx, st| {
            if !totp::remove(tx, caller.user_id())? {
                return Err(ApiError::failed_precondition(NOT_ENROLLED));
            }
            super::after_factor_removed(tx, caller.user_id())?;
            record(tx, st, &meta, &caller, Action::AuthMfaTotpRemoved)
        })
        .await?;
    Ok(pb::RemoveTotpResponse {})
}

pub async fn regenerate_recovery_codes(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::RegenerateRecoveryCodesRequest,
) -> ApiResult<pb::RegenerateRecoveryCodesResponse> {
    reauthenticate(state, &meta, &caller, request.password).await?;
    let codes = state
        .write(move |tx, st| {
            if !super::enrolled(tx.conn(), caller.user_id())? {
                return Err(ApiError::failed_precondition(NO_FACTOR));
            }
            let codes = recovery::replace(tx, caller.user_id())?;
            record(
                tx,
                st,
                &meta,
                &caller,
                Action::AuthMfaRecoveryCodesRegenerated,
            )?;
            Ok(codes)
        })
        .await?;
    Ok(pb::RegenerateRecoveryCodesResponse {
        recovery_codes: codes,
    })
}

/// The caller's account, once their password checks out (under the
/// sign-in lockout).
pub async fn reauthenticate(
    state: &AppState,
    meta: &RequestMeta,
    caller: &Caller,
    password: String,
) -> ApiResult<crate::db::rows::UserRow> {
    crate::auth::rules::check_password_input(&password)
        .map_err(|d| ApiError::invalid("password", d))?;
    let user_id = caller.user_id().to_string();
    let user = state
        .db
        .read(move |tx| users::find(tx.conn(), &user_id))
        .await?;
    check_password(state, meta, &user, password).await?;
    Ok(user)
}

fn record(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    caller: &Caller,
    action: Action,
) -> ApiResult<()> {
    record_with(tx, state, meta, caller, action, serde_json::Value::Null)
}

/// Audits a change of the caller's factors in the account events.
pub fn record_with(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    caller: &Caller,
    action: Action,
    details: serde_json::Value,
) -> ApiResult<()> {
    let mut t = tx.tenant(&TenantScope::account_events())?;
    let mut event = Event::by(caller, action, "user", caller.user_id());
    if !details.is_null() {
        event = event.details(details);
    }
    audit::record(&mut t, state.now(), meta, event)
}
