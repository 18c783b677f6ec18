//! Organizations (tenants), members, roles and invitations
//! (`tenantry.org.v1`).

mod convert;
mod invitations;
mod members;
mod organizations;
mod policy;
pub mod rules;
mod service;
mod store;

pub use policy::LoginPolicy;
pub use service::OrgApi;
/// What other features may do to memberships (SSO provisions and syncs
/// them; deleting an account counts owners).
pub use store::{delete_membership, insert_membership, owner_count, update_member_role};
