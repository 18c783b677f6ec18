//! A forgotten password: a mailed single-use token sets a new one and ends
//! every session; the request tells nobody whether an account exists.

use chrono::Duration;
use tenantry_client::auth::v1::{GetMeRequest, RequestPasswordResetRequest, ResetPasswordRequest};
use tenantry_tests::{Backend, PASSWORD, TestApp, assert_code, field_violations, on_both_backends};
use tonic::Code;
use tonic_types::StatusExt as _;

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn request_reset(app: &TestApp, email: &str) -> Result<(), tonic::Status> {
    app.client()
        .await
        .auth()
        .request_password_reset(RequestPasswordResetRequest {
            email: email.into(),
        })
        .await
        .map(|_| ())
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Result<i64, tonic::Status> {
    app.client()
        .await
        .auth()
        .reset_password(ResetPasswordRequest {
            token: token.into(),
            new_password: password.into(),
        })
        .await
        .map(|r| r.into_inner().revoked_sessions)
}

async fn login(app: &TestApp, email: &str, password: &str) -> Result<(), tonic::Status> {
    app.try_login(email, password).await
}

async fn a_mailed_token_sets_a_new_password_and_ends_every_session(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let other_device = app.sign_in(&ann.email, PASSWORD).await;
    request_reset(&app, "ANN@example.com").await.unwrap();
    let token = app.mailed(&ann.email, "Reset token").expect("a reset mail");
    assert!(token.starts_with("pr_"), "{token}");

    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.unwrap(), 2);
    for device in [&ann, &other_device] {
        let refused = device.client.auth().get_me(GetMeRequest {}).await;
        assert_code(refused, Code::Unauthenticated);
    }
    assert_code(
        login(&app, &ann.email, PASSWORD).await,
        Code::Unauthenticated,
    );
    login(&app, &ann.email, NEW_PASSWORD).await.unwrap();
    // Single use.
    let again = assert_code(
        reset(&app, &token, "yet another passphrase").await,
        Code::NotFound,
    );
    assert_eq!(again.message(), "reset token not found");
}

async fn an_unknown_address_gets_the_same_answer_and_a_notice(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.user("ann").await;
    request_reset(&app, "nobody@example.com").await.unwrap();
    request_reset(&app, "ann@example.com").await.unwrap();
    // Both addresses were mailed; only the account's mail holds a token.
    assert_eq!(app.mailed("nobody@example.com", "Reset token"), None);
    let notice = app.mails_to("nobody@example.com").pop().expect("a notice");
    assert!(notice.contains("there is no account with it"), "{notice}");
    assert!(app.mailed("ann@example.com", "Reset token").is_some());
}

async fn only_the_newest_token_works_and_only_for_30_minutes(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    request_reset(&app, &ann.email).await.unwrap();
    let first = app.mailed(&ann.email, "Reset token").unwrap();
    request_reset(&app, &ann.email).await.unwrap();
    let second = app.mailed(&ann.email, "Reset token").unwrap();
    assert_ne!(first, second);
    assert_code(reset(&app, &first, NEW_PASSWORD).await, Code::NotFound);
    app.advance(Duration::minutes(31));
    assert_code(reset(&app, &second, NEW_PASSWORD).await, Code::NotFound);
    login(&app, &ann.email, PASSWORD).await.unwrap();
}

async fn requests_per_address_are_limited_alike_for_any_address(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.user("ann").await;
    for email in ["ann@example.com", "nobody@example.com"] {
        for _ in 0..3 {
            request_reset(&app, email).await.unwrap();
        }
        let status = assert_code(request_reset(&app, email).await, Code::ResourceExhausted);
        let delay = status
            .get_error_details()
            .retry_info()
            .and_then(|r| r.retry_delay)
            .expect("RetryInfo");
        assert!(
            delay.as_secs() > 0 && delay.as_secs() <= 15 * 60,
            "{delay:?}"
        );
    }
    app.advance(Duration::minutes(16));
    request_reset(&app, "ann@example.com").await.unwrap();
}

async fn a_weak_new_password_is_refused_and_the_token_kept(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    request_reset(&app, &ann.email).await.unwrap();
    let token = app.mailed(&ann.email, "Reset token").unwrap();
    let short = assert_code(reset(&app, &token, "short").await, Code::InvalidArgument);
    assert_eq!(field_violations(&short), ["new_password"]);
    let own_email = assert_code(reset(&app, &token, &ann.email).await, Code::InvalidArgument);
    assert_eq!(field_violations(&own_email), ["new_password"]);
    let no_token = assert_code(reset(&app, "", NEW_PASSWORD).await, Code::InvalidArgument);
    assert_eq!(field_violations(&no_token), ["token"]);
    let bad_email = assert_code(
        request_reset(&app, "not an email").await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&bad_email), ["email"]);
    reset(&app, &token, NEW_PASSWORD).await.unwrap();
}

async fn a_reset_lifts_the_lockout_of_the_account(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    for _ in 0..5 {
        let _ = login(&app, &ann.email, "wrong password!!").await;
    }
    assert_code(
        login(&app, &ann.email, PASSWORD).await,
        Code::ResourceExhausted,
    );
    request_reset(&app, &ann.email).await.unwrap();
    let token = app.mailed(&ann.email, "Reset token").unwrap();
    reset(&app, &token, NEW_PASSWORD).await.unwrap();
    login(&app, &ann.email, NEW_PASSWORD).await.unwrap();
}

on_both_backends!(
    a_mailed_token_sets_a_new_password_and_ends_every_session,
    an_unknown_address_gets_the_same_answer_and_a_notice,
    only_the_newest_token_works_and_only_for_30_minutes,
    requests_per_address_are_limited_alike_for_any_address,
    a_weak_new_password_is_refused_and_the_token_kept,
    a_reset_lifts_the_lockout_of_the_account,
);
