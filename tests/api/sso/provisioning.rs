//! Who gets in, as whom, with which role: provisioning on and off, exact
//! domains, linking only existing members, group → role mapping and sync.

use tenantry_client::{
    auth::v1::Role,
    org::v1::{CreateOrganizationRequest, SwitchOrganizationRequest, UpdateMemberRoleRequest},
    sso::v1::{ListMyIdentitiesRequest, SyncMode, UnlinkIdentityRequest, UpsertSsoConfigRequest},
};
use tenantry_tests::{
    Backend, PASSWORD, TestApp, assert_code, oidc_issuer, on_both_backends, sso_config,
};
use tonic::Code;

async fn domains_match_exactly_and_emails_must_be_verified(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    for login in ["eve@evilacme.test", "dan@sub.acme.test"] {
        let status = assert_code(app.sso_sign_in("acme", login).await, Code::PermissionDenied);
        assert!(status.message().contains("domain"), "{login}: {status:?}");
    }
    let status = assert_code(
        app.sso_sign_in("acme", "carol@acme.test").await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("verified"));
    assert!(
        app.sso_sign_in("acme", "bob@acme.test")
            .await
            .unwrap()
            .user_created
    );
}

async fn without_provisioning_only_members_get_in(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let mut config = sso_config(&issuer);
    let rules = config.provisioning.as_mut().unwrap();
    rules.auto_provision = false;
    rules.sync = SyncMode::AtCreation as i32;
    team.admin.set_up_sso(config).await;
    let status = assert_code(
        app.sso_sign_in("acme", "bob@acme.test").await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("invitation"));
    // An existing member with the same verified address is linked (with
    // their consent), keeping their role (sync at creation only).
    let invited = app.member_with_password(&team.owner).await;
    let signed_in = app
        .sso_link_with_password("acme", "member@acme.test", PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        signed_in.user.unwrap().id,
        invited.id,
        "linked to the existing account"
    );
    assert_eq!(signed_in.tokens.unwrap().role, Role::Member as i32);
}

async fn an_existing_account_outside_the_organization_is_not_linked(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    // Someone registered this address elsewhere; SSO must not take it over.
    app.register("outsider@acme.test", PASSWORD).await;
    app.verify_email("outsider@acme.test").await;
    let status = assert_code(
        app.sso_sign_in("acme", "outsider@acme.test").await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("not a member"));
}

async fn roles_follow_groups_and_sync_on_every_login(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    // olga's only group is `owners`, mapped to nothing: the default role.
    let olga = app.sso_sign_in("acme", "olga@acme.test").await.unwrap();
    assert_eq!(olga.tokens.unwrap().role, Role::Viewer as i32);
    let alice = app.sso_sign_in("acme", "alice@acme.test").await.unwrap();
    let alice_id = alice.user.unwrap().id;
    assert_eq!(alice.tokens.unwrap().role, Role::Admin as i32);
    // An owner demotes her by hand; the next sign-in syncs her back.
    let demote = UpdateMemberRoleRequest {
        user_id: alice_id.clone(),
        role: Role::Viewer as i32,
    };
    team.owner
        .client
        .org()
        .update_member_role(demote.clone())
        .await
        .unwrap();
    assert_eq!(
        role_at_sign_in(&app, "alice@acme.test").await,
        Role::Admin as i32
    );
    // With sync at creation only, a hand-made change stays.
    set_sync(&team.admin, &issuer, SyncMode::AtCreation).await;
    team.owner
        .client
        .org()
        .update_member_role(demote)
        .await
        .unwrap();
    assert_eq!(
        role_at_sign_in(&app, "alice@acme.test").await,
        Role::Viewer as i32
    );
    // Owners are never changed by sync.
    set_sync(&team.admin, &issuer, SyncMode::EveryLogin).await;
    let promote = UpdateMemberRoleRequest {
        user_id: alice_id,
        role: Role::Owner as i32,
    };
    team.owner
        .client
        .org()
        .update_member_role(promote)
        .await
        .unwrap();
    assert_eq!(
        role_at_sign_in(&app, "alice@acme.test").await,
        Role::Owner as i32
    );
}

