//! Signing in with a passkey alone: no password, no email. The browser
//! offers the passkeys it holds for this site; the one chosen names its
//! account (the user handle), and its signature over our challenge proves
//! the rest.
//!
//! The password lockout does not apply: a passkey cannot be guessed, and an
//! attacker locking out the password must not keep the owner's passkey out.

use tenantry_proto::auth::v1 as pb;
use webauthn_rs::prelude::{Credential, DiscoverableAuthentication, PublicKeyCredential};

use super::{ceremony, options_json, parse_answer, store};
use crate::{
    auth::{
        issue::AuthMethod,
        login::{SignedIn, finish_sign_in},
        users,
    },
    clock::to_proto,
    context::RequestMeta,
    db::Tx,
    error::{ApiError, ApiResult, Violations},
    state::AppState,
    validate,
};

const GONE: ApiError =
    ApiError::Unauthenticated("this passkey sign-in has expired or was used: start again");
const REFUSED: ApiError = ApiError::Unauthenticated("the passkey was not accepted");

pub async fn begin_passkey_login(state: &AppState) -> ApiResult<pb::BeginPasskeyLoginResponse> {
    state
        .write(move |tx, st| {
            let (options, login) = st
                .passkeys
                .start_discoverable_authentication()
                .map_err(ApiError::internal)?;
            let (token, expires_at) =
                ceremony::begin(tx, ceremony::Purpose::Login, None, &login, st.now())?;
            Ok(pb::BeginPasskeyLoginResponse {
                login_token: token,
                request_options: options_json(&options)?,
                expire_time: Some(to_proto(expires_at)),
            })
        })
        .await
}

pub async fn finish_passkey_login(
    state: &AppState,
    meta: RequestMeta,
    request: pb::FinishPasskeyLoginRequest,
) -> ApiResult<pb::FinishPasskeyLoginResponse> {
    let (answer, org) = check_finish(&request)?;
    let token = request.login_token;
    // A refusal is an answer, not an error: the ceremony stays spent.
    let signed_in = state
        .write(move |tx, st| sign_in(tx, st, &meta, &token, &answer, org.as_deref()))
        .await?
        .ok_or(REFUSED)?;
    let (user, tokens) = signed_in.finish(state).await?;
    Ok(pb::FinishPasskeyLoginResponse {
        user: Some(user),
        tokens: Some(tokens),
    })
}

fn check_finish(
    request: &pb::FinishPasskeyLoginRequest,
) -> ApiResult<(PublicKeyCredential, Option<String>)> {
    let mut violations = Violations::new();
    violations.take("login_token", validate::check_token(&request.login_token));
    let answer = violations.take("credential", parse_answer(&request.credential));
    let org = match request.organization_id.as_str() {
        "" => None,
        raw => violations.take("organization_id", validate::parse_id(raw)),
    };
    violations.finish()?;
    Ok((answer.expect("checked above"), org))
}

/// The session, or `None` when the passkey is unknown or its signature does
/// not check out.
fn sign_in(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    answer: &PublicKeyCredential,
    org: Option<&str>,
) -> ApiResult<Option<Box<SignedIn>>> {
    let now = state.now();
    let (_, login): (_, DiscoverableAuthentication) =
        ceremony::take(tx, ceremony::Purpose::Login, token, now)?.ok_or(GONE)?;
    let Ok((handle, credential_id)) = state.passkeys.identify_discoverable_authentication(answer)
    else {
        return Ok(None);
    };
    let Some(mut stored) = store::by_credential(tx.conn(), &handle, credential_id)? else {
        return Ok(None);
    };
    let credential = Credential::from(stored.passkey.clone());
    let Ok(result) = state
        .passkeys
        .finish_discoverable_authentication_v2(answer, login, credential)
    else {
        return Ok(None);
    };
    stored.passkey.update_credential(&result);
    store::record_use(tx.conn(), &stored, now)?;
    let user = users::find(tx.conn(), &stored.user_id)?;
    let signed_in = finish_sign_in(tx, state, meta, user, org, AuthMethod::Passkey)?;
    Ok(Some(Box::new(signed_in)))
}
