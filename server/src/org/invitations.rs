//! Invitations: the only way into an organization. A token is single-use,
//! expires, is stored only hashed, and names its organization so accepting it
//! can act in that organization's scope.

use tenantry_proto::org::v1 as pb;

use super::{convert, store};
use crate::{
    access::Role,
    audit::{self, Action, Event},
    auth::users,
    context::{Caller, RequestMeta},
    crypto::tokens::{hash_token, random_token},
    db::{
        TenantScope,
        rows::{InvitationRow, MembershipRow, UserRow},
    },
    error::{ApiError, ApiResult, Violations},
    paging::time_key,
    state::{AppState, after},
    validate::{check_token, email_key, normalize_email},
};

/// `inv_<organization id, hex>_<256 random bits, base64url>`.
fn new_token(org_id: &str) -> ApiResult<String> {
    let org = uuid::Uuid::try_parse(org_id).map_err(ApiError::internal)?;
    let secret = random_token("x");
    Ok(format!("inv_{}_{}", org.simple(), &secret[2..]))
}

/// The organization a token names, if it is shaped like one of ours.
fn org_of(token: &str) -> Option<String> {
    let (org, secret) = token.strip_prefix("inv_")?.split_once('_')?;
    if secret.len() < 43 {
        return None;
    }
    uuid::Uuid::try_parse(org).ok().map(|u| u.to_string())
}

pub async fn create_invitation(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::CreateInvitationRequest,
) -> ApiResult<pb::CreateInvitationResponse> {
    let scope = caller.tenant()?;
    let actor = caller.member_role()?;
    let mut violations = Violations::new();
    let email = violations.take("email", normalize_email(&request.email));
    let role = Role::from_proto(request.role);
    match role {
        None => violations.add("role", "must be VIEWER, MEMBER, ADMIN or OWNER"),
        Some(role) if role > actor => violations.add("role", "must not be above your own role"),
        Some(_) => {}
    }
    violations.finish()?;
    let (email, role) = (email.unwrap_or_default(), role.unwrap_or(Role::Viewer));
    let (invitation, token, org_name) = state
        .write(move |tx, st| {
            let now = st.now();
            let org = store::find_organization(tx, &scope)?;
            let mut t = tx.tenant(&scope)?;
            if store::member_with_email(&mut t, &email)? {
                return Err(ApiError::AlreadyExists(
                    "this address already belongs to a member".into(),
                ));
            }
            // A new invitation replaces a pending one for the same address.
            store::revoke_pending_invitation(&mut t, &email, now)?;
            let token = new_token(&org.id)?;
            let row = InvitationRow {
                id: uuid::Uuid::now_v7().to_string(),
                org_id: org.id.clone(),
                email: email.clone(),
                role,
                token_hash: hash_token(&token),
                inviter_id: caller.user_id().to_string(),
                created_at: now,
                expires_at: after(now, st.config.sessions.invitation_ttl),
                accepted_at: None,
                accepted_by: None,
                revoked_at: None,
            };
            store::insert_pending_invitation(&mut t, &row)?;
            let event = Event::by(&caller, Action::OrgInvitationCreated, "invitation", &row.id)
                .details(serde_json::json!({ "email": email, "role": role.as_str() }));
            audit::record(&mut t, now, &meta, event)?;
            Ok((convert::invitation(&row, now), token, org.name))
        })
        .await?;
    mail_invitation(state, &invitation.email, &org_name, role, &token).await;
    Ok(pb::CreateInvitationResponse {
        invitation: Some(invitation),
        token,
    })
}

pub async fn list_invitations(
    state: &AppState,
    caller: Caller,
    request: pb::ListInvitationsRequest,
) -> ApiResult<pb::ListInvitationsResponse> {
    let scope = caller.tenant()?;
    let page = state.page_tokens.parse(scope.org_id(), &request, 50, 100)?;
    let after_key = page.after_time_and_id()?;
    let now = state.now();
    let (rows, next_page_token) = state
        .db
        .read(move |tx| {
            let rows = store::list_invitations(&mut tx.tenant(&scope)?, page.limit(), after_key)?;
            Ok(page.finish(rows, |r| vec![time_key(r.created_at), r.id.clone()]))
        })
        .await?;
    Ok(pb::ListInvitationsResponse {
        invitations: rows.iter().map(|r| convert::invitation(r, now)).collect(),
        next_page_token,
    })
}

pub async fn revoke_invitation(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::RevokeInvitationRequest,
) -> ApiResult<pb::RevokeInvitationResponse> {
    let scope = caller.tenant()?;
    let id = crate::ids::InvitationId::parse(&request.invitation_id)
        .map_err(|d| ApiError::invalid("invitation_id", d))?;
    state
        .write(move |tx, st| {
            let now = st.now();
            let mut t = tx.tenant(&scope)?;
            let row = store::find_invitation(&mut t, &id)?;
            if row.accepted_at.is_some() || row.revoked_at.is_some() {
                return Err(ApiError::failed_precondition(
                    "this invitation is no longer pending",
                ));
            }
            store::revoke_invitation(&mut t, &id, now)?;
            let event = Event::by(&caller, Action::OrgInvitationRevoked, "invitation", &id)
                .details(serde_json::json!({ "email": row.email }));
            audit::record(&mut t, now, &meta, event)
        })
        .await?;
    Ok(pb::RevokeInvitationResponse {})
}

