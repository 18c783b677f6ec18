//! `tenantry.org.v1.OrgService`: each method reads its caller and request and
//! hands them to the domain function that does the work.

use tenantry_proto::org::v1::{self as pb, org_service_server::OrgService};
use tonic::Request;

use super::{invitations, members, organizations};
use crate::{
    context::Call,
    error::{Reply, ok},
    state::AppState,
};

#[derive(Clone)]
pub struct OrgApi {
    state: AppState,
}

impl OrgApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl OrgService for OrgApi {
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Reply<pb::CreateOrganizationResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(organizations::create_organization(&self.state, meta, caller, message).await)
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Reply<pb::GetOrganizationResponse> {
        ok(organizations::get_organization(&self.state, Call::signed_in(request)?.caller).await)
    }

    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Reply<pb::UpdateOrganizationResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(organizations::update_organization(&self.state, meta, caller, message).await)
    }

    async fn update_mfa_policy(
        &self,
        request: Request<pb::UpdateMfaPolicyRequest>,
    ) -> Reply<pb::UpdateMfaPolicyResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(organizations::update_mfa_policy(&self.state, meta, caller, message).await)
    }

    async fn delete_organization(
        &self,
        request: Request<pb::DeleteOrganizationRequest>,
    ) -> Reply<pb::DeleteOrganizationResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(organizations::delete_organization(&self.state, meta, caller, message).await)
    }

    async fn list_my_organizations(
        &self,
        request: Request<pb::ListMyOrganizationsRequest>,
    ) -> Reply<pb::ListMyOrganizationsResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(organizations::list_my_organizations(&self.state, caller, message).await)
    }

    async fn switch_organization(
        &self,
        request: Request<pb::SwitchOrganizationRequest>,
    ) -> Reply<pb::SwitchOrganizationResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(organizations::switch_organization(&self.state, meta, caller, message).await)
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Reply<pb::ListMembersResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(members::list_members(&self.state, caller, message).await)
    }

    async fn update_member_role(
        &self,
        request: Request<pb::UpdateMemberRoleRequest>,
    ) -> Reply<pb::UpdateMemberRoleResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(members::update_member_role(&self.state, meta, caller, message).await)
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Reply<pb::RemoveMemberResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(members::remove_member(&self.state, meta, caller, message).await)
    }

    async fn leave_organization(
        &self,
        request: Request<pb::LeaveOrganizationRequest>,
    ) -> Reply<pb::LeaveOrganizationResponse> {
        let Call { meta, caller, .. } = Call::signed_in(request)?;
        ok(members::leave_organization(&self.state, meta, caller).await)
    }

    async fn create_invitation(
        &self,
        request: Request<pb::CreateInvitationRequest>,
    ) -> Reply<pb::CreateInvitationResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(invitations::create_invitation(&self.state, meta, caller, message).await)
    }

    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Reply<pb::ListInvitationsResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(invitations::list_invitations(&self.state, caller, message).await)
    }

    async fn revoke_invitation(
        &self,
        request: Request<pb::RevokeInvitationRequest>,
    ) -> Reply<pb::RevokeInvitationResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(invitations::revoke_invitation(&self.state, meta, caller, message).await)
    }

    async fn accept_invitation(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Reply<pb::AcceptInvitationResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(invitations::accept_invitation(&self.state, meta, caller, message).await)
    }
}
