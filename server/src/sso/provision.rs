//! Who a verified provider answer signs in, by the organization's rules.
//!
//! An identity is (organization, issuer, subject) — never the email alone. A
//! first sign-in links to an existing account with the same verified email
//! only if that account is already a member, and never to an owner's account
//! (an admin may point the provider anywhere); otherwise it creates an
//! account (auto-provisioning on) or is refused. Sessions it opens stay in
//! the organization (see `auth::issue::repin_session`). Roles come from the groups claim
//! (the highest mapped role, capped at ADMIN), else the default role; with
//! sync on every login, name and role follow the provider (owners are never
//! changed).

use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};
use serde_json::Value;
use tenantry_proto::sso::v1 as pb;

use super::settings::Settings;
use crate::{
    access::Role,
    audit::{self, Actor, Event},
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

/// What the provider said about the person.
#[derive(Debug, Clone)]
struct Person {
    subject: String,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    groups: Vec<String>,
}

fn text(claims: &Value, name: &str) -> Option<String> {
    claims.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn person(claims: &Value, settings: &Settings) -> Person {
    let groups = match claims.get(&settings.claim_groups) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => Some(s == "true"),
        _ => None,
    };
    Person {
        subject: text(claims, "sub").unwrap_or_default(),
        email: text(claims, &settings.claim_email),
        email_verified,
        name: text(claims, &settings.claim_name),
        groups,
    }
}

/// The audit event of a refused sign-in into the organization; `details`
/// carries the reason.
pub fn failed_login(scope: &TenantScope, details: Value) -> Event {
    Event::new(
        Actor::Anonymous,
        "sso.login",
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
    let details = serde_json::json!({ "reason": reason, "email": email });
    state
        .db
        .write(move |tx| {
            let mut t = tx.tenant(&scope)?;
            audit::record(&mut t, st.now(), &meta, failed_login(&scope, details))
        })
        .await
}

pub async fn sign_in(
    state: &AppState,
    scope: TenantScope,
    meta: RequestMeta,
    issuer: String,
    settings: Settings,
    claims: Value,
) -> ApiResult<pb::CompleteSsoLoginResponse> {
    let person = person(&claims, &settings);
    let st = state.clone();
    let signed_in = state
        .db
        .write(move |tx| decide(tx, &st, &scope, &meta, &issuer, &settings, &person))
        .await??;
    Ok(pb::CompleteSsoLoginResponse {
        user: Some(users::to_proto_user(&signed_in.user)),
        tokens: Some(signed_in.tokens.sign(state)?),
        user_created: signed_in.user_created,
    })
}

/// Signs the person in, or records why not; the refusal is returned inside
/// `Ok` so the audit event of it commits.
fn decide(
    tx: &mut Tx<'_>,
    state: &AppState,
    scope: &TenantScope,
    meta: &RequestMeta,
    issuer: &str,
    settings: &Settings,
    person: &Person,
) -> ApiResult<ApiResult<SignedIn>> {
    let now = state.now();
    let refuse = |tx: &mut Tx<'_>, reason: &str, message: &str| -> ApiResult<ApiResult<SignedIn>> {
        let mut t = tx.tenant(scope)?;
        let details = serde_json::json!({ "reason": reason, "email": person.email, "subject": person.subject });
        audit::record(&mut t, now, meta, failed_login(scope, details))?;
        Ok(Err(ApiError::permission_denied(message.to_owned())))
    };
    let Some(email) = person
        .email
        .as_deref()
        .and_then(|e| rules::normalize_email(e).ok())
    else {
        return refuse(
            tx,
            "no_email",
            "the identity provider sent no usable email address",
        );
    };
    if person.subject.is_empty() {
        return refuse(tx, "no_subject", "the identity provider sent no subject");
    }
    if person.email_verified == Some(false) {
        return refuse(
            tx,
            "email_unverified",
            "the identity provider has not verified this email address",
        );
    }
    if !settings.domain_allowed(&email) {
        return refuse(
            tx,
            "domain_not_allowed",
            "this email domain may not sign in to this organization",
        );
    }
    let target_role = settings
        .mapped_role(&person.groups)
        .unwrap_or_else(|| settings.default_role())
        .min(Role::Admin);

    let identity: Option<SsoIdentityRow> = {
        let mut t = tx.tenant(scope)?;
        t.sso_identities()
            .filter(sso_identities::issuer.eq(issuer))
            .filter(sso_identities::subject.eq(&person.subject))
            .select(SsoIdentityRow::as_select())
            .first(t.conn())
            .optional()?
    };
    let mut user_created = false;
    let mut linked = false;
    let user = match &identity {
        Some(identity) => users::find(tx.conn(), &identity.user_id)?,
        None => match users::find_by_email(tx.conn(), &email)? {
            Some(user) => {
                let mut t = tx.tenant(scope)?;
                let role: Option<String> = t
                    .memberships()
                    .filter(memberships::user_id.eq(&user.id))
                    .select(memberships::role)
                    .first(t.conn())
                    .optional()?;
                drop(t);
                let Some(role) = role else {
                    return refuse(
                        tx,
                        "account_not_member",
                        "an account with this email exists but is not a member of this organization: ask an admin for an invitation",
                    );
                };
                // Any admin can point the provider anywhere: a first sign-in
                // must not take over an owner's account by its email (SSO
                // never makes an owner, and owners keep their password).
                if role == Role::Owner.as_str() {
                    return refuse(
                        tx,
                        "owner_not_linked",
                        "an owner's account is not linked to single sign-on by email: owners sign in with their password",
                    );
                }
                if !user.email_verified {
                    return refuse(
                        tx,
                        "account_email_unverified",
                        "the existing account has not verified this email address",
                    );
                }
                linked = true;
                user
            }
            None if settings.auto_provision => {
                let display_name =
                    rules::clean_display_name(person.name.as_deref().unwrap_or_default(), &email)
                        .unwrap_or_default();
                let user = UserRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    email: email.clone(),
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
                user_created = true;
                user
            }
            None => {
                return refuse(
                    tx,
                    "not_provisioned",
                    "this organization does not create accounts at first sign-in: ask an admin for an invitation",
                );
            }
        },
    };

    let mut t = tx.tenant(scope)?;
    let membership: Option<MembershipRow> = t
        .memberships()
        .filter(memberships::user_id.eq(&user.id))
        .select(MembershipRow::as_select())
        .first(t.conn())
        .optional()?;
    let role = match membership {
        None if user_created || settings.auto_provision => {
            let row = MembershipRow {
                org_id: scope.org_id().to_owned(),
                user_id: user.id.clone(),
                role: target_role.as_str().to_owned(),
                created_at: now,
                updated_at: now,
            };
            t.insert_memberships().values(&row).execute(t.conn())?;
            let action = if user_created {
                "sso.user_provisioned"
            } else {
                "sso.member_provisioned"
            };
            let event = Event::new(Actor::System, action, "user", &user.id)
                .details(serde_json::json!({ "email": email, "role": target_role.as_str(), "groups": person.groups }));
            audit::record(&mut t, now, meta, event)?;
            state.liveness.forget_all();
            target_role
        }
        None => {
            drop(t);
            return refuse(
                tx,
                "not_a_member",
                "you are not a member of this organization: ask an admin for an invitation",
            );
        }
        Some(row) => {
            let current = Role::parse(&row.role).unwrap_or(Role::Viewer);
            if settings.sync_every_login && current != Role::Owner && current != target_role {
                diesel::update(t.memberships().filter(memberships::user_id.eq(&user.id)))
                    .set((
                        memberships::role.eq(target_role.as_str()),
                        memberships::updated_at.eq(now),
                    ))
                    .execute(t.conn())?;
                let event = Event::new(Actor::System, "sso.role_synced", "user", &user.id)
                    .details(serde_json::json!({ "from": current.as_str(), "to": target_role.as_str(), "groups": person.groups }));
                audit::record(&mut t, now, meta, event)?;
                state.liveness.forget_all();
                target_role
            } else {
                current
            }
        }
    };
    match &identity {
        Some(identity) => {
            diesel::update(
                t.sso_identities()
                    .filter(sso_identities::id.eq(&identity.id)),
            )
            .set((
                sso_identities::last_login_at.eq(now),
                sso_identities::email.eq(&email),
            ))
            .execute(t.conn())?;
        }
        None => {
            let row = SsoIdentityRow {
                id: uuid::Uuid::now_v7().to_string(),
                org_id: scope.org_id().to_owned(),
                issuer: issuer.to_owned(),
                subject: person.subject.clone(),
                user_id: user.id.clone(),
                email: email.clone(),
                created_at: now,
                last_login_at: now,
            };
            t.insert_sso_identities().values(&row).execute(t.conn())?;
        }
    }
    let event =
        Event::by_user(&user.id, "sso.login", "user", &user.id).details(serde_json::json!({
            "issuer": issuer,
            "subject": person.subject,
            "user_created": user_created,
            "linked": linked,
            "role": role.as_str(),
        }));
    audit::record(&mut t, now, meta, event)?;
    drop(t);

    let name_changed = settings.sync_every_login
        && !user_created
        && person
            .name
            .as_deref()
            .is_some_and(|n| !n.trim().is_empty() && n.trim() != user.display_name);
    let display_name = if name_changed {
        rules::clean_display_name(person.name.as_deref().unwrap_or_default(), &email)
            .unwrap_or(user.display_name.clone())
    } else {
        user.display_name.clone()
    };
    diesel::update(users_table::table.find(&user.id))
        .set((
            users_table::last_org_id.eq(scope.org_id()),
            users_table::display_name.eq(&display_name),
        ))
        .execute(tx.conn())?;
    let tokens = issue::open_session(
        tx,
        state,
        &user.id,
        Some(scope.org_id().to_owned()),
        issue::AuthMethod::Sso,
        meta,
    )?;
    let user = users::find(tx.conn(), &user.id)?;
    Ok(Ok(SignedIn {
        user,
        tokens,
        user_created,
    }))
}

/// A sign-in decided inside the transaction, its token not yet signed.
struct SignedIn {
    user: UserRow,
    tokens: issue::Unsigned,
    user_created: bool,
}