/// Mails the invitee their token (the inviter has it too).
async fn mail_invitation(state: &AppState, to: &str, org_name: &str, role: Role, token: &str) {
    let mail = crate::mail::templates::invitation(to, org_name, role.as_str(), token);
    state.mailer.send(mail).await;
}

/// Why an invitation cannot be accepted by `user` now, if it cannot (pure).
fn acceptance_refused(
    invitation: &InvitationRow,
    user: &UserRow,
    now: chrono::NaiveDateTime,
) -> Option<ApiError> {
    let refusal = if invitation.accepted_at.is_some() {
        ApiError::failed_precondition("this invitation has already been used")
    } else if invitation.revoked_at.is_some() {
        ApiError::failed_precondition("this invitation was revoked")
    } else if invitation.expires_at <= now {
        ApiError::failed_precondition("this invitation has expired")
    } else if email_key(&user.email) != email_key(&invitation.email) {
        ApiError::permission_denied("this invitation is for another email address")
    } else if !user.email_verified {
        ApiError::failed_precondition("verify your email address before accepting an invitation")
    } else {
        return None;
    };
    Some(refusal)
}

/// AcceptInvitation: the token names the organization, its hash proves it;
/// the invitation is claimed before the membership is made.
pub async fn accept_invitation(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::AcceptInvitationRequest,
) -> ApiResult<pb::AcceptInvitationResponse> {
    check_token(&request.token).map_err(|d| ApiError::invalid("token", d))?;
    let org_id = org_of(&request.token).ok_or(ApiError::NotFound("invitation"))?;
    let hash = hash_token(&request.token);
    state
        .write(move |tx, st| {
            let now = st.now();
            let user = users::find(tx.conn(), caller.user_id())?;
            // The token names the organization; the hash match below proves it.
            let scope = TenantScope::verified(&org_id);
            let org = store::find_organization(tx, &scope)
                .map_err(|_| ApiError::NotFound("invitation"))?;
            let mut t = tx.tenant(&scope)?;
            let invitation = store::find_invitation_by_hash(&mut t, &hash)?;
            if let Some(refusal) = acceptance_refused(&invitation, &user, now) {
                return Err(refusal);
            }
            if t.member_role(&user.id)?.is_some() {
                return Err(ApiError::AlreadyExists(
                    "you are already a member of this organization".into(),
                ));
            }
            // An invitation carries its inviter's authority, so it lapses
            // with it: a removed or demoted inviter's invitations no longer
            // grant what they could not grant now.
            if !may_still_invite(t.member_role(&invitation.inviter_id)?, invitation.role) {
                return Err(ApiError::failed_precondition(
                    "whoever invited you can no longer grant this role: ask for a new invitation",
                ));
            }
            store::claim_invitation(&mut t, &invitation, &user.id, now)?;
            let row = MembershipRow {
                org_id: org.id.clone(),
                user_id: user.id.clone(),
                role: invitation.role,
                created_at: now,
                updated_at: now,
            };
            store::insert_membership(&mut t, &row)?;
            let event = Event::by_user(
                &user.id,
                Action::OrgInvitationAccepted,
                "invitation",
                &invitation.id,
            )
            .details(serde_json::json!({ "role": invitation.role.as_str() }));
            audit::record(&mut t, now, &meta, event)?;
            Ok(pb::AcceptInvitationResponse {
                membership: Some(convert::membership(&org, &row)),
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_organization() {
        let org = uuid::Uuid::now_v7().to_string();
        let token = new_token(&org).unwrap();
        assert_eq!(org_of(&token), Some(org));
        assert_eq!(
            org_of("inv_nothex_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            None
        );
        assert_eq!(org_of("rt_abc"), None);
    }
}

/// Whether a member with role `inviter` could create an invitation granting
/// `granted` today (the access table's rule for CreateInvitation, and no
/// role above their own).
fn may_still_invite(inviter: Option<Role>, granted: Role) -> bool {
    let needed = match crate::access::access("/tenantry.org.v1.OrgService/CreateInvitation") {
        Some(crate::access::Access::Org(needed)) => needed,
        _ => Role::Admin,
    };
    inviter.is_some_and(|role| role >= needed && role >= granted)
}

#[cfg(test)]
mod lapse_tests {
    use super::*;

    #[test]
    fn an_invitation_lapses_when_its_inviter_could_no_longer_send_it() {
        assert!(may_still_invite(Some(Role::Admin), Role::Member));
        assert!(may_still_invite(Some(Role::Owner), Role::Owner));
        assert!(
            !may_still_invite(Some(Role::Member), Role::Member),
            "demoted to MEMBER"
        );
        assert!(
            !may_still_invite(Some(Role::Viewer), Role::Viewer),
            "demoted to VIEWER"
        );
        assert!(!may_still_invite(Some(Role::Admin), Role::Owner));
        assert!(!may_still_invite(None, Role::Viewer), "removed");
    }
}
