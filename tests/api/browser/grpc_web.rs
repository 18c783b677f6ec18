//! A web app calls Tenantry over grpc-web from its page: sign-up, sign-in,
//! errors it can show, a chunked upload and a streamed download — and a page
//! of another site is refused by the browser.

use sha2::Digest as _;
use tenantry_client::{
    auth::v1::{
        GetMeRequest, GetMeResponse, LoginRequest, LoginResponse, RegisterRequest, RegisterResponse,
    },
    file::v1::{
        AppendUploadChunkRequest, AppendUploadChunkResponse, CompleteUploadSessionRequest,
        CompleteUploadSessionResponse, CreateUploadSessionRequest, CreateUploadSessionResponse,
        DownloadRequest, DownloadResponse, FileMetadata, download_response::Part,
    },
};
use tenantry_tests::{
    Backend, PASSWORD, TestApp,
    browser::{Browser, Origin},
    field_violations, on_both_backends,
};
use tonic::Code;

const REGISTER: &str = "/tenantry.auth.v1.AuthService/Register";
const LOGIN: &str = "/tenantry.auth.v1.AuthService/Login";
const GET_ME: &str = "/tenantry.auth.v1.AuthService/GetMe";

/// A browser, and a server that allows the browser's app origin.
async fn browser_and_app(backend: Backend) -> (Browser, TestApp) {
    let browser = Browser::start().await;
    let origin = browser.app_origin().to_owned();
    let app = TestApp::builder(backend)
        .configure(move |config| config.cors_origins = vec![origin])
        .start()
        .await;
    (browser, app)
}

async fn a_web_app_signs_up_signs_in_and_reads_the_profile(backend: Backend) {
    tenantry_tests::require_browser();
    let (mut browser, app) = browser_and_app(backend).await;
    let server = app.url();
    let register = RegisterRequest {
        email: "Web.User@Example.COM".into(),
        password: PASSWORD.into(),
        display_name: "Web User".into(),
    };
    let registered: RegisterResponse = browser
        .call(Origin::App, &server, REGISTER, None, &register)
        .await
        .message();
    let user = registered.user.unwrap();
    assert_eq!(user.email, "Web.User@example.com", "domain lowercased");

    let login = LoginRequest {
        email: "Web.User@example.com".into(),
        password: PASSWORD.into(),
        organization_id: String::new(),
    };
    let answer = browser
        .call(Origin::App, &server, LOGIN, None, &login)
        .await;
    assert!(
        answer.headers.contains_key("x-request-id"),
        "the page can read the request id to report: {:?}",
        answer.headers
    );
    let tokens = answer.message::<LoginResponse>().tokens.unwrap();

    let me: GetMeResponse = browser
        .call(
            Origin::App,
            &server,
            GET_ME,
            Some(&tokens.access_token),
            &GetMeRequest {},
        )
        .await
        .message();
    assert_eq!(me.user.unwrap().id, user.id);
    assert_eq!(me.session_id, tokens.session_id);
}

async fn the_page_reads_error_codes_and_field_violations(backend: Backend) {
    tenantry_tests::require_browser();
    let (mut browser, app) = browser_and_app(backend).await;
    let server = app.url();
    let weak = RegisterRequest {
        email: "not an email".into(),
        password: "short".into(),
        display_name: String::new(),
    };
    let status = browser
        .call(Origin::App, &server, REGISTER, None, &weak)
        .await
        .status();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields = field_violations(&status);
    assert!(
        fields.contains(&"email".to_owned()) && fields.contains(&"password".to_owned()),
        "a form can mark both fields: {fields:?}"
    );

    app.user("ann").await;
    let wrong = LoginRequest {
        email: "ann@example.com".into(),
        password: "not the password at all".into(),
        organization_id: String::new(),
    };
    let status = browser
        .call(Origin::App, &server, LOGIN, None, &wrong)
        .await
        .status();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(!status.message().is_empty(), "a message to show");

    let status = browser
        .call(Origin::App, &server, GET_ME, None, &GetMeRequest {})
        .await
        .status();
    assert_eq!(status.code(), Code::Unauthenticated);
}

