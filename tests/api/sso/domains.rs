//! An organization's provider may create or link accounts only in domains
//! the organization proved it owns, with a DNS TXT record the test's own
//! DNS server (hickory-server) serves.

use tenantry_client::sso::v1::{
    AddSsoDomainRequest, ListSsoDomainsRequest, RemoveSsoDomainRequest, UpsertSsoConfigRequest,
    VerifySsoDomainRequest,
};
use tenantry_tests::{
    Backend, TestApp, TestUser, assert_code, dns, field_violations, oidc_issuer, on_both_backends,
    sso_config,
};
use tonic::Code;

async fn add(admin: &TestUser, domain: &str) -> Result<(String, String), tonic::Status> {
    let added = admin
        .client
        .sso()
        .add_sso_domain(AddSsoDomainRequest {
            domain: domain.into(),
        })
        .await?
        .into_inner()
        .domain
        .unwrap();
    assert!(!added.verified);
    Ok((added.record_name, added.record_value))
}

async fn verify(admin: &TestUser, domain: &str) -> Result<bool, tonic::Status> {
    let request = VerifySsoDomainRequest {
        domain: domain.into(),
    };
    let verified = admin.client.sso().verify_sso_domain(request).await?;
    Ok(verified.into_inner().domain.unwrap().verified)
}

/// Saves the test provider's configuration without proving any domain.
async fn configure_only(admin: &TestUser) {
    let request = UpsertSsoConfigRequest {
        config: Some(sso_config(&oidc_issuer())),
        client_secret: tenantry_tests::oidc::CLIENT_SECRET.into(),
    };
    admin.client.sso().upsert_sso_config(request).await.unwrap();
    admin
        .set_login_policy(tenantry_client::org::v1::LoginPolicy::Both)
        .await
        .unwrap();
}

async fn an_unproven_domain_gets_no_accounts_until_its_record_is_published(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    configure_only(&team.admin).await;
    let refused = assert_code(
        app.sso_sign_in("acme", "bob@acme.test").await,
        Code::PermissionDenied,
    );
    assert!(
        refused.message().contains("verified"),
        "{}",
        refused.message()
    );

    let (name, value) = add(&team.admin, "ACME.test.").await.unwrap();
    assert_eq!(name, "_tenantry-challenge.acme.test");
    // Not published yet (other tests' organizations may have published
    // theirs), then someone else's value: still not verified.
    let missing = assert_code(
        verify(&team.admin, "acme.test").await,
        Code::FailedPrecondition,
    );
    assert!(missing.message().contains(&name), "{}", missing.message());
    dns::shared().publish(&name, "tenantry-domain-verification=someone-else");
    let wrong = assert_code(
        verify(&team.admin, "acme.test").await,
        Code::FailedPrecondition,
    );
    assert!(
        wrong.message().contains("someone-else"),
        "{}",
        wrong.message()
    );
    dns::shared().publish(&name, &value);
    assert!(verify(&team.admin, "acme.test").await.unwrap());

    let created = app.sso_sign_in("acme", "bob@acme.test").await.unwrap();
    assert!(created.user_created);
    let listed = team
        .admin
        .client
        .sso()
        .list_sso_domains(ListSsoDomainsRequest {})
        .await
        .unwrap()
        .into_inner()
        .domains;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].verified && listed[0].verify_time.is_some());
}

/// Giving a domain up stops new accounts, not the people already linked.
async fn removing_a_domain_stops_new_accounts_only(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&oidc_issuer())).await;
    app.sso_sign_in("acme", "bob@acme.test").await.unwrap();
    let remove = RemoveSsoDomainRequest {
        domain: "acme.test".into(),
    };
    team.admin
        .client
        .sso()
        .remove_sso_domain(remove)
        .await
        .unwrap();
    app.sso_sign_in("acme", "bob@acme.test").await.unwrap();
    let refused = app.sso_sign_in("acme", "alice@acme.test").await;
    assert_code(refused, Code::PermissionDenied);
}

async fn claims_are_checked_and_only_admins_make_them(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bad = assert_code(
        add(&team.admin, "not a domain").await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&bad), ["domain"]);
    add(&team.admin, "acme.test").await.unwrap();
    assert_code(add(&team.admin, "acme.test").await, Code::AlreadyExists);
    assert_code(
        add(&team.member, "other.test").await,
        Code::PermissionDenied,
    );
    assert_code(verify(&team.admin, "unknown.test").await, Code::NotFound);
}

on_both_backends!(
    an_unproven_domain_gets_no_accounts_until_its_record_is_published,
    removing_a_domain_stops_new_accounts_only,
    claims_are_checked_and_only_admins_make_them,
);
