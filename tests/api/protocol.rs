//! The edges of the protocol, as clients other than ours meet them: an
//! HTTP/1.1 connection survives an early refusal, a protocol Tenantry does
//! not serve never reaches a handler, framing mistakes are the caller's, a
//! reset upload never becomes a file.

use bytes::Bytes;
use prost::Message as _;
use tenantry_client::{
    file::v1::{FileMetadata, ListFilesRequest, UploadRequest, upload_request::Part},
    org::v1::{CreateOrganizationRequest, ListMyOrganizationsRequest},
};
use tenantry_tests::{
    Backend, PASSWORD, TestApp, TestUser, on_both_backends,
    raw_http::{RawResponse, exchange, frame, post_head, read_response},
};
use tokio::io::AsyncWriteExt as _;

const GET_ME: &str = "/tenantry.auth.v1.AuthService/GetMe";
const GET_JWKS: &str = "/tenantry.auth.v1.AuthService/GetJwks";
const REGISTER: &str = "/tenantry.auth.v1.AuthService/Register";
const UPLOAD: &str = "/tenantry.file.v1.FileService/Upload";
const CREATE_ORG: &str = "/tenantry.org.v1.OrgService/CreateOrganization";
const GRPC_WEB: &str = "application/grpc-web+proto";

/// An empty unary grpc-web request (GetJwks takes an empty message).
fn empty_call(path: &str, extra: &[&str]) -> Vec<u8> {
    let body = frame(0, b"");
    let mut request = post_head(path, GRPC_WEB, body.len(), extra).into_bytes();
    request.extend_from_slice(&body);
    request
}

/// A refusal answered before the body arrived leaves the connection usable:
/// the body sent late (as connect-node sends it) and a second call on the
/// same socket both go through.
async fn an_http1_refusal_keeps_the_connection_usable(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut socket = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    let body = frame(0, b"");

    // Headers now, body a moment later; no token, so the layer refuses.
    let head = post_head(GET_ME, GRPC_WEB, body.len(), &[]);
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.flush().await.unwrap();
    tokio::task::yield_now().await;
    socket.write_all(&body).await.unwrap();
    let refused = read_response(&mut socket).await.expect("an answer");
    assert_eq!(
        refused.grpc_status().as_deref(),
        Some("16"),
        "UNAUTHENTICATED"
    );
    assert_ne!(refused.header("connection"), Some("close"));

    // The same, waiting for `100 Continue` before the body: the refusal
    // must read the body (and so ask for it) rather than hang up on it.
    let head = post_head(GET_ME, GRPC_WEB, body.len(), &["expect: 100-continue"]);
    socket.write_all(head.as_bytes()).await.unwrap();
    let interim = read_response(&mut socket).await.expect("an answer");
    assert_eq!(interim.status, 100, "{interim:?}");
    socket.write_all(&body).await.unwrap();
    let refused = read_response(&mut socket).await.expect("an answer");
    assert_eq!(refused.grpc_status().as_deref(), Some("16"));

    let next = exchange(&mut socket, &empty_call(GET_JWKS, &[]))
        .await
        .expect("the connection still serves calls");
    assert_eq!(next.status, 200);
    assert_eq!(next.grpc_status().as_deref(), Some("0"), "{next:?}");
}

/// A refused call whose body is too long to read through says so with
/// `connection: close`, instead of leaving the client to find out.
async fn an_http1_refusal_of_a_long_body_says_connection_close(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut socket = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    let length = 4 * 1024 * 1024;
    let head = post_head(GET_ME, GRPC_WEB, length, &[]);
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&vec![0_u8; 256 * 1024]).await.unwrap();
    let refused = read_response(&mut socket).await.expect("an answer");
    assert_eq!(refused.grpc_status().as_deref(), Some("16"));
    assert_eq!(refused.header("connection"), Some("close"));
}

fn upload_body() -> Vec<u8> {
    let metadata = UploadRequest {
        part: Some(Part::Metadata(FileMetadata {
            name: "connect.txt".into(),
            ..FileMetadata::default()
        })),
    };
    let chunk = UploadRequest {
        part: Some(Part::Chunk(Bytes::from_static(b"stored twice?"))),
    };
    [
        frame(0, &metadata.encode_to_vec()),
        frame(0, &chunk.encode_to_vec()),
    ]
    .concat()
}

async fn post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", app.url()))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn files_of(user: &TestUser) -> usize {
    user.client
        .files()
        .list_files(ListFilesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .files
        .len()
}

