//! Who a verified provider answer signs in, by the organization's rules.
//!
//! An identity is (organization, issuer, subject) — never the email alone. A
//! provider speaks for its organization only, so a first sign-in whose email
//! matches an existing account does not sign in as that account: it leaves a
//! pending link (see [`super::link`]) until the person proves they own the
//! account. Linking still needs the account to be a verified member of the
//! organization, and never an owner. Without a match, auto-provisioning
//! creates the account, or the sign-in is refused. Sessions it opens stay in
//! the organization (see `auth::issue::repin_session` and the SSO column of
//! `access`). Roles come from the groups claim (the highest mapped role,
//! capped at ADMIN), else the default role; with sync on every login, name
//! and role follow the provider (owners are never changed).

use serde_json::{Value, json};
use tenantry_proto::sso::v1 as pb;

use super::{
    domains, link,
    person::{Person, Refusal},
    settings::Settings,
    store,
};
use crate::{
    access::Role,
    audit::{self, Action, Actor, Event},
    auth::{issue, rules, users},
    context::RequestMeta,
    db::{
        TenantScope, Tx,
        rows::{MembershipRow, SsoIdentityRow, UserRow},
    },
    error::{ApiError, ApiResult},
    org,
    state::AppState,
};

/// Everything a decision reads besides the person.
pub struct Decision<'a> {
    pub state: &'a AppState,
    pub scope: &'a TenantScope,
    pub meta: &'a RequestMeta,
    pub issuer: &'a str,
    pub settings: &'a Settings,
}

/// Whether the owner of an account matched by email agreed to link it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    NotAsked,
    /// Proven for this account (ConfirmSsoLink).
    Given {
        user_id: String,
    },
}

/// How a sign-in through the provider ended. A refusal is an outcome, not an
/// error, so that its audit event commits.
pub enum Outcome {
    SignedIn(Box<SignedIn>),
    LinkPending(link::Pending),
    Refused(Refusal),
}

/// A sign-in decided inside the transaction, its token not yet signed.
pub struct SignedIn {
    pub user: UserRow,
    pub tokens: issue::Unsigned,
    pub how: How,
}

/// How the account was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Through an identity linked before.
    Returning,
    /// Linked now, with the owner's consent.
    Linked,
    /// Created now by auto-provisioning.
    Created,
}

/// The audit event of a refused sign-in into the organization; `details`
/// carries the reason.
pub fn failed_login(scope: &TenantScope, details: Value) -> Event {
    Event::new(
        Actor::Anonymous,
        Action::SsoLogin,
        "organization",
        scope.org_id(),
    )
    .failed()
    .details(details)
}

/// Records a failed sign-in (its own transaction).
pub async fn audit_failure(
    state: &AppState,
    scope: &TenantScope,
    meta: &RequestMeta,
    reason: &str,
    email: Option<&str>,
) -> ApiResult<()> {
    let (scope, meta) = (scope.clone(), meta.clone());
    let details = json!({ "reason": reason, "email": email });
    state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            audit::record(&mut t, st.now(), &meta, failed_login(&scope, details))
        })
        .await
}

/// The organization requires a second factor and the provider did not
/// report one.
const MFA_MISSING: Refusal = Refusal {
    reason: "mfa_required",
    message: "this organization requires multi-factor authentication, and the identity \
              provider did not report a second factor (amr)",
};

/// The provider would create or link an account in a domain the
/// organization has not proved it owns.
const DOMAIN_UNVERIFIED: Refusal = Refusal {
    reason: "domain_unverified",
    message: "this organization has not verified that it owns the domain of this email \
              address (AddSsoDomain, VerifySsoDomain), so its provider may not create or link \
              accounts with it",
};

