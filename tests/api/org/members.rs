//! Roles: who may change whom, the last owner, and changes that take effect
//! on the member's next call.

use tenantry_client::{
    auth::v1::{DeleteAccountRequest, Role},
    org::v1::{
        CreateInvitationRequest, GetOrganizationRequest, LeaveOrganizationRequest,
        ListMembersRequest, RemoveMemberRequest, UpdateMemberRoleRequest,
    },
};
use tenantry_tests::{Backend, PASSWORD, TestApp, TestUser, assert_code, on_both_backends};
use tonic::Code;

fn set_role(user: &TestUser, role: Role) -> UpdateMemberRoleRequest {
    UpdateMemberRoleRequest {
        user_id: user.id.clone(),
        role: role as i32,
    }
}

async fn members_are_listed_with_their_roles(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let members = team
        .viewer
        .client
        .org()
        .list_members(ListMembersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .members;
    let roles: Vec<(String, i32)> = members.into_iter().map(|m| (m.email, m.role)).collect();
    assert_eq!(
        roles,
        vec![
            ("acme-owner@example.com".to_owned(), Role::Owner as i32),
            ("acme-admin@example.com".to_owned(), Role::Admin as i32),
            ("acme-member@example.com".to_owned(), Role::Member as i32),
            ("acme-viewer@example.com".to_owned(), Role::Viewer as i32),
        ]
    );
}

async fn nobody_manages_peers_or_grants_above_their_role(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let org = |u: &TestUser| u.client.org();
    // An admin manages members below them, up to admin...
    let promoted = org(&team.admin)
        .update_member_role(set_role(&team.viewer, Role::Member))
        .await
        .unwrap();
    assert_eq!(
        promoted.into_inner().member.unwrap().role,
        Role::Member as i32
    );
    // ...but not owners or fellow admins, and never grants owner.
    assert_code(
        org(&team.admin)
            .update_member_role(set_role(&team.owner, Role::Viewer))
            .await,
        Code::PermissionDenied,
    );
    assert_code(
        org(&team.admin)
            .update_member_role(set_role(&team.member, Role::Owner))
            .await,
        Code::PermissionDenied,
    );
    assert_code(
        org(&team.admin)
            .remove_member(RemoveMemberRequest {
                user_id: team.owner.id.clone(),
            })
            .await,
        Code::PermissionDenied,
    );
    let invite_owner = CreateInvitationRequest {
        email: "x@example.com".into(),
        role: Role::Owner as i32,
    };
    assert_code(
        org(&team.admin).create_invitation(invite_owner).await,
        Code::InvalidArgument,
    );
    // Unspecified roles are invalid input.
    assert_code(
        org(&team.owner)
            .update_member_role(set_role(&team.member, Role::Unspecified))
            .await,
        Code::InvalidArgument,
    );
}

async fn an_organization_keeps_an_owner(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let org = team.owner.client.org();
    let status = assert_code(
        org.clone()
            .update_member_role(set_role(&team.owner, Role::Admin))
            .await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("owner"));
    assert_code(
        org.clone()
            .leave_organization(LeaveOrganizationRequest {})
            .await,
        Code::FailedPrecondition,
    );
    assert_code(
        org.clone()
            .remove_member(RemoveMemberRequest {
                user_id: team.owner.id.clone(),
            })
            .await,
        Code::FailedPrecondition,
    );
    // Nor may the last owner delete their account.
    let delete = DeleteAccountRequest {
        password: PASSWORD.into(),
    };
    let status = assert_code(
        team.owner
            .client
            .auth()
            .delete_account(delete.clone())
            .await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("last owner"));
    // With a second owner, the first may step down, and leave entirely.
    org.clone()
        .update_member_role(set_role(&team.admin, Role::Owner))
        .await
        .unwrap();
    org.clone()
        .update_member_role(set_role(&team.owner, Role::Admin))
        .await
        .unwrap();
    team.owner
        .client
        .auth()
        .delete_account(delete)
        .await
        .unwrap();
    let members = team
        .admin
        .client
        .org()
        .list_members(ListMembersRequest::default())
        .await
        .unwrap();
    assert_eq!(members.into_inner().members.len(), 3);
}

async fn a_demotion_takes_effect_on_the_next_call(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let invite = || CreateInvitationRequest {
        email: "new@example.com".into(),
        role: Role::Viewer as i32,
    };
    team.admin
        .client
        .org()
        .create_invitation(invite())
        .await
        .unwrap();
    team.owner
        .client
        .org()
        .update_member_role(set_role(&team.admin, Role::Viewer))
        .await
        .unwrap();
    // Same token, next call: the admin is a viewer now.
    let status = assert_code(
        team.admin.client.org().create_invitation(invite()).await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("admin"), "{status:?}");
}

/// A role the server does not know (a corrupt or foreign row) is an error
/// that is seen — never quietly read as the lowest role.
async fn an_unknown_role_in_the_database_is_an_error_not_a_downgrade(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    app.execute_sql(&format!(
        "UPDATE memberships SET role = 'superuser' WHERE user_id = '{}'",
        team.member.id
    ));
    // Past the session cache's 500 ms.
    app.advance(chrono::Duration::seconds(1));
    assert_code(
        team.member
            .client
            .org()
            .get_organization(GetOrganizationRequest {})
            .await,
        Code::Internal,
    );
    assert_code(
        team.owner
            .client
            .org()
            .list_members(ListMembersRequest::default())
            .await,
        Code::Internal,
    );
    // The others are unaffected.
    team.viewer
        .client
        .org()
        .get_organization(GetOrganizationRequest {})
        .await
        .unwrap();
}

async fn a_removal_takes_effect_on_the_next_call(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let remove = RemoveMemberRequest {
        user_id: team.member.id.clone(),
    };
    team.admin.client.org().remove_member(remove).await.unwrap();
    let status = assert_code(
        team.member
            .client
            .org()
            .get_organization(GetOrganizationRequest {})
            .await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("no longer a member"));
    // Leaving works the same way for oneself.
    team.viewer
        .client
        .org()
        .leave_organization(LeaveOrganizationRequest {})
        .await
        .unwrap();
    assert_code(
        team.viewer
            .client
            .org()
            .get_organization(GetOrganizationRequest {})
            .await,
        Code::PermissionDenied,
    );
    let members = team
        .owner
        .client
        .org()
        .list_members(ListMembersRequest::default())
        .await
        .unwrap();
    assert_eq!(members.into_inner().members.len(), 2);
}

on_both_backends!(
    members_are_listed_with_their_roles,
    nobody_manages_peers_or_grants_above_their_role,
    an_organization_keeps_an_owner,
    a_demotion_takes_effect_on_the_next_call,
    an_unknown_role_in_the_database_is_an_error_not_a_downgrade,
    a_removal_takes_effect_on_the_next_call,
);
