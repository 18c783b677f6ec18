//! What the layers learn about a call and hand to the services through the
//! request extensions.

use crate::{
    access::Role,
    error::{ApiError, ApiResult},
};

/// A verified caller: the access token checked out and its session is live.
/// `role` is the caller's *current* role in `org_id` (read from the database,
/// not from the token), or `None` when they are no longer a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub user_id: String,
    pub session_id: String,
    pub org_id: Option<String>,
    pub role: Option<Role>,
    /// The session was opened through `org_id`'s identity provider: it acts
    /// only within that organization (see [`crate::access::SsoSession`]).
    pub sso: bool,
}

impl AuthContext {
    /// The organization an SSO session is confined to; `None` for a session
    /// that may act on the whole account.
    pub fn confined_to(&self) -> Option<&str> {
        self.org_id.as_deref().filter(|_| self.sso)
    }
}

/// Facts about the call itself, for sessions and the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_ip: String,
    pub user_agent: String,
}

/// The verified caller of a request that passed the authentication layer.
pub fn caller<T>(request: &tonic::Request<T>) -> ApiResult<AuthContext> {
    request
        .extensions()
        .get::<AuthContext>()
        .cloned()
        .ok_or(ApiError::Unauthenticated("this call needs an access token"))
}

pub fn meta<T>(request: &tonic::Request<T>) -> RequestMeta {
    request
        .extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default()
}
