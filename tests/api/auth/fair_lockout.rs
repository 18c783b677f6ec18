//! The lockout cannot be turned on a victim: an attacker who knows an
//! address locks out themselves, not the owner. The attacks come from
//! addresses a trusted proxy names (`X-Forwarded-For`).

use tenantry_client::auth::v1::{LoginRequest, RequestPasswordResetRequest, ResetPasswordRequest};
use tenantry_tests::{Backend, PASSWORD, TestApp, assert_code, on_both_backends};
use tonic::{Code, Status};

const WRONG: &str = "wrong password!!";

async fn app(
    backend: Backend,
    tweak: impl FnOnce(&mut tenantry_server::config::Config) + 'static,
) -> TestApp {
    TestApp::builder(backend)
        .configure(|config| {
            config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            tweak(config);
        })
        .start()
        .await
}

/// Signs in as if from `address`.
async fn login_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
) -> Result<(), Status> {
    let mut request = tonic::Request::new(LoginRequest {
        email: email.into(),
        password: password.into(),
        organization_id: String::new(),
    });
    request
        .metadata_mut()
        .insert("x-forwarded-for", address.parse().unwrap());
    app.client().await.auth().login(request).await.map(|_| ())
}

async fn an_attacker_locks_out_their_own_address_not_the_owner(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let ann = app.user("ann").await;
    for _ in 0..5 {
        let _ = login_from(&app, "203.0.113.66", &ann.email, WRONG).await;
    }
    assert_code(
        login_from(&app, "203.0.113.66", &ann.email, PASSWORD).await,
        Code::ResourceExhausted,
    );
    // The owner, from their own address (and from a new one), gets in.
    login_from(&app, "127.0.0.1", &ann.email, PASSWORD)
        .await
        .unwrap();
    login_from(&app, "198.51.100.7", &ann.email, PASSWORD)
        .await
        .unwrap();
}

async fn spraying_one_address_over_many_accounts_locks_that_address(backend: Backend) {
    let app = app(backend, |c| c.limits.lockout_address_threshold = 8).await;
    let ann = app.user("ann").await;
    for n in 0..8 {
        let victim = format!("user{n}@example.com");
        let _ = login_from(&app, "203.0.113.66", &victim, WRONG).await;
    }
    // Locked out of every account, even with a right password…
    assert_code(
        login_from(&app, "203.0.113.66", &ann.email, PASSWORD).await,
        Code::ResourceExhausted,
    );
    // …while everyone else is not.
    login_from(&app, "198.51.100.7", &ann.email, PASSWORD)
        .await
        .unwrap();
}

/// Many addresses, each below its own limit, push the account over its
/// ceiling: new addresses then wait, the owner's known ones do not.
async fn a_distributed_attack_slows_new_addresses_only(backend: Backend) {
    let app = app(backend, |c| c.limits.lockout_account_threshold = 12).await;
    let ann = app.user("ann").await;
    login_from(&app, "198.51.100.7", &ann.email, PASSWORD)
        .await
        .unwrap();
    for n in 0..12 {
        let attacker = format!("203.0.113.{n}");
        let _ = login_from(&app, &attacker, &ann.email, WRONG).await;
    }
    let refused = assert_code(
        login_from(&app, "192.0.2.1", &ann.email, PASSWORD).await,
        Code::ResourceExhausted,
    );
    assert!(
        refused.message().contains("try again in"),
        "{}",
        refused.message()
    );
    // Addresses the account signed in from before are not slowed.
    login_from(&app, "198.51.100.7", &ann.email, PASSWORD)
        .await
        .unwrap();
    login_from(&app, "127.0.0.1", &ann.email, PASSWORD)
        .await
        .unwrap();
    // And a reset by mail lifts it for the new address too.
    let client = app.client().await;
    client
        .auth()
        .request_password_reset(RequestPasswordResetRequest {
            email: ann.email.clone(),
        })
        .await
        .unwrap();
    let token = app.mailed(&ann.email, "Reset token").unwrap();
    let reset = ResetPasswordRequest {
        token,
        new_password: "a brand new passphrase".into(),
    };
    client.auth().reset_password(reset).await.unwrap();
    login_from(&app, "192.0.2.1", &ann.email, "a brand new passphrase")
        .await
        .unwrap();
}

/// The owner hears of a sign-in from an address their account was never
/// signed in from (not of their first sign-in, nor of a known address).
async fn a_sign_in_from_a_new_address_mails_a_notice(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let ann = app.user("ann").await;
    assert_eq!(
        app.mails_to(&ann.email).len(),
        1,
        "the verification mail only"
    );
    login_from(&app, "127.0.0.1", &ann.email, PASSWORD)
        .await
        .unwrap();
    assert_eq!(app.mails_to(&ann.email).len(), 1);
    login_from(&app, "203.0.113.9", &ann.email, PASSWORD)
        .await
        .unwrap();
    assert_eq!(app.mails_to(&ann.email).len(), 2);
    let text = app.mails_to(&ann.email).pop().unwrap();
    assert!(
        text.contains("Subject: New sign-in to your account"),
        "{text}"
    );
    assert!(text.contains("203.0.113.9"), "{text}");
    login_from(&app, "203.0.113.9", &ann.email, PASSWORD)
        .await
        .unwrap();
    assert_eq!(app.mails_to(&ann.email).len(), 2, "a known address now");
}

on_both_backends!(
    a_sign_in_from_a_new_address_mails_a_notice,
    an_attacker_locks_out_their_own_address_not_the_owner,
    spraying_one_address_over_many_accounts_locks_that_address,
    a_distributed_attack_slows_new_addresses_only,
);
