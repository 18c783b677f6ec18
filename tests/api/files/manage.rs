//! Finding files, and changing them: who may, and what delete, restore and
//! purge do.

use chrono::Duration;
use tenantry_client::file::v1::{
    DeleteFileRequest, FileMetadata, FileOrder, GetFileRequest, ListFilesRequest, PurgeFileRequest,
    RestoreFileRequest, UpdateFileRequest,
};
use tenantry_tests::{
    Backend, TestApp, TestUser, assert_code, chunks, field_violations, on_both_backends,
};
use tonic::Code;

async fn names(user: &TestUser, request: ListFilesRequest) -> Vec<String> {
    let mut names = Vec::new();
    let mut request = request;
    loop {
        let page = user
            .client
            .files()
            .list_files(request.clone())
            .await
            .unwrap()
            .into_inner();
        names.extend(page.files.into_iter().map(|f| f.name));
        if page.next_page_token.is_empty() {
            return names;
        }
        request.page_token = page.next_page_token;
    }
}

async fn upload_as(
    user: &TestUser,
    name: &str,
    content_type: &str,
    labels: &[(&str, &str)],
) -> String {
    let metadata = FileMetadata {
        name: name.into(),
        content_type: content_type.into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..FileMetadata::default()
    };
    let bytes = format!("content of {name}");
    let uploaded = user
        .upload_parts(metadata, chunks(bytes.as_bytes(), 7))
        .await
        .unwrap();
    uploaded.file.unwrap().id
}

async fn files_are_filtered_ordered_and_paged(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let start = app.now();
    upload_as(
        &team.member,
        "b-report.pdf",
        "application/pdf",
        &[("env", "prod")],
    )
    .await;
    app.advance(Duration::seconds(10));
    upload_as(&team.member, "a-photo.png", "image/png", &[("env", "dev")]).await;
    app.advance(Duration::seconds(10));
    upload_as(
        &team.admin,
        "c-logo.svg",
        "image/svg+xml",
        &[("env", "prod"), ("brand", "")],
    )
    .await;
    app.advance(Duration::seconds(10));
    upload_as(
        &team.admin,
        "a_percent%.txt",
        "text/plain; charset=utf-8",
        &[],
    )
    .await;

    let list = |f: fn(&mut ListFilesRequest)| {
        let mut request = ListFilesRequest {
            page_size: 2,
            ..ListFilesRequest::default()
        };
        f(&mut request);
        request
    };
    let viewer = &team.viewer;
    assert_eq!(
        names(viewer, list(|_| {})).await,
        [
            "a_percent%.txt",
            "c-logo.svg",
            "a-photo.png",
            "b-report.pdf"
        ],
        "newest first"
    );
    assert_eq!(
        names(viewer, list(|r| r.order = FileOrder::NameAsc as i32)).await,
        [
            "a-photo.png",
            "a_percent%.txt",
            "b-report.pdf",
            "c-logo.svg"
        ]
    );
    assert_eq!(
        names(viewer, list(|r| r.name_prefix = "a_".into())).await,
        ["a_percent%.txt"],
        "`_` is not a wildcard"
    );
    assert_eq!(
        names(viewer, list(|r| r.content_type = "image/*".into())).await,
        ["c-logo.svg", "a-photo.png"]
    );
    assert_eq!(
        names(viewer, list(|r| r.content_type = "text/plain".into())).await,
        ["a_percent%.txt"]
    );
    assert_eq!(
        names(viewer, list(|r| r.label = "env=prod".into())).await,
        ["c-logo.svg", "b-report.pdf"]
    );
    assert_eq!(
        names(viewer, list(|r| r.label = "brand".into())).await,
        ["c-logo.svg"]
    );
    let mut by_uploader = list(|_| {});
    by_uploader.uploader_user_id = team.member.id.clone();
    assert_eq!(
        names(viewer, by_uploader).await,
        ["a-photo.png", "b-report.pdf"]
    );
    let mut window = list(|_| {});
    window.created_after = Some(prost_types::Timestamp {
        seconds: start.timestamp() + 5,
        nanos: 0,
    });
    window.created_before = Some(prost_types::Timestamp {
        seconds: start.timestamp() + 25,
        nanos: 0,
    });
    assert_eq!(names(viewer, window).await, ["c-logo.svg", "a-photo.png"]);
    let status = assert_code(
        viewer
            .client
            .files()
            .list_files(list(|r| r.label = "Bad Key".into()))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["label"]);
}

/// Page tokens are opaque and tamper-evident, and bound to the filters they
/// were handed out for (AIP-158): altered or replayed elsewhere, they are
/// refused with a field violation instead of moving the cursor.
async fn page_tokens_cannot_be_altered_or_replayed_with_other_filters(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    for name in ["a.txt", "b.txt", "c.txt"] {
        upload_as(&team.member, name, "text/plain", &[("kind", "note")]).await;
    }
    let first = ListFilesRequest {
        label: "kind=note".into(),
        page_size: 1,
        ..ListFilesRequest::default()
    };
    let page = team
        .member
        .client
        .files()
        .list_files(first.clone())
        .await
        .unwrap()
        .into_inner();
    let token = page.next_page_token;
    assert!(!token.is_empty());
    let member = &team.member;
    let list =
        |request: ListFilesRequest| async move { member.client.files().list_files(request).await };
    let next = ListFilesRequest {
        page_token: token.clone(),
        page_size: 2,
        ..first.clone()
    };
    assert_eq!(
        list(next).await.unwrap().into_inner().files.len(),
        2,
        "a new page size is fine"
    );

    let mut altered = token.clone().into_bytes();
    let last = altered.len() / 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = ListFilesRequest {
        page_token: String::from_utf8(altered).unwrap(),
        ..first.clone()
    };
    let status = assert_code(list(altered).await, Code::InvalidArgument);
    assert_eq!(field_violations(&status), vec!["page_token"]);

    let other_filter = ListFilesRequest {
        label: "kind=other".into(),
        page_token: token.clone(),
        ..first.clone()
    };
    let status = assert_code(list(other_filter).await, Code::InvalidArgument);
    assert_eq!(field_violations(&status), vec!["page_token"]);
    let other_order = ListFilesRequest {
        order: FileOrder::NameAsc.into(),
        page_token: token,
        ..first
    };
    assert_code(list(other_order).await, Code::InvalidArgument);
}

