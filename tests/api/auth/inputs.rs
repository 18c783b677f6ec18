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

/// One address is one account whatever its case; it is kept as typed.
async fn emails_compare_without_case(backend: Backend) {
    let app = TestApp::start(backend).await;
    let auth = app.client().await.auth();
    let first: RegisterResponse = auth
        .clone()
        .register(register(
            "Mixed@Example.com",
            "correct horse battery staple",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.user.unwrap().email,
        "Mixed@example.com",
        "kept as typed"
    );
    assert_code(
        auth.clone()
            .register(register(
                "mixed@example.com",
                "correct horse battery staple",
            ))
            .await,
        Code::AlreadyExists,
    );
    let login = auth
        .clone()
        .login(LoginRequest {
            email: "MIXED@EXAMPLE.COM".into(),
            password: "correct horse battery staple".into(),
            organization_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(login.user.unwrap().email, "Mixed@example.com");
}

/// Hidden and direction-changing characters are refused in every
/// human-visible string, and emails hold only the documented profile.
async fn hidden_characters_are_refused_everywhere(backend: Backend) {
    let app = TestApp::start(backend).await;
    let auth = app.client().await.auth();
    for email in [
        "ann\u{202E}@example.com",
        "an\u{200B}n@example.com",
        "ann@bücher.de",
    ] {
        let status = assert_code(
            auth.clone()
                .register(register(email, "correct horse battery staple"))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(field_violations(&status), vec!["email"], "{email:?}");
    }
    let mut named = register("named@example.com", "correct horse battery staple");
    named.display_name = "Ann\u{202E}gpj.exe".into();
    let status = assert_code(auth.clone().register(named).await, Code::InvalidArgument);
    assert_eq!(field_violations(&status), vec!["display_name"]);

    let mut owner = app.user("owner").await;
    owner.create_org("acme").await;
    let status = assert_code(
        owner
            .client
            .org()
            .create_organization(tenantry_client::org::v1::CreateOrganizationRequest {
                name: "Evil\u{202E}Corp".into(),
                slug: "evil".into(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["name"]);
    for name in ["report\u{200E}.pdf", "line\u{2028}break.txt"] {
        let status = assert_code(
            owner
                .upload_parts(
                    tenantry_tests::file_metadata(name),
                    vec![bytes::Bytes::from_static(b"x")],
                )
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(field_violations(&status), vec!["metadata.name"], "{name:?}");
    }
}

on_both_backends!(
    emails_compare_without_case,
    hidden_characters_are_refused_everywhere,
    bad_registrations_name_their_fields,
    bad_logins_name_their_fields,
    an_email_that_is_not_utf8_is_invalid_argument,
    duplicate_emails_already_exist,
);
