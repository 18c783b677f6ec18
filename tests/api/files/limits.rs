//! Limits are enforced while bytes arrive, and a refused upload leaves
//! nothing behind: no file, no bytes, no unfinished write.

use tenantry_client::{
    file::v1::{
        AppendUploadChunkRequest, CreateUploadSessionRequest, FileMetadata, GetStorageUsageRequest,
        ListFilesRequest, UploadRequest,
    },
    org::v1::{LoginPolicy, UpdateOrganizationRequest},
};
use tenantry_tests::{
    Backend, Team, TestApp, assert_code, chunks, field_violations, on_both_backends, sha256_hex,
};
use tonic::Code;

const MIB: usize = 1024 * 1024;

async fn assert_nothing_stored(app: &TestApp, team: &Team) {
    let files = team
        .admin
        .client
        .files()
        .list_files(ListFilesRequest::default())
        .await
        .unwrap();
    assert!(files.into_inner().files.is_empty(), "no file is visible");
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
    assert_eq!(
        app.stored_objects().await,
        Vec::<String>::new(),
        "no bytes in the store"
    );
    assert_eq!(
        app.unfinished_writes(),
        0,
        "no unfinished write (temporary file, multipart upload)"
    );
}

fn named(name: &str) -> FileMetadata {
    FileMetadata {
        name: name.into(),
        ..FileMetadata::default()
    }
}

async fn the_size_limit_stops_an_upload_midway(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let limit = UpdateOrganizationRequest {
        name: None,
        login_policy: LoginPolicy::Unspecified as i32,
        max_file_size_bytes: Some(10 * MIB as i64),
    };
    team.admin
        .client
        .org()
        .update_organization(limit)
        .await
        .unwrap();
    // 16 MiB in 1 MiB chunks: refused at the 11th, after S3 got a part.
    let big = vec![7_u8; 16 * MIB];
    let status = assert_code(
        team.member
            .upload_parts(named("big.bin"), chunks(&big, MIB))
            .await,
        Code::InvalidArgument,
    );
    assert!(status.message().contains("maximum"), "{status:?}");
    // A declared size over the limit is refused before any byte.
    let declared = FileMetadata {
        expected_size: Some(11 * MIB as i64),
        ..named("declared.bin")
    };
    let status = assert_code(
        team.member.upload_parts(declared, vec![]).await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["metadata.expected_size"]);
    assert_nothing_stored(&app, &team).await;
}

async fn the_quota_stops_an_upload_midway(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|c| c.storage.default_storage_quota = bytesize::ByteSize::mib(6))
        .start()
        .await;
    let team = app.team("acme").await;
    let four = vec![1_u8; 4 * MIB];
    let first = team.member.upload("first.bin", &four).await.file.unwrap();
    let other = vec![2_u8; 4 * MIB];
    let status = assert_code(
        team.member
            .upload_parts(named("second.bin"), chunks(&other, MIB))
            .await,
        Code::ResourceExhausted,
    );
    assert!(status.message().contains("quota"));
    let usage = team
        .admin
        .client
        .files()
        .get_storage_usage(GetStorageUsageRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (usage.used_bytes, usage.quota_bytes, usage.file_count),
        (4 * MIB as i64, 6 * MIB as i64, 1)
    );
    assert_eq!(
        app.stored_objects().await.len(),
        1,
        "only the first file's bytes"
    );
    assert_eq!(team.viewer.download(&first.id).await, four);
}

async fn unfinished_resumable_uploads_share_the_quota(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|c| c.storage.default_storage_quota = bytesize::ByteSize::mib(6))
        .start()
        .await;
    let team = app.team("acme").await;
    let files = team.member.client.files();
    let mut sessions = Vec::new();
    for name in ["a.bin", "b.bin"] {
        let created = files
            .clone()
            .create_upload_session(CreateUploadSessionRequest {
                metadata: Some(named(name)),
            })
            .await
            .unwrap()
            .into_inner();
        sessions.push(created.session.unwrap().id);
    }
    let append = |session: &str, offset: usize| AppendUploadChunkRequest {
        session_id: session.into(),
        offset: offset as i64,
        chunk: bytes::Bytes::from(vec![3_u8; 2 * MIB]),
    };
    // 4 MiB in the first session, then 2 MiB in the second: 6 MiB in all.
    for offset in [0, 2 * MIB] {
        files
            .clone()
            .append_upload_chunk(append(&sessions[0], offset))
            .await
            .unwrap();
    }
    files
        .clone()
        .append_upload_chunk(append(&sessions[1], 0))
        .await
        .unwrap();
    // Each session alone is within the quota, together they are not.
    let status = assert_code(
        files
            .clone()
            .append_upload_chunk(append(&sessions[1], 2 * MIB))
            .await,
        Code::ResourceExhausted,
    );
    assert!(status.message().contains("quota"), "{status:?}");
}

async fn declared_size_and_checksum_must_hold(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = vec![3_u8; 1000];
    let sized = |n: i64| FileMetadata {
        expected_size: Some(n),
        ..named("sized.bin")
    };
    assert_code(
        team.member
            .upload_parts(sized(999), chunks(&bytes, 100))
            .await,
        Code::InvalidArgument,
    );
    assert_code(
        team.member
            .upload_parts(sized(1001), chunks(&bytes, 100))
            .await,
        Code::InvalidArgument,
    );
    let wrong_sum = FileMetadata {
        expected_sha256: sha256_hex(b"something else"),
        ..named("summed.bin")
    };
    let status = assert_code(
        team.member
            .upload_parts(wrong_sum, chunks(&bytes, 100))
            .await,
        Code::DataLoss,
    );
    assert!(status.message().contains("SHA-256"));
    assert_nothing_stored(&app, &team).await;
    let right_sum = FileMetadata {
        expected_sha256: sha256_hex(&bytes).to_uppercase(),
        expected_size: Some(1000),
        ..named("summed.bin")
    };
    team.member
        .upload_parts(right_sum, chunks(&bytes, 100))
        .await
        .unwrap();
}

async fn bad_metadata_names_its_fields(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bad = FileMetadata {
        name: "evil\u{202E}gpj.exe".into(),
        content_type: "not a type".into(),
        expected_size: Some(-1),
        expected_sha256: "xyz".into(),
        labels: [("Bad Key".to_owned(), "v".to_owned())].into(),
    };
    let status = assert_code(
        team.member.upload_parts(bad, vec![]).await,
        Code::InvalidArgument,
    );
    assert_eq!(
        field_violations(&status),
        vec![
            "metadata.name",
            "metadata.content_type",
            "metadata.expected_size",
            "metadata.expected_sha256",
            "metadata.labels"
        ]
    );
    // Bytes before metadata.
    let wrong_order = vec![UploadRequest {
        part: Some(tenantry_client::file::v1::upload_request::Part::Chunk(
            bytes::Bytes::from_static(b"x"),
        )),
    }];
    let status = assert_code(
        team.member
            .client
            .files()
            .upload(tokio_stream::iter(wrong_order))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["metadata"]);
    assert_nothing_stored(&app, &team).await;
}

on_both_backends!(
    the_size_limit_stops_an_upload_midway,
    the_quota_stops_an_upload_midway,
    unfinished_resumable_uploads_share_the_quota,
    declared_size_and_checksum_must_hold,
    bad_metadata_names_its_fields,
);
