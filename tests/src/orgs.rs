//! Organizations as tests drive them: create, invite, accept, switch; a team
//! with one member of every role.

use tenantry_client::{
    auth::v1::Role,
    org::v1::{
        AcceptInvitationRequest, CreateInvitationRequest, CreateOrganizationRequest, Organization,
        SwitchOrganizationRequest,
    },
};

use crate::{TestApp, TestUser};

/// An organization with an owner, an admin, a member and a viewer, each
/// signed in with a token pinned to it.
pub struct Team {
    pub org: Organization,
    pub owner: TestUser,
    pub admin: TestUser,
    pub member: TestUser,
    pub viewer: TestUser,
}

impl Team {
    /// The user holding `role`.
    pub fn with(&self, role: Role) -> &TestUser {
        match role {
            Role::Owner => &self.owner,
            Role::Admin => &self.admin,
            Role::Member => &self.member,
            Role::Viewer | Role::Unspecified => &self.viewer,
        }
    }
}

impl TestUser {
    /// Creates an organization and adopts the tokens pinned to it.
    pub async fn create_org(&mut self, slug: &str) -> Organization {
        let created = self
            .client
            .org()
            .create_organization(CreateOrganizationRequest {
                name: format!("Org {slug}"),
                slug: slug.into(),
            })
            .await
            .expect("create organization")
            .into_inner();
        self.adopt(created.tokens.expect("tokens"));
        created.organization.expect("organization")
    }

    /// Invites `email` with `role`; returns the token.
    pub async fn invite(&self, email: &str, role: Role) -> String {
        self.client
            .org()
            .create_invitation(CreateInvitationRequest {
                email: email.into(),
                role: role as i32,
            })
            .await
            .expect("create invitation")
            .into_inner()
            .token
    }

    pub async fn accept(&self, token: &str) {
        self.client
            .org()
            .accept_invitation(AcceptInvitationRequest {
                token: token.into(),
            })
            .await
            .expect("accept invitation");
    }

    /// Pins the session to `org_id`.
    pub async fn switch_to(&mut self, org_id: &str) {
        let tokens = self
            .client
            .org()
            .switch_organization(SwitchOrganizationRequest {
                organization_id: org_id.into(),
            })
            .await
            .expect("switch organization")
            .into_inner()
            .tokens
            .expect("tokens");
        self.adopt(tokens);
    }
}

impl TestApp {
    /// A new user `<name>@example.com`, invited by `inviter` with `role`,
    /// signed in and pinned to the inviter's organization.
    pub async fn member_of(&self, inviter: &TestUser, name: &str, role: Role) -> TestUser {
        let mut user = self.user(name).await;
        let token = inviter.invite(&user.email, role).await;
        user.accept(&token).await;
        let org_id = inviter.tokens.organization_id.clone();
        user.switch_to(&org_id).await;
        user
    }

    /// An organization `<prefix>` with `<prefix>-owner`, `-admin`, `-member`
    /// and `-viewer`.
    pub async fn team(&self, prefix: &str) -> Team {
        let mut owner = self.user(&format!("{prefix}-owner")).await;
        let org = owner.create_org(prefix).await;
        let admin = self
            .member_of(&owner, &format!("{prefix}-admin"), Role::Admin)
            .await;
        let member = self
            .member_of(&owner, &format!("{prefix}-member"), Role::Member)
            .await;
        let viewer = self
            .member_of(&owner, &format!("{prefix}-viewer"), Role::Viewer)
            .await;
        Team {
            org,
            owner,
            admin,
            member,
            viewer,
        }
    }
}
