//! The S3 server stops in the middle of an upload: the upload fails with
//! UNAVAILABLE, no file appears, and the multipart upload the server could
//! not abort meanwhile becomes a job — so once S3 is back it is aborted,
//! even by a server started again in between; no object is left and
//! uploads work again.

use bytes::Bytes;
use chrono::Duration;
use tenantry_client::file::v1::{ListFilesRequest, UploadRequest, upload_request::Part};
use tenantry_tests::{Backend, TestApp, require_postgres};
use tonic::Code;

use crate::uploads_held::stall;

fn open_uploads(app: &TestApp) -> usize {
    app.s3().expect("S3").open_multipart_uploads()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_fails_cleanly_when_s3_stops_and_is_cleaned_up_once_it_is_back() {
    require_postgres();
    let mut app = TestApp::start(Backend::Postgres).await;
    let s3 = app.s3().expect("the PostgreSQL suite runs on S3");
    let team = app.team("acme").await;
    let (send, call) = stall(&team.member, "big.bin").await;
    let chunk = || UploadRequest {
        part: Some(Part::Chunk(Bytes::from(vec![7_u8; 256 * 1024]))),
    };
    // More than one 8 MiB part: the multipart upload is open on S3.
    for _ in 0..40 {
        send.send(chunk()).await.unwrap();
    }
    let opened = async {
        while s3.open_multipart_uploads() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), opened)
        .await
        .expect("the upload reaches S3");

    s3.stop();
    for _ in 0..40 {
        if send.send(chunk()).await.is_err() {
            break;
        }
    }
    drop(send);
    let failed = call.await.unwrap().unwrap_err();
    assert_eq!(failed.code(), Code::Unavailable, "{failed:?}");
    let files = team.member.client.files();
    let listed = files
        .clone()
        .list_files(ListFilesRequest::default())
        .await
        .unwrap();
    assert!(listed.into_inner().files.is_empty(), "no file appears");

    // The abort is a job now, in the database: a restart does not lose it,
    // and while S3 is down it fails and waits.
    app.wait_for_queued("blob.abort_multipart").await;
    app.run_jobs().await;
    assert_eq!(open_uploads(&app), 1, "S3 is still down");
    app.restart().await;
    app.s3().unwrap().restart().await;
    // After the queue's delay for a failed run (2 min after the first).
    app.advance(Duration::minutes(3));
    app.run_jobs().await;
    assert_eq!(
        open_uploads(&app),
        0,
        "the abandoned multipart upload is aborted once S3 is back"
    );
    app.advance(Duration::hours(26));
    app.run_jobs().await;
    assert!(app.stored_objects().await.is_empty(), "no object is left");
    // And the store works again.
    let member = app.sign_in(&team.member.email, &team.member.password).await;
    member.upload("after.bin", b"fine").await;
}
