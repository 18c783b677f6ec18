//! The sign-in flow against a real provider, and every way it must refuse:
//! replayed or expired state, a wrong nonce, a tampered ID token, a
//! foreign issuer, a redirect URI not allowed, a provider that is down.

use chrono::Duration;
use tenantry_client::{
    audit::v1::{AuditEventFilter, ListAuditEventsRequest},
    auth::v1::{GetMeRequest, Role},
    sso::v1::{ListMyIdentitiesRequest, SsoConfig, UpsertSsoConfigRequest},
};
use tenantry_tests::{
    Backend, TestApp, TestUser, assert_code, field_violations,
    oidc::{self, CALLBACK, OTHER_CALLBACK, TAMPERED_CLIENT_ID},
    oidc_issuer, on_both_backends, sso_config,
};
use tonic::Code;

/// The reasons of failed `sso.login` events, oldest first.
async fn failures(admin: &TestUser) -> Vec<String> {
    let request = ListAuditEventsRequest {
        filter: Some(AuditEventFilter {
            action_prefix: "sso.login".into(),
            ..Default::default()
        }),
        page_size: 100,
        ..Default::default()
    };
    let events = admin
        .client
        .audit()
        .list_audit_events(request)
        .await
        .unwrap()
        .into_inner()
        .events;
    events
        .iter()
        .rev()
        .filter(|e| e.outcome == 2)
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.details_json).unwrap()["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn a_first_sign_in_provisions_and_the_next_finds_the_account(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;

    let first = app.sso_sign_in("acme", "alice@acme.test").await.unwrap();
    assert!(first.user_created);
    let user = first.user.unwrap();
    assert_eq!(
        (
            user.email.as_str(),
            user.display_name.as_str(),
            user.email_verified,
            user.has_password
        ),
        ("alice@acme.test", "Alice Admin", true, false)
    );
    let tokens = first.tokens.unwrap();
    assert_eq!(
        (tokens.organization_id.as_str(), tokens.role),
        (team.org.id.as_str(), Role::Admin as i32),
        "admins → ADMIN"
    );
    let alice = app.client().await.with_token(tokens.access_token);
    let me = alice
        .auth()
        .get_me(GetMeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.user.unwrap().id, user.id);
    let identities = alice
        .sso()
        .list_my_identities(ListMyIdentitiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .identities;
    assert_eq!(identities.len(), 1);
    assert_eq!(
        (
            identities[0].issuer.as_str(),
            identities[0].subject.as_str()
        ),
        (issuer.as_str(), "alice@acme.test")
    );

    let again = app.sso_sign_in("acme", "alice@acme.test").await.unwrap();
    assert!(!again.user_created);
    assert_eq!(
        again.user.unwrap().id,
        user.id,
        "the identity finds the same account"
    );
}

async fn a_state_is_single_use_and_expires(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    let url = app.begin_sso("acme", CALLBACK).await.unwrap();
    let callback = oidc::browser_sign_in(&url, "bob@acme.test").await.unwrap();
    app.complete_sso(&callback).await.unwrap();
    let status = assert_code(app.complete_sso(&callback).await, Code::FailedPrecondition);
    assert!(status.message().contains("start again"));

    let url = app.begin_sso("acme", CALLBACK).await.unwrap();
    let callback = oidc::browser_sign_in(&url, "bob@acme.test").await.unwrap();
    app.advance(Duration::minutes(11));
    assert_code(app.complete_sso(&callback).await, Code::FailedPrecondition);
    let admin = app.sign_in(&team.admin.email, &team.admin.password).await;
    assert_eq!(failures(&admin).await, ["state_replayed", "state_expired"]);
}

async fn a_wrong_nonce_or_a_tampered_token_does_not_verify(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;

    // The browser's request carries another nonce than the one we derived.
    let url = app.begin_sso("acme", CALLBACK).await.unwrap();
    let nonce = url
        .split("nonce=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let forged_url = url.replace(&format!("nonce={nonce}"), "nonce=chosen-by-an-attacker");
    let callback = oidc::browser_sign_in(&forged_url, "bob@acme.test")
        .await
        .unwrap();
    let status = assert_code(app.complete_sso(&callback).await, Code::Unauthenticated);
    assert!(status.message().contains("did not verify"));

    // The provider's answer was altered after it signed it.
    let tampered = SsoConfig {
        client_id: TAMPERED_CLIENT_ID.into(),
        ..sso_config(&issuer)
    };
    team.admin
        .client
        .sso()
        .upsert_sso_config(UpsertSsoConfigRequest {
            config: Some(tampered),
            // Another client id: the secret is given again.
            client_secret: oidc::CLIENT_SECRET.into(),
        })
        .await
        .unwrap();
    assert_code(
        app.sso_sign_in("acme", "bob@acme.test").await,
        Code::Unauthenticated,
    );

    // An `iss` that is not the provider's (mix-up attack, RFC 9207).
    team.admin.set_up_sso(sso_config(&issuer)).await;
    let url = app.begin_sso("acme", CALLBACK).await.unwrap();
    let mut callback = oidc::browser_sign_in(&url, "bob@acme.test").await.unwrap();
    callback.iss = "https://evil.example.com".into();
    assert_code(app.complete_sso(&callback).await, Code::Unauthenticated);

    let admin = app.sign_in(&team.admin.email, &team.admin.password).await;
    assert_eq!(
        failures(&admin).await,
        ["id_token_invalid", "id_token_invalid", "id_token_invalid"]
    );
}

async fn redirect_uris_must_be_allowed(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    for uri in [OTHER_CALLBACK, "https://evil.example.com/callback"] {
        let status = assert_code(app.begin_sso("acme", uri).await, Code::InvalidArgument);
        assert_eq!(field_violations(&status), vec!["redirect_uri"]);
    }
    // Unknown organizations and ones without SSO look alike.
    let a = assert_code(app.begin_sso("nobody-here", CALLBACK).await, Code::NotFound);
    let other = app.team("globex").await;
    let b = assert_code(app.begin_sso("globex", CALLBACK).await, Code::NotFound);
    assert_eq!(a.message(), b.message());
    drop(other);
}

async fn a_provider_that_is_down_is_unavailable(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let down = SsoConfig {
        issuer_url: "http://127.0.0.1:9".into(),
        ..sso_config(&issuer)
    };
    team.admin.set_up_sso(down).await;
    let status = assert_code(app.begin_sso("acme", CALLBACK).await, Code::Unavailable);
    assert!(
        status.message().contains("http://127.0.0.1:9"),
        "{status:?}"
    );
}

on_both_backends!(
    a_first_sign_in_provisions_and_the_next_finds_the_account,
    a_state_is_single_use_and_expires,
    a_wrong_nonce_or_a_tampered_token_does_not_verify,
    redirect_uris_must_be_allowed,
    a_provider_that_is_down_is_unavailable,
);
