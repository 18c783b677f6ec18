//! Download links: they work without a token until they expire, and a
//! tampered one does not work at all. (S3 presigns them; the local store's
//! are signed by the server and served on its HTTP side door.)

use chrono::{Duration, Utc};
use tenantry_client::{
    file::v1::{CreateDownloadUrlRequest, DeleteFileRequest},
    org::v1::{DeleteOrganizationRequest, RemoveMemberRequest},
};
use tenantry_tests::{Backend, TestApp, TestUser, assert_code, field_violations, on_both_backends};
use tonic::Code;

async fn url(user: &TestUser, file_id: &str, ttl_seconds: i32) -> String {
    user.client
        .files()
        .create_download_url(CreateDownloadUrlRequest {
            file_id: file_id.into(),
            ttl_seconds,
        })
        .await
        .unwrap()
        .into_inner()
        .url
}

async fn get(url: &str) -> (u16, Vec<u8>, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        response.bytes().await.unwrap().to_vec(),
        disposition,
    )
}

/// The URL with one character of its signature changed.
fn tampered(url: &str) -> String {
    let (marker, flip) = if url.contains("X-Amz-Signature=") {
        ("X-Amz-Signature=", 3)
    } else {
        (".", 3)
    };
    let at = url.rfind(marker).unwrap() + marker.len() + flip;
    let mut bytes = url.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    String::from_utf8(bytes).unwrap()
}

async fn a_link_downloads_until_it_expires(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = b"<html><script>alert(1)</script></html>".to_vec();
    let id = team
        .member
        .upload("page \"one\".html", &bytes)
        .await
        .file
        .unwrap()
        .id;
    let link = url(&team.viewer, &id, 60).await;
    let (status, body, disposition) = get(&link).await;
    assert_eq!((status, body), (200, bytes));
    assert!(
        disposition.starts_with("attachment;"),
        "never rendered inline: {disposition}"
    );
    let (status, ..) = get(&tampered(&link)).await;
    assert_eq!(status, 403, "a tampered link is refused");
    let status = assert_code(
        team.viewer
            .client
            .files()
            .create_download_url(CreateDownloadUrlRequest {
                file_id: id.clone(),
                ttl_seconds: 3601,
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["ttl_seconds"]);
    if backend == Backend::Sqlite {
        // The server checks expiry with its own clock.
        app.advance(Duration::seconds(61));
        assert_eq!(get(&link).await.0, 403, "an expired link is refused");
    }
}

async fn an_expired_link_is_refused_by_the_store(backend: Backend) {
    // The server's clock says it is two hours ago, so a one-hour link it
    // makes has already expired by the store's (wall) clock — for S3; the
    // local store shares the server's clock, so it moves that one instead.
    let app = TestApp::builder(backend)
        .clock_at(Utc::now() - Duration::hours(2))
        .start()
        .await;
    let team = app.team("acme").await;
    let id = team.member.upload("old.txt", b"old").await.file.unwrap().id;
    let link = url(&team.viewer, &id, 3600).await;
    if backend == Backend::Sqlite {
        assert_eq!(get(&link).await.0, 200);
        app.advance(Duration::hours(2));
    }
    assert_eq!(get(&link).await.0, 403);
}

async fn a_link_to_a_deleted_file_stops_working(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let id = team
        .member
        .upload("gone.txt", b"gone")
        .await
        .file
        .unwrap()
        .id;
    let link = url(&team.viewer, &id, 600).await;
    team.member
        .client
        .files()
        .delete_file(DeleteFileRequest {
            file_id: id.clone(),
        })
        .await
        .unwrap();
    if backend == Backend::Sqlite {
        assert_eq!(get(&link).await.0, 404);
    }
    // Whatever the store, no new link is handed out for it.
    assert_code(
        team.viewer
            .client
            .files()
            .create_download_url(CreateDownloadUrlRequest {
                file_id: id,
                ttl_seconds: 60,
            })
            .await,
        Code::NotFound,
    );
}

/// A signed link (the local store's) dies when its creator leaves the
/// organization and when the organization is deleted, not an hour later.
async fn a_link_dies_with_its_creator_and_its_organization(backend: Backend) {
    if backend != Backend::Sqlite {
        // S3 presigns its links itself; see the README on what revokes them.
        return;
    }
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let id = team
        .member
        .upload("kept.txt", b"kept")
        .await
        .file
        .unwrap()
        .id;
    let viewers = url(&team.viewer, &id, 3600).await;
    let members = url(&team.member, &id, 3600).await;
    assert_eq!(get(&viewers).await.0, 200);
    team.owner
        .client
        .org()
        .remove_member(RemoveMemberRequest {
            user_id: team.viewer.id.clone(),
        })
        .await
        .unwrap();
    let (status, body, _) = get(&viewers).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        get(&members).await.0,
        200,
        "other members' links still work"
    );
    team.owner
        .client
        .org()
        .delete_organization(DeleteOrganizationRequest {
            confirm_slug: team.org.slug.clone(),
        })
        .await
        .unwrap();
    assert_eq!(get(&members).await.0, 404, "the organization is gone");
}

on_both_backends!(
    a_link_dies_with_its_creator_and_its_organization,
    a_link_downloads_until_it_expires,
    an_expired_link_is_refused_by_the_store,
    a_link_to_a_deleted_file_stops_working,
);
