//! The permission table, checked role by role against a running server: every
//! method of the contract must have an entry here, so a new RPC without one
//! fails this test.

use bytes::Buf as _;
use prost::Message as _;
use tenantry_client::{FILE_DESCRIPTOR_SET, auth::v1::Role};
use tenantry_tests::{Backend, TestApp, on_both_backends};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Public,
    SignedIn,
    AtLeast(Role),
}

use Expect::{AtLeast, Public, SignedIn};

const EXPECTED: &[(&str, Expect)] = &[
    ("tenantry.auth.v1.AuthService/Register", Public),
    ("tenantry.auth.v1.AuthService/Login", Public),
    ("tenantry.auth.v1.AuthService/Refresh", Public),
    ("tenantry.auth.v1.AuthService/GetJwks", Public),
    ("tenantry.auth.v1.AuthService/VerifyEmail", Public),
    ("tenantry.auth.v1.AuthService/ExchangeToken", Public),
    ("tenantry.auth.v1.AuthService/RequestPasswordReset", Public),
    ("tenantry.auth.v1.AuthService/ResetPassword", Public),
    ("tenantry.auth.v1.AuthService/CompleteMfaLogin", Public),
    ("tenantry.auth.v1.AuthService/GetMfaStatus", SignedIn),
    ("tenantry.auth.v1.AuthService/BeginTotpEnrollment", SignedIn),
    (
        "tenantry.auth.v1.AuthService/ConfirmTotpEnrollment",
        SignedIn,
    ),
    ("tenantry.auth.v1.AuthService/RemoveTotp", SignedIn),
    (
        "tenantry.auth.v1.AuthService/RegenerateRecoveryCodes",
        SignedIn,
    ),
    (
        "tenantry.auth.v1.AuthService/BeginPasskeyRegistration",
        SignedIn,
    ),
    (
        "tenantry.auth.v1.AuthService/FinishPasskeyRegistration",
        SignedIn,
    ),
    ("tenantry.auth.v1.AuthService/ListPasskeys", SignedIn),
    ("tenantry.auth.v1.AuthService/DeletePasskey", SignedIn),
    ("tenantry.auth.v1.AuthService/BeginPasskeyLogin", Public),
    ("tenantry.auth.v1.AuthService/FinishPasskeyLogin", Public),
    (
        "tenantry.auth.v1.AuthService/CreatePersonalAccessToken",
        AtLeast(Role::Viewer),
    ),
    (
        "tenantry.auth.v1.AuthService/ListPersonalAccessTokens",
        SignedIn,
    ),
    (
        "tenantry.auth.v1.AuthService/RevokePersonalAccessToken",
        SignedIn,
    ),
    (
        "tenantry.auth.v1.AuthService/RequestEmailVerification",
        SignedIn,
    ),
    ("tenantry.auth.v1.AuthService/ListSessions", SignedIn),
    ("tenantry.auth.v1.AuthService/RevokeSession", SignedIn),
    ("tenantry.auth.v1.AuthService/RevokeOtherSessions", SignedIn),
    ("tenantry.auth.v1.AuthService/GetMe", SignedIn),
    ("tenantry.auth.v1.AuthService/UpdateProfile", SignedIn),
    ("tenantry.auth.v1.AuthService/ChangePassword", SignedIn),
    ("tenantry.auth.v1.AuthService/DeleteAccount", SignedIn),
    ("tenantry.auth.v1.AuthService/Logout", SignedIn),
    ("tenantry.org.v1.OrgService/CreateOrganization", SignedIn),
    ("tenantry.org.v1.OrgService/ListMyOrganizations", SignedIn),
    ("tenantry.org.v1.OrgService/SwitchOrganization", SignedIn),
    ("tenantry.org.v1.OrgService/AcceptInvitation", SignedIn),
    (
        "tenantry.org.v1.OrgService/GetOrganization",
        AtLeast(Role::Viewer),
    ),
    (
        "tenantry.org.v1.OrgService/ListMembers",
        AtLeast(Role::Viewer),
    ),
    (
        "tenantry.org.v1.OrgService/UpdateOrganization",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.org.v1.OrgService/UpdateMfaPolicy",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.org.v1.OrgService/UpdateMemberRole",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.org.v1.OrgService/RemoveMember",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.org.v1.OrgService/CreateInvitation",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.org.v1.OrgService/ListInvitations",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.org.v1.OrgService/RevokeInvitation",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.org.v1.OrgService/DeleteOrganization",
        AtLeast(Role::Owner),
    ),
    (
        "tenantry.org.v1.OrgService/LeaveOrganization",
        AtLeast(Role::Viewer),
    ),
    (
        "tenantry.audit.v1.AuditService/ListAuditEvents",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.audit.v1.AuditService/ExportAuditEvents",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.audit.v1.AuditService/VerifyAuditChain",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.file.v1.FileService/GetFile",
        AtLeast(Role::Viewer),
    ),
    (
        "tenantry.file.v1.FileService/ListFiles",
        AtLeast(Role::Viewer),
    ),
    (
        "tenantry.file.v1.FileService/Download",
        AtLeast(Role::Viewer),
    ),
    (
        "tenantry.file.v1.FileService/CreateDownloadUrl",
        AtLeast(Role::Viewer),
    ),
    (
        "tenantry.file.v1.FileService/GetStorageUsage",
        AtLeast(Role::Viewer),
    ),
    ("tenantry.file.v1.FileService/Upload", AtLeast(Role::Member)),
    (
        "tenantry.file.v1.FileService/CreateUploadSession",
        AtLeast(Role::Member),
    ),
    (
        "tenantry.file.v1.FileService/AppendUploadChunk",
        AtLeast(Role::Member),
    ),
    (
        "tenantry.file.v1.FileService/GetUploadSession",
        AtLeast(Role::Member),
    ),
    (
        "tenantry.file.v1.FileService/CompleteUploadSession",
        AtLeast(Role::Member),
    ),
    (
        "tenantry.file.v1.FileService/AbortUploadSession",
        AtLeast(Role::Member),
    ),
    (
        "tenantry.file.v1.FileService/UpdateFile",
        AtLeast(Role::Member),
    ),
    (
        "tenantry.file.v1.FileService/DeleteFile",
        AtLeast(Role::Member),
    ),
    (
        "tenantry.file.v1.FileService/RestoreFile",
        AtLeast(Role::Member),
    ),
    (
        "tenantry.file.v1.FileService/PurgeFile",
        AtLeast(Role::Admin),
    ),
    ("tenantry.sso.v1.SsoService/BeginSsoLogin", Public),
    ("tenantry.sso.v1.SsoService/CompleteSsoLogin", Public),
    ("tenantry.sso.v1.SsoService/ConfirmSsoLink", Public),
    ("tenantry.sso.v1.SsoService/ListMyIdentities", SignedIn),
    ("tenantry.sso.v1.SsoService/UnlinkIdentity", SignedIn),
    (
        "tenantry.sso.v1.SsoService/GetSsoConfig",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.sso.v1.SsoService/UpsertSsoConfig",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.sso.v1.SsoService/DeleteSsoConfig",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.sso.v1.SsoService/TestSsoConfig",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.sso.v1.SsoService/AddSsoDomain",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.sso.v1.SsoService/VerifySsoDomain",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.sso.v1.SsoService/ListSsoDomains",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.sso.v1.SsoService/RemoveSsoDomain",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/CreateServiceAccount",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/GetServiceAccount",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/ListServiceAccounts",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/UpdateServiceAccount",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/DisableServiceAccount",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/EnableServiceAccount",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/DeleteServiceAccount",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/AddServiceAccountKey",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/ListServiceAccountKeys",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/RevokeServiceAccountKey",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/AddServiceAccountSecret",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/ListServiceAccountSecrets",
        AtLeast(Role::Admin),
    ),
    (
        "tenantry.serviceaccount.v1.ServiceAccountService/RevokeServiceAccountSecret",
        AtLeast(Role::Admin),
    ),
];

