//! Sign-in with email and password.
//!
//! Timing-safe: an unknown email costs the same argon2 verification as a wrong
//! password, both answer the same words, and both count toward the lockout of
//! that email.

use std::time::Duration;

use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};
use tenantry_proto::auth::v1 as pb;

pub use super::signed_in::{SignedIn, finish_sign_in};
use super::{
    issue::AuthMethod,
    lockout::{self, Attempt},
    mfa, rules, users,
};
use crate::{
    access::Role,
    audit::{self, Action, Actor, Event},
    context::RequestMeta,
    db::{
        OwnRows, TenantScope, Tx, UserScope,
        rows::UserRow,
        schema::{memberships, organizations},
    },
    error::{ApiError, ApiResult, Violations},
    org::LoginPolicy,
    state::AppState,
    validate,
};

const REFUSED: ApiError = ApiError::Unauthenticated("invalid email or password");

/// Login: validate, check the lockout, verify the password (same cost for
/// an unknown email), then open the session.
pub async fn login(
    state: &AppState,
    meta: RequestMeta,
    request: pb::LoginRequest,
) -> ApiResult<pb::LoginResponse> {
    let mut violations = Violations::new();
    let email = violations.take("email", validate::normalize_email(&request.email));
    violations.take("password", rules::check_password_input(&request.password));
    let org_id = if request.organization_id.is_empty() {
        None
    } else {
        violations.take(
            "organization_id",
            crate::ids::OrgId::parse(&request.organization_id),
        )
    };
    violations.finish()?;
    let email = email.unwrap_or_default();
    let now = state.now();
    let (lock, user) = look_up(state, &email, &meta).await?;
    if let Some(until) = lock {
        return Err(locked(until - now));
    }
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let valid = state
        .passwords
        .verify(request.password, stored_hash)
        .await?;
    let user_id = user.as_ref().map(|u| u.id.clone());
    let Some(user) = user.filter(|_| valid) else {
        let attempt = Attempt::new(&email, user_id.as_deref(), &meta);
        let lock = state
            .write(move |tx, st| record_failure(tx, st, &attempt, &meta, Action::AuthLogin))
            .await?;
        return Err(lock.map_or(REFUSED, |until| locked(until - now)));
    };
    let step = state
        .write(move |tx, st| after_password(tx, st, &meta, user, org_id.as_deref()))
        .await?;
    match step {
        FirstStep::SignedIn(signed_in) => {
            let (user, tokens) = signed_in.finish(state).await?;
            Ok(pb::LoginResponse {
                user: Some(user),
                tokens: Some(tokens),
                mfa_required: None,
            })
        }
        FirstStep::Challenge(challenge) => Ok(pb::LoginResponse {
            user: None,
            tokens: None,
            mfa_required: Some(challenge),
        }),
    }
}

/// The account behind `email`, if any, and the lock on this attempt.
async fn look_up(
    state: &AppState,
    email: &str,
    meta: &RequestMeta,
) -> ApiResult<(Option<chrono::NaiveDateTime>, Option<UserRow>)> {
    let (email, meta, now) = (email.to_owned(), meta.clone(), state.now());
    state
        .read(move |tx, _| {
            let user = users::find_by_email(tx.conn(), &email)?;
            let attempt = Attempt::new(&email, user.as_ref().map(|u| &*u.id), &meta);
            Ok((lockout::locked_until(tx.conn(), &attempt, now)?, user))
        })
        .await
}

enum FirstStep {
    SignedIn(Box<SignedIn>),
    /// The account has a second factor: CompleteMfaLogin goes on.
    Challenge(pb::MfaChallenge),
}

/// After a right password: signed in, or a challenge for the second factor
/// (the requested organization is checked now, so a refusal comes early).
fn after_password(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    user: UserRow,
    requested_org: Option<&str>,
) -> ApiResult<FirstStep> {
    let now = state.now();
    // Guesses sent in parallel all passed the check before: if their failures
    // locked the account meanwhile, a right one among them does not get in
    // either.
    let attempt = Attempt::new(&user.email, Some(&user.id), meta);
    if let Some(until) = lockout::locked_until(tx.conn(), &attempt, now)? {
        return Err(locked(until - now));
    }
    if mfa::enrolled(tx.conn(), &user.id)? {
        choose_org(tx, &user, requested_org, true)?;
        let challenge = mfa::challenge::create(tx, state, &user.id, requested_org)?;
        return Ok(FirstStep::Challenge(challenge));
    }
    let signed_in = finish_sign_in(tx, state, meta, user, requested_org, AuthMethod::Password)?;
    Ok(FirstStep::SignedIn(Box::new(signed_in)))
}

