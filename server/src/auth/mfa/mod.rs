//! A second factor: an authenticator app (TOTP, RFC 6238) with recovery
//! codes, and sign-in in two steps for accounts that have one.
//!
//! - [`enrollment`]: adding and removing the app, recovery codes, status.
//! - [`totp`]: the factor itself (sealed secret, each code once).
//! - [`recovery`]: single-use codes, stored hashed.
//! - [`challenge`]: the first step's state and the second step.
//!
//! Changing factors needs the password (under the sign-in lockout), so a
//! stolen access token can neither add a factor that locks the owner out
//! nor remove one.

pub mod challenge;
pub mod enrollment;
mod recovery;
mod totp;

pub use totp::enrolled;