/// Methods that change who the caller is run last, so they do not disturb
/// the checks of the others.
const LAST: &[&str] = &[
    "tenantry.org.v1.OrgService/LeaveOrganization",
    "tenantry.auth.v1.AuthService/Logout",
];

struct Method {
    path: String,
    server_streaming: bool,
    client_streaming: bool,
}

fn contract_methods() -> Vec<Method> {
    let fds = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
    let mut methods: Vec<Method> = fds
        .file
        .iter()
        .flat_map(|file| {
            file.service.iter().flat_map(move |service| {
                service.method.iter().map(move |m| Method {
                    path: format!("{}.{}/{}", file.package(), service.name(), m.name()),
                    server_streaming: m.server_streaming(),
                    client_streaming: m.client_streaming(),
                })
            })
        })
        .collect();
    methods.sort_by_key(|m| LAST.iter().position(|l| *l == m.path).map_or(0, |p| p + 1));
    methods
}

/// Calls `path` with an empty request (every field at its default) and
/// returns the status code.
async fn call(channel: tonic::transport::Channel, token: Option<&str>, method: &Method) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path: http::uri::PathAndQuery = format!("/{}", method.path).parse().unwrap();
    fn with<T>(token: Option<&str>, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = token {
            let value = format!("Bearer {token}").parse().unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        request
    }
    let result: Result<(), Status> = match (method.client_streaming, method.server_streaming) {
        (false, false) => grpc.unary(with(token, ()), path, Empty).await.map(|_| ()),
        (false, true) => match grpc.server_streaming(with(token, ()), path, Empty).await {
            Ok(response) => response.into_inner().message().await.map(|_| ()),
            Err(status) => Err(status),
        },
        (true, _) => {
            let stream = tokio_stream::iter(Vec::<()>::new());
            grpc.client_streaming(with(token, stream), path, Empty)
                .await
                .map(|_| ())
        }
    };
    result.err().map_or(Code::Ok, |s| s.code())
}

