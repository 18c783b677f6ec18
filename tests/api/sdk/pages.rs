//! `Tenantry::list` streams every item of a paged List call, asking for
//! the next page as the stream reaches it.

use futures::TryStreamExt as _;
use tenantry_client::{
    file::v1::ListFilesRequest,
    org::v1::{ListMembersRequest, ListMyOrganizationsRequest},
};
use tenantry_tests::{Backend, TestApp, on_both_backends};

async fn every_page_is_streamed_in_order(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let sdk = &team.member.client;
    for i in 0..7 {
        team.member
            .upload(&format!("report-{i}.txt"), format!("{i}").as_bytes())
            .await;
    }
    team.member.upload("other.txt", b"x").await;

    let request = ListFilesRequest {
        name_prefix: "report-".into(),
        page_size: 2,
        ..ListFilesRequest::default()
    };
    let names: Vec<String> = sdk
        .list(request)
        .map_ok(|f| f.name)
        .try_collect()
        .await
        .unwrap();
    let newest_first: Vec<String> = (0..7).rev().map(|i| format!("report-{i}.txt")).collect();
    assert_eq!(names, newest_first, "four pages of two, the filter kept");

    let request = ListMembersRequest {
        page_size: 1,
        ..ListMembersRequest::default()
    };
    let members: Vec<_> = sdk.list(request).try_collect().await.unwrap();
    assert_eq!(members.len(), 4, "owner, admin, member, viewer");

    // A failure ends the stream with the error.
    let outsider = app.user("outsider").await;
    let mine: Vec<_> = outsider
        .client
        .list(ListMyOrganizationsRequest::default())
        .try_collect()
        .await
        .unwrap();
    assert!(mine.is_empty());
    let refused = outsider
        .client
        .list(ListMembersRequest::default())
        .try_collect::<Vec<_>>()
        .await;
    assert!(refused.is_err(), "{refused:?}");
}

on_both_backends!(every_page_is_streamed_in_order);
