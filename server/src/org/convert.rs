//! Rows as messages.

use tenantry_proto::org::v1 as pb;

use crate::{
    access::Role,
    clock::to_proto,
    db::rows::{InvitationRow, MembershipRow, OrganizationRow},
};

pub fn organization(row: &OrganizationRow) -> pb::Organization {
    pb::Organization {
        id: row.id.clone(),
        name: row.name.clone(),
        slug: row.slug.clone(),
        create_time: Some(to_proto(row.created_at)),
        update_time: Some(to_proto(row.updated_at)),
        login_policy: row.login_policy.to_proto() as i32,
        max_file_size_bytes: row.max_file_size,
        storage_quota_bytes: row.storage_quota,
        require_mfa: row.require_mfa,
    }
}

pub fn role(role: Role) -> i32 {
    role.to_proto() as i32
}

pub fn membership(org: &OrganizationRow, member: &MembershipRow) -> pb::Membership {
    pb::Membership {
        organization: Some(organization(org)),
        role: role(member.role),
        join_time: Some(to_proto(member.created_at)),
    }
}

pub fn invitation(row: &InvitationRow, now: chrono::NaiveDateTime) -> pb::Invitation {
    let state = if row.accepted_at.is_some() {
        pb::InvitationState::Accepted
    } else if row.revoked_at.is_some() {
        pb::InvitationState::Revoked
    } else if row.expires_at <= now {
        pb::InvitationState::Expired
    } else {
        pb::InvitationState::Pending
    };
    pb::Invitation {
        id: row.id.clone(),
        email: row.email.clone(),
        role: role(row.role),
        state: state as i32,
        inviter_user_id: row.inviter_id.clone(),
        create_time: Some(to_proto(row.created_at)),
        expire_time: Some(to_proto(row.expires_at)),
    }
}
