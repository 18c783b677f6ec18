//! What the layers learn about a call and hand to the services through the
//! request extensions: one typed [`Caller`], and [`RequestMeta`].

use crate::{
    access::Role,
    db::TenantScope,
    error::{ApiError, ApiResult},
    ids::{CredentialId, OrgId, PersonalAccessTokenId, SessionId, UserId},
};

/// Who calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Person {
        user_id: UserId,
    },
    /// A service account of the pinned organization. Its id stands where a
    /// person's would (`sub` of its tokens, uploader of its files, actor of
    /// its audit events); ids of both kinds are UUIDv7 in one space.
    Service {
        account_id: UserId,
    },
}

/// How a session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMethod {
    Password,
    /// Through the pinned organization's identity provider: the session acts
    /// only within that organization (see [`crate::access::SsoSession`]).
    Sso,
}

/// What the caller proved who they are with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An access token of a live session.
    Session {
        session_id: SessionId,
        method: SessionMethod,
        /// Opened with a second factor.
        multi_factor: bool,
    },
    /// A person's personal access token, pinned to one organization.
    PersonalAccessToken { token_id: PersonalAccessTokenId },
    /// An access token a service account exchanged its key or secret for.
    ServiceToken { credential_id: CredentialId },
}

/// A verified caller: the access token checked out and its session (or
/// personal access token, or service credential) is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub credential: Credential,
    /// The organization the token is pinned to.
    pub org_id: Option<OrgId>,
    /// The caller's *current* role in `org_id` (read from the database, not
    /// from the token), or `None` when they are no longer a member.
    pub role: Option<Role>,
}

const NO_ORGANIZATION: &str =
    "this call needs an organization: create one, accept an invitation or switch to one";

const NEEDS_SESSION: &str = "this call needs a signed-in session, not a personal access token";

impl Caller {
    /// The acting account: the person calling, or the service account.
    pub fn user_id(&self) -> &UserId {
        match &self.principal {
            Principal::Person { user_id } => user_id,
            Principal::Service { account_id } => account_id,
        }
    }

    /// Whether a service account calls.
    pub fn is_service(&self) -> bool {
        matches!(self.principal, Principal::Service { .. })
    }

    /// The session behind the token; `None` for personal access tokens and
    /// service tokens.
    pub fn session_id(&self) -> Option<&SessionId> {
        match &self.credential {
            Credential::Session { session_id, .. } => Some(session_id),
            _ => None,
        }
    }

    /// The session behind the token, for methods about sessions (the access
    /// table already keeps other credentials away from them).
    pub fn session(&self) -> ApiResult<&SessionId> {
        self.session_id()
            .ok_or_else(|| ApiError::permission_denied(NEEDS_SESSION))
    }

    /// Whether the caller's session was opened with a second factor.
    pub fn multi_factor(&self) -> bool {
        matches!(
            self.credential,
            Credential::Session {
                multi_factor: true,
                ..
            }
        )
    }

    /// Whether the session was opened through an organization's provider.
    pub fn sso(&self) -> bool {
        matches!(
            self.credential,
            Credential::Session {
                method: SessionMethod::Sso,
                ..
            }
        )
    }

    /// The organization an SSO session or a personal access token is
    /// confined to; `None` for a session that may act on the whole account.
    pub fn confined_to(&self) -> Option<&OrgId> {
        let confined = self.sso()
            || matches!(self.credential, Credential::PersonalAccessToken { .. })
            || self.is_service();
        self.org_id.as_ref().filter(|_| confined)
    }

    /// The scope of the organization the token is pinned to: the only way a
    /// handler reaches its tenant's rows.
    pub fn tenant(&self) -> ApiResult<TenantScope> {
        let org_id = self
            .org_id
            .as_ref()
            .ok_or_else(|| ApiError::failed_precondition(NO_ORGANIZATION))?;
        Ok(TenantScope::of_caller(org_id, self.user_id()))
    }

    /// The caller's current role in the pinned organization. The
    /// authentication layer already refused calls to organization methods
    /// from non-members; this is for the services' own finer checks.
    pub fn member_role(&self) -> ApiResult<Role> {
        self.role.ok_or_else(|| {
            ApiError::permission_denied("you are no longer a member of this organization")
        })
    }
}

/// Facts about the call itself, for sessions and the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_ip: String,
    pub user_agent: String,
}

/// A call that passed the authentication layer, taken apart once: what a
/// handler needs, in one line (`let Call { meta, caller, message } =
/// Call::signed_in(request)?;`).
pub struct Call<T> {
    pub meta: RequestMeta,
    pub caller: Caller,
    pub message: T,
}

impl<T> Call<T> {
    /// The request's metadata, its verified caller and its message.
    pub fn signed_in(request: tonic::Request<T>) -> ApiResult<Self> {
        Ok(Self {
            meta: meta(&request),
            caller: caller(&request)?,
            message: request.into_inner(),
        })
    }
}

/// The verified caller of a request that passed the authentication layer.
pub fn caller<T>(request: &tonic::Request<T>) -> ApiResult<Caller> {
    request
        .extensions()
        .get::<Caller>()
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
