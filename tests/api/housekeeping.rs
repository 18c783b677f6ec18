//! The housekeeping job deletes what has expired — and nothing live.

use chrono::Duration;
use tenantry_client::auth::v1::{
    GetMeRequest, LoginRequest, LogoutRequest, RequestPasswordResetRequest,
};
use tenantry_tests::{Backend, TestApp, on_both_backends};

async fn expired_rows_go_and_live_ones_stay(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    ann.client.auth().logout(LogoutRequest {}).await.unwrap();
    let client = app.client().await;
    let reset = RequestPasswordResetRequest {
        email: ann.email.clone(),
    };
    client.auth().request_password_reset(reset).await.unwrap();
    for _ in 0..3 {
        let wrong = LoginRequest {
            email: ann.email.clone(),
            password: "wrong password!!".into(),
            organization_id: String::new(),
        };
        let _ = client.auth().login(wrong).await;
    }
    // Nothing has expired yet.
    let swept = tenantry_server::housekeeping::sweep(app.state())
        .await
        .unwrap();
    assert_eq!(
        swept.sessions + swept.password_resets + swept.sign_in_counters,
        0,
        "{swept:?}"
    );

    app.advance(Duration::days(31));
    let bob = app.user("bob").await;
    let swept = tenantry_server::housekeeping::sweep(app.state())
        .await
        .unwrap();
    assert_eq!(swept.sessions, 1, "ann's ended session: {swept:?}");
    assert_eq!(swept.password_resets, 1, "{swept:?}");
    assert_eq!(
        swept.email_verifications, 1,
        "ann's expired; bob's stays: {swept:?}"
    );
    assert_eq!(
        swept.sign_in_counters, 3,
        "account, address and pair: {swept:?}"
    );
    assert_eq!(swept.rate_windows, 1, "{swept:?}");
    // Bob's new session is live.
    bob.client.auth().get_me(GetMeRequest {}).await.unwrap();
}

/// It runs as a recurring job on its own.
async fn it_runs_as_a_recurring_job(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.advance(Duration::hours(2));
    assert_eq!(app.run_jobs().await, 2, "the store sweep and housekeeping");
    assert_eq!(app.run_jobs().await, 0, "each comes back an interval later");
}

on_both_backends!(
    expired_rows_go_and_live_ones_stay,
    it_runs_as_a_recurring_job
);
