//! Three instances on one database and one blob store, as behind a load
//! balancer, behave as one server.

use chrono::Duration;
use tenantry_client::{
    Tenantry,
    auth::v1::{GetMeRequest, LogoutRequest, Role},
    file::v1::{
        AppendUploadChunkRequest, CreateUploadSessionRequest, DeleteFileRequest,
        GetStorageUsageRequest, GetUploadSessionRequest, PurgeFileRequest,
    },
    org::v1::UpdateMemberRoleRequest,
};
use tenantry_server::jobs::{JobRunner, queue_stats};
use tenantry_tests::{
    Backend, PASSWORD, Team, TestApp, assert_code, file_metadata, on_both_backends,
};
use tonic::Code;

/// Starts two more instances: three in all.
async fn three(backend: Backend) -> (TestApp, Team) {
    let mut app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    app.start_instance().await;
    app.start_instance().await;
    (app, team)
}

/// A client of instance `index` with `token`.
async fn on(app: &TestApp, index: usize, token: &str) -> Tenantry {
    app.client_of(index).await.with_token(token)
}

async fn a_logout_or_a_demotion_on_one_holds_on_the_others_within_a_second(backend: Backend) {
    let (app, team) = three(backend).await;
    let ann = &team.member.tokens.access_token;
    let (b, c) = (on(&app, 1, ann).await, on(&app, 2, ann).await);
    // B and C have read (and cached) the live session.
    b.auth().get_me(GetMeRequest {}).await.unwrap();
    c.files()
        .get_storage_usage(GetStorageUsageRequest {})
        .await
        .unwrap();

    team.owner
        .client
        .org()
        .update_member_role(UpdateMemberRoleRequest {
            user_id: team.member.id.clone(),
            role: Role::Viewer as i32,
        })
        .await
        .unwrap();
    app.advance(Duration::milliseconds(1000));
    let upload = tenantry_tests::upload_with(&c, file_metadata("x"), vec![]).await;
    assert_code(upload, Code::PermissionDenied);

    let viewer = &team.viewer.tokens.access_token;
    let (b, c) = (on(&app, 1, viewer).await, on(&app, 2, viewer).await);
    b.auth().get_me(GetMeRequest {}).await.unwrap();
    c.auth().get_me(GetMeRequest {}).await.unwrap();
    team.viewer
        .client
        .auth()
        .logout(LogoutRequest {})
        .await
        .unwrap();
    app.advance(Duration::milliseconds(1000));
    assert_code(
        b.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
    assert_code(
        c.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
}

async fn twenty_identical_uploads_through_three_store_one_blob_counted_exactly(backend: Backend) {
    let (app, team) = three(backend).await;
    let data: Vec<u8> = (0..200_000_u32).map(|i| (i % 253) as u8).collect();
    let token = &team.member.tokens.access_token;
    let mut uploads = Vec::new();
    for n in 0..20 {
        let client = on(&app, n % 3, token).await;
        let data = data.clone();
        uploads.push(tokio::spawn(async move {
            let chunks = tenantry_tests::chunks(&data, 64 * 1024);
            let metadata = file_metadata(&format!("copy-{n}.bin"));
            tenantry_tests::upload_with(&client, metadata, chunks).await
        }));
    }
    let mut ids = Vec::new();
    for upload in uploads {
        ids.push(upload.await.unwrap().unwrap().file.unwrap().id);
    }
    let size = data.len() as i64;
    let usage = team
        .owner
        .client
        .files()
        .get_storage_usage(GetStorageUsageRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(usage.file_count, 20);
    assert_eq!(usage.stored_bytes, size, "one copy");
    assert_eq!(usage.saved_by_dedup_bytes, 19 * size);
    assert_eq!(app.stored_objects().await.len(), 1);

    // The count is exact: the blob outlives 19 purges and not the 20th.
    for (n, id) in ids.iter().enumerate() {
        let mut files = on(&app, n % 3, &team.owner.tokens.access_token)
            .await
            .files();
        let file_id = id.clone();
        files
            .delete_file(DeleteFileRequest {
                file_id: file_id.clone(),
            })
            .await
            .unwrap();
        files
            .purge_file(PurgeFileRequest { file_id })
            .await
            .unwrap();
        app.run_jobs().await;
        let left = app.stored_objects().await.len();
        assert_eq!(left, usize::from(n < 19), "after {} purges", n + 1);
    }
}

async fn jobs_run_on_three_instances_at_once_and_none_twice(backend: Backend) {
    let (app, team) = three(backend).await;
    let files = team.member.client.files();
    let mut sessions = Vec::new();
    for n in 0..45 {
        let metadata = file_metadata(&format!("part-{n}.bin"));
        let request = CreateUploadSessionRequest {
            metadata: Some(metadata),
        };
        let created = files.clone().create_upload_session(request).await.unwrap();
        let id = created.into_inner().session.unwrap().id;
        let chunk = AppendUploadChunkRequest {
            session_id: id.clone(),
            offset: 0,
            chunk: vec![1_u8; 1000].into(),
        };
        files.clone().append_upload_chunk(chunk).await.unwrap();
        sessions.push(id);
    }
    // The sessions expire after a day without activity.
    app.advance(Duration::days(2));
    let due = queue_stats(app.state()).await.unwrap().due;
    assert!(due >= 45, "{due} due");

    let runners: Vec<_> = (0..3)
        .map(|i| {
            let runner = JobRunner::new(app.state_of(i).clone());
            tokio::spawn(async move { runner.run_due().await.unwrap() })
        })
        .collect();
    let mut ran = Vec::new();
    for runner in runners {
        ran.push(runner.await.unwrap());
    }
    assert_eq!(
        ran.iter().sum::<usize>() as i64,
        due,
        "each job once: {ran:?}"
    );
    assert_eq!(queue_stats(app.state()).await.unwrap().due, 0);
    // Two days on, the member signs in again to look.
    let files = app
        .sign_in(&team.member.email, PASSWORD)
        .await
        .client
        .files();
    for id in sessions {
        let request = GetUploadSessionRequest { session_id: id };
        assert_code(
            files.clone().get_upload_session(request).await,
            Code::NotFound,
        );
    }
}

on_both_backends!(
    a_logout_or_a_demotion_on_one_holds_on_the_others_within_a_second,
    twenty_identical_uploads_through_three_store_one_blob_counted_exactly,
    jobs_run_on_three_instances_at_once_and_none_twice,
);
