//! Bytes that no file refers to — what a crash between writing the bytes
//! and committing the file leaves — are swept once they are older than the
//! grace period. (The test plants such bytes in the store directly: the one
//! thing it reaches under the API for.)

use bytes::Bytes;
use chrono::Duration;
use tenantry_tests::{Backend, TestApp, on_both_backends};

async fn orphan_bytes_are_swept_after_the_grace_period(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let kept = team
        .member
        .upload("kept.bin", &[1; 1000])
        .await
        .file
        .unwrap();
    let org = &team.org.id;
    let orphan_blob = format!("orgs/{org}/blobs/ab/cd/{}", uuid::Uuid::new_v4().simple());
    let orphan_part = format!(
        "orgs/{org}/uploads/{}/00000000000000000000-x",
        uuid::Uuid::now_v7()
    );
    let store = &app.state().blobs;
    store
        .put(&orphan_blob, Bytes::from_static(b"crashed upload"))
        .await
        .unwrap();
    store
        .put(&orphan_part, Bytes::from_static(b"lost chunk"))
        .await
        .unwrap();
    assert_eq!(app.stored_objects().await.len(), 3);

    // Within the grace period an upload may still be committing: untouched.
    app.advance(Duration::minutes(30));
    app.run_jobs().await;
    assert_eq!(app.stored_objects().await.len(), 3);

    app.advance(Duration::hours(2));
    app.run_jobs().await;
    let left = app.stored_objects().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(!left.contains(&orphan_blob) && !left.contains(&orphan_part));
    let owner = app.sign_in(&team.owner.email, &team.owner.password).await;
    assert_eq!(owner.download(&kept.id).await, vec![1; 1000]);
}

on_both_backends!(orphan_bytes_are_swept_after_the_grace_period);