/// The Connect protocol's streaming body is byte-identical to gRPC's; it is
/// refused by its content type before any handler runs, so nothing is
/// stored, and JSON callers are told that JSON is not served.
async fn protocols_not_served_reach_no_handler(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let token = team.member.tokens.access_token.clone();
    for content_type in [
        "application/connect+proto",
        "application/proto",
        "application/json",
        "",
    ] {
        let answer = post(&app, UPLOAD, content_type, Some(&token), upload_body()).await;
        assert_eq!(answer.status(), 415, "{content_type:?}");
        let accepted = answer.headers()["accept-post"].to_str().unwrap().to_owned();
        assert!(
            accepted.contains("application/grpc-web+proto"),
            "{accepted}"
        );
    }
    assert_eq!(files_of(&team.member).await, 0, "nothing was stored");

    let org = CreateOrganizationRequest {
        name: "Shadow".into(),
        slug: "shadow".into(),
    };
    let answer = post(
        &app,
        CREATE_ORG,
        "application/proto",
        Some(&token),
        org.encode_to_vec(),
    )
    .await;
    assert_eq!(answer.status(), 415);
    let mine = team
        .member
        .client
        .org()
        .list_my_organizations(ListMyOrganizationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .memberships;
    assert!(
        mine.iter()
            .all(|m| m.organization.as_ref().is_none_or(|o| o.slug != "shadow")),
        "no organization, no audit event"
    );

    let json = br#"{"email":"json@example.com","password":"correct horse battery staple"}"#;
    let answer = post(
        &app,
        REGISTER,
        "application/grpc-web+json",
        None,
        json.to_vec(),
    )
    .await;
    assert_eq!(answer.status(), 200, "a grpc-web answer");
    assert_eq!(answer.headers()["grpc-status"], "12", "UNIMPLEMENTED");
    let message = answer.headers()["grpc-message"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("JSON%20is%20not%20served"), "{message}");
    // The address is still free: the JSON body never reached Register.
    app.register("json@example.com", PASSWORD).await;
}

/// grpc-web framing mistakes are answered as the caller's, before the
/// method runs: a unary call takes exactly one message.
async fn framing_mistakes_are_the_callers(backend: Backend) {
    let app = TestApp::start(backend).await;
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("compressed flag, no grpc-encoding", frame(1, b"x"), "12"),
        (
            "length past the body",
            frame(0, b"12345")[..7].to_vec(),
            "3",
        ),
        (
            "a trailer frame in a request",
            frame(0x80, b"grpc-status: 0\r\n"),
            "3",
        ),
        ("a truncated header", vec![0, 0, 0], "3"),
        ("two messages", [frame(0, b""), frame(0, b"")].concat(), "3"),
        ("no message", Vec::new(), "3"),
    ];
    for (case, body, expected) in cases {
        let answer = post(&app, GET_JWKS, GRPC_WEB, None, body).await;
        assert_eq!(answer.status(), 200, "{case}");
        let status = answer
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            status.as_deref(),
            Some(expected),
            "{case}: {:?}",
            answer.headers()
        );
    }
    let well_formed = post(&app, GET_JWKS, GRPC_WEB, None, frame(0, b"")).await;
    let body = well_formed.bytes().await.unwrap();
    let raw = RawResponse {
        status: 200,
        headers: Vec::new(),
        body: body.to_vec(),
    };
    assert_eq!(raw.grpc_status().as_deref(), Some("0"));
}

/// An upload whose client resets the stream after its last chunk (a
/// cancelled call) is thrown away, never committed as a file.
async fn a_reset_upload_stream_never_becomes_a_file(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let tcp = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = http::Request::post(format!("http://{}{UPLOAD}", app.addr()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header(
            "authorization",
            format!("Bearer {}", team.member.tokens.access_token),
        )
        .body(())
        .unwrap();
    let (_answer, mut stream) = client.send_request(request, false).unwrap();
    stream.send_data(Bytes::from(upload_body()), false).unwrap();
    // The upload is open on the server, waiting for more; then the reset.
    app.wait_for_open_uploads(&team.org.id, 1).await;
    stream.send_reset(h2::Reason::CANCEL);
    // Its handler has ended once its upload slot is free again.
    app.wait_for_open_uploads(&team.org.id, 0).await;
    team.member.upload("after.txt", b"after").await;
    assert_eq!(
        files_of(&team.member).await,
        1,
        "only the finished upload is a file"
    );
}

/// The same edges through a client nobody here wrote: connect-node over
/// HTTP/1.1 with kept-alive connections (50 refused calls, each followed by
/// a good one on the same socket), error details decoded from the vendored
/// google.rpc protos, and a Connect-protocol Register that never runs.
async fn connect_node_over_http1_meets_clean_answers(backend: Backend) {
    tenantry_tests::require_node();
    let app = TestApp::start(backend).await;
    let summary = tenantry_tests::node::run_web_interop("node_http1", &app.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary["unauthenticated"], 50, "{summary}");
    assert_eq!(
        summary["served"], 50,
        "no call failed on a poisoned socket: {summary}"
    );
    assert_eq!(
        summary["violations"],
        serde_json::json!(["email"]),
        "{summary}"
    );
    assert_ne!(summary["connectRegister"], "ok", "{summary}");
    assert_eq!(
        summary["grpcWebRegisterAfter"], "ok",
        "the address stayed free: {summary}"
    );
}

on_both_backends!(
    connect_node_over_http1_meets_clean_answers,
    an_http1_refusal_keeps_the_connection_usable,
    an_http1_refusal_of_a_long_body_says_connection_close,
    protocols_not_served_reach_no_handler,
    framing_mistakes_are_the_callers,
    a_reset_upload_stream_never_becomes_a_file,
);
