//! Service accounts (`tenantry.serviceaccount.v1`): identities of programs,
//! owned by an organization, with keys and client secrets they exchange for
//! access tokens — through `AuthService.ExchangeToken` or the OAuth 2.0
//! token endpoint (`oauth.rs`). The authentication layer checks their tokens
//! like sessions (`auth/credentials.rs`).

mod accounts;
mod convert;
mod credentials;
pub mod exchange;
mod keys;
pub mod oauth;
mod service;
mod store;

pub use service::ServiceAccountApi;
