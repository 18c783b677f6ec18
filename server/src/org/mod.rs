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
pub use store::owner_count;
