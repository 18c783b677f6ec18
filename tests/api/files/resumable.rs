//! Resumable uploads: chunks in unary calls, retried chunks, wrong offsets,
//! a server restart and another instance in the middle, abort and expiry.

use chrono::Duration;
use tenantry_client::file::v1::{
    AbortUploadSessionRequest, AppendUploadChunkRequest, CompleteUploadSessionRequest,
    CreateUploadSessionRequest, FileMetadata, GetUploadSessionRequest,
};
use tenantry_tests::{Backend, TestApp, TestUser, assert_code, on_both_backends, sha256_hex};
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

fn append(session_id: &str, offset: usize, chunk: &[u8]) -> AppendUploadChunkRequest {
    AppendUploadChunkRequest {
        session_id: session_id.into(),
        offset: offset as i64,
        chunk: bytes::Bytes::copy_from_slice(chunk),
    }
}

async fn create(user: &TestUser, name: &str, bytes: &[u8]) -> String {
    let metadata = FileMetadata {
        name: name.into(),
        expected_size: Some(bytes.len() as i64),
        expected_sha256: sha256_hex(bytes),
        ..FileMetadata::default()
    };
    let created = user
        .client
        .files()
        .create_upload_session(CreateUploadSessionRequest {
            metadata: Some(metadata),
        })
        .await
        .unwrap()
        .into_inner();
    created.session.unwrap().id
}

async fn received(user: &TestUser, session_id: &str) -> Result<i64, Status> {
    user.client
        .files()
        .get_upload_session(GetUploadSessionRequest {
            session_id: session_id.into(),
        })
        .await
        .map(|r| r.into_inner().session.unwrap().received_bytes)
}

