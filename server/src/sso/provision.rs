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

use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};
use serde_json::{Value, json};
use tenantry_proto::sso::v1 as pb;

use super::{
    link,
    person::{Person, Refusal},
    settings::Settings,
};
use crate::{
    access::Role,
    audit::{self, Action, Actor, Event},
    auth::{issue, rules, users},
    context::RequestMeta,
    db::{
        TenantScope, Tx,
        rows::{MembershipRow, SsoIdentityRow, UserRow},
        schema::{memberships, sso_identities, users as users_table},
    },
    error::{ApiError, ApiResult},
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

/// Who the person is before any membership is touched.
enum Match {
    Returning(UserRow),
    /// An account with this verified email that is a member here.
    Existing(UserRow),
    New,
    Refused(Refusal),
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
    let (scope, meta, st) = (scope.clone(), meta.clone(), state.clone());
    let details = json!({ "reason": reason, "email": email });
    state
        .db
        .write(move |tx| {
            let mut t = tx.tenant(&scope)?;
            audit::record(&mut t, st.now(), &meta, failed_login(&scope, details))
        })
        .await
}

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
            decide(tx, &decision, &person, &Consent::NotAsked)
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

/// Signs the person in, leaves a pending link, or refuses — by the rules.
pub fn decide(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    person: &Person,
    consent: &Consent,
) -> ApiResult<Outcome> {
    let email = match person.admitted_email(d.settings) {
        Ok(email) => email,
        Err(refusal) => return refuse(tx, d, person, refusal),
    };
    let identity = find_identity(tx, d, &person.subject)?;
    let (user, how) = match match_account(tx, d, identity.as_ref(), &email)? {
        Match::Refused(refusal) => return refuse(tx, d, person, refusal),
        Match::Returning(user) => (user, How::Returning),
        Match::Existing(user) => match consent {
            Consent::Given { user_id } if *user_id == user.id => (user, How::Linked),
            _ => return link::request(tx, d, person, &user).map(Outcome::LinkPending),
        },
        Match::New if d.settings.auto_provision => {
            (create_user(tx, d, person, &email)?, How::Created)
        }
        Match::New => {
            let refusal = Refusal {
                reason: "not_provisioned",
                message: "this organization does not create accounts at first sign-in: ask an admin for an invitation",
            };
            return refuse(tx, d, person, refusal);
        }
    };
    let Some(role) = sync_membership(tx, d, person, &user, how)? else {
        let refusal = Refusal {
            reason: "not_a_member",
            message: "you are not a member of this organization: ask an admin for an invitation",
        };
        return refuse(tx, d, person, refusal);
    };
    record_identity(tx, d, person, &user, identity.as_ref(), &email)?;
    record_login(tx, d, person, &user, how, role)?;
    let tokens = open_session(tx, d, person, &user, how)?;
    let user = users::find(tx.conn(), &user.id)?;
    Ok(Outcome::SignedIn(Box::new(SignedIn { user, tokens, how })))
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
    let mut t = tx.tenant(d.scope)?;
    Ok(t.sso_identities()
        .filter(sso_identities::issuer.eq(d.issuer))
        .filter(sso_identities::subject.eq(subject))
        .select(SsoIdentityRow::as_select())
        .first(t.conn())
        .optional()?)
}

/// The account behind the identity, else the one with this email — which
/// is only ever offered for linking when it is a verified member here and
/// not an owner (any admin can point the provider anywhere).
fn match_account(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    identity: Option<&SsoIdentityRow>,
    email: &str,
) -> ApiResult<Match> {
    if let Some(identity) = identity {
        return Ok(Match::Returning(users::find(tx.conn(), &identity.user_id)?));
    }
    let Some(user) = users::find_by_email(tx.conn(), email)? else {
        return Ok(Match::New);
    };
    let refusal = match issue::current_role(tx, d.scope.org_id(), &user.id)? {
        None => Refusal {
            reason: "account_not_member",
            message: "an account with this email exists but is not a member of this organization: ask an admin for an invitation",
        },
        Some(Role::Owner) => Refusal {
            reason: "owner_not_linked",
            message: "an owner's account is not linked to single sign-on by email: owners sign in with their password",
        },
        Some(_) if !user.email_verified => Refusal {
            reason: "account_email_unverified",
            message: "the existing account has not verified this email address",
        },
        Some(_) => return Ok(Match::Existing(user)),
    };
    Ok(Match::Refused(refusal))
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
    diesel::insert_into(users_table::table)
        .values(&user)
        .execute(tx.conn())?;
    Ok(user)
}

/// The member's role after this sign-in: a new membership when the rules
/// provision one, the synced role when they follow the provider, else the
/// current one. `None`: not a member, and the rules make none.
fn sync_membership(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    person: &Person,
    user: &UserRow,
    how: How,
) -> ApiResult<Option<Role>> {
    let now = d.state.now();
    let target = person.role(d.settings);
    let mut t = tx.tenant(d.scope)?;
    let membership: Option<MembershipRow> = t
        .memberships()
        .filter(memberships::user_id.eq(&user.id))
        .select(MembershipRow::as_select())
        .first(t.conn())
        .optional()?;
    let Some(row) = membership else {
        if how != How::Created && !d.settings.auto_provision {
            return Ok(None);
        }
        let row = MembershipRow {
            org_id: d.scope.org_id().to_string(),
            user_id: user.id.clone(),
            role: target,
            created_at: now,
            updated_at: now,
        };
        t.insert_memberships().values(&row).execute(t.conn())?;
        let action = if how == How::Created {
            Action::SsoUserProvisioned
        } else {
            Action::SsoMemberProvisioned
        };
        let event = Event::new(Actor::System, action, "user", &user.id).details(
            json!({ "email": user.email, "role": target.as_str(), "groups": person.groups }),
        );
        audit::record(&mut t, now, d.meta, event)?;
        d.state.liveness.forget_all();
        return Ok(Some(target));
    };
    let current = row.role;
    if !d.settings.sync_every_login || current == Role::Owner || current == target {
        return Ok(Some(current));
    }
    diesel::update(t.memberships().filter(memberships::user_id.eq(&user.id)))
        .set((
            memberships::role.eq(target.as_str()),
            memberships::updated_at.eq(now),
        ))
        .execute(t.conn())?;
    let event = Event::new(Actor::System, Action::SsoRoleSynced, "user", &user.id).details(
        json!({ "from": current.as_str(), "to": target.as_str(), "groups": person.groups }),
    );
    audit::record(&mut t, now, d.meta, event)?;
    d.state.liveness.forget_all();
    Ok(Some(target))
}

/// Links the identity (first sign-in) or notes this sign-in on it.
fn record_identity(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    person: &Person,
    user: &UserRow,
    identity: Option<&SsoIdentityRow>,
    email: &str,
) -> ApiResult<()> {
    let now = d.state.now();
    let mut t = tx.tenant(d.scope)?;
    if let Some(identity) = identity {
        diesel::update(
            t.sso_identities()
                .filter(sso_identities::id.eq(&identity.id)),
        )
        .set((
            sso_identities::last_login_at.eq(now),
            sso_identities::email.eq(email),
        ))
        .execute(t.conn())?;
        return Ok(());
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
    t.insert_sso_identities().values(&row).execute(t.conn())?;
    Ok(())
}

fn record_login(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    person: &Person,
    user: &UserRow,
    how: How,
    role: Role,
) -> ApiResult<()> {
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
fn open_session(
    tx: &mut Tx<'_>,
    d: &Decision<'_>,
    person: &Person,
    user: &UserRow,
    how: How,
) -> ApiResult<issue::Unsigned> {
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
    diesel::update(users_table::table.find(&user.id))
        .set((
            users_table::last_org_id.eq(d.scope.org_id()),
            users_table::display_name.eq(&display_name),
        ))
        .execute(tx.conn())?;
    issue::open_session(
        tx,
        d.state,
        &user.id,
        Some(d.scope.org_id().to_string()),
        issue::AuthMethod::Sso,
        d.meta,
    )
}