async fn every_method_admits_exactly_the_roles_in_the_table(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let channel = app.client().await.channel();
    let methods = contract_methods();
    for method in &methods {
        let expect = EXPECTED
            .iter()
            .find(|(path, _)| *path == method.path)
            .map(|(_, e)| *e)
            .unwrap_or_else(|| {
                panic!(
                    "{} has no entry in the permission table of this test",
                    method.path
                )
            });
        let anonymous = call(channel.clone(), None, method).await;
        match expect {
            Public => assert!(
                !matches!(
                    anonymous,
                    Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented
                ),
                "{} anonymous: {anonymous:?}",
                method.path
            ),
            _ => assert_eq!(
                anonymous,
                Code::Unauthenticated,
                "{} without a token",
                method.path
            ),
        }
    }
    for role in [Role::Viewer, Role::Member, Role::Admin, Role::Owner] {
        let user = team.with(role);
        let token = user.tokens.access_token.clone();
        for method in &methods {
            let expect = EXPECTED
                .iter()
                .find(|(path, _)| *path == method.path)
                .map(|(_, e)| *e)
                .unwrap();
            let code = call(channel.clone(), Some(&token), method).await;
            let admitted = !matches!(
                code,
                Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented
            );
            let should = match expect {
                Public | SignedIn => true,
                AtLeast(min) => role as i32 >= min as i32,
            };
            assert_eq!(admitted, should, "{} as {role:?}: {code:?}", method.path);
            if !should {
                assert_eq!(code, Code::PermissionDenied, "{} as {role:?}", method.path);
            }
        }
    }
}