/// CompleteSsoLogin after the provider's answer verified.
pub async fn sign_in(
    state: &AppState,
    scope: TenantScope,
    meta: RequestMeta,
    issuer: String,
    settings: Settings,
    claims: Value,
) -> ApiResult<pb::CompleteSsoLoginResponse> {
    let person = Person::from_claims(&claims, &settings);
    let outcome = state
        .write(move |tx, st| {
            let decision = Decision {
                state: st,
                scope: &scope,
                meta: &meta,
                issuer: &issuer,
                settings: &settings,
            };
            settle(tx, &decision, &person, &Consent::NotAsked)
        })
        .await?;
    match outcome {
        Outcome::Refused(refusal) => Err(ApiError::permission_denied(refusal.message)),
        Outcome::LinkPending(pending) => {
            link::mail_request(state, &pending).await;
            Ok(pb::CompleteSsoLoginResponse {
                pending_link: Some(pending.to_proto()),
                ..pb::CompleteSsoLoginResponse::default()
            })
        }
        Outcome::SignedIn(signed_in) => {
            let how = signed_in.how;
            let (user, tokens) = finish(state, *signed_in).await?;
            Ok(pb::CompleteSsoLoginResponse {
                user: Some(user),
                tokens: Some(tokens),
                user_created: how == How::Created,
                pending_link: None,
            })
        }
    }
}

/// Signs the tokens of a committed sign-in, and tells the person by mail
/// when it linked their account.
pub async fn finish(
    state: &AppState,
    signed_in: SignedIn,
) -> ApiResult<(
    tenantry_proto::auth::v1::User,
    tenantry_proto::auth::v1::TokenPair,
)> {
    if signed_in.how == How::Linked {
        link::mail_linked(state, &signed_in.user.email).await;
    }
    Ok((
        users::to_proto_user(&signed_in.user),
        signed_in.tokens.sign(state)?,
    ))
}

/// Signs the person in, leaves a pending link, or refuses — by the rules:
/// reads what the database knows, [`decide`]s, then applies the plan.
pub fn settle(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    person: &Person,
    consent: &Consent,
) -> ApiResult<Outcome> {
    let email = match person.admitted_email(d.settings) {
        Ok(email) => email,
        Err(refusal) => return refuse(tx, d, person, refusal),
    };
    let org = d.scope.org_id().to_string();
    if crate::auth::credentials::organization_state(tx, &org)? == Some(true) && !person.multi_factor
    {
        return refuse(tx, d, person, MFA_MISSING);
    }
    let facts = read_facts(tx, d, &person.subject, &email)?;
    let plan = decide(&facts, d.settings, person.role(d.settings), consent);
    let creates_or_links = matches!(
        plan,
        Plan::AskToLink
            | Plan::SignIn {
                how: How::Created | How::Linked,
                ..
            }
    );
    if creates_or_links && !domains::verified_for(&mut tx.tenant(d.scope)?, &email)? {
        return refuse(tx, d, person, DOMAIN_UNVERIFIED);
    }
    let (how, membership) = match plan {
        Plan::Refuse(refusal) => return refuse(tx, d, person, refusal),
        Plan::AskToLink => {
            let user = &facts
                .account
                .as_ref()
                .expect("a link needs an account")
                .user;
            return link::request(tx, d, person, user).map(Outcome::LinkPending);
        }
        Plan::SignIn { how, membership } => (how, membership),
    };
    let user = match facts.account {
        Some(account) => account.user,
        None => create_user(tx, d, person, &email)?,
    };
    let a = Applying {
        d,
        person,
        user: &user,
        how,
    };
    apply_membership(tx, &a, membership)?;
    record_identity(tx, &a, facts.identity.as_ref(), &email)?;
    record_login(tx, &a, membership.role())?;
    let tokens = open_session(tx, &a)?;
    let user = users::find(tx.conn(), &user.id)?;
    Ok(Outcome::SignedIn(Box::new(SignedIn { user, tokens, how })))
}

/// What the database knows of the person before deciding.
pub struct Facts {
    /// The identity linked before, for this issuer and subject.
    pub identity: Option<SsoIdentityRow>,
    /// The account behind that identity, else the one with the admitted
    /// email; `None`: no account yet.
    pub account: Option<Account>,
}

pub struct Account {
    pub user: UserRow,
    /// The account's role in this organization, if a member.
    pub role: Option<Role>,
}

/// What a sign-in does, decided from the facts alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Refuse(Refusal),
    /// The email matches an account whose owner has not agreed yet.
    AskToLink,
    SignIn {
        how: How,
        membership: Membership,
    },
}

/// What happens to the membership at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Keep(Role),
    /// A new membership with this role.
    Provision(Role),
    /// The provider's role replaces the current one.
    Sync {
        from: Role,
        to: Role,
    },
}

impl Membership {
    /// The member's role after this sign-in.
    pub fn role(self) -> Role {
        match self {
            Membership::Keep(role) | Membership::Provision(role) => role,
            Membership::Sync { to, .. } => to,
        }
    }
}

