//! Invitations: the only way in. Single use, expiring, revocable, for one
//! verified address.

use chrono::Duration;
use tenantry_client::{
    auth::v1::Role,
    org::v1::{
        AcceptInvitationRequest, InvitationState, ListInvitationsRequest,
        ListMyOrganizationsRequest, RevokeInvitationRequest, UpdateMemberRoleRequest,
    },
};
use tenantry_tests::{Backend, PASSWORD, TestApp, TestUser, assert_code, on_both_backends};
use tonic::{Code, Status};

async fn accept(user: &TestUser, token: &str) -> Result<(), Status> {
    user.client
        .org()
        .accept_invitation(AcceptInvitationRequest {
            token: token.into(),
        })
        .await
        .map(|_| ())
}

async fn an_invited_user_joins_with_the_invited_role(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut owner = app.user("owner").await;
    let org = owner.create_org("acme").await;
    let bob = app.user("bob").await;
    let token = owner.invite("bob@example.com", Role::Member).await;
    // The mail carries the same token.
    assert_eq!(
        app.mailed("bob@example.com", "Invitation token").as_deref(),
        Some(token.as_str())
    );
    accept(&bob, &token).await.unwrap();
    let mine = bob
        .client
        .org()
        .list_my_organizations(ListMyOrganizationsRequest::default())
        .await
        .unwrap();
    let membership = mine.into_inner().memberships.remove(0);
    assert_eq!(
        (membership.organization.unwrap().id, membership.role),
        (org.id, Role::Member as i32)
    );
    // Used once, never again.
    let status = assert_code(accept(&bob, &token).await, Code::FailedPrecondition);
    assert!(status.message().contains("already been used"));
    let invitations = owner
        .client
        .org()
        .list_invitations(ListInvitationsRequest::default())
        .await
        .unwrap();
    assert_eq!(
        invitations.into_inner().invitations[0].state,
        InvitationState::Accepted as i32
    );
}

async fn expired_revoked_and_unknown_invitations_are_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut owner = app.user("owner").await;
    owner.create_org("acme").await;
    let bob = app.user("bob").await;

    let revoked = owner.invite("bob@example.com", Role::Viewer).await;
    let id = owner
        .client
        .org()
        .list_invitations(ListInvitationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .invitations[0]
        .id
        .clone();
    owner
        .client
        .org()
        .revoke_invitation(RevokeInvitationRequest {
            invitation_id: id.clone(),
        })
        .await
        .unwrap();
    assert!(
        assert_code(accept(&bob, &revoked).await, Code::FailedPrecondition)
            .message()
            .contains("revoked")
    );
    assert_code(
        owner
            .client
            .org()
            .revoke_invitation(RevokeInvitationRequest { invitation_id: id })
            .await,
        Code::FailedPrecondition,
    );

    let expiring = owner.invite("bob@example.com", Role::Viewer).await;
    app.advance(Duration::days(8));
    let bob = app.sign_in("bob@example.com", PASSWORD).await;
    assert!(
        assert_code(accept(&bob, &expiring).await, Code::FailedPrecondition)
            .message()
            .contains("expired")
    );

    for junk in ["inv_0000", "rt_abc", &expiring.replace("inv_", "inv_f")] {
        assert_code(accept(&bob, junk).await, Code::NotFound);
    }
}

async fn only_the_invited_verified_address_may_accept(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut owner = app.user("owner").await;
    owner.create_org("acme").await;
    let eve = app.user("eve").await;
    let token = owner.invite("bob@example.com", Role::Admin).await;
    let status = assert_code(accept(&eve, &token).await, Code::PermissionDenied);
    assert!(status.message().contains("another email"));
    // Bob has the address but has not proven it yet.
    app.register("bob@example.com", PASSWORD).await;
    let unverified = app.sign_in("bob@example.com", PASSWORD).await;
    let status = assert_code(accept(&unverified, &token).await, Code::FailedPrecondition);
    assert!(status.message().contains("verify"));
    app.verify_email("bob@example.com").await;
    accept(&unverified, &token).await.unwrap();
}

