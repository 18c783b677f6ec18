//! Sign-in in two steps. Login, for an account with a second factor,
//! stores a challenge (5 minutes, 5 wrong answers) instead of opening a
//! session; CompleteMfaLogin takes it with a TOTP code, a passkey's answer
//! or a recovery code and opens the session, marked as multi-factor.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};
use tenantry_proto::auth::v1::{self as pb, complete_mfa_login_request::Proof};
use webauthn_rs::prelude::PublicKeyCredential;

use super::{recovery, totp};
use crate::{
    audit::Action,
    auth::{
        issue::AuthMethod,
        lockout::{self, Attempt},
        login::{self, SignedIn},
        passkeys::{self, second_factor},
        users,
    },
    clock::to_proto,
    context::RequestMeta,
    crypto::tokens::{hash_token, random_token},
    db::{Tx, schema::mfa_challenges},
    error::{ApiError, ApiResult, Violations},
    state::{AppState, after},
    validate,
};

const TTL: Duration = Duration::from_secs(5 * 60);
const MAX_FAILURES: i64 = 5;

const GONE: ApiError =
    ApiError::Unauthenticated("this sign-in has expired or was completed: sign in again");
const WRONG: ApiError = ApiError::Unauthenticated("the code is wrong");

/// Stores the first step of a sign-in; returns what Login answers.
pub fn create(
    tx: &mut Tx<'_>,
    state: &AppState,
    user_id: &str,
    requested_org: Option<&str>,
) -> ApiResult<pb::MfaChallenge> {
    let now = state.now();
    let token = random_token("mfa");
    let expires_at = after(now, TTL);
    let mut methods = Vec::new();
    if totp::enrolled(tx.conn(), user_id)? {
        methods.push("totp".to_owned());
    }
    let passkey = second_factor::offer(tx, state, user_id)?;
    if passkey.is_some() {
        methods.push("passkey".to_owned());
    }
    methods.push("recovery_code".to_owned());
    let (passkey_options, passkey_state) = passkey.map(|o| (o.options, o.state)).unzip();
    diesel::insert_into(mfa_challenges::table)
        .values((
            mfa_challenges::token_hash.eq(hash_token(&token)),
            mfa_challenges::user_id.eq(user_id),
            mfa_challenges::requested_org_id.eq(requested_org),
            mfa_challenges::failures.eq(0_i64),
            mfa_challenges::created_at.eq(now),
            mfa_challenges::expires_at.eq(expires_at),
            mfa_challenges::used_at.eq(None::<NaiveDateTime>),
            mfa_challenges::passkey_state.eq(passkey_state),
        ))
        .execute(tx.conn())?;
    Ok(pb::MfaChallenge {
        challenge_token: token,
        expire_time: Some(to_proto(expires_at)),
        methods,
        passkey_request_options: passkey_options.unwrap_or_default(),
    })
}

/// What the second step decided (a wrong code is kept, not rolled back).
enum Step {
    SignedIn(Box<SignedIn>),
    Wrong(Option<NaiveDateTime>),
}

pub async fn complete_mfa_login(
    state: &AppState,
    meta: RequestMeta,
    request: pb::CompleteMfaLoginRequest,
) -> ApiResult<pb::CompleteMfaLoginResponse> {
    let proof = check_request(&request)?;
    let hash = hash_token(&request.challenge_token);
    let step = state
        .write(move |tx, st| second_step(tx, st, &meta, &hash, &proof))
        .await?;
    let now = state.now();
    let signed_in = match step {
        Step::SignedIn(signed_in) => signed_in,
        Step::Wrong(lock) => return Err(lock.map_or(WRONG, |until| login::locked(until - now))),
    };
    let (user, tokens) = signed_in.finish(state).await?;
    Ok(pb::CompleteMfaLoginResponse {
        user: Some(user),
        tokens: Some(tokens),
    })
}

