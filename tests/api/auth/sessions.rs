//! Listing and ending one's sessions.

use tenantry_client::auth::v1::{
    GetMeRequest, ListSessionsRequest, LogoutRequest, RefreshRequest, RevokeOtherSessionsRequest,
    RevokeSessionRequest,
};
use tenantry_tests::{Backend, PASSWORD, TestApp, assert_code, on_both_backends};
use tonic::Code;

async fn sessions_are_listed_and_revoked_one_by_one(backend: Backend) {
    let app = TestApp::start(backend).await;
    let laptop = app.user("ann").await;
    let phone = app.sign_in("ann@example.com", PASSWORD).await;
    let sessions = laptop
        .client
        .auth()
        .list_sessions(ListSessionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .sessions;
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0].id, phone.tokens.session_id, "newest first");
    assert!(sessions[1].current && !sessions[0].current);
    assert_eq!(sessions[0].client_ip, "127.0.0.1");

    laptop
        .client
        .auth()
        .revoke_session(RevokeSessionRequest {
            session_id: phone.tokens.session_id.clone(),
        })
        .await
        .unwrap();
    assert_code(
        phone.client.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
    let refresh = RefreshRequest {
        refresh_token: phone.tokens.refresh_token.clone(),
    };
    assert_code(
        app.client().await.auth().refresh(refresh).await,
        Code::Unauthenticated,
    );
    assert!(laptop.client.auth().get_me(GetMeRequest {}).await.is_ok());
}

async fn other_peoples_sessions_look_absent(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    for session_id in [
        bob.tokens.session_id.clone(),
        uuid::Uuid::now_v7().to_string(),
    ] {
        let status = assert_code(
            ann.client
                .auth()
                .revoke_session(RevokeSessionRequest { session_id })
                .await,
            Code::NotFound,
        );
        assert_eq!(status.message(), "session not found");
    }
    assert!(bob.client.auth().get_me(GetMeRequest {}).await.is_ok());
}

async fn revoking_the_others_keeps_this_one(backend: Backend) {
    let app = TestApp::start(backend).await;
    let here = app.user("ann").await;
    let a = app.sign_in("ann@example.com", PASSWORD).await;
    let b = app.sign_in("ann@example.com", PASSWORD).await;
    let revoked = here
        .client
        .auth()
        .revoke_other_sessions(RevokeOtherSessionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .revoked_count;
    assert_eq!(revoked, 2);
    for other in [&a, &b] {
        assert_code(
            other.client.auth().get_me(GetMeRequest {}).await,
            Code::Unauthenticated,
        );
    }
    here.client.auth().logout(LogoutRequest {}).await.unwrap();
    assert_code(
        here.client.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
}

async fn sessions_page_with_tokens(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    for _ in 0..4 {
        app.sign_in("ann@example.com", PASSWORD).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = ann
            .client
            .auth()
            .list_sessions(ListSessionsRequest {
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.sessions.len() <= 2);
        seen.extend(page.sessions.into_iter().map(|s| s.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (5, 5));
    let bad = ListSessionsRequest {
        page_size: 2,
        page_token: "garbage".into(),
    };
    assert_code(
        ann.client.auth().list_sessions(bad).await,
        Code::InvalidArgument,
    );
}

/// A removed member's session refreshes into tokens pinned to no
/// organization: still signed in, no longer inside the one they left.
async fn a_removed_members_refresh_is_pinned_to_no_organization(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.owner
        .client
        .org()
        .remove_member(tenantry_client::org::v1::RemoveMemberRequest {
            user_id: team.viewer.id.clone(),
        })
        .await
        .unwrap();
    let mut viewer = team.viewer.clone();
    let pair = viewer
        .client
        .auth()
        .refresh(RefreshRequest {
            refresh_token: viewer.tokens.refresh_token.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    assert_eq!(pair.organization_id, "", "pinned to no organization");
    viewer.adopt(pair);
    viewer
        .client
        .auth()
        .get_me(GetMeRequest {})
        .await
        .expect("still signed in");
}

on_both_backends!(
    a_removed_members_refresh_is_pinned_to_no_organization,
    sessions_are_listed_and_revoked_one_by_one,
    other_peoples_sessions_look_absent,
    revoking_the_others_keeps_this_one,
    sessions_page_with_tokens,
);