async fn members_are_not_invited_twice(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    // Whatever the case it is written in, the address is a member's.
    for email in [team.member.email.clone(), team.member.email.to_uppercase()] {
        let request = tenantry_client::org::v1::CreateInvitationRequest {
            email,
            role: Role::Viewer as i32,
        };
        assert_code(
            team.admin.client.org().create_invitation(request).await,
            Code::AlreadyExists,
        );
    }
    // A new invitation to a pending address replaces the old one.
    let first = team.admin.invite("new@example.com", Role::Viewer).await;
    let second = team.admin.invite("new@example.com", Role::Member).await;
    let newcomer = app.user("new").await;
    assert_code(accept(&newcomer, &first).await, Code::FailedPrecondition);
    accept(&newcomer, &second).await.unwrap();
}

async fn demote(team: &tenantry_tests::Team, user: &TestUser, role: Role) {
    team.owner
        .client
        .org()
        .update_member_role(UpdateMemberRoleRequest {
            user_id: user.id.clone(),
            role: role as i32,
        })
        .await
        .unwrap();
}

async fn an_invitation_lapses_with_its_inviters_authority(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let as_admin = team.admin.invite("puppet@example.com", Role::Admin).await;
    let as_member = team.admin.invite("helper@example.com", Role::Member).await;
    let as_viewer = team.admin.invite("watcher@example.com", Role::Viewer).await;
    // Demoted to MEMBER, the inviter can create no invitation at all, so
    // none of theirs holds — not even one for a role below their own.
    demote(&team, &team.admin, Role::Member).await;
    let puppet = app.user("puppet").await;
    let status = assert_code(accept(&puppet, &as_admin).await, Code::FailedPrecondition);
    assert!(status.message().contains("new invitation"), "{status:?}");
    let helper = app.user("helper").await;
    assert_code(accept(&helper, &as_member).await, Code::FailedPrecondition);
    demote(&team, &team.admin, Role::Viewer).await;
    let watcher = app.user("watcher").await;
    assert_code(accept(&watcher, &as_viewer).await, Code::FailedPrecondition);
    // Promoted back, their invitations hold again.
    demote(&team, &team.admin, Role::Admin).await;
    accept(&watcher, &as_viewer).await.unwrap();
}

/// An invitation to an address in another case is accepted by the account
/// registered with it.
async fn invitations_compare_addresses_without_case(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let token = team.admin.invite("BOB@Example.com", Role::Member).await;
    let bob = app.user("bob").await;
    accept(&bob, &token).await.unwrap();
}

/// Concurrent invitations to one address leave exactly one pending (the
/// others were replaced, or told to retry).
async fn concurrent_invitations_leave_one_pending(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let calls = (0..8).map(|_| {
        let client = team.admin.client.clone();
        async move {
            client
                .org()
                .create_invitation(tenantry_client::org::v1::CreateInvitationRequest {
                    email: "Racer@example.com".into(),
                    role: Role::Member as i32,
                })
                .await
        }
    });
    for answer in futures::future::join_all(calls).await {
        if let Err(status) = answer {
            assert_eq!(status.code(), Code::Aborted, "{status:?}");
        }
    }
    let pending = team
        .admin
        .client
        .org()
        .list_invitations(ListInvitationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .invitations
        .into_iter()
        .filter(|i| {
            i.state() == InvitationState::Pending
                && i.email.eq_ignore_ascii_case("racer@example.com")
        })
        .count();
    assert_eq!(pending, 1);
}

on_both_backends!(
    concurrent_invitations_leave_one_pending,
    an_invitation_lapses_with_its_inviters_authority,
    invitations_compare_addresses_without_case,
    an_invited_user_joins_with_the_invited_role,
    expired_revoked_and_unknown_invitations_are_refused,
    only_the_invited_verified_address_may_accept,
    members_are_not_invited_twice,
);