async fn an_interrupted_upload_resumes_on_any_instance(backend: Backend) {
    let mut app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes: Vec<u8> = (0..250_000_u32).map(|i| (i % 251) as u8).collect();
    let parts: Vec<&[u8]> = bytes.chunks(100_000).collect();
    let id = create(&team.member, "resumed.bin", &bytes).await;
    let files = team.member.client.files();
    files
        .clone()
        .append_upload_chunk(append(&id, 0, parts[0]))
        .await
        .unwrap();
    // The response was lost and the client retries: nothing changes.
    let again = files
        .clone()
        .append_upload_chunk(append(&id, 0, parts[0]))
        .await
        .unwrap();
    assert_eq!(again.into_inner().received_bytes, 100_000);
    // A chunk at the wrong offset says where to go on.
    let status = assert_code(
        files
            .clone()
            .append_upload_chunk(append(&id, 200_000, parts[2]))
            .await,
        Code::FailedPrecondition,
    );
    let details = status.get_error_details();
    let violation = &details.precondition_failure().unwrap().violations[0];
    assert_eq!(violation.description, "expected offset 100000");

    // The server restarts; the session and its bytes are still there.
    app.restart().await;
    let member = app
        .client()
        .await
        .with_token(team.member.tokens.access_token.clone());
    let member = TestUser {
        client: member,
        ..team.member.clone()
    };
    assert_eq!(received(&member, &id).await.unwrap(), 100_000);
    // The next chunk goes to another instance.
    let other = app.start_instance().await;
    let elsewhere = app
        .client_of(other)
        .await
        .with_token(team.member.tokens.access_token.clone());
    elsewhere
        .files()
        .append_upload_chunk(append(&id, 100_000, parts[1]))
        .await
        .unwrap();
    member
        .client
        .files()
        .append_upload_chunk(append(&id, 200_000, parts[2]))
        .await
        .unwrap();
    let done = member
        .client
        .files()
        .complete_upload_session(CompleteUploadSessionRequest {
            session_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let file = done.file.unwrap();
    assert_eq!(
        (file.size_bytes, file.sha256.clone()),
        (250_000, sha256_hex(&bytes))
    );
    assert_eq!(member.download(&file.id).await, bytes);
    // The session is over and its chunks are gone.
    assert_code(received(&member, &id).await, Code::NotFound);
    assert_eq!(app.stored_objects().await.len(), 1, "only the file's blob");
}

async fn a_retry_with_other_bytes_is_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let first = vec![1_u8; 40_000];
    let other = vec![2_u8; 40_000];
    let id = create(&team.member, "retried.bin", &first).await;
    let files = team.member.client.files();
    files
        .clone()
        .append_upload_chunk(append(&id, 0, &first))
        .await
        .unwrap();
    // The same bytes again: a retry, nothing changes.
    let again = files
        .clone()
        .append_upload_chunk(append(&id, 0, &first))
        .await
        .unwrap();
    assert_eq!(again.into_inner().received_bytes, 40_000);
    // Other bytes at a taken offset would be dropped: refused, not OK.
    let status = assert_code(
        files
            .clone()
            .append_upload_chunk(append(&id, 0, &other))
            .await,
        Code::FailedPrecondition,
    );
    let details = status.get_error_details();
    let violation = &details.precondition_failure().unwrap().violations[0];
    assert_eq!(violation.description, "expected offset 40000");

    let done = files
        .clone()
        .complete_upload_session(CompleteUploadSessionRequest {
            session_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let file = done.file.unwrap();
    assert_eq!(file.sha256, sha256_hex(&first));
    assert_eq!(team.member.download(&file.id).await, first);
}

async fn aborted_and_expired_sessions_leave_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = vec![4_u8; 50_000];
    let files = team.member.client.files();

    let aborted = create(&team.member, "aborted.bin", &bytes).await;
    files
        .clone()
        .append_upload_chunk(append(&aborted, 0, &bytes[..20_000]))
        .await
        .unwrap();
    files
        .clone()
        .abort_upload_session(AbortUploadSessionRequest {
            session_id: aborted.clone(),
        })
        .await
        .unwrap();
    assert_code(received(&team.member, &aborted).await, Code::NotFound);
    assert!(app.stored_objects().await.is_empty());

    let abandoned = create(&team.member, "abandoned.bin", &bytes).await;
    files
        .clone()
        .append_upload_chunk(append(&abandoned, 0, &bytes[..20_000]))
        .await
        .unwrap();
    assert_eq!(app.stored_objects().await.len(), 1, "the chunk is stored");
    // Still alive a little before its day is over...
    app.advance(Duration::hours(23));
    app.run_jobs().await;
    assert_eq!(app.stored_objects().await.len(), 1);
    // ...gone after it, bytes and all.
    app.advance(Duration::hours(2));
    app.run_jobs().await;
    assert!(app.stored_objects().await.is_empty());
    let fresh = app.sign_in(&team.member.email, &team.member.password).await;
    assert_code(received(&fresh, &abandoned).await, Code::NotFound);
}

async fn completing_checks_size_and_checksum(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = vec![8_u8; 30_000];
    let id = create(&team.member, "short.bin", &bytes).await;
    let files = team.member.client.files();
    files
        .clone()
        .append_upload_chunk(append(&id, 0, &bytes[..10_000]))
        .await
        .unwrap();
    let complete = CompleteUploadSessionRequest {
        session_id: id.clone(),
    };
    assert_code(
        files.clone().complete_upload_session(complete).await,
        Code::InvalidArgument,
    );
    // More than declared is refused at once.
    let too_much = vec![8_u8; 25_000];
    assert_code(
        files
            .clone()
            .append_upload_chunk(append(&id, 10_000, &too_much))
            .await,
        Code::InvalidArgument,
    );
    // Chunks over 4 MiB are refused.
    let huge = vec![0_u8; 4 * 1024 * 1024 + 1];
    assert_code(
        files
            .clone()
            .append_upload_chunk(append(&id, 10_000, &huge))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(received(&team.member, &id).await.unwrap(), 10_000);
}

on_both_backends!(
    an_interrupted_upload_resumes_on_any_instance,
    a_retry_with_other_bytes_is_refused,
    aborted_and_expired_sessions_leave_nothing,
    completing_checks_size_and_checksum,
);
