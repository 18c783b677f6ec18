//! Linking a provider identity to an existing account needs the account
//! owner's consent (as in Keycloak's first broker login): an organization's
//! admin can point its provider anywhere and have it assert any email.
//!
//! A first sign-in that matches an account by email leaves a link request
//! instead of a session, and mails the account's (verified) address. The
//! person then proves they own the account with ConfirmSsoLink: the link
//! token with the account's password (under the sign-in lockout), or the
//! token from the mail. Both tokens name their organization, are stored
//! hashed, and die together after one use or 30 minutes.

use chrono::NaiveDateTime;
use tenantry_proto::sso::v1 as pb;

use super::{
    config,
    person::Person,
    provision::{self, Consent, Decision, Outcome},
    store,
};
use crate::{
    audit::{self, Action, Event},
    auth::{self, users},
    clock::to_proto,
    context::RequestMeta,
    crypto::tokens::{hash_token, random_token},
    db::{
        TenantScope, Tx,
        rows::{SsoLinkRequestRow, UserRow},
    },
    error::{ApiError, ApiResult, Violations},
    state::{AppState, after},
    validate::check_token,
};

const LINK_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 60);
const LINK_PREFIX: &str = "ssolink";
const MAIL_PREFIX: &str = "ssomail";

/// A link request just made: what the caller and the mail need.
pub struct Pending {
    link_token: String,
    email_token: String,
    email: String,
    password_available: bool,
    expires_at: NaiveDateTime,
    issuer: String,
}

impl Pending {
    pub fn to_proto(&self) -> pb::PendingSsoLink {
        pb::PendingSsoLink {
            link_token: self.link_token.clone(),
            email: self.email.clone(),
            password_available: self.password_available,
            expire_time: Some(to_proto(self.expires_at)),
        }
    }
}

/// `<prefix>_<organization, hex>_<256 random bits>`.
fn new_token(prefix: &str, org_id: &str) -> ApiResult<String> {
    let org = uuid::Uuid::try_parse(org_id).map_err(ApiError::internal)?;
    Ok(format!(
        "{prefix}_{}_{}",
        org.simple(),
        &random_token("x")[2..]
    ))
}

fn org_of(prefix: &str, token: &str) -> Option<String> {
    let rest = token.strip_prefix(prefix)?.strip_prefix('_')?;
    let (org, secret) = rest.split_once('_')?;
    (secret.len() >= 43).then_some(())?;
    uuid::Uuid::try_parse(org).ok().map(|u| u.to_string())
}

/// Stores a link request for `user` (inside the sign-in's transaction).
pub fn request(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    person: &Person,
    user: &UserRow,
) -> ApiResult<Pending> {
    let now = d.state.now();
    let org_id = d.scope.org_id();
    let pending = Pending {
        link_token: new_token(LINK_PREFIX, org_id)?,
        email_token: new_token(MAIL_PREFIX, org_id)?,
        email: user.email.clone(),
        password_available: user.password_hash.is_some(),
        expires_at: after(now, LINK_TTL),
        issuer: d.issuer.to_owned(),
    };
    let row = SsoLinkRequestRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org_id.to_string(),
        user_id: user.id.clone(),
        issuer: d.issuer.to_owned(),
        person: serde_json::to_string(person).map_err(ApiError::internal)?,
        link_token_hash: hash_token(&pending.link_token),
        email_token_hash: hash_token(&pending.email_token),
        created_at: now,
        expires_at: pending.expires_at,
        used_at: None,
    };
    let mut t = tx.tenant(d.scope)?;
    store::insert_link_request(&mut t, &row)?;
    let event = Event::by_user(&user.id, Action::SsoLinkRequested, "user", &user.id)
        .details(serde_json::json!({ "issuer": d.issuer, "subject": person.subject }));
    audit::record(&mut t, now, d.meta, event)?;
    Ok(pending)
}

/// Mails the account the token that confirms the link — and the warning
/// that someone is trying. A mail that fails is logged: the password works
/// too.
pub async fn mail_request(state: &AppState, pending: &Pending) {
    let mail = crate::mail::templates::sso_link_request(
        &pending.email,
        &pending.issuer,
        &pending.email_token,
        LINK_TTL,
    );
    state.mailer.send(mail).await;
}

/// Tells the person an identity was linked to their account.
pub async fn mail_linked(state: &AppState, email: &str) {
    state
        .mailer
        .send(crate::mail::templates::sso_linked(email))
        .await;
}

/// How the person proves they own the account.
enum Proof {
    Password {
        link_token: String,
        password: String,
    },
    Email {
        token: String,
    },
}

