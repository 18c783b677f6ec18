//! Organizations (tenants), members, roles and invitations
//! (`tenantry.org.v1`).

mod convert;
mod invitations;
mod members;
mod organizations;
mod policy;
pub mod rules;
mod service;

pub use organizations::owner_count;
pub use policy::LoginPolicy;
pub use service::OrgApi;
