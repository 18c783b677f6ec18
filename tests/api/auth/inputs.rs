//! Bad input gets INVALID_ARGUMENT with the offending fields named — never
//! INTERNAL, never a panic.

use tenantry_client::auth::v1::{LoginRequest, RegisterRequest, RegisterResponse};
use tenantry_tests::{Backend, TestApp, assert_code, field_violations, on_both_backends};
use tonic::Code;

fn register(email: &str, password: &str) -> RegisterRequest {
    RegisterRequest {
        email: email.into(),
        password: password.into(),
        display_name: String::new(),
    }
}

async fn bad_registrations_name_their_fields(backend: Backend) {
    let app = TestApp::start(backend).await;
    let auth = app.client().await.auth();
    let good = "correct horse battery staple";
    let cases: Vec<(RegisterRequest, Vec<&str>)> = vec![
        (register("", ""), vec!["email", "password"]),
        (register("ann", good), vec!["email"]),
        (
            register(&format!("{}@example.com", "a".repeat(300)), good),
            vec!["email"],
        ),
        (register("ann@example.com", "short"), vec!["password"]),
        (
            register("ann@example.com", "ann@example.com"),
            vec!["password"],
        ),
        (
            register("ann@example.com", &"p".repeat(10 * 1024 * 1024)),
            vec!["password"],
        ),
        (
            RegisterRequest {
                display_name: "bell\u{7}".into(),
                ..register("ann@example.com", good)
            },
            vec!["display_name"],
        ),
    ];
    for (request, fields) in cases {
        let status = assert_code(auth.clone().register(request).await, Code::InvalidArgument);
        assert_eq!(field_violations(&status), fields, "{status:?}");
    }
}

async fn bad_logins_name_their_fields(backend: Backend) {
    let app = TestApp::start(backend).await;
    let auth = app.client().await.auth();
    let status = assert_code(
        auth.clone()
            .login(LoginRequest {
                email: "x".into(),
                password: "p".repeat(2000),
                organization_id: "not-an-id".into(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        field_violations(&status),
        vec!["email", "password", "organization_id"]
    );
}

/// A RegisterRequest whose email field carries raw bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct RawRegisterRequest {
    #[prost(bytes = "vec", tag = "1")]
    email: Vec<u8>,
    #[prost(string, tag = "2")]
    password: String,
}

async fn an_email_that_is_not_utf8_is_invalid_argument(backend: Backend) {
    let app = TestApp::start(backend).await;
    let channel = app.client().await.channel();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let request = tonic::Request::new(RawRegisterRequest {
        email: vec![b'a', 0xff, 0xfe, b'@', b'x', b'.', b'y'],
        password: "correct horse battery staple".into(),
    });
    let path = http::uri::PathAndQuery::from_static("/tenantry.auth.v1.AuthService/Register");
    let codec = tonic_prost::ProstCodec::<RawRegisterRequest, RegisterResponse>::default();
    let status = assert_code(
        grpc.unary(request, path, codec).await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["email"]);
}

async fn duplicate_emails_already_exist(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.register("ann@Example.com", "correct horse battery staple")
        .await;
    let auth = app.client().await.auth();
    // The domain is case-insensitive; surrounding spaces do not count.
    let status = assert_code(
        auth.clone()
            .register(register(" ann@EXAMPLE.com ", "another good password"))
            .await,
        Code::AlreadyExists,
    );
    assert!(status.message().contains("already exists"));
}

on_both_backends!(
    bad_registrations_name_their_fields,
    bad_logins_name_their_fields,
    an_email_that_is_not_utf8_is_invalid_argument,
    duplicate_emails_already_exist,
);
