//! A web app calls Tenantry over grpc-web on https: Chromium verifies the
//! server's certificate (trusting the test's key and nothing else).

use tenantry_client::auth::v1::{
    GetMeRequest, GetMeResponse, LoginRequest, LoginResponse, RegisterRequest,
};
use tenantry_tests::{
    Backend, PASSWORD, TestApp,
    browser::{Browser, Origin},
    on_both_backends,
    tls::TestCa,
};
use tonic::Code;

async fn a_web_app_calls_over_https(backend: Backend) {
    tenantry_tests::require_browser();
    let ca = TestCa::new("test ca");
    let server_pair = ca.server();
    let mut browser = Browser::trusting(&server_pair.spki_sha256).await;
    // Both pages are on the allow-list: only the certificate tells them apart.
    let mut untrusting = Browser::start().await;
    let origins = vec![
        browser.app_origin().to_owned(),
        untrusting.app_origin().to_owned(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = server_pair.write(dir.path(), "server");
    let app = TestApp::builder(backend)
        .trusting(&ca.pem)
        .configure(move |c| {
            c.cors_origins = origins;
            c.tls.tls_cert = Some(cert);
            c.tls.tls_key = Some(key);
        })
        .start()
        .await;
    let server = app.https_url();
    let register = RegisterRequest {
        email: "web@example.com".into(),
        password: PASSWORD.into(),
        display_name: "Web".into(),
    };
    let registered = browser
        .call(
            Origin::App,
            &server,
            "/tenantry.auth.v1.AuthService/Register",
            None,
            &register,
        )
        .await;
    assert_eq!(
        registered.status().code(),
        Code::Ok,
        "{:?}",
        registered.fetch_error
    );
    let login = LoginRequest {
        email: "web@example.com".into(),
        password: PASSWORD.into(),
        organization_id: String::new(),
    };
    let tokens = browser
        .call(
            Origin::App,
            &server,
            "/tenantry.auth.v1.AuthService/Login",
            None,
            &login,
        )
        .await
        .message::<LoginResponse>()
        .tokens
        .unwrap();
    let me: GetMeResponse = browser
        .call(
            Origin::App,
            &server,
            "/tenantry.auth.v1.AuthService/GetMe",
            Some(&tokens.access_token),
            &GetMeRequest {},
        )
        .await
        .message();
    assert_eq!(me.user.unwrap().email, "web@example.com");

    // A browser that does not trust the certificate gets nothing.
    let refused = untrusting
        .call(
            Origin::App,
            &server,
            "/tenantry.auth.v1.AuthService/GetMe",
            None,
            &GetMeRequest {},
        )
        .await;
    assert!(
        refused.fetch_error.is_some(),
        "an untrusted certificate fails the fetch"
    );
}

on_both_backends!(a_web_app_calls_over_https);
