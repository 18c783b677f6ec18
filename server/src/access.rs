//! Who may call which method: the one permission table of the server.
//!
//! The authentication layer looks every call up here before it reaches a
//! service: public methods pass, the rest need a valid token, and methods of an
//! organization need the caller's *current* role there to be at least the one
//! listed. A method missing from this table is refused (and a unit test fails
//! when a method of the contract has no entry).

use tenantry_proto::auth::v1 as pb;

/// Roles of a member, lowest first; each includes the ones below it. In JSON
/// (SSO settings) a role is its stored name; an unknown name fails to parse.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// A role read from the database. Anything but a known name is a
    /// corrupt row: an error that is logged and answered INTERNAL, never a
    /// silent downgrade.
    pub fn from_stored(text: &str) -> Result<Self, UnknownStored> {
        Self::parse(text).ok_or_else(|| UnknownStored::new("role", text))
    }

    pub fn to_proto(self) -> pb::Role {
        match self {
            Role::Viewer => pb::Role::Viewer,
            Role::Member => pb::Role::Member,
            Role::Admin => pb::Role::Admin,
            Role::Owner => pb::Role::Owner,
        }
    }

    /// `None` for UNSPECIFIED and unknown numbers.
    pub fn from_proto(value: i32) -> Option<Self> {
        match pb::Role::try_from(value).ok()? {
            pb::Role::Unspecified => None,
            pb::Role::Viewer => Some(Role::Viewer),
            pb::Role::Member => Some(Role::Member),
            pb::Role::Admin => Some(Role::Admin),
            pb::Role::Owner => Some(Role::Owner),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownStored;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_stored(&text)
    }
}

impl From<Role> for String {
    fn from(role: Role) -> Self {
        role.as_str().to_owned()
    }
}

/// A value in the database that the server does not know: the row is
/// corrupt or was written by a newer version.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {value:?} in the database")]
pub struct UnknownStored {
    kind: &'static str,
    value: String,
}

impl UnknownStored {
    pub fn new(kind: &'static str, value: &str) -> Self {
        Self {
            kind,
            value: value.chars().take(64).collect(),
        }
    }
}

impl From<UnknownStored> for crate::error::ApiError {
    fn from(err: UnknownStored) -> Self {
        crate::error::ApiError::internal(err)
    }
}

/// What a method requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed (rate-limited per client IP).
    Public,
    /// A valid token; no organization needed.
    SignedIn,
    /// A token pinned to an organization where the caller holds at least this
    /// role.
    Org(Role),
}

const AUTH: &str = "tenantry.auth.v1.AuthService";
const ORG: &str = "tenantry.org.v1.OrgService";
const AUDIT: &str = "tenantry.audit.v1.AuditService";
const FILE: &str = "tenantry.file.v1.FileService";
const SSO: &str = "tenantry.sso.v1.SsoService";
const SERVICE_ACCOUNTS: &str = "tenantry.serviceaccount.v1.ServiceAccountService";

/// The access rule of a gRPC path (`/package.Service/Method`).
pub fn access(path: &str) -> Option<Access> {
    if crate::side_door::serves(path) {
        return Some(Access::Public);
    }
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    match service {
        "grpc.health.v1.Health" => matches!(method, "Check" | "Watch").then_some(Access::Public),
        "grpc.reflection.v1.ServerReflection" | "grpc.reflection.v1alpha.ServerReflection" => {
            (method == "ServerReflectionInfo").then_some(Access::Public)
        }
        AUTH => auth_access(method),
        ORG => org_access(method),
        AUDIT => matches!(
            method,
            "ListAuditEvents" | "ExportAuditEvents" | "VerifyAuditChain"
        )
        .then_some(Access::Org(Role::Admin)),
        FILE => file_access(method),
        SSO => sso_access(method),
        SERVICE_ACCOUNTS => Some(Access::Org(Role::Admin)),
        _ => None,
    }
}

fn auth_access(method: &str) -> Option<Access> {
    use Access::{Org, Public, SignedIn};
    Some(match method {
        "Register"
        | "Login"
        | "Refresh"
        | "GetJwks"
        | "VerifyEmail"
        | "ExchangeToken"
        | "RequestPasswordReset"
        | "ResetPassword"
        | "CompleteMfaLogin"
        | "BeginPasskeyLogin"
        | "FinishPasskeyLogin" => Public,
        "RequestEmailVerification"
        | "Logout"
        | "ListSessions"
        | "RevokeSession"
        | "RevokeOtherSessions"
        | "GetMe"
        | "UpdateProfile"
        | "ChangePassword"
        | "DeleteAccount"
        | "ListPersonalAccessTokens"
        | "RevokePersonalAccessToken"
        | "GetMfaStatus"
        | "BeginTotpEnrollment"
        | "ConfirmTotpEnrollment"
        | "RemoveTotp"
        | "RegenerateRecoveryCodes"
        | "BeginPasskeyRegistration"
        | "FinishPasskeyRegistration"
        | "ListPasskeys"
        | "DeletePasskey" => SignedIn,
        // Pinned to the token's organization, capped at the caller's role.
        "CreatePersonalAccessToken" => Org(Role::Viewer),
        _ => return None,
    })
}