fn read_facts(tx: &mut Tx<'_>, d: &Decision<'_>, subject: &str, email: &str) -> ApiResult<Facts> {
    let identity = find_identity(tx, d, subject)?;
    let user = match &identity {
        Some(identity) => Some(users::find(tx.conn(), &identity.user_id)?),
        None => users::find_by_email(tx.conn(), email)?,
    };
    let account = match user {
        Some(user) => {
            let role = issue::current_role(tx, d.scope.org_id(), &user.id)?;
            Some(Account { user, role })
        }
        None => None,
    };
    Ok(Facts { identity, account })
}

/// The rules of a sign-in, with no I/O: who the person is (a returning
/// identity, an existing account by email, or nobody yet), then what their
/// membership becomes. `target` is the role the provider's claims map to.
pub fn decide(facts: &Facts, settings: &Settings, target: Role, consent: &Consent) -> Plan {
    let (how, current) = match (&facts.identity, &facts.account) {
        (Some(_), Some(account)) => (How::Returning, account.role),
        (_, Some(account)) => match link_refusal(account) {
            Some(refusal) => return Plan::Refuse(refusal),
            None if consent.given_for(&account.user.id) => (How::Linked, account.role),
            None => return Plan::AskToLink,
        },
        (_, None) if settings.auto_provision => (How::Created, None),
        (_, None) => {
            return Plan::Refuse(Refusal {
                reason: "not_provisioned",
                message: "this organization does not create accounts at first sign-in: ask an admin for an invitation",
            });
        }
    };
    let membership = match current {
        None if how != How::Created && !settings.auto_provision => {
            return Plan::Refuse(Refusal {
                reason: "not_a_member",
                message: "you are not a member of this organization: ask an admin for an invitation",
            });
        }
        None => Membership::Provision(target),
        Some(role) if !settings.sync_every_login || role == Role::Owner || role == target => {
            Membership::Keep(role)
        }
        Some(from) => Membership::Sync { from, to: target },
    };
    Plan::SignIn { how, membership }
}

/// Why an account matched by email may not be linked: it is only ever
/// offered when it is a verified member here and not an owner (any admin
/// can point the provider anywhere).
fn link_refusal(account: &Account) -> Option<Refusal> {
    match account.role {
        None => Some(Refusal {
            reason: "account_not_member",
            message: "an account with this email exists but is not a member of this organization: ask an admin for an invitation",
        }),
        Some(Role::Owner) => Some(Refusal {
            reason: "owner_not_linked",
            message: "an owner's account is not linked to single sign-on by email: owners sign in with their password",
        }),
        Some(_) if !account.user.email_verified => Some(Refusal {
            reason: "account_email_unverified",
            message: "the existing account has not verified this email address",
        }),
        Some(_) => None,
    }
}

impl Consent {
    fn given_for(&self, user_id: &str) -> bool {
        matches!(self, Consent::Given { user_id: id } if id == user_id)
    }
}

/// Records why the person was refused (the event commits with the answer).
fn refuse(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    person: &Person,
    refusal: Refusal,
) -> ApiResult<Outcome> {
    let mut t = tx.tenant(d.scope)?;
    let details =
        json!({ "reason": refusal.reason, "email": person.email, "subject": person.subject });
    audit::record(
        &mut t,
        d.state.now(),
        d.meta,
        failed_login(d.scope, details),
    )?;
    Ok(Outcome::Refused(refusal))
}

fn find_identity(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    subject: &str,
) -> ApiResult<Option<SsoIdentityRow>> {
    store::find_identity(&mut tx.tenant(d.scope)?, d.issuer, subject)
}

fn create_user(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    person: &Person,
    email: &str,
) -> ApiResult<UserRow> {
    let now = d.state.now();
    let display_name = rules::clean_display_name(person.name.as_deref().unwrap_or_default(), email)
        .unwrap_or_default();
    let user = UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        email: email.to_owned(),
        email_verified: true,
        password_hash: None,
        display_name,
        last_org_id: None,
        created_at: now,
        updated_at: now,
    };
    store::insert_provisioned_user(tx, &user)?;
    Ok(user)
}

/// A sign-in being applied: the person, the account they sign in to, and
/// how it was found.
struct Applying<'a> {
    d: &'a Decision<'a>,
    person: &'a Person,
    user: &'a UserRow,
    how: How,
}

