//! The Rust SDK of Tenantry.
//!
//! A [`Tenantry`] handle holds one connection (plain or TLS) and the
//! [credentials] it calls as, and gives the generated stub of
//! each service: [`auth`], [`org`], [`file`](mod@file), [`sso`], [`serviceaccount`]
//! and [`audit`] (the messages and stubs are re-exported per area). On the
//! way, every call gets
//! - the access token, renewed shortly before it expires and once after the
//!   server refuses it, one renewal at a time for all tasks;
//! - retries with backoff and jitter when the method is idempotent and the
//!   server is unavailable or asks to slow down ([`RetryPolicy`]).
//!
//! Errors are one type, [`Error`]: code, message, field violations, retry
//! delay and request id. Helpers cover what takes more than one call:
//! [upload and download](files) with progress and resume, and a
//! [paginator](Tenantry::list) for every List call.
//!
//! ```no_run
//! use tenantry_client::{Tenantry, auth::v1::GetMeRequest, credentials::Password};
//!
//! # async fn demo() -> tenantry_client::Result<()> {
//! let tenantry = Tenantry::builder("http://127.0.0.1:50051")
//!     .credentials(Password::new("ann@example.com", "correct horse battery staple"))
//!     .build()?;
//! let me = tenantry.auth().get_me(GetMeRequest {}).await?.into_inner();
//! println!("signed in as {}", me.user.unwrap_or_default().email);
//! # Ok(()) }
//! ```
//!
//! `client/examples/` has a service account, uploads and downloads with
//! progress, and pagination.

#![deny(missing_docs)]

pub mod credentials;
mod error;
pub mod files;
mod handle;
mod methods;
mod pages;
mod retry;
mod transport;

pub use error::{Error, FieldViolation, REQUEST_ID_HEADER, Result};
pub use handle::{AuthClient, Builder, Tenantry};
pub use pages::{ListRequest, Page};
pub use retry::RetryPolicy;
pub use tenantry_proto::{FILE_DESCRIPTOR_SET, audit, auth, file, org, serviceaccount, sso};
pub use tonic;
pub use tonic_types;
pub use transport::Transport;