async fn the_last_way_in_cannot_be_unlinked(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    let bob = app.sso_sign_in("acme", "bob@acme.test").await.unwrap();
    let bob = app
        .client()
        .await
        .with_token(bob.tokens.unwrap().access_token);
    let identity = bob
        .sso()
        .list_my_identities(ListMyIdentitiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .identities
        .remove(0);
    let unlink = UnlinkIdentityRequest {
        identity_id: identity.id.clone(),
    };
    let status = assert_code(
        bob.sso().unlink_identity(unlink.clone()).await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("only way"));
    // Someone else's identity id is not found.
    let status = assert_code(
        team.admin.client.sso().unlink_identity(unlink).await,
        Code::NotFound,
    );
    assert_eq!(status.message(), "identity not found");
    // A member who also has a password may unlink.
    app.member_with_password(&team.owner).await;
    let member = app.sso_session("acme", "member@acme.test", PASSWORD).await;
    let identity = member
        .sso()
        .list_my_identities(ListMyIdentitiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .identities
        .remove(0);
    member
        .sso()
        .unlink_identity(UnlinkIdentityRequest {
            identity_id: identity.id,
        })
        .await
        .unwrap();
    let left = member
        .sso()
        .list_my_identities(ListMyIdentitiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .identities;
    assert!(left.is_empty());
}

/// An admin may point the provider at one they run: what its answers open
/// must stay inside the organization and below its owners.
async fn a_providers_sessions_stay_in_the_organization_and_below_owners(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    let member = app.member_with_password(&team.owner).await;
    let mut elsewhere = app.user("elsewhere-owner").await;
    let other = elsewhere.create_org("elsewhere").await;
    member
        .accept(&elsewhere.invite("member@acme.test", Role::Viewer).await)
        .await;

    // Linked by email through acme's provider: that session cannot move to
    // the member's other organization, nor make a new one.
    let session = app.sso_session("acme", "member@acme.test", PASSWORD).await;
    let to_other = SwitchOrganizationRequest {
        organization_id: other.id.clone(),
    };
    let status = assert_code(
        session.org().switch_organization(to_other.clone()).await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("sign in again"), "{status:?}");
    assert_code(
        session
            .org()
            .create_organization(CreateOrganizationRequest {
                name: "Mine".into(),
                slug: "mine".into(),
            })
            .await,
        Code::PermissionDenied,
    );
    // Their password session still can.
    member
        .client
        .org()
        .switch_organization(to_other)
        .await
        .unwrap();

    // An owner's account is never linked by email.
    app.register("outsider@acme.test", PASSWORD).await;
    app.verify_email("outsider@acme.test").await;
    let outsider = app.sign_in("outsider@acme.test", PASSWORD).await;
    outsider
        .accept(&team.owner.invite("outsider@acme.test", Role::Owner).await)
        .await;
    let status = assert_code(
        app.sso_sign_in("acme", "outsider@acme.test").await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("owner"), "{status:?}");
}

/// The role of the token a sign-in through the provider returns.
async fn role_at_sign_in(app: &TestApp, login: &str) -> i32 {
    app.sso_sign_in("acme", login)
        .await
        .unwrap()
        .tokens
        .unwrap()
        .role
}

/// Saves the test configuration with `sync` (keeping the stored secret).
async fn set_sync(admin: &tenantry_tests::TestUser, issuer: &str, sync: SyncMode) {
    let mut config = sso_config(issuer);
    config.provisioning.as_mut().unwrap().sync = sync as i32;
    admin
        .client
        .sso()
        .upsert_sso_config(UpsertSsoConfigRequest {
            config: Some(config),
            client_secret: String::new(),
        })
        .await
        .unwrap();
}

on_both_backends!(
    domains_match_exactly_and_emails_must_be_verified,
    without_provisioning_only_members_get_in,
    an_existing_account_outside_the_organization_is_not_linked,
    roles_follow_groups_and_sync_on_every_login,
    the_last_way_in_cannot_be_unlinked,
    a_providers_sessions_stay_in_the_organization_and_below_owners,
);
