//! Creating, reading, changing, deleting and switching organizations.

use tenantry_client::{
    auth::v1::{GetMeRequest, LoginRequest, RefreshRequest, Role},
    org::v1::{
        CreateOrganizationRequest, DeleteOrganizationRequest, GetOrganizationRequest,
        ListMembersRequest, ListMyOrganizationsRequest, LoginPolicy, SwitchOrganizationRequest,
        UpdateOrganizationRequest,
    },
};
use tenantry_tests::{Backend, PASSWORD, TestApp, assert_code, field_violations, on_both_backends};
use tonic::Code;

async fn the_creator_owns_the_organization_and_is_pinned_to_it(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut ann = app.user("ann").await;
    // Before any organization, organization calls need one.
    let status = assert_code(
        ann.client
            .org()
            .get_organization(GetOrganizationRequest {})
            .await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("organization"));
    let org = ann.create_org("acme").await;
    assert_eq!((org.slug.as_str(), org.name.as_str()), ("acme", "Org acme"));
    assert_eq!(ann.tokens.organization_id, org.id);
    assert_eq!(ann.tokens.role, Role::Owner as i32);
    let got = ann
        .client
        .org()
        .get_organization(GetOrganizationRequest {})
        .await
        .unwrap();
    assert_eq!(got.into_inner().organization.unwrap().id, org.id);
    let me = ann
        .client
        .auth()
        .get_me(GetMeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((me.organization_id, me.role), (org.id, Role::Owner as i32));
}

async fn slugs_are_validated_and_unique(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut ann = app.user("ann").await;
    ann.create_org("acme").await;
    let create = |slug: &str, name: &str| CreateOrganizationRequest {
        name: name.into(),
        slug: slug.into(),
    };
    let status = assert_code(
        ann.client
            .org()
            .create_organization(create("Acme!", ""))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["name", "slug"]);
    for bad in ["ab", "-acme", &"a".repeat(64)] {
        assert_code(
            ann.client.org().create_organization(create(bad, "x")).await,
            Code::InvalidArgument,
        );
    }
    let bob = app.user("bob").await;
    let status = assert_code(
        bob.client
            .org()
            .create_organization(create("acme", "Other"))
            .await,
        Code::AlreadyExists,
    );
    assert!(status.message().contains("slug"));
}

async fn admins_update_the_organization(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let update = UpdateOrganizationRequest {
        name: Some("Acme Inc.".into()),
        login_policy: LoginPolicy::Unspecified as i32,
        max_file_size_bytes: Some(1024),
    };
    let org = team
        .admin
        .client
        .org()
        .update_organization(update)
        .await
        .unwrap()
        .into_inner();
    let org = org.organization.unwrap();
    assert_eq!(
        (
            org.name.as_str(),
            org.max_file_size_bytes,
            org.slug.as_str()
        ),
        ("Acme Inc.", 1024, "acme")
    );
    let bad = UpdateOrganizationRequest {
        name: Some(" ".into()),
        login_policy: 42,
        max_file_size_bytes: Some(0),
    };
    let status = assert_code(
        team.admin.client.org().update_organization(bad).await,
        Code::InvalidArgument,
    );
    assert_eq!(
        field_violations(&status),
        vec!["name", "login_policy", "max_file_size_bytes"]
    );
}

async fn deleting_locks_every_session_of_the_organization_out(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let wrong = DeleteOrganizationRequest {
        confirm_slug: "other".into(),
    };
    let status = assert_code(
        team.owner.client.org().delete_organization(wrong).await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["confirm_slug"]);
    let confirm = DeleteOrganizationRequest {
        confirm_slug: "acme".into(),
    };
    team.owner
        .client
        .org()
        .delete_organization(confirm)
        .await
        .unwrap();
    app.advance(chrono::Duration::seconds(1));
    for user in [&team.owner, &team.admin, &team.member, &team.viewer] {
        assert_code(
            user.client
                .org()
                .list_members(ListMembersRequest::default())
                .await,
            Code::Unauthenticated,
        );
        assert_code(
            user.client.auth().get_me(GetMeRequest {}).await,
            Code::Unauthenticated,
        );
    }
    // Signing in again pins to no organization; the deleted one is gone from
    // the list and cannot be asked for.
    let again = app.sign_in(&team.member.email, PASSWORD).await;
    assert_eq!(again.tokens.organization_id, "");
    let mine = again
        .client
        .org()
        .list_my_organizations(ListMyOrganizationsRequest::default())
        .await
        .unwrap();
    assert!(mine.into_inner().memberships.is_empty());
    let pinned = LoginRequest {
        email: team.member.email.clone(),
        password: PASSWORD.into(),
        organization_id: team.org.id.clone(),
    };
    assert_code(
        app.client().await.auth().login(pinned).await,
        Code::NotFound,
    );
}

async fn switching_moves_the_session_and_retires_old_tokens(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut ann = app.user("ann").await;
    let acme = ann.create_org("acme").await;
    let acme_token = ann.tokens.access_token.clone();
    let globex = ann.create_org("globex").await;
    let mine = ann
        .client
        .org()
        .list_my_organizations(ListMyOrganizationsRequest::default())
        .await
        .unwrap();
    let slugs: Vec<String> = mine
        .into_inner()
        .memberships
        .into_iter()
        .map(|m| {
            assert_eq!(m.role, Role::Owner as i32);
            m.organization.unwrap().slug
        })
        .collect();
    assert_eq!(slugs, vec!["acme", "globex"]);
    // The acme token stopped working when the session moved to globex.
    let old = app.client().await.with_token(acme_token);
    assert_code(
        old.org().get_organization(GetOrganizationRequest {}).await,
        Code::Unauthenticated,
    );
    let before_switch = ann.tokens.refresh_token.clone();
    ann.switch_to(&acme.id).await;
    // Another tab refreshing with the pre-switch token at that moment is
    // refused, without ending the session (it is not a stolen copy)...
    let status = assert_code(
        ann.client
            .auth()
            .refresh(RefreshRequest {
                refresh_token: before_switch,
            })
            .await,
        Code::Unauthenticated,
    );
    assert!(
        status.message().contains("changed organization"),
        "{status:?}"
    );
    // ...which goes on.
    let org = ann
        .client
        .org()
        .get_organization(GetOrganizationRequest {})
        .await
        .unwrap();
    assert_eq!(org.into_inner().organization.unwrap().id, acme.id);
    // Signing in again picks the organization used last.
    let again = app.sign_in("ann@example.com", PASSWORD).await;
    assert_eq!(again.tokens.organization_id, acme.id);
    // Another organization's id, or a random one, is not found.
    let bob = app.user("bob").await;
    for id in [globex.id.clone(), uuid::Uuid::now_v7().to_string()] {
        let request = SwitchOrganizationRequest {
            organization_id: id,
        };
        let status = assert_code(
            bob.client.org().switch_organization(request).await,
            Code::NotFound,
        );
        assert_eq!(status.message(), "organization not found");
    }
}

on_both_backends!(
    the_creator_owns_the_organization_and_is_pinned_to_it,
    slugs_are_validated_and_unique,
    admins_update_the_organization,
    deleting_locks_every_session_of_the_organization_out,
    switching_moves_the_session_and_retires_old_tokens,
);