impl Proof {
    fn parse(request: pb::ConfirmSsoLinkRequest) -> ApiResult<Self> {
        let mut violations = Violations::new();
        if !request.email_token.is_empty() {
            violations.take("email_token", check_token(&request.email_token));
            for (field, value) in [
                ("link_token", &request.link_token),
                ("password", &request.password),
            ] {
                if !value.is_empty() {
                    violations.add(field, "must be empty when email_token is given");
                }
            }
            violations.finish()?;
            return Ok(Proof::Email {
                token: request.email_token,
            });
        }
        violations.take("link_token", check_token(&request.link_token));
        violations.take(
            "password",
            auth::rules::check_password_input(&request.password),
        );
        violations.finish()?;
        Ok(Proof::Password {
            link_token: request.link_token,
            password: request.password,
        })
    }

    fn token(&self) -> (&str, &'static str) {
        match self {
            Proof::Password { link_token, .. } => (link_token, LINK_PREFIX),
            Proof::Email { token } => (token, MAIL_PREFIX),
        }
    }
}

fn stale() -> ApiError {
    ApiError::failed_precondition(
        "this link request is unknown, expired or already used: sign in through the provider again",
    )
}

/// ConfirmSsoLink.
pub async fn confirm_sso_link(
    state: &AppState,
    meta: RequestMeta,
    request: pb::ConfirmSsoLinkRequest,
) -> ApiResult<pb::ConfirmSsoLinkResponse> {
    let proof = Proof::parse(request)?;
    let (token, prefix) = proof.token();
    let org_id = org_of(prefix, token).ok_or_else(stale)?;
    // The organization named by the token is proven by the stored hash.
    let scope = TenantScope::verified(&org_id);
    let row = load(state, &scope, &proof).await?;
    if let Proof::Password { password, .. } = proof {
        let user = {
            let id = row.user_id.clone();
            state.db.read(move |tx| users::find(tx.conn(), &id)).await?
        };
        auth::check_password(state, &meta, &user, password).await?;
    }
    let outcome = state
        .write(move |tx, st| link_with_consent(tx, st, &scope, &meta, &row))
        .await?;
    match outcome {
        Outcome::SignedIn(signed_in) => {
            let (user, tokens) = provision::finish(state, *signed_in).await?;
            Ok(pb::ConfirmSsoLinkResponse {
                user: Some(user),
                tokens: Some(tokens),
            })
        }
        Outcome::Refused(refusal) => Err(ApiError::permission_denied(refusal.message)),
        // The account behind the email changed meanwhile.
        Outcome::LinkPending(_) => Err(stale()),
    }
}

/// The live request a token names.
async fn load(
    state: &AppState,
    scope: &TenantScope,
    proof: &Proof,
) -> ApiResult<SsoLinkRequestRow> {
    let (token, _) = proof.token();
    let hash = hash_token(token);
    let by_mail = matches!(proof, Proof::Email { .. });
    let (scope, now) = (scope.clone(), state.now());
    let row = state
        .db
        .read(move |tx| store::find_link_request(&mut tx.tenant(&scope)?, &hash, by_mail))
        .await?;
    row.filter(|r| r.used_at.is_none() && r.expires_at > now)
        .ok_or_else(stale)
}

/// Uses the request up and signs in with the owner's consent — by the
/// organization's rules as they are now.
fn link_with_consent(
    tx: &mut Tx<'_>,
    state: &AppState,
    scope: &TenantScope,
    meta: &RequestMeta,
    row: &SsoLinkRequestRow,
) -> ApiResult<Outcome> {
    let now = state.now();
    let mut t = tx.tenant(scope)?;
    let claimed = store::claim_link_request(&mut t, &row.id, now)?;
    let config = config::load(&mut t)?.filter(|c| c.enabled);
    drop(t);
    let Some(config) = config.filter(|c| claimed && c.issuer_url == row.issuer) else {
        return Err(stale());
    };
    let settings = config::parsed(&config)?;
    let person: Person = serde_json::from_str(&row.person).map_err(ApiError::internal)?;
    let decision = Decision {
        state,
        scope,
        meta,
        issuer: &row.issuer,
        settings: &settings,
    };
    let consent = Consent::Given {
        user_id: row.user_id.clone(),
    };
    provision::settle(tx, &decision, &person, &consent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_organization_and_kind() {
        let org = uuid::Uuid::now_v7().to_string();
        let link = new_token(LINK_PREFIX, &org).unwrap();
        assert_eq!(org_of(LINK_PREFIX, &link), Some(org.clone()));
        assert_eq!(
            org_of(MAIL_PREFIX, &link),
            None,
            "a link token is no mail token"
        );
        assert!(check_token(&link).is_ok());
        assert_eq!(org_of(LINK_PREFIX, "ssolink_zz_short"), None);
    }
}
