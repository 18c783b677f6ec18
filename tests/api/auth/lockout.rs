//! Failed sign-ins lock the account for a growing window that ends by itself;
//! unknown emails behave exactly like known ones.

use chrono::Duration;
use tenantry_client::auth::v1::ChangePasswordRequest;
use tenantry_tests::{Backend, PASSWORD, TestApp, assert_code, on_both_backends};
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

async fn login(app: &TestApp, email: &str, password: &str) -> Result<(), tonic::Status> {
    app.try_login(email, password).await
}

fn retry_secs(status: &Status) -> u64 {
    status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo")
        .as_secs()
}

async fn five_failures_lock_the_account_until_the_window_ends(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.register("ann@example.com", PASSWORD).await;
    for _ in 0..4 {
        let status = assert_code(
            login(&app, "ann@example.com", "wrong password!!").await,
            Code::Unauthenticated,
        );
        assert_eq!(status.message(), "invalid email or password");
    }
    // The fifth failure locks; now even the right password waits.
    let status = assert_code(
        login(&app, "ann@example.com", "wrong password!!").await,
        Code::ResourceExhausted,
    );
    assert_eq!(retry_secs(&status), 30);
    let status = assert_code(
        login(&app, "ann@example.com", PASSWORD).await,
        Code::ResourceExhausted,
    );
    assert!(retry_secs(&status) <= 30);
    app.advance(Duration::seconds(31));
    // Unlocked; one more failure locks again for twice as long.
    let status = assert_code(
        login(&app, "ann@example.com", "wrong password!!").await,
        Code::ResourceExhausted,
    );
    assert_eq!(retry_secs(&status), 60);
    app.advance(Duration::seconds(61));
    login(&app, "ann@example.com", PASSWORD)
        .await
        .expect("unlocked");
    // Success cleared the count.
    assert_code(
        login(&app, "ann@example.com", "wrong password!!").await,
        Code::Unauthenticated,
    );
}

async fn unknown_emails_fail_and_lock_like_known_ones(backend: Backend) {
    let app = TestApp::start(backend).await;
    for _ in 0..4 {
        let status = assert_code(
            login(&app, "nobody@example.com", "wrong password!!").await,
            Code::Unauthenticated,
        );
        assert_eq!(status.message(), "invalid email or password");
    }
    let status = assert_code(
        login(&app, "nobody@example.com", "wrong password!!").await,
        Code::ResourceExhausted,
    );
    assert_eq!(retry_secs(&status), 30);
}

async fn public_methods_are_rate_limited_per_ip(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|c| c.limits.public_rate_limit = 12)
        .start()
        .await;
    // A burst of a sixth of the minute's budget passes, then calls wait.
    let mut refused = None;
    for _ in 0..5 {
        if let Err(status) = login(&app, "ann@example.com", "whatever it is").await
            && status.code() == Code::ResourceExhausted
        {
            refused = Some(status);
            break;
        }
    }
    let status = refused.expect("rate limited");
    assert!(status.get_error_details().retry_info().is_some());
}

/// A stolen access token is no way around the lockout: wrong current
/// passwords count like failed sign-ins.
async fn password_checks_in_a_session_count_toward_the_lock(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let change = ChangePasswordRequest {
        current_password: "wrong password!!".into(),
        new_password: "another long passphrase".into(),
    };
    for _ in 0..4 {
        let status = assert_code(
            ann.client.auth().change_password(change.clone()).await,
            Code::PermissionDenied,
        );
        assert_eq!(status.message(), "the current password is wrong");
    }
    assert_code(
        ann.client.auth().change_password(change).await,
        Code::ResourceExhausted,
    );
    // Locked for sign-in and for the right password in a session alike.
    assert_code(
        login(&app, "ann@example.com", PASSWORD).await,
        Code::ResourceExhausted,
    );
    let right = ChangePasswordRequest {
        current_password: PASSWORD.into(),
        new_password: "another long passphrase".into(),
    };
    assert_code(
        ann.client.auth().change_password(right).await,
        Code::ResourceExhausted,
    );
}

on_both_backends!(
    password_checks_in_a_session_count_toward_the_lock,
    five_failures_lock_the_account_until_the_window_ends,
    unknown_emails_fail_and_lock_like_known_ones,
    public_methods_are_rate_limited_per_ip,
);