/// Methods for people with a session: sign-in, sessions, the account
/// itself, tokens. A service token and a personal access token are refused.
const SESSIONS_ONLY: &[&str] = &[
    "tenantry.auth.v1.AuthService/Register",
    "tenantry.auth.v1.AuthService/Login",
    "tenantry.auth.v1.AuthService/Refresh",
    "tenantry.auth.v1.AuthService/VerifyEmail",
    "tenantry.auth.v1.AuthService/RequestEmailVerification",
    "tenantry.auth.v1.AuthService/Logout",
    "tenantry.auth.v1.AuthService/ListSessions",
    "tenantry.auth.v1.AuthService/RevokeSession",
    "tenantry.auth.v1.AuthService/RevokeOtherSessions",
    "tenantry.auth.v1.AuthService/UpdateProfile",
    "tenantry.auth.v1.AuthService/ChangePassword",
    "tenantry.auth.v1.AuthService/DeleteAccount",
    "tenantry.auth.v1.AuthService/CreatePersonalAccessToken",
    "tenantry.auth.v1.AuthService/ListPersonalAccessTokens",
    "tenantry.auth.v1.AuthService/RevokePersonalAccessToken",
    "tenantry.auth.v1.AuthService/RequestPasswordReset",
    "tenantry.auth.v1.AuthService/ResetPassword",
    "tenantry.auth.v1.AuthService/CompleteMfaLogin",
    "tenantry.auth.v1.AuthService/GetMfaStatus",
    "tenantry.auth.v1.AuthService/BeginTotpEnrollment",
    "tenantry.auth.v1.AuthService/ConfirmTotpEnrollment",
    "tenantry.auth.v1.AuthService/RemoveTotp",
    "tenantry.auth.v1.AuthService/RegenerateRecoveryCodes",
    "tenantry.auth.v1.AuthService/BeginPasskeyRegistration",
    "tenantry.auth.v1.AuthService/FinishPasskeyRegistration",
    "tenantry.auth.v1.AuthService/ListPasskeys",
    "tenantry.auth.v1.AuthService/DeletePasskey",
    "tenantry.auth.v1.AuthService/BeginPasskeyLogin",
    "tenantry.auth.v1.AuthService/FinishPasskeyLogin",
    "tenantry.org.v1.OrgService/CreateOrganization",
    "tenantry.org.v1.OrgService/SwitchOrganization",
    "tenantry.org.v1.OrgService/AcceptInvitation",
    "tenantry.sso.v1.SsoService/BeginSsoLogin",
    "tenantry.sso.v1.SsoService/CompleteSsoLogin",
    "tenantry.sso.v1.SsoService/ConfirmSsoLink",
    "tenantry.sso.v1.SsoService/ListMyIdentities",
    "tenantry.sso.v1.SsoService/UnlinkIdentity",
];

/// Methods for people that a personal access token may call too.
const PEOPLE_ONLY: &[&str] = &[
    "tenantry.auth.v1.AuthService/GetMe",
    "tenantry.org.v1.OrgService/ListMyOrganizations",
    "tenantry.org.v1.OrgService/LeaveOrganization",
];

fn is_refused(code: Code) -> bool {
    matches!(
        code,
        Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented
    )
}

async fn services_and_personal_tokens_are_kept_from_methods_for_people(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let channel = app.client().await.channel();
    let service = app.service(&team.owner, "robot", Role::Admin).await;
    let service_token = service.client.access_token().await.unwrap().unwrap();
    let pat = app.personal_token(&team.owner, Role::Owner).await;
    for method in &contract_methods() {
        let path = method.path.as_str();
        let expect = EXPECTED.iter().find(|(p, _)| *p == path).unwrap().1;
        let for_people = SESSIONS_ONLY.contains(&path) || PEOPLE_ONLY.contains(&path);
        let code = call(channel.clone(), Some(&service_token), method).await;
        let role_allows = !matches!(expect, AtLeast(Role::Owner));
        if for_people || !role_allows {
            assert_eq!(code, Code::PermissionDenied, "{path} as a service");
        } else {
            assert!(!is_refused(code), "{path} as a service: {code:?}");
        }
        let code = call(channel.clone(), Some(&pat), method).await;
        if SESSIONS_ONLY.contains(&path) {
            assert_eq!(code, Code::PermissionDenied, "{path} with a personal token");
        } else {
            assert!(!is_refused(code), "{path} with a personal token: {code:?}");
        }
    }
}

on_both_backends!(
    every_method_admits_exactly_the_roles_in_the_table,
    services_and_personal_tokens_are_kept_from_methods_for_people
);

/// Encodes nothing and ignores what comes back: every request message
/// decodes from empty bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Empty;

impl Codec for Empty {
    type Encode = ();
    type Decode = ();
    type Encoder = Empty;
    type Decoder = Empty;

    fn encoder(&mut self) -> Self::Encoder {
        Empty
    }

    fn decoder(&mut self) -> Self::Decoder {
        Empty
    }
}

impl Encoder for Empty {
    type Item = ();
    type Error = Status;

    fn encode(&mut self, _item: (), _dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        Ok(())
    }
}

impl Decoder for Empty {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        let remaining = src.remaining();
        src.advance(remaining);
        Ok(Some(()))
    }
}
