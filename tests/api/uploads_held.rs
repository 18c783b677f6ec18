//! Uploads that stall are ended and cleaned up, one member cannot hold
//! more than their share open, and a full instance sheds calls.

use std::time::Duration;

use bytes::Bytes;
use prost::Message as _;
use tenantry_client::{
    auth::v1::GetMeRequest,
    file::v1::{ListFilesRequest, UploadRequest, upload_request::Part},
};
use tenantry_tests::{
    Backend, TestApp, TestUser, assert_code, file_metadata, on_both_backends,
    raw_http::{frame, post_head, read_response},
};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const UPLOAD: &str = "/tenantry.file.v1.FileService/Upload";
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_types::StatusExt as _;

/// An upload that sends its metadata and one chunk, then nothing; the
/// sender keeps the stream open until dropped.
/// The user's organization holds no file.
async fn assert_no_files(user: &TestUser) {
    let files = user
        .client
        .files()
        .list_files(ListFilesRequest::default())
        .await;
    assert!(
        files.unwrap().into_inner().files.is_empty(),
        "no file was kept"
    );
}

pub(crate) async fn stall(
    user: &TestUser,
    name: &str,
) -> (
    mpsc::Sender<UploadRequest>,
    tokio::task::JoinHandle<Result<(), tonic::Status>>,
) {
    let (send, receive) = mpsc::channel(4);
    for part in [
        Part::Metadata(file_metadata(name)),
        Part::Chunk(Bytes::from(vec![7_u8; 64 * 1024])),
    ] {
        send.send(UploadRequest { part: Some(part) }).await.unwrap();
    }
    let client = user.client.clone();
    let call = tokio::spawn(async move {
        client
            .files()
            .upload(ReceiverStream::new(receive))
            .await
            .map(|_| ())
    });
    (send, call)
}

async fn a_stalled_upload_is_ended_and_leaves_nothing(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|config| config.limits.upload_idle_timeout = Duration::from_millis(500))
        .start()
        .await;
    let team = app.team("acme").await;
    let (_open, call) = stall(&team.member, "stalled.bin").await;
    let ended = call.await.unwrap();
    let status = assert_code(ended, Code::DeadlineExceeded);
    assert!(status.message().contains("no upload message"), "{status:?}");
    assert_no_files(&team.member).await;
    assert_eq!(app.unfinished_writes(), 0, "the partial bytes are gone");
}

/// The caller's `grpc-timeout` ends an upload long before the server's
/// idle timeout would, with DEADLINE_EXCEEDED (not tonic's CANCELLED), and
/// nothing of it is kept. Sent as grpc-web on a bare socket: a tonic
/// client would give up at the same moment on its own.
async fn an_upload_past_the_callers_deadline_is_ended_and_leaves_nothing(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|config| config.limits.upload_idle_timeout = Duration::from_secs(600))
        .start()
        .await;
    let team = app.team("acme").await;
    let metadata = UploadRequest {
        part: Some(Part::Metadata(file_metadata("late.bin"))),
    };
    let mut sent = frame(0, &metadata.encode_to_vec());
    let chunk = UploadRequest {
        part: Some(Part::Chunk(Bytes::from(vec![7_u8; 64 * 1024]))),
    };
    sent.extend(frame(0, &chunk.encode_to_vec()));
    let bearer = format!("authorization: Bearer {}", team.member.tokens.access_token);
    // Announces more body than it sends, then waits.
    let head = post_head(
        UPLOAD,
        "application/grpc-web+proto",
        sent.len() + 1024,
        &[&bearer, "grpc-timeout: 1S"],
    );
    let mut socket = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&sent).await.unwrap();
    let answer = read_response(&mut socket).await.expect("an answer");
    assert_eq!(
        answer.grpc_status().as_deref(),
        Some("4"),
        "DEADLINE_EXCEEDED: {answer:?}"
    );
    assert_no_files(&team.member).await;
    app.wait_for_open_uploads(&team.org.id, 0).await;
    app.wait_for_no_unfinished_writes().await;
}

/// An instance at its limit of calls in flight sheds the next call with
/// RESOURCE_EXHAUSTED and RetryInfo, still answers health checks, and
/// takes calls again once a place is free.
async fn a_full_instance_sheds_calls_but_not_health_checks(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|config| config.limits.max_in_flight = 1)
        .start()
        .await;
    let team = app.team("acme").await;
    let (open, call) = stall(&team.member, "holding.bin").await;
    app.wait_for_open_uploads(&team.org.id, 1).await;
    let mut auth = team.member.client.auth();
    let shed = auth.get_me(GetMeRequest {}).await;
    let status = assert_code(shed, Code::ResourceExhausted);
    assert!(status.message().contains("in flight"), "{status:?}");
    assert!(
        status.get_details_retry_info().is_some(),
        "RetryInfo tells when"
    );
    let mut health = HealthClient::new(app.client().await.channel());
    let probe = health.check(HealthCheckRequest::default()).await.unwrap();
    assert_eq!(probe.into_inner().status(), ServingStatus::Serving);

    drop(open);
    call.await.unwrap().expect("the held upload completes");
    auth.get_me(GetMeRequest {})
        .await
        .expect("a place is free again");
}

async fn one_member_holds_a_bounded_number_of_uploads(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|config| {
            config.limits.uploads_per_user = 2;
            config.limits.uploads_per_org = 3;
            config.limits.upload_idle_timeout = Duration::from_secs(2);
        })
        .start()
        .await;
    let team = app.team("acme").await;
    let first = stall(&team.member, "one.bin").await;
    let second = stall(&team.member, "two.bin").await;
    app.wait_for_open_uploads(&team.org.id, 2).await;
    let third = team
        .member
        .upload_parts(file_metadata("three.bin"), vec![Bytes::from_static(b"3")])
        .await;
    let refusal = assert_code(third, Code::ResourceExhausted);
    let retry = refusal.get_details_retry_info().expect("a RetryInfo");
    assert!(
        retry
            .retry_delay
            .is_some_and(|d| d <= Duration::from_secs(5))
    );
    // Another member of the organization still has room, up to its cap.
    team.admin.upload("admin.txt", b"admin").await;
    // When the stalled ones end, the member may upload again.
    for (open, call) in [first, second] {
        drop(open);
        let _ = call.await.unwrap();
    }
    team.member.upload("after.txt", b"after").await;
}

on_both_backends!(
    a_full_instance_sheds_calls_but_not_health_checks,
    a_stalled_upload_is_ended_and_leaves_nothing,
    an_upload_past_the_callers_deadline_is_ended_and_leaves_nothing,
    one_member_holds_a_bounded_number_of_uploads,
);
