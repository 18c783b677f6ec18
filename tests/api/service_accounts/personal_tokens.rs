//! Personal access tokens: a person's opaque tokens for scripts, pinned to
//! one organization and capped at a role.

use tenantry_client::{
    auth::v1::{
        CreatePersonalAccessTokenRequest, GetMeRequest, ListPersonalAccessTokensRequest,
        RevokePersonalAccessTokenRequest, Role,
    },
    file::v1::ListFilesRequest,
    org::v1::{RemoveMemberRequest, UpdateMemberRoleRequest},
};
use tenantry_tests::{Backend, TestApp, assert_code, field_violations, on_both_backends};
use tonic::Code;

async fn a_script_calls_with_a_personal_token_and_no_exchange(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let token = app.personal_token(&team.member, Role::Viewer).await;
    assert!(token.starts_with("tnt_pat_"), "{token}");
    let script = app.client().await.with_token(token.clone());
    let me = script
        .auth()
        .get_me(GetMeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.user.unwrap().id, team.member.id);
    assert_eq!(me.organization_id, team.org.id);
    assert_eq!(
        me.role,
        Role::Viewer as i32,
        "the token's role, not the person's"
    );
    assert!(me.session_id.is_empty());
    script
        .files()
        .list_files(ListFilesRequest::default())
        .await
        .unwrap();
    let upload = script.files().upload(tokio_stream::iter(Vec::new())).await;
    assert_code(upload, Code::PermissionDenied);

    let listed = team
        .member
        .client
        .auth()
        .list_personal_access_tokens(ListPersonalAccessTokensRequest {})
        .await
        .unwrap()
        .into_inner()
        .personal_access_tokens;
    assert_eq!(listed.len(), 1);
    assert!(token.starts_with(&listed[0].prefix) && listed[0].prefix.len() < 16);
    assert_eq!(listed[0].organization_id, team.org.id);

    team.member
        .client
        .auth()
        .revoke_personal_access_token(RevokePersonalAccessTokenRequest {
            personal_access_token_id: listed[0].id.clone(),
        })
        .await
        .unwrap();
    assert_code(
        script.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
    let not_theirs = team
        .admin
        .client
        .auth()
        .revoke_personal_access_token(RevokePersonalAccessTokenRequest {
            personal_access_token_id: listed[0].id.clone(),
        })
        .await;
    assert_code(not_theirs, Code::NotFound);
}

async fn a_token_is_capped_at_its_makers_role_and_expires(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let above = team
        .member
        .client
        .auth()
        .create_personal_access_token(CreatePersonalAccessTokenRequest {
            name: "ci".into(),
            role: Role::Admin as i32,
            expire_time: None,
        })
        .await;
    assert_eq!(
        field_violations(&assert_code(above, Code::InvalidArgument)),
        ["role"]
    );
    let past = prost_types::Timestamp {
        seconds: app.now().timestamp() - 60,
        nanos: 0,
    };
    let expired = team
        .member
        .client
        .auth()
        .create_personal_access_token(CreatePersonalAccessTokenRequest {
            name: "ci".into(),
            role: 0,
            expire_time: Some(past),
        })
        .await;
    assert_eq!(
        field_violations(&assert_code(expired, Code::InvalidArgument)),
        ["expire_time"]
    );

    let soon = prost_types::Timestamp {
        seconds: app.now().timestamp() + 3_600,
        nanos: 0,
    };
    let created = team
        .member
        .client
        .auth()
        .create_personal_access_token(CreatePersonalAccessTokenRequest {
            name: "nightly".into(),
            role: 0,
            expire_time: Some(soon),
        })
        .await
        .unwrap()
        .into_inner();
    let made = created.personal_access_token.unwrap();
    assert_eq!(
        made.role,
        Role::Member as i32,
        "unset means the maker's role"
    );
    let script = app.client().await.with_token(created.token);
    script.auth().get_me(GetMeRequest {}).await.unwrap();
    app.advance(chrono::Duration::hours(1));
    assert_code(
        script.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
}

async fn a_token_stops_when_its_maker_is_demoted_or_leaves(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let admins = app.personal_token(&team.admin, Role::Admin).await;
    let members = app.personal_token(&team.member, Role::Member).await;
    let as_admin = app.client().await.with_token(admins);
    let as_member = app.client().await.with_token(members);
    as_admin.auth().get_me(GetMeRequest {}).await.unwrap();
    as_member.auth().get_me(GetMeRequest {}).await.unwrap();

    let owner = team.owner.client.org();
    owner
        .clone()
        .update_member_role(UpdateMemberRoleRequest {
            user_id: team.admin.id.clone(),
            role: Role::Member as i32,
        })
        .await
        .unwrap();
    assert_code(
        as_admin.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
    owner
        .clone()
        .remove_member(RemoveMemberRequest {
            user_id: team.member.id.clone(),
        })
        .await
        .unwrap();
    assert_code(
        as_member.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
}

on_both_backends!(
    a_script_calls_with_a_personal_token_and_no_exchange,
    a_token_is_capped_at_its_makers_role_and_expires,
    a_token_stops_when_its_maker_is_demoted_or_leaves,
);