async fn members_change_their_own_files_and_admins_any(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let mine = upload_as(&team.member, "mine.txt", "", &[("a", "1")]).await;
    let theirs = upload_as(&team.admin, "theirs.txt", "", &[]).await;
    let rename = |id: &str, name: &str| UpdateFileRequest {
        file_id: id.into(),
        name: Some(name.into()),
        labels: [("b".to_owned(), "2".to_owned())].into(),
        replace_labels: true,
    };
    let updated = team
        .member
        .client
        .files()
        .update_file(rename(&mine, "renamed.txt"))
        .await
        .unwrap()
        .into_inner()
        .file
        .unwrap();
    assert_eq!(updated.name, "renamed.txt");
    assert_eq!(
        updated.labels.into_iter().collect::<Vec<_>>(),
        vec![("b".to_owned(), "2".to_owned())]
    );
    assert_code(
        team.member
            .client
            .files()
            .update_file(rename(&theirs, "x"))
            .await,
        Code::PermissionDenied,
    );
    assert_code(
        team.member
            .client
            .files()
            .delete_file(DeleteFileRequest {
                file_id: theirs.clone(),
            })
            .await,
        Code::PermissionDenied,
    );
    team.admin
        .client
        .files()
        .update_file(rename(&mine, "admin-renamed.txt"))
        .await
        .unwrap();
    // Viewers read only; purging is for admins.
    let viewer_upload = team
        .viewer
        .upload_parts(tenantry_tests_metadata("v.txt"), vec![])
        .await;
    assert_code(viewer_upload, Code::PermissionDenied);
    assert_code(
        team.member
            .client
            .files()
            .purge_file(PurgeFileRequest {
                file_id: mine.clone(),
            })
            .await,
        Code::PermissionDenied,
    );
}

fn tenantry_tests_metadata(name: &str) -> FileMetadata {
    FileMetadata {
        name: name.into(),
        ..FileMetadata::default()
    }
}

async fn deleted_files_hide_until_restored_or_purged(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = b"keep me".to_vec();
    let id = team
        .member
        .upload("kept.txt", &bytes)
        .await
        .file
        .unwrap()
        .id;
    let files = team.member.client.files();
    let deleted = files
        .clone()
        .delete_file(DeleteFileRequest {
            file_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.file.unwrap().delete_time.is_some());
    assert_code(
        files
            .clone()
            .get_file(GetFileRequest {
                file_id: id.clone(),
            })
            .await,
        Code::NotFound,
    );
    assert_code(team.viewer.download_range(&id, 0, 0).await, Code::NotFound);
    assert!(
        names(&team.viewer, ListFilesRequest::default())
            .await
            .is_empty()
    );
    assert_code(
        files
            .clone()
            .delete_file(DeleteFileRequest {
                file_id: id.clone(),
            })
            .await,
        Code::FailedPrecondition,
    );
    files
        .clone()
        .restore_file(RestoreFileRequest {
            file_id: id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(team.viewer.download(&id).await, bytes);

    // Deleted again and left alone, it is purged after the retention period.
    files
        .clone()
        .delete_file(DeleteFileRequest {
            file_id: id.clone(),
        })
        .await
        .unwrap();
    app.advance(Duration::days(29));
    app.run_jobs().await;
    assert_eq!(
        app.stored_objects().await.len(),
        1,
        "still restorable on day 29"
    );
    app.advance(Duration::days(2));
    app.run_jobs().await;
    assert!(
        app.stored_objects().await.is_empty(),
        "bytes gone after 30 days"
    );
    let owner = app.sign_in(&team.owner.email, &team.owner.password).await;
    assert_code(
        owner
            .client
            .files()
            .restore_file(RestoreFileRequest { file_id: id })
            .await,
        Code::NotFound,
    );
}

async fn a_restored_file_is_not_purged_by_its_old_schedule(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let id = team
        .member
        .upload("back.txt", b"back")
        .await
        .file
        .unwrap()
        .id;
    let files = team.member.client.files();
    files
        .clone()
        .delete_file(DeleteFileRequest {
            file_id: id.clone(),
        })
        .await
        .unwrap();
    files
        .clone()
        .restore_file(RestoreFileRequest {
            file_id: id.clone(),
        })
        .await
        .unwrap();
    app.advance(Duration::days(31));
    app.run_jobs().await;
    let owner = app.sign_in(&team.owner.email, &team.owner.password).await;
    assert_eq!(owner.download(&id).await, b"back");
}

on_both_backends!(
    page_tokens_cannot_be_altered_or_replayed_with_other_filters,
    files_are_filtered_ordered_and_paged,
    members_change_their_own_files_and_admins_any,
    deleted_files_hide_until_restored_or_purged,
    a_restored_file_is_not_purged_by_its_old_schedule,
);