fn org_access(method: &str) -> Option<Access> {
    use Access::{Org, SignedIn};
    Some(match method {
        "CreateOrganization"
        | "ListMyOrganizations"
        | "SwitchOrganization"
        | "AcceptInvitation" => SignedIn,
        "GetOrganization" | "ListMembers" | "LeaveOrganization" => Org(Role::Viewer),
        "UpdateOrganization" | "UpdateMfaPolicy" | "UpdateMemberRole" | "RemoveMember"
        | "CreateInvitation" | "ListInvitations" | "RevokeInvitation" => Org(Role::Admin),
        "DeleteOrganization" => Org(Role::Owner),
        _ => return None,
    })
}

fn file_access(method: &str) -> Option<Access> {
    Some(Access::Org(match method {
        "GetFile" | "ListFiles" | "Download" | "CreateDownloadUrl" | "GetStorageUsage" => {
            Role::Viewer
        }
        // Members change their own files only; the service checks ownership.
        "Upload"
        | "CreateUploadSession"
        | "AppendUploadChunk"
        | "GetUploadSession"
        | "CompleteUploadSession"
        | "AbortUploadSession"
        | "UpdateFile"
        | "DeleteFile"
        | "RestoreFile" => Role::Member,
        "PurgeFile" => Role::Admin,
        _ => return None,
    }))
}

fn sso_access(method: &str) -> Option<Access> {
    use Access::{Org, Public, SignedIn};
    Some(match method {
        "BeginSsoLogin" | "CompleteSsoLogin" | "ConfirmSsoLink" => Public,
        "ListMyIdentities" | "UnlinkIdentity" => SignedIn,
        "GetSsoConfig" | "UpsertSsoConfig" | "DeleteSsoConfig" | "TestSsoConfig"
        | "AddSsoDomain" | "VerifySsoDomain" | "ListSsoDomains" | "RemoveSsoDomain" => {
            Org(Role::Admin)
        }
        _ => return None,
    })
}

/// Which credentials may call a method, besides a person's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callers {
    /// Sessions only: the method signs in, or is about a session or the
    /// account itself (a token cannot make tokens or change a password).
    Sessions,
    /// A person's session or personal access token: the method is for
    /// people (services answer PERMISSION_DENIED).
    People,
    /// Also service accounts: the method acts within the organization.
    Everyone,
}

impl Callers {
    /// Whether `credential` may call a method with this rule.
    pub fn admit(self, credential: &crate::context::Credential) -> Result<(), &'static str> {
        use crate::context::Credential::{PersonalAccessToken, ServiceToken, Session};
        match (self, credential) {
            (_, Session { .. }) | (Callers::Everyone, _) => Ok(()),
            (Callers::People, PersonalAccessToken { .. }) => Ok(()),
            (_, ServiceToken { .. }) => Err(PEOPLE_ONLY),
            (Callers::Sessions, PersonalAccessToken { .. }) => Err(SESSIONS_ONLY),
        }
    }
}

const PEOPLE_ONLY: &str = "this method is for people: a service account may not call it";
const SESSIONS_ONLY: &str =
    "this method needs a signed-in session: a personal access token may not call it";

/// Who besides a person's session may call a gRPC path; `None` for a path
/// without an access rule.
pub fn callers(path: &str) -> Option<Callers> {
    use Callers::{Everyone, People, Sessions};
    let rule = access(path)?;
    let method = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .unwrap_or_default();
    let verdict = match method {
        (
            AUTH,
            "Register"
            | "Login"
            | "Refresh"
            | "VerifyEmail"
            | "RequestPasswordReset"
            | "ResetPassword"
            | "CompleteMfaLogin"
            | "BeginPasskeyLogin"
            | "FinishPasskeyLogin",
        ) => Sessions,
        (SSO, "BeginSsoLogin" | "CompleteSsoLogin" | "ConfirmSsoLink") => Sessions,
        (AUTH, "GetMe") => People,
        (AUTH, _) if rule == Access::SignedIn => Sessions,
        (AUTH, "CreatePersonalAccessToken") => Sessions,
        (ORG, "CreateOrganization" | "SwitchOrganization" | "AcceptInvitation") => Sessions,
        (ORG, "ListMyOrganizations" | "LeaveOrganization") => People,
        (SSO, "ListMyIdentities" | "UnlinkIdentity") => Sessions,
        _ => Everyone,
    };
    Some(verdict)
}

/// What a session opened through an organization's identity provider may do
/// with a method. Such a session acts only within its organization: that
/// provider vouches for nothing else about the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoSession {
    /// As any session: the method acts within the pinned organization, on
    /// this session alone, or needs no session.
    Allowed,
    /// Account-wide, so the service answers with the organization's slice
    /// only ([`crate::context::Caller::confined_to`]).
    OrgSlice,
    /// Changes the account itself or reaches beyond the organization:
    /// PERMISSION_DENIED.
    Refused,
}

