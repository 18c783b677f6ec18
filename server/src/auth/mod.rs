//! Accounts, sign-in, tokens and sessions (`tenantry.auth.v1`).

pub mod credentials;
mod email_verification;
pub mod issue;
pub mod liveness;
mod liveness_pg;
pub mod lockout;
pub mod login;
pub mod mfa;
pub mod passkeys;
mod password_reset;
mod personal_tokens;
pub mod profile;
pub mod rate_window;
mod refresh;
mod register;
pub mod rules;
mod service;
mod sessions;
mod sign_in_notice;
mod signed_in;
mod store;
pub mod users;

pub use personal_tokens::is_personal_token;
pub use profile::check_password;
pub use service::AuthApi;