/// Writes and audits what [`decide`] planned for the membership.
fn apply_membership(tx: &mut Tx<'_>, a: &Applying<'_>, membership: Membership) -> ApiResult<()> {
    let (d, person, user, how) = (a.d, a.person, a.user, a.how);
    let now = d.state.now();
    let mut t = tx.tenant(d.scope)?;
    let event = match membership {
        Membership::Keep(_) => return Ok(()),
        Membership::Provision(role) => {
            let row = MembershipRow {
                org_id: d.scope.org_id().to_string(),
                user_id: user.id.clone(),
                role,
                created_at: now,
                updated_at: now,
            };
            org::insert_membership(&mut t, &row)?;
            let action = if how == How::Created {
                Action::SsoUserProvisioned
            } else {
                Action::SsoMemberProvisioned
            };
            Event::new(Actor::System, action, "user", &user.id).details(
                json!({ "email": user.email, "role": role.as_str(), "groups": person.groups }),
            )
        }
        Membership::Sync { from, to } => {
            org::update_member_role(&mut t, &user.id, to, now)?;
            Event::new(Actor::System, Action::SsoRoleSynced, "user", &user.id).details(
                json!({ "from": from.as_str(), "to": to.as_str(), "groups": person.groups }),
            )
        }
    };
    audit::record(&mut t, now, d.meta, event)?;
    d.state.liveness.forget_all();
    Ok(())
}

/// Links the identity (first sign-in) or notes this sign-in on it.
fn record_identity(
    tx: &mut Tx<'_>,
    a: &Applying<'_>,
    identity: Option<&SsoIdentityRow>,
    email: &str,
) -> ApiResult<()> {
    let Applying {
        d, person, user, ..
    } = *a;
    let now = d.state.now();
    let mut t = tx.tenant(d.scope)?;
    if let Some(identity) = identity {
        return store::note_identity_login(&mut t, &identity.id, email, now);
    }
    let row = SsoIdentityRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: d.scope.org_id().to_string(),
        issuer: d.issuer.to_owned(),
        subject: person.subject.clone(),
        user_id: user.id.clone(),
        email: email.to_owned(),
        created_at: now,
        last_login_at: now,
    };
    store::insert_identity(&mut t, &row)
}

fn record_login(tx: &mut Tx<'_>, a: &Applying<'_>, role: Role) -> ApiResult<()> {
    let (d, person, user, how) = (a.d, a.person, a.user, a.how);
    let now = d.state.now();
    let mut t = tx.tenant(d.scope)?;
    if how == How::Linked {
        let event = Event::by_user(&user.id, Action::SsoIdentityLinked, "user", &user.id)
            .details(json!({ "issuer": d.issuer, "subject": person.subject, "consent": true }));
        audit::record(&mut t, now, d.meta, event)?;
    }
    let event = Event::by_user(&user.id, Action::SsoLogin, "user", &user.id).details(json!({
        "issuer": d.issuer,
        "subject": person.subject,
        "user_created": how == How::Created,
        "linked": how == How::Linked,
        "role": role.as_str(),
    }));
    audit::record(&mut t, now, d.meta, event)
}

