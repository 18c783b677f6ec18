//! The SDK's file helpers: streamed upload and download with progress,
//! a resumable upload that continues from the server's offset, a download
//! that continues a partial file, and the SHA-256 checked at the end.

use std::{
    io::Cursor,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use tenantry_client::{
    file::v1::{FileMetadata, GetStorageUsageRequest, ListFilesRequest},
    files::{CHUNK_BYTES, Progress, no_progress},
};
use tenantry_tests::{Backend, TestApp, on_both_backends, sha256_hex};
use tokio::io::{AsyncRead, ReadBuf};
use tonic::Code;

fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Collects what a helper reports.
fn recorder() -> (
    Arc<Mutex<Vec<Progress>>>,
    impl FnMut(Progress) + Send + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    (seen, move |p| into.lock().unwrap().push(p))
}

/// Gives the first `ok` bytes of `data`, then fails as a broken disk
/// would.
struct FailsAfter(Cursor<Vec<u8>>);

impl FailsAfter {
    fn new(data: &[u8], ok: usize) -> Self {
        Self(Cursor::new(data[..ok].to_vec()))
    }
}

impl AsyncRead for FailsAfter {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.0.position() >= self.0.get_ref().len() as u64 {
            return Poll::Ready(Err(std::io::Error::other("the disk went away")));
        }
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

fn sized(name: &str, size: usize) -> FileMetadata {
    FileMetadata {
        name: name.into(),
        expected_size: Some(size as i64),
        ..FileMetadata::default()
    }
}

async fn upload_and_download_report_progress_and_check_the_hash(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let sdk = &team.member.client;
    let data = bytes(3 * CHUNK_BYTES + 123);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.bin");
    std::fs::write(&path, &data).unwrap();

    let (sent, progress) = recorder();
    let uploaded = sdk
        .upload_path(&path, FileMetadata::default(), progress)
        .await
        .unwrap();
    let file = uploaded.file.unwrap();
    assert_eq!(file.name, "report.bin", "named after the file");
    assert_eq!(file.sha256, sha256_hex(&data));
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 4, "one report per chunk: {sent:?}");
    assert_eq!(
        sent.last(),
        Some(&Progress {
            done: data.len() as u64,
            total: Some(data.len() as u64)
        })
    );

    let (received, progress) = recorder();
    let mut out = Vec::new();
    let got = sdk.download(&file.id, &mut out, progress).await.unwrap();
    assert_eq!(out, data);
    assert_eq!(got.id, file.id);
    let received = received.lock().unwrap().clone();
    assert!(received.windows(2).all(|w| w[0].done <= w[1].done));
    assert_eq!(received.last().unwrap().done, data.len() as u64);
}

async fn an_upload_whose_input_fails_keeps_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let sdk = &team.member.client;
    let reader = FailsAfter::new(&bytes(2 * CHUNK_BYTES), CHUNK_BYTES + 10);
    let failed = sdk
        .upload(
            FileMetadata {
                name: "half".into(),
                ..Default::default()
            },
            reader,
            no_progress,
        )
        .await
        .unwrap_err();
    assert!(failed.message().contains("the disk went away"), "{failed}");
    app.wait_for_no_unfinished_writes().await;
    let listed = sdk
        .files()
        .list_files(ListFilesRequest::default())
        .await
        .unwrap();
    assert!(listed.into_inner().files.is_empty(), "no half file");
    let usage = sdk
        .files()
        .get_storage_usage(GetStorageUsageRequest {})
        .await
        .unwrap();
    assert_eq!(usage.into_inner().used_bytes, 0);
}

async fn a_resumable_upload_continues_from_the_servers_offset(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let sdk = &team.member.client;
    let data = bytes(2 * CHUNK_BYTES + 5);
    let upload = sdk
        .start_upload(sized("big.bin", data.len()))
        .await
        .unwrap();
    let id = upload.id().to_owned();
    let broken = FailsAfter::new(&data, CHUNK_BYTES + 1);
    let failed = upload.send(broken, no_progress).await.unwrap_err();
    assert_eq!(failed.code(), Code::Unknown, "a local failure: {failed}");

    // As after a restart: only the session id is kept.
    let resumed = sdk.resume_upload(&id).await.unwrap();
    assert_eq!(
        resumed.received_bytes(),
        CHUNK_BYTES as u64,
        "the first chunk arrived"
    );
    let (seen, progress) = recorder();
    let done = resumed
        .send(Cursor::new(data.clone()), progress)
        .await
        .unwrap();
    let file = done.file.unwrap();
    assert_eq!(file.sha256, sha256_hex(&data));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].done, CHUNK_BYTES as u64,
        "starts where the server is"
    );
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(team.member.download(&file.id).await, data);
}

async fn a_download_continues_a_partial_file_and_refuses_a_wrong_one(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let sdk = &team.member.client;
    let data = bytes(2 * CHUNK_BYTES + 99);
    let file = team.member.upload("video.bin", &data).await.file.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("video.bin");

    let partial = CHUNK_BYTES + 17;
    std::fs::write(&path, &data[..partial]).unwrap();
    let (seen, progress) = recorder();
    sdk.download_to_path(&file.id, &path, progress)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert_eq!(
        seen.lock().unwrap()[0].done,
        partial as u64,
        "resumed, not restarted"
    );

    let mut wrong = data[..partial].to_vec();
    wrong[3] ^= 0xff;
    std::fs::write(&path, &wrong).unwrap();
    let refused = sdk
        .download_to_path(&file.id, &path, no_progress)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::DataLoss, "{refused}");
}

on_both_backends!(
    upload_and_download_report_progress_and_check_the_hash,
    an_upload_whose_input_fails_keeps_nothing,
    a_resumable_upload_continues_from_the_servers_offset,
    a_download_continues_a_partial_file_and_refuses_a_wrong_one,
);