/// The rule for SSO sessions of a gRPC path; `None` for a path without an
/// access rule, or a signed-in (account-wide) method nobody has classified
/// — a unit test keeps that list empty.
pub fn sso_session(path: &str) -> Option<SsoSession> {
    use SsoSession::{Allowed, OrgSlice, Refused};
    let rule = access(path)?;
    let method = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .unwrap_or_default();
    let verdict = match method {
        (AUTH, "ListSessions" | "RevokeSession" | "RevokeOtherSessions") => OrgSlice,
        (ORG, "ListMyOrganizations") => OrgSlice,
        (AUTH, "ListPersonalAccessTokens" | "RevokePersonalAccessToken") => OrgSlice,
        (SSO, "ListMyIdentities" | "UnlinkIdentity") => OrgSlice,
        (
            AUTH,
            "RequestEmailVerification"
            | "UpdateProfile"
            | "ChangePassword"
            | "DeleteAccount"
            | "GetMfaStatus"
            | "BeginTotpEnrollment"
            | "ConfirmTotpEnrollment"
            | "RemoveTotp"
            | "RegenerateRecoveryCodes"
            | "BeginPasskeyRegistration"
            | "FinishPasskeyRegistration"
            | "ListPasskeys"
            | "DeletePasskey",
        ) => Refused,
        (ORG, "CreateOrganization" | "SwitchOrganization" | "AcceptInvitation") => Refused,
        (AUTH, "Logout" | "GetMe") => Allowed,
        _ if rule == Access::Public || matches!(rule, Access::Org(_)) => Allowed,
        _ => return None,
    };
    Some(verdict)
}

/// Whether the access layer may skip the rate limiter (health probes).
pub fn is_probe(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    #[test]
    fn every_method_of_the_contract_has_a_rule() {
        let fds =
            prost_types::FileDescriptorSet::decode(tenantry_proto::FILE_DESCRIPTOR_SET).unwrap();
        let mut checked = 0;
        for file in &fds.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    assert!(access(&path).is_some(), "{path} has no access rule");
                    checked += 1;
                }
            }
        }
        assert!(checked > 30, "only {checked} methods found");
    }

    #[test]
    fn every_method_has_a_rule_for_sso_sessions() {
        let fds =
            prost_types::FileDescriptorSet::decode(tenantry_proto::FILE_DESCRIPTOR_SET).unwrap();
        for file in &fds.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    assert!(
                        sso_session(&path).is_some(),
                        "{path} has no rule for sessions opened through an organization's provider"
                    );
                }
            }
        }
        let refused = "/tenantry.auth.v1.AuthService/ChangePassword";
        assert_eq!(sso_session(refused), Some(SsoSession::Refused));
        let slice = "/tenantry.org.v1.OrgService/ListMyOrganizations";
        assert_eq!(sso_session(slice), Some(SsoSession::OrgSlice));
        assert_eq!(sso_session("/tenantry.auth.v1.AuthService/Nope"), None);
    }

    #[test]
    fn services_are_kept_from_methods_for_people() {
        use crate::context::Credential;
        let service = Credential::ServiceToken {
            credential_id: crate::ids::CredentialId::trusted("c"),
        };
        let token = Credential::PersonalAccessToken {
            token_id: crate::ids::PersonalAccessTokenId::trusted("t"),
        };
        let people_only = [
            "/tenantry.auth.v1.AuthService/Register",
            "/tenantry.auth.v1.AuthService/Login",
            "/tenantry.auth.v1.AuthService/ChangePassword",
            "/tenantry.auth.v1.AuthService/GetMe",
            "/tenantry.org.v1.OrgService/SwitchOrganization",
            "/tenantry.org.v1.OrgService/CreateOrganization",
            "/tenantry.org.v1.OrgService/AcceptInvitation",
            "/tenantry.sso.v1.SsoService/BeginSsoLogin",
        ];
        for path in people_only {
            assert!(callers(path).unwrap().admit(&service).is_err(), "{path}");
        }
        let get_me = callers("/tenantry.auth.v1.AuthService/GetMe").unwrap();
        assert!(get_me.admit(&token).is_ok());
        let mint = callers("/tenantry.auth.v1.AuthService/CreatePersonalAccessToken").unwrap();
        assert!(mint.admit(&token).is_err() && mint.admit(&service).is_err());
        let upload = callers("/tenantry.file.v1.FileService/Upload").unwrap();
        assert!(upload.admit(&service).is_ok() && upload.admit(&token).is_ok());
        assert_eq!(callers("/tenantry.auth.v1.AuthService/Nope"), None);
    }

    #[test]
    fn unknown_methods_have_no_rule() {
        assert_eq!(access("/tenantry.auth.v1.AuthService/Nope"), None);
        assert_eq!(access("/not-grpc"), None);
        assert_eq!(access("/.well-known/jwks.json"), Some(Access::Public));
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
        assert!(Role::Member > Role::Viewer);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(Role::from_proto(role.to_proto() as i32), Some(role));
        }
    }
}
