//! Per-organization single sign-on with OpenID Connect
//! (`tenantry.sso.v1`): configuration, the sign-in flow, just-in-time
//! provisioning and linked identities.

pub mod config;
mod domains;
pub mod http;
mod identities;
mod link;
mod login;
mod oidc;
mod person;
mod provision;
mod service;
mod settings;
mod store;

pub use service::SsoApi;
