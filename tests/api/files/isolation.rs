//! Another organization's file and upload-session ids answer exactly like
//! ids that do not exist.

use tenantry_client::file::v1::{
    AbortUploadSessionRequest, AppendUploadChunkRequest, CompleteUploadSessionRequest,
    CreateDownloadUrlRequest, CreateUploadSessionRequest, DeleteFileRequest, FileMetadata,
    GetFileRequest, GetUploadSessionRequest, PurgeFileRequest, RestoreFileRequest,
    UpdateFileRequest,
};
use tenantry_tests::{Backend, TestApp, TestUser, on_both_backends};
use tonic::Code;

async fn codes_and_messages(
    user: &TestUser,
    file_id: &str,
    session_id: &str,
) -> Vec<(Code, String)> {
    let files = user.client.files();
    let f = || file_id.to_owned();
    let s = || session_id.to_owned();
    let outcomes = vec![
        files
            .clone()
            .get_file(GetFileRequest { file_id: f() })
            .await
            .map(|_| ()),
        user.download_range(file_id, 0, 0).await.map(|_| ()),
        files
            .clone()
            .update_file(UpdateFileRequest {
                file_id: f(),
                name: Some("x".into()),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        files
            .clone()
            .delete_file(DeleteFileRequest { file_id: f() })
            .await
            .map(|_| ()),
        files
            .clone()
            .restore_file(RestoreFileRequest { file_id: f() })
            .await
            .map(|_| ()),
        files
            .clone()
            .purge_file(PurgeFileRequest { file_id: f() })
            .await
            .map(|_| ()),
        files
            .clone()
            .create_download_url(CreateDownloadUrlRequest {
                file_id: f(),
                ttl_seconds: 60,
            })
            .await
            .map(|_| ()),
        files
            .clone()
            .get_upload_session(GetUploadSessionRequest { session_id: s() })
            .await
            .map(|_| ()),
        files
            .clone()
            .append_upload_chunk(AppendUploadChunkRequest {
                session_id: s(),
                offset: 0,
                chunk: bytes::Bytes::from_static(b"x"),
            })
            .await
            .map(|_| ()),
        files
            .clone()
            .complete_upload_session(CompleteUploadSessionRequest { session_id: s() })
            .await
            .map(|_| ()),
        files
            .clone()
            .abort_upload_session(AbortUploadSessionRequest { session_id: s() })
            .await
            .map(|_| ()),
    ];
    outcomes
        .into_iter()
        .map(|r| {
            let status = r.expect_err("must fail");
            (status.code(), status.message().to_owned())
        })
        .collect()
}

async fn foreign_file_ids_look_exactly_like_missing_ones(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.team("acme").await;
    let b = app.team("globex").await;
    let b_file = b
        .member
        .upload("secret.txt", b"globex only")
        .await
        .file
        .unwrap()
        .id;
    let metadata = FileMetadata {
        name: "s".into(),
        ..FileMetadata::default()
    };
    let b_session = b
        .member
        .client
        .files()
        .create_upload_session(CreateUploadSessionRequest {
            metadata: Some(metadata),
        })
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap()
        .id;
    let foreign = codes_and_messages(&a.admin, &b_file, &b_session).await;
    let random = uuid::Uuid::now_v7().to_string();
    let missing = codes_and_messages(&a.admin, &random, &random).await;
    assert!(
        foreign.iter().all(|(code, _)| *code == Code::NotFound),
        "{foreign:?}"
    );
    assert_eq!(foreign, missing);
    // And B's file is untouched.
    assert_eq!(b.viewer.download(&b_file).await, b"globex only");
}

on_both_backends!(foreign_file_ids_look_exactly_like_missing_ones);
