//! Idempotent calls wait out a busy server by themselves, no sooner than it
//! asks; other calls never run twice.

use std::time::Duration;

use tenantry_client::{
    Error, RetryPolicy, Tenantry,
    auth::v1::{GetJwksRequest, GetMeRequest, UpdateProfileRequest},
};
use tenantry_tests::{Backend, TestApp, on_both_backends};
use tonic::Code;

async fn idempotent_calls_wait_out_a_rate_limit_and_others_report_it(backend: Backend) {
    // 60 calls a minute: a burst of 60, then one a second.
    let app = TestApp::builder(backend)
        .configure(|c| c.limits.user_rate_limit = 60)
        .start()
        .await;
    let ann = app.user("ann").await;
    let mut spent = 0;
    while ann.client.auth().get_me(GetMeRequest {}).await.is_ok() {
        spent += 1;
        assert!(spent < 200, "the budget never ran out");
    }
    let retrying = ann.client.with_retry(RetryPolicy::default());

    let update = UpdateProfileRequest {
        display_name: "Ann".into(),
    };
    let refused = Error::from(retrying.auth().update_profile(update).await.unwrap_err());
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused}");
    assert!(refused.is_retryable());
    let asked = refused.retry_delay().expect("RetryInfo");
    assert!(asked <= Duration::from_secs(1), "{asked:?}");
    assert!(refused.request_id().is_some());

    // GetMe is NO_SIDE_EFFECTS: the SDK waits as asked and tries again.
    let me = retrying.auth().get_me(GetMeRequest {}).await;
    assert!(me.is_ok(), "{me:?}");
}

#[tokio::test]
async fn a_server_that_is_not_there_is_reported_as_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let policy = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let nowhere = Tenantry::builder(format!("http://{addr}"))
        .retry(policy)
        .build()
        .unwrap();
    let error = Error::from(
        nowhere
            .auth()
            .get_jwks(GetJwksRequest {})
            .await
            .unwrap_err(),
    );
    assert_eq!(error.code(), Code::Unavailable, "{error}");
    assert!(error.is_retryable());
    assert!(error.request_id().is_none(), "no server answered");

    let connect = Tenantry::builder(format!("http://{addr}")).connect().await;
    assert_eq!(connect.unwrap_err().code(), Code::Unavailable);
}

on_both_backends!(idempotent_calls_wait_out_a_rate_limit_and_others_report_it);
