//! What an operator sees on the admin listener (`/metrics`, `/livez`,
//! `/readyz`), and how a server stops.

use std::time::Duration;

use tenantry_client::{auth::v1::LoginRequest, file::v1::ListFilesRequest};
use tenantry_tests::{Backend, PASSWORD, TestApp, on_both_backends};

use crate::uploads_held::stall;

/// GET on the admin listener: status, content type, body.
async fn admin_get(app: &TestApp, path: &str) -> (u16, String, String) {
    let url = format!("http://{}{path}", app.admin_addr());
    let response = reqwest::get(url).await.expect("the admin listener answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// The value of the sample `line` (name and labels, as rendered), if any.
fn sample(text: &str, line: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse().ok())
}

async fn metrics_count_calls_sign_ins_and_refusals(backend: Backend) {
    let app = TestApp::start(backend).await;
    assert_eq!(admin_get(&app, "/livez").await.0, 200);
    let (status, _, body) = admin_get(&app, "/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));

    let ada = app.user("ada").await;
    let mut auth = app.client().await.auth();
    let login = |password: &str| LoginRequest {
        email: ada.email.clone(),
        password: password.into(),
        organization_id: String::new(),
    };
    auth.login(login(PASSWORD)).await.expect("signs in");
    auth.login(login("not the password at all"))
        .await
        .unwrap_err();

    let (status, content_type, text) = admin_get(&app, "/metrics").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let login_ok =
        r#"tenantry_calls_total{method="/tenantry.auth.v1.AuthService/Login",code="OK"}"#;
    assert!(
        sample(&text, login_ok) >= Some(2.0),
        "the user's own sign-in and ours: {text}"
    );
    let wrong = r#"tenantry_calls_total{method="/tenantry.auth.v1.AuthService/Login",code="UNAUTHENTICATED"}"#;
    assert_eq!(sample(&text, wrong), Some(1.0), "{text}");
    let failure = r#"tenantry_sign_ins_total{method="password",outcome="failure"}"#;
    assert_eq!(sample(&text, failure), Some(1.0), "{text}");
    let latency =
        r#"tenantry_call_duration_seconds_count{method="/tenantry.auth.v1.AuthService/Login"}"#;
    assert!(sample(&text, latency) >= Some(3.0), "{text}");
    assert_eq!(
        sample(&text, "tenantry_calls_in_flight"),
        Some(0.0),
        "{text}"
    );
    assert!(
        sample(&text, "tenantry_db_connections") >= Some(1.0),
        "{text}"
    );
    assert!(sample(&text, "tenantry_jobs_due").is_some(), "{text}");
    assert!(
        text.contains("# TYPE tenantry_call_duration_seconds histogram"),
        "{text}"
    );
}

async fn metrics_count_bytes_each_way_and_database_waits(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let data = vec![7_u8; 300_000];
    let file = team.member.upload("bytes.bin", &data).await.file.unwrap();
    assert_eq!(team.member.download(&file.id).await.len(), data.len());

    let (_, _, text) = admin_get(&app, "/metrics").await;
    let received =
        r#"tenantry_received_bytes_total{method="/tenantry.file.v1.FileService/Upload"}"#;
    let up = sample(&text, received).unwrap_or_default();
    // The file, plus framing and the metadata message.
    assert!((300_000.0..301_000.0).contains(&up), "{up} in {text}");
    let sent = r#"tenantry_sent_bytes_total{method="/tenantry.file.v1.FileService/Download"}"#;
    let down = sample(&text, sent).unwrap_or_default();
    assert!((300_000.0..301_000.0).contains(&down), "{down} in {text}");
    let waits = sample(&text, "tenantry_db_wait_seconds_count").unwrap_or_default();
    assert!(
        waits >= 10.0,
        "every query waited for a worker, however briefly: {text}"
    );
    assert!(
        text.contains("# TYPE tenantry_db_wait_seconds histogram"),
        "{text}"
    );
}

/// On the stop signal readiness turns false at once, a call in flight may
/// finish within the grace, and one still running after it is cancelled,
/// leaving nothing behind.
async fn a_stopping_server_is_not_ready_and_cancels_what_outlasts_the_grace(backend: Backend) {
    let mut app = TestApp::builder(backend)
        .configure(|config| {
            config.shutdown_grace = Duration::from_secs(1);
            config.limits.upload_idle_timeout = Duration::from_secs(600);
        })
        .start()
        .await;
    let team = app.team("acme").await;
    let (_open, call) = stall(&team.member, "unfinished.bin").await;
    app.wait_for_open_uploads(&team.org.id, 1).await;

    app.signal_stop(0);
    // As soon as the server has taken the signal (it arrives on another
    // task): no fixed wait, a bounded poll.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, body) = admin_get(&app, "/readyz").await;
        if (status, body.as_str()) == (503, "stopping\n") {
            break;
        }
        assert_eq!(
            (status, body.as_str()),
            (200, "ready\n"),
            "before the signal is taken"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "still ready 5 s after the signal"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.wait_stopped(0).await;
    let cut_off = call
        .await
        .unwrap()
        .expect_err("the upload is cut off at the end of the grace");
    assert_eq!(cut_off.code(), tonic::Code::Unavailable, "{cut_off:?}");
    app.wait_for_no_unfinished_writes().await;

    app.restart().await;
    let client = app
        .client()
        .await
        .with_token(team.member.tokens.access_token.clone());
    let files = client.files().list_files(ListFilesRequest::default()).await;
    assert!(files.unwrap().into_inner().files.is_empty(), "no half file");
}

on_both_backends!(
    metrics_count_calls_sign_ins_and_refusals,
    metrics_count_bytes_each_way_and_database_waits,
    a_stopping_server_is_not_ready_and_cancels_what_outlasts_the_grace,
);
