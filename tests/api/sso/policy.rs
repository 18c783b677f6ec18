//! The organization's login policy: with `sso`, passwords no longer open it
//! to its members (owners keep theirs, so it cannot lock itself out).

use tenantry_client::{
    auth::v1::{LoginRequest, Role},
    org::v1::{
        GetOrganizationRequest, LoginPolicy, SwitchOrganizationRequest, UpdateMfaPolicyRequest,
    },
    sso::v1::DeleteSsoConfigRequest,
};
use tenantry_tests::{
    Backend, PASSWORD, TestApp, assert_code, oidc::CALLBACK, oidc_issuer, on_both_backends,
    sso_config,
};
use tonic::Code;

fn login(email: &str, organization_id: &str) -> LoginRequest {
    LoginRequest {
        email: email.into(),
        password: PASSWORD.into(),
        organization_id: organization_id.into(),
    }
}

async fn an_sso_only_organization_refuses_member_passwords(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let mut team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    team.owner.set_login_policy(LoginPolicy::Sso).await.unwrap();
    let auth = app.client().await.auth();
    // Members' password sessions in the organization ended with the change;
    // the owner's did not.
    let status = assert_code(
        team.admin
            .client
            .org()
            .get_organization(GetOrganizationRequest {})
            .await,
        Code::Unauthenticated,
    );
    assert!(status.message().contains("ended"), "{status:?}");
    team.owner
        .client
        .org()
        .get_organization(GetOrganizationRequest {})
        .await
        .unwrap();

    let status = assert_code(
        auth.clone()
            .login(login(&team.member.email, &team.org.id))
            .await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("single sign-on"));
    // Without naming it, the member signs in pinned to no organization...
    let unpinned = auth
        .clone()
        .login(login(&team.member.email, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unpinned.tokens.unwrap().organization_id, "");
    // ...and a password session cannot switch into it either.
    let member = app.sign_in(&team.member.email, PASSWORD).await;
    let switch = SwitchOrganizationRequest {
        organization_id: team.org.id.clone(),
    };
    assert_code(
        member.client.org().switch_organization(switch).await,
        Code::FailedPrecondition,
    );
    // Owners keep their password.
    let owner = auth
        .clone()
        .login(login(&team.owner.email, &team.org.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(owner.tokens.unwrap().role, Role::Owner as i32);
    // Single sign-on works, and the configuration cannot be removed while
    // it is required.
    assert!(app.sso_sign_in("acme", "bob@acme.test").await.is_ok());
    let status = assert_code(
        team.owner
            .client
            .sso()
            .delete_sso_config(DeleteSsoConfigRequest {})
            .await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("login policy"));
    team.owner.switch_to(&team.org.id).await;
    team.owner
        .set_login_policy(LoginPolicy::Local)
        .await
        .unwrap();
    // With `local`, it is passwords only.
    assert_code(
        app.begin_sso("acme", CALLBACK).await,
        Code::FailedPrecondition,
    );
    team.owner
        .client
        .sso()
        .delete_sso_config(DeleteSsoConfigRequest {})
        .await
        .unwrap();
    assert!(
        auth.clone()
            .login(login(&team.member.email, &team.org.id))
            .await
            .is_ok()
    );
}

/// With a second factor required, a provider that reports none in `amr`
/// (the test provider's password-only sign-in) signs nobody in.
async fn a_required_second_factor_needs_the_providers_amr(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    app.sso_sign_in("acme", "bob@acme.test").await.unwrap();
    let (authenticator, _) = team.owner.enroll_totp(&app).await;
    let access = app
        .sign_in_with_totp(&team.owner.email, &team.org.id, &authenticator)
        .await;
    let owner = team.owner.client.with_token(access);
    let require = UpdateMfaPolicyRequest { require_mfa: true };
    owner.org().update_mfa_policy(require).await.unwrap();
    let refused = assert_code(
        app.sso_sign_in("acme", "bob@acme.test").await,
        Code::PermissionDenied,
    );
    assert!(refused.message().contains("amr"), "{}", refused.message());
}

on_both_backends!(
    an_sso_only_organization_refuses_member_passwords,
    a_required_second_factor_needs_the_providers_amr,
);