async fn a_site_not_on_the_allow_list_cannot_call(backend: Backend) {
    tenantry_tests::require_browser();
    let (mut browser, app) = browser_and_app(backend).await;
    let ann = app.user("ann").await;
    let server = app.url();
    // The app's own page gets an answer …
    let mine = browser
        .call(
            Origin::App,
            &server,
            GET_ME,
            Some(&ann.tokens.access_token),
            &GetMeRequest {},
        )
        .await;
    assert_eq!(mine.status().code(), Code::Ok);
    // … the same call with the same token from another site's page is
    // refused by the browser before the page sees anything.
    let theirs = browser
        .call(
            Origin::Other,
            &server,
            GET_ME,
            Some(&ann.tokens.access_token),
            &GetMeRequest {},
        )
        .await;
    assert!(
        theirs.fetch_error.is_some(),
        "another origin must not read the answer: {theirs:?}"
    );
}

async fn a_web_app_uploads_in_chunks_and_streams_the_download(backend: Backend) {
    tenantry_tests::require_browser();
    let (mut browser, app) = browser_and_app(backend).await;
    let team = app.team("acme").await;
    let token = team.member.tokens.access_token.clone();
    let server = app.url();
    let content: Vec<u8> = (0..700_000_u32).map(|i| (i * 7 % 251) as u8).collect();

    // Browsers cannot stream a request body over grpc-web: the resumable,
    // unary upload is how a page sends a file.
    let created: CreateUploadSessionResponse = browser
        .call(
            Origin::App,
            &server,
            "/tenantry.file.v1.FileService/CreateUploadSession",
            Some(&token),
            &CreateUploadSessionRequest {
                metadata: Some(FileMetadata {
                    name: "from-the-browser.bin".into(),
                    ..FileMetadata::default()
                }),
            },
        )
        .await
        .message();
    let session_id = created.session.unwrap().id;
    let mut offset = 0;
    for chunk in content.chunks(256 * 1024) {
        let appended: AppendUploadChunkResponse = browser
            .call(
                Origin::App,
                &server,
                "/tenantry.file.v1.FileService/AppendUploadChunk",
                Some(&token),
                &AppendUploadChunkRequest {
                    session_id: session_id.clone(),
                    offset,
                    chunk: chunk.to_vec().into(),
                },
            )
            .await
            .message();
        offset = appended.received_bytes;
    }
    let completed: CompleteUploadSessionResponse = browser
        .call(
            Origin::App,
            &server,
            "/tenantry.file.v1.FileService/CompleteUploadSession",
            Some(&token),
            &CompleteUploadSessionRequest { session_id },
        )
        .await
        .message();
    let file = completed.file.unwrap();
    assert_eq!(file.size_bytes, content.len() as i64);

    // Server streaming works in the browser: the file, then its bytes.
    let answer = browser
        .call(
            Origin::App,
            &server,
            "/tenantry.file.v1.FileService/Download",
            Some(&token),
            &DownloadRequest {
                file_id: file.id.clone(),
                offset: 0,
                length: 0,
            },
        )
        .await;
    assert_eq!(answer.status().code(), Code::Ok, "{:?}", answer.status());
    let mut parts = answer.messages.iter().map(|m| {
        <DownloadResponse as prost::Message>::decode(m.as_slice())
            .unwrap()
            .part
    });
    assert!(matches!(parts.next(), Some(Some(Part::File(f))) if f.id == file.id));
    let mut received = Vec::new();
    for part in parts {
        let Some(Part::Chunk(bytes)) = part else {
            panic!("only chunks follow the file");
        };
        received.extend_from_slice(&bytes);
    }
    assert_eq!(received.len(), content.len());
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&received)),
        hex::encode(sha2::Sha256::digest(&content))
    );
}

on_both_backends!(
    a_web_app_signs_up_signs_in_and_reads_the_profile,
    the_page_reads_error_codes_and_field_violations,
    a_site_not_on_the_allow_list_cannot_call,
    a_web_app_uploads_in_chunks_and_streams_the_download,
);