fn check_request(request: &pb::CompleteMfaLoginRequest) -> ApiResult<Proof> {
    let mut violations = Violations::new();
    violations.take(
        "challenge_token",
        validate::check_token(&request.challenge_token),
    );
    let proof = match &request.proof {
        Some(Proof::TotpCode(code)) => violations
            .take("totp_code", totp::check_code_input(code))
            .map(Proof::TotpCode),
        Some(Proof::RecoveryCode(code)) => violations
            .take("recovery_code", recovery::check_input(code))
            .map(|()| Proof::RecoveryCode(code.clone())),
        Some(Proof::PasskeyAssertion(json)) => violations
            .take(
                "passkey_assertion",
                passkeys::parse_answer::<PublicKeyCredential>(json),
            )
            .map(|_| Proof::PasskeyAssertion(json.clone())),
        None => {
            violations.add(
                "totp_code",
                "a TOTP code, a passkey assertion or a recovery code is required",
            );
            None
        }
    };
    violations.finish()?;
    proof.ok_or_else(|| ApiError::invalid("totp_code", "is required"))
}

fn second_step(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    hash: &str,
    proof: &Proof,
) -> ApiResult<Step> {
    let now = state.now();
    let Live {
        user_id,
        requested_org,
        passkey_state,
    } = find_live(tx, hash, now)?.ok_or(GONE)?;
    let user = users::find(tx.conn(), &user_id)?;
    let attempt = Attempt::new(&user.email, Some(&user.id), meta);
    if let Some(until) = lockout::locked_until(tx.conn(), &attempt, now)? {
        return Err(login::locked(until - now));
    }
    let method = match proof {
        Proof::TotpCode(code) => {
            let factor = totp::load(tx, state, &user.id, &user.email)?
                .filter(|f| f.confirmed_at.is_some())
                .ok_or(GONE)?;
            totp::accept(tx, state, &user.id, &factor, code)?.then_some(AuthMethod::PasswordAndTotp)
        }
        Proof::RecoveryCode(code) => {
            recovery::spend(tx, &user.id, code, now)?.then_some(AuthMethod::PasswordAndRecoveryCode)
        }
        Proof::PasskeyAssertion(json) => {
            let offered = passkey_state.ok_or(GONE)?;
            let answer = passkeys::parse_answer(json)
                .map_err(|d| ApiError::invalid("passkey_assertion", d))?;
            second_factor::accept(tx, state, &user.id, &offered, &answer, now)?
                .then_some(AuthMethod::PasswordAndPasskey)
        }
    };
    let Some(method) = method else {
        diesel::update(mfa_challenges::table.find(hash))
            .set(mfa_challenges::failures.eq(mfa_challenges::failures + 1))
            .execute(tx.conn())?;
        let lock = login::record_failure(tx, state, &attempt, meta, Action::AuthLogin)?;
        return Ok(Step::Wrong(lock));
    };
    diesel::update(mfa_challenges::table.find(hash))
        .set(mfa_challenges::used_at.eq(now))
        .execute(tx.conn())?;
    let signed_in = login::finish_sign_in(tx, state, meta, user, requested_org.as_deref(), method)?;
    Ok(Step::SignedIn(Box::new(signed_in)))
}

/// A challenge still open.
struct Live {
    user_id: String,
    requested_org: Option<String>,
    /// The passkeys' challenge, when the account had passkeys.
    passkey_state: Option<String>,
}

fn find_live(tx: &mut Tx<'_>, hash: &str, now: NaiveDateTime) -> ApiResult<Option<Live>> {
    type Row = (
        String,
        Option<String>,
        i64,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let row: Option<Row> = mfa_challenges::table
        .find(hash)
        .select((
            mfa_challenges::user_id,
            mfa_challenges::requested_org_id,
            mfa_challenges::failures,
            mfa_challenges::expires_at,
            mfa_challenges::used_at,
            mfa_challenges::passkey_state,
        ))
        .first(tx.conn())
        .optional()?;
    Ok(row
        .filter(|(_, _, failures, expires_at, used_at, _)| {
            *failures < MAX_FAILURES && *expires_at > now && used_at.is_none()
        })
        .map(|(user_id, requested_org, .., passkey_state)| Live {
            user_id,
            requested_org,
            passkey_state,
        }))
}

/// Challenges that expired before `now` (housekeeping).
pub fn forget_expired(conn: &mut crate::db::AnyConnection, now: NaiveDateTime) -> ApiResult<usize> {
    Ok(
        diesel::delete(mfa_challenges::table.filter(mfa_challenges::expires_at.lt(now)))
            .execute(conn)?,
    )
}