pub fn locked(remaining: chrono::TimeDelta) -> ApiError {
    let secs = remaining.num_seconds().max(1);
    ApiError::ResourceExhausted {
        message: format!("too many failed sign-ins for this account; try again in {secs} s"),
        retry_after: Some(Duration::from_secs(u64::try_from(secs).unwrap_or(1))),
    }
}

/// Counts the failure and audits it (in the account events: a failed sign-in
/// belongs to no organization).
pub fn record_failure(
    tx: &mut Tx<'_>,
    state: &AppState,
    attempt: &Attempt,
    meta: &RequestMeta,
    action: Action,
) -> ApiResult<Option<chrono::NaiveDateTime>> {
    let now = state.now();
    let lock = lockout::record_failure(tx.conn(), &state.config.limits, attempt, now)?;
    let mut t = tx.tenant(&TenantScope::account_events())?;
    let event = Event::new(Actor::Anonymous, action, "account", attempt.email_key())
        .failed()
        .details(serde_json::json!({ "reason": "invalid_credentials", "locked": lock.is_some() }));
    audit::record(&mut t, now, meta, event)?;
    Ok(lock)
}

/// The organization to pin: the requested one (which must be a live
/// membership), else the last one used if still a member, else none. An
/// organization that requires single sign-on is refused to a password
/// sign-in (but for its owners, so it cannot lock itself out): named
/// explicitly, with an error; as the default, by pinning to none.
pub fn choose_org(
    tx: &mut Tx<'_>,
    user: &UserRow,
    requested: Option<&str>,
    multi_factor: bool,
) -> ApiResult<Option<String>> {
    let wanted = match requested {
        Some(org) => Some(org.to_owned()),
        None => user.last_org_id.clone(),
    };
    let Some(org) = wanted else { return Ok(None) };
    let mut own = tx.user(&UserScope::verified(&user.id))?;
    match (pin_target(&mut own, &org)?, requested) {
        (Some(target), requested) if target.needs_sso() => match requested {
            Some(_) => Err(ApiError::failed_precondition(SSO_REQUIRED)),
            None => Ok(None),
        },
        (Some(target), requested) if target.needs_mfa(multi_factor) => match requested {
            Some(_) => Err(ApiError::failed_precondition(MFA_REQUIRED)),
            None => Ok(None),
        },
        (Some(target), _) => Ok(Some(target.org_id)),
        (None, Some(_)) => Err(ApiError::NotFound("organization")),
        (None, None) => Ok(None),
    }
}

/// An organization a session may be pinned to: a live one the user belongs
/// to, with their role and its login policy.
pub struct PinTarget {
    pub org_id: String,
    role: Role,
    policy: LoginPolicy,
    require_mfa: bool,
}

impl PinTarget {
    /// Whether only single sign-on may enter it: its policy says so and the
    /// user is not an owner (owners keep their password, so an organization
    /// cannot lock itself out).
    pub fn needs_sso(&self) -> bool {
        self.policy == LoginPolicy::Sso && self.role != Role::Owner
    }

    /// Whether a session without a second factor is refused here (owners
    /// included: the policy is about the organization's data).
    pub fn needs_mfa(&self, multi_factor: bool) -> bool {
        self.require_mfa && !multi_factor
    }
}

/// The user's membership of `org_id` as a [`PinTarget`]; `None` when they
/// are not a member or the organization was deleted.
pub fn pin_target(own: &mut OwnRows<'_>, org_id: &str) -> ApiResult<Option<PinTarget>> {
    let member: Option<(String, String, String, bool)> = own
        .memberships()
        .inner_join(organizations::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(organizations::deleted_at.is_null())
        .select((
            memberships::org_id,
            memberships::role,
            organizations::login_policy,
            organizations::require_mfa,
        ))
        .first(own.conn())
        .optional()?;
    let Some((org_id, role, policy, require_mfa)) = member else {
        return Ok(None);
    };
    Ok(Some(PinTarget {
        org_id,
        role: Role::from_stored(&role)?,
        policy: LoginPolicy::from_stored(&policy)?,
        require_mfa,
    }))
}

pub const MFA_REQUIRED: &str = "this organization requires multi-factor authentication: \
     enroll an authenticator app (BeginTotpEnrollment) or a passkey (BeginPasskeyRegistration) \
     and sign in with it";

pub const SSO_REQUIRED: &str =
    "this organization requires single sign-on: sign in with BeginSsoLogin";
