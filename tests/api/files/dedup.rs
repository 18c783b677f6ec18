//! Identical content is stored once per organization, with a reference
//! count — also when the copies arrive at the same moment.

use tenantry_client::file::v1::{FileMetadata, GetStorageUsageRequest, PurgeFileRequest};
use tenantry_tests::{Backend, TestApp, assert_code, chunks, on_both_backends, sha256_hex};
use tonic::Code;

async fn identical_content_is_stored_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = vec![9_u8; 100_000];
    let first = team.member.upload("a.bin", &bytes).await;
    let second = team.admin.upload("b.bin", &bytes).await;
    assert!(!first.deduplicated && second.deduplicated);
    let (a, b) = (first.file.unwrap(), second.file.unwrap());
    assert_ne!(a.id, b.id);
    assert_eq!(app.stored_objects().await.len(), 1, "one copy of the bytes");
    let usage = team
        .admin
        .client
        .files()
        .get_storage_usage(GetStorageUsageRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            usage.used_bytes,
            usage.stored_bytes,
            usage.saved_by_dedup_bytes
        ),
        (200_000, 100_000, 100_000)
    );
    // Purging one keeps the bytes for the other...
    team.admin
        .client
        .files()
        .purge_file(PurgeFileRequest { file_id: a.id })
        .await
        .unwrap();
    assert_eq!(team.viewer.download(&b.id).await, bytes);
    assert_eq!(app.stored_objects().await.len(), 1);
    // ...purging the last one removes them.
    team.admin
        .client
        .files()
        .purge_file(PurgeFileRequest { file_id: b.id })
        .await
        .unwrap();
    assert!(app.stored_objects().await.is_empty());
    let usage = team
        .admin
        .client
        .files()
        .get_storage_usage(GetStorageUsageRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (usage.used_bytes, usage.stored_bytes, usage.file_count),
        (0, 0, 0)
    );
}

async fn concurrent_identical_uploads_end_with_one_blob(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = vec![5_u8; 300_000];
    let uploads = (0..8).map(|n| {
        let (user, bytes) = (&team.member, &bytes);
        async move { user.upload(&format!("copy{n}.bin"), bytes).await }
    });
    let results = futures::future::join_all(uploads).await;
    let fresh = results.iter().filter(|r| !r.deduplicated).count();
    assert_eq!(fresh, 1, "exactly one upload stored the bytes");
    assert_eq!(app.stored_objects().await.len(), 1, "and one blob is left");
    let usage = team
        .admin
        .client
        .files()
        .get_storage_usage(GetStorageUsageRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (usage.file_count, usage.used_bytes, usage.stored_bytes),
        (8, 8 * 300_000, 300_000)
    );
    // The count is right: purging all eight frees the blob, not before.
    for (n, result) in results.iter().enumerate() {
        let file_id = result.file.as_ref().unwrap().id.clone();
        team.admin
            .client
            .files()
            .purge_file(PurgeFileRequest { file_id })
            .await
            .unwrap();
        let left = app.stored_objects().await.len();
        assert_eq!(left, usize::from(n < 7), "after purging {} of 8", n + 1);
    }
}

async fn dedup_stays_inside_one_organization(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.team("acme").await;
    let b = app.team("globex").await;
    let bytes = vec![1_u8; 5000];
    assert!(!a.member.upload("x", &bytes).await.deduplicated);
    assert!(
        !b.member.upload("x", &bytes).await.deduplicated,
        "another tenant's copy is not shared"
    );
    assert_eq!(app.stored_objects().await.len(), 2);
}

async fn declared_known_content_is_verified_not_written(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = vec![6_u8; 200_000];
    let declared = |name: &str| FileMetadata {
        name: name.into(),
        expected_sha256: sha256_hex(&bytes),
        ..FileMetadata::default()
    };
    let first = team
        .member
        .upload_parts(declared("a.bin"), chunks(&bytes, 50_000))
        .await
        .unwrap();
    assert!(!first.deduplicated);
    let objects = app.stored_objects().await;
    let second = team
        .member
        .upload_parts(declared("b.bin"), chunks(&bytes, 50_000))
        .await
        .unwrap();
    assert!(second.deduplicated);
    assert_eq!(
        app.stored_objects().await,
        objects,
        "nothing written, nothing deleted"
    );
    assert_eq!(team.viewer.download(&second.file.unwrap().id).await, bytes);
    // Claiming stored content with other bytes fails and harms nothing.
    let other = vec![7_u8; 200_000];
    let status = assert_code(
        team.member
            .upload_parts(declared("lie.bin"), chunks(&other, 50_000))
            .await,
        Code::DataLoss,
    );
    assert!(status.message().contains("SHA-256"));
    assert_eq!(app.stored_objects().await, objects);
    assert_eq!(team.viewer.download(&first.file.unwrap().id).await, bytes);
}

on_both_backends!(
    declared_known_content_is_verified_not_written,
    identical_content_is_stored_once,
    concurrent_identical_uploads_end_with_one_blob,
    dedup_stays_inside_one_organization,
);
