//! Adding, listing and deleting the caller's passkeys. Adding and deleting
//! need the password (under the sign-in lockout) and are audited, as every
//! change of factors is: a stolen access token can neither add a way in nor
//! take one away.

use tenantry_proto::auth::v1 as pb;
use webauthn_rs::prelude::{
    CreationChallengeResponse, PasskeyRegistration, RegisterPublicKeyCredential, Uuid,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::{ceremony, options_json, parse_answer, store};
use crate::{
    audit::Action,
    auth::mfa,
    clock::to_proto,
    context::{Caller, RequestMeta},
    db::Tx,
    error::{ApiError, ApiResult, Violations},
    state::AppState,
    validate,
};

const DEFAULT_NAME: &str = "Passkey";
const GONE: &str =
    "this registration has expired or was used: start again with BeginPasskeyRegistration";

pub async fn begin_passkey_registration(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::BeginPasskeyRegistrationRequest,
) -> ApiResult<pb::BeginPasskeyRegistrationResponse> {
    let user = mfa::enrollment::reauthenticate(state, &meta, &caller, request.password).await?;
    let (token, options, expires_at) = state
        .write(move |tx, st| {
            let handle = store::user_handle(tx.conn(), &user.id)?;
            let registered = store::of_user(tx.conn(), &user.id)?;
            let exclude = registered.iter().map(|p| p.passkey.cred_id().clone());
            let shown = match user.display_name.as_str() {
                "" => &user.email,
                name => name,
            };
            let (mut options, registration) = st
                .passkeys
                .start_passkey_registration(handle, &user.email, shown, Some(exclude.collect()))
                .map_err(ApiError::internal)?;
            discoverable(&mut options);
            let (token, expires_at) = ceremony::begin(
                tx,
                ceremony::Purpose::Registration,
                Some(&user.id),
                &(handle, registration),
                st.now(),
            )?;
            Ok((token, options_json(&options)?, expires_at))
        })
        .await?;
    Ok(pb::BeginPasskeyRegistrationResponse {
        registration_token: token,
        creation_options: options,
        expire_time: Some(to_proto(expires_at)),
    })
}

/// Asks for a discoverable credential (what "passkey" means), so it can
/// sign in without an email.
fn discoverable(options: &mut CreationChallengeResponse) {
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
}

pub async fn finish_passkey_registration(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::FinishPasskeyRegistrationRequest,
) -> ApiResult<pb::FinishPasskeyRegistrationResponse> {
    let (answer, name) = check_finish(&request)?;
    state
        .write(move |tx, st| {
            let now = st.now();
            let (user_id, (handle, registration)): (_, (Uuid, PasskeyRegistration)) =
                ceremony::take(
                    tx,
                    ceremony::Purpose::Registration,
                    &request.registration_token,
                    now,
                )?
                .ok_or_else(|| ApiError::failed_precondition(GONE))?;
            if user_id.as_deref() != Some(caller.user_id().as_str()) {
                return Err(ApiError::failed_precondition(GONE));
            }
            let passkey = st
                .passkeys
                .finish_passkey_registration(&answer, &registration)
                .map_err(|e| ApiError::invalid("credential", format!("was not accepted: {e}")))?;
            let first_factor = !mfa::enrolled(tx.conn(), caller.user_id())?;
            let new = store::NewPasskey {
                user_id: caller.user_id(),
                user_handle: handle,
                name: &name,
                passkey: &passkey,
                now,
            };
            let stored = store::insert(tx.conn(), &new)?;
            let recovery_codes = if first_factor {
                mfa::issue_recovery_codes(tx, caller.user_id())?
            } else {
                Vec::new()
            };
            record(
                tx,
                st,
                &meta,
                &caller,
                Action::AuthMfaPasskeyAdded,
                &stored.id,
            )?;
            Ok(pb::FinishPasskeyRegistrationResponse {
                passkey: Some(stored.to_proto()),
                recovery_codes,
            })
        })
        .await
}

fn check_finish(
    request: &pb::FinishPasskeyRegistrationRequest,
) -> ApiResult<(RegisterPublicKeyCredential, String)> {
    let mut violations = Violations::new();
    violations.take(
        "registration_token",
        validate::check_token(&request.registration_token),
    );
    let answer = violations.take("credential", parse_answer(&request.credential));
    let name = request.name.trim();
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        violations.add(
            "name",
            "must be at most 64 characters, none of them control characters",
        );
    }
    violations.finish()?;
    let name = if name.is_empty() { DEFAULT_NAME } else { name };
    Ok((answer.expect("checked above"), name.to_owned()))
}

pub async fn list_passkeys(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::ListPasskeysResponse> {
    state
        .db
        .read(move |tx| {
            let passkeys = store::of_user(tx.conn(), caller.user_id())?;
            Ok(pb::ListPasskeysResponse {
                passkeys: passkeys.iter().map(store::Stored::to_proto).collect(),
            })
        })
        .await
}

pub async fn delete_passkey(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::DeletePasskeyRequest,
) -> ApiResult<pb::DeletePasskeyResponse> {
    let id =
        validate::parse_id(&request.passkey_id).map_err(|d| ApiError::invalid("passkey_id", d))?;
    mfa::enrollment::reauthenticate(state, &meta, &caller, request.password).await?;
    state
        .write(move |tx, st| {
            if !store::delete(tx.conn(), caller.user_id(), &id)? {
                return Err(ApiError::NotFound("passkey"));
            }
            mfa::after_factor_removed(tx, caller.user_id())?;
            record(tx, st, &meta, &caller, Action::AuthMfaPasskeyDeleted, &id)
        })
        .await?;
    Ok(pb::DeletePasskeyResponse {})
}

fn record(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    caller: &Caller,
    action: Action,
    passkey_id: &str,
) -> ApiResult<()> {
    let details = serde_json::json!({ "passkey_id": passkey_id });
    mfa::enrollment::record_with(tx, state, meta, caller, action, details)
}
