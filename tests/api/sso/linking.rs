//! An organization's identity provider speaks for that organization only:
//! an existing account is linked only with its owner's consent, and a
//! session opened through the provider acts only within its organization.

use tenantry_client::{
    Tenantry,
    audit::v1::{AuditEventFilter, ListAuditEventsRequest},
    auth::v1::{
        ChangePasswordRequest, DeleteAccountRequest, GetMeRequest, ListSessionsRequest,
        RequestEmailVerificationRequest, RevokeOtherSessionsRequest, RevokeSessionRequest, Role,
        UpdateProfileRequest,
    },
    org::v1::{AcceptInvitationRequest, ListMyOrganizationsRequest},
    sso::v1::{ConfirmSsoLinkRequest, ListMyIdentitiesRequest, UnlinkIdentityRequest},
};
use tenantry_tests::{
    Backend, PASSWORD, TestApp, assert_code, field_violations, oidc_issuer, on_both_backends,
    sso_config,
};
use tonic::Code;

const P: &str = "member@acme.test";

async fn identities(client: &Tenantry) -> Vec<String> {
    client
        .sso()
        .list_my_identities(ListMyIdentitiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .identities
        .into_iter()
        .map(|i| i.organization_id)
        .collect()
}

async fn a_first_sign_in_that_matches_an_account_waits_for_the_owners_consent(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    let p = app.member_with_password(&team.owner).await;

    let answer = app.sso_sign_in("acme", P).await.unwrap();
    assert!(
        answer.tokens.is_none() && answer.user.is_none(),
        "nobody signed in"
    );
    let pending = answer.pending_link.expect("a pending link");
    assert_eq!(pending.email, P);
    assert!(pending.password_available);
    assert!(identities(&p.client).await.is_empty(), "nothing linked yet");
    assert!(
        app.mailed(P, "Confirmation token").is_some(),
        "the account's address is told"
    );

    // A wrong password links nothing and leaves the request usable.
    let confirm = |password: &str| ConfirmSsoLinkRequest {
        link_token: pending.link_token.clone(),
        password: password.into(),
        email_token: String::new(),
    };
    assert_code(
        app.confirm_sso_link(confirm("not the password at all"))
            .await,
        Code::PermissionDenied,
    );
    let linked = app.confirm_sso_link(confirm(PASSWORD)).await.unwrap();
    assert_eq!(linked.user.unwrap().id, p.id);
    let tokens = linked.tokens.unwrap();
    assert_eq!(tokens.organization_id, team.org.id);
    // The test provider lists no groups for P and syncs every sign-in.
    assert_eq!(tokens.role, Role::Viewer as i32);
    assert_eq!(identities(&p.client).await, vec![team.org.id.clone()]);
    assert_code(
        app.confirm_sso_link(confirm(PASSWORD)).await,
        Code::FailedPrecondition,
    );

    // Linked: the next sign-in goes straight in.
    let again = app.sso_sign_in("acme", P).await.unwrap();
    assert!(again.pending_link.is_none());
    assert_eq!(again.user.unwrap().id, p.id);

    // The link is audited, and the person told by mail.
    let events = team
        .admin
        .client
        .audit()
        .list_audit_events(ListAuditEventsRequest {
            filter: Some(AuditEventFilter {
                action_prefix: "sso.identity.linked".into(),
                ..AuditEventFilter::default()
            }),
            ..ListAuditEventsRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_id, p.id);
    let mails = std::fs::read_dir(app.mail_dir())
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .filter(|m| m.contains(&format!("To: <{P}>")))
        .filter(|m| m.contains("Subject: Single sign-on was linked"))
        .count();
    assert_eq!(mails, 1);
}

async fn the_mailed_token_also_proves_the_account(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    let p = app.member_with_password(&team.owner).await;
    let pending = app
        .sso_sign_in("acme", P)
        .await
        .unwrap()
        .pending_link
        .unwrap();
    let email_token = app.mailed(P, "Confirmation token").unwrap();
    assert_ne!(email_token, pending.link_token);

    let both = ConfirmSsoLinkRequest {
        link_token: pending.link_token.clone(),
        password: String::new(),
        email_token: email_token.clone(),
    };
    let status = assert_code(app.confirm_sso_link(both).await, Code::InvalidArgument);
    assert_eq!(field_violations(&status), vec!["link_token"]);
    let linked = app
        .confirm_sso_link(ConfirmSsoLinkRequest {
            email_token,
            ..ConfirmSsoLinkRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(linked.user.unwrap().id, p.id);
    // One request, one use: its link token died with it.
    let status = assert_code(
        app.confirm_sso_link(ConfirmSsoLinkRequest {
            link_token: pending.link_token,
            password: PASSWORD.into(),
            email_token: String::new(),
        })
        .await,
        Code::FailedPrecondition,
    );
    assert!(
        status
            .message()
            .contains("sign in through the provider again")
    );
}

/// The filed scenario: P owns Q and is a MEMBER of A; A's admin runs a
/// provider that asserts P's email.
async fn a_providers_session_reaches_nothing_beyond_its_organization(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let a = app.team("acme").await;
    a.admin.set_up_sso(sso_config(&issuer)).await;
    let mut p = app.member_with_password(&a.owner).await;
    let password_session = p.tokens.session_id.clone();
    let q = p.create_org("q-owned").await;
    let q_session = p.client.clone();

    // Without consent the provider gets no session at all.
    let answer = app.sso_sign_in("acme", P).await.unwrap();
    assert!(answer.tokens.is_none() && answer.pending_link.is_some());

    // Even with consent, the session stays within A.
    let sso = app.sso_session("acme", P, PASSWORD).await;
    let orgs = sso
        .org()
        .list_my_organizations(ListMyOrganizationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .memberships;
    assert_eq!(orgs.len(), 1, "Q stays hidden");
    let sessions = sso
        .auth()
        .list_sessions(ListSessionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .sessions;
    assert!(
        sessions.iter().all(|s| s.organization_id == a.org.id),
        "only sessions pinned to A: {sessions:?}"
    );
    assert!(!sessions.iter().any(|s| s.id == password_session));
    // P's owner session in Q survives "revoke all others" and cannot be
    // named either.
    sso.auth()
        .revoke_other_sessions(RevokeOtherSessionsRequest {})
        .await
        .unwrap();
    assert_code(
        sso.auth()
            .revoke_session(RevokeSessionRequest {
                session_id: password_session,
            })
            .await,
        Code::NotFound,
    );
    q_session.auth().get_me(GetMeRequest {}).await.unwrap();
    assert_eq!(p.tokens.organization_id, q.id);
    // The session itself works within A.
    sso.auth().get_me(GetMeRequest {}).await.unwrap();
}

/// Every method that acts on the account itself, from an SSO session.
async fn account_wide_changes_need_the_accounts_own_credential(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let a = app.team("acme").await;
    a.admin.set_up_sso(sso_config(&issuer)).await;
    let p = app.member_with_password(&a.owner).await;
    // B: another organization with its own provider, where P is linked too.
    let mut b_owner = app.user("b-owner").await;
    b_owner.create_org("bee").await;
    b_owner.set_up_sso(sso_config(&issuer)).await;
    p.accept(&b_owner.invite(P, Role::Member).await).await;
    app.sso_link_with_password("bee", P, PASSWORD)
        .await
        .unwrap();
    let mut c_owner = app.user("c-owner").await;
    c_owner.create_org("sea").await;
    let to_c = c_owner.invite(P, Role::Viewer).await;

    let sso = app.sso_session("acme", P, PASSWORD).await;
    let refused = |result: Result<(), tonic::Status>| {
        let status = assert_code(result, Code::PermissionDenied);
        assert!(status.message().contains("sign in again"), "{status:?}");
    };
    refused(
        sso.auth()
            .change_password(ChangePasswordRequest {
                current_password: PASSWORD.into(),
                new_password: "a brand new passphrase".into(),
            })
            .await
            .map(drop),
    );
    refused(
        sso.auth()
            .delete_account(DeleteAccountRequest {
                password: PASSWORD.into(),
            })
            .await
            .map(drop),
    );
    refused(
        sso.auth()
            .update_profile(UpdateProfileRequest {
                display_name: "Renamed by A".into(),
            })
            .await
            .map(drop),
    );
    refused(
        sso.auth()
            .request_email_verification(RequestEmailVerificationRequest {})
            .await
            .map(drop),
    );
    refused(
        sso.org()
            .accept_invitation(AcceptInvitationRequest { token: to_c })
            .await
            .map(drop),
    );
    // Identities: A's only, and B's cannot be unlinked from here.
    assert_eq!(identities(&sso).await, vec![a.org.id.clone()]);
    let all = p
        .client
        .sso()
        .list_my_identities(ListMyIdentitiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .identities;
    assert_eq!(all.len(), 2, "the password session sees both");
    let in_b = all.iter().find(|i| i.organization_id != a.org.id).unwrap();
    refused(
        sso.sso()
            .unlink_identity(UnlinkIdentityRequest {
                identity_id: in_b.id.clone(),
            })
            .await
            .map(drop),
    );
    // The password session still may do all of it.
    p.client
        .auth()
        .update_profile(UpdateProfileRequest {
            display_name: "P".into(),
        })
        .await
        .unwrap();
}

/// Some providers send `email_verified` as a JSON string.
async fn email_verified_may_come_as_a_string(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    let signed_in = app.sso_sign_in("acme", "stringy@acme.test").await.unwrap();
    assert!(signed_in.user_created);
    assert!(signed_in.user.unwrap().email_verified);
    let status = assert_code(
        app.sso_sign_in("acme", "stringno@acme.test").await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("has not verified"), "{status:?}");
}

on_both_backends!(
    a_first_sign_in_that_matches_an_account_waits_for_the_owners_consent,
    the_mailed_token_also_proves_the_account,
    a_providers_session_reaches_nothing_beyond_its_organization,
    account_wide_changes_need_the_accounts_own_credential,
    email_verified_may_come_as_a_string,
);