/// Follows the provider's name when the rules sync it, and opens a session
/// pinned to the organization.
fn open_session(tx: &mut Tx<'_>, a: &Applying<'_>) -> ApiResult<issue::Unsigned> {
    let (d, person, user, how) = (a.d, a.person, a.user, a.how);
    let provided = person.name.as_deref().map(str::trim).unwrap_or_default();
    let display_name = if d.settings.sync_every_login
        && how != How::Created
        && !provided.is_empty()
        && provided != user.display_name
    {
        rules::clean_display_name(provided, &user.email).unwrap_or(user.display_name.clone())
    } else {
        user.display_name.clone()
    };
    store::note_account_login(tx, &user.id, d.scope.org_id(), &display_name)?;
    issue::open_session(
        tx,
        d.state,
        &user.id,
        Some(d.scope.org_id().to_string()),
        if person.multi_factor {
            issue::AuthMethod::SsoWithMfa
        } else {
            issue::AuthMethod::Sso
        },
        d.meta,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(auto_provision: bool, sync_every_login: bool) -> Settings {
        Settings {
            auto_provision,
            sync_every_login,
            ..Settings::default()
        }
    }

    /// Who the database knows: a linked identity or not, and the account
    /// (its email verified or not, its role here).
    #[derive(Clone, Copy)]
    enum Known {
        Nobody,
        ByEmail(bool, Option<Role>),
        Identity(Option<Role>),
    }

    fn facts(known: Known) -> Facts {
        let account = |verified, role| Account {
            user: UserRow {
                id: "u1".into(),
                email: "ada@acme.test".into(),
                email_verified: verified,
                password_hash: None,
                display_name: "Ada".into(),
                last_org_id: None,
                created_at: chrono::NaiveDateTime::default(),
                updated_at: chrono::NaiveDateTime::default(),
            },
            role,
        };
        let identity = SsoIdentityRow {
            id: "i1".into(),
            org_id: "o1".into(),
            issuer: "https://idp.test".into(),
            subject: "s1".into(),
            user_id: "u1".into(),
            email: "ada@acme.test".into(),
            created_at: chrono::NaiveDateTime::default(),
            last_login_at: chrono::NaiveDateTime::default(),
        };
        match known {
            Known::Nobody => Facts {
                identity: None,
                account: None,
            },
            Known::ByEmail(verified, role) => Facts {
                identity: None,
                account: Some(account(verified, role)),
            },
            Known::Identity(role) => Facts {
                identity: Some(identity),
                account: Some(account(true, role)),
            },
        }
    }

    fn sign_in(how: How, membership: Membership) -> Plan {
        Plan::SignIn { how, membership }
    }

    fn refused(plan: Plan) -> Option<&'static str> {
        match plan {
            Plan::Refuse(refusal) => Some(refusal.reason),
            _ => None,
        }
    }

    #[test]
    fn decides_by_the_table() {
        use {How::*, Known::*, Membership::*, Role::*};
        let asked = Consent::NotAsked;
        let agreed = Consent::Given {
            user_id: "u1".into(),
        };
        let other = Consent::Given {
            user_id: "u2".into(),
        };
        // (known, auto_provision, sync, provider's role, consent) → plan
        #[rustfmt::skip]
        let cases: Vec<(Known, bool, bool, Role, &Consent, Plan)> = vec![
            (Nobody, true, false, Admin, &asked, sign_in(Created, Provision(Admin))),
            (Identity(Some(Member)), false, false, Admin, &asked, sign_in(Returning, Keep(Member))),
            (Identity(Some(Member)), false, true, Admin, &asked, sign_in(Returning, Sync { from: Member, to: Admin })),
            (Identity(Some(Admin)), false, true, Admin, &asked, sign_in(Returning, Keep(Admin))),
            (Identity(Some(Owner)), false, true, Viewer, &asked, sign_in(Returning, Keep(Owner))),
            (Identity(None), true, false, Viewer, &asked, sign_in(Returning, Provision(Viewer))),
            (ByEmail(true, Some(Member)), true, false, Admin, &asked, Plan::AskToLink),
            (ByEmail(true, Some(Member)), true, false, Admin, &other, Plan::AskToLink),
            (ByEmail(true, Some(Viewer)), true, true, Admin, &agreed, sign_in(Linked, Sync { from: Viewer, to: Admin })),
            (ByEmail(true, Some(Viewer)), true, false, Admin, &agreed, sign_in(Linked, Keep(Viewer))),
        ];
        for (i, (known, auto, sync, target, consent, want)) in cases.into_iter().enumerate() {
            let plan = decide(&facts(known), &settings(auto, sync), target, consent);
            assert_eq!(plan, want, "case {i}");
        }
    }

    #[test]
    fn refuses_by_the_table() {
        use {Known::*, Role::*};
        let agreed = Consent::Given {
            user_id: "u1".into(),
        };
        // Consent never overrides a refusal of the account itself.
        let cases = [
            (Nobody, false, "not_provisioned"),
            (Identity(None), false, "not_a_member"),
            (ByEmail(true, None), true, "account_not_member"),
            (ByEmail(true, Some(Owner)), true, "owner_not_linked"),
            (
                ByEmail(false, Some(Member)),
                true,
                "account_email_unverified",
            ),
        ];
        for (known, auto, reason) in cases {
            let plan = decide(&facts(known), &settings(auto, true), Member, &agreed);
            assert_eq!(refused(plan), Some(reason));
        }
    }
}
