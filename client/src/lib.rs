//! Rust client for Tenantry.
//!
//! The generated gRPC clients and messages are re-exported per area
//! ([`auth`], [`org`], [`audit`], [`file`], [`sso`], [`serviceaccount`]);
//! [`Client`] holds one connection (plain or TLS) and the caller's access
//! token and hands out a stub per service that sends it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tenantry_client::{Client, auth::v1::{GetMeRequest, LoginRequest}};
//!
//! let client = Client::connect("http://127.0.0.1:50051").await?;
//! let login = client
//!     .auth()
//!     .login(LoginRequest {
//!         email: "ann@example.com".into(),
//!         password: "correct horse battery staple".into(),
//!         organization_id: String::new(),
//!     })
//!     .await?
//!     .into_inner();
//! client.set_access_token(login.tokens.map(|t| t.access_token));
//! let me = client.auth().get_me(GetMeRequest {}).await?.into_inner();
//! println!("signed in as {}", me.user.unwrap().email);
//! # Ok(()) }
//! ```

use std::sync::{Arc, RwLock};

pub use tenantry_proto::{FILE_DESCRIPTOR_SET, audit, auth, file, org, serviceaccount, sso};
pub use tonic;
pub use tonic_types;

use tonic::{
    Request, Status,
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint},
};

/// The channel every stub of a [`Client`] uses.
pub type AuthedChannel = InterceptedService<Channel, Bearer>;

/// One connection to a Tenantry server and the access token to send.
#[derive(Debug, Clone)]
pub struct Client {
    channel: Channel,
    bearer: Bearer,
}

impl Client {
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:50051`); an
    /// `https://` endpoint is verified against the system's roots.
    pub async fn connect(endpoint: impl Into<String>) -> Result<Self, tonic::transport::Error> {
        Self::connect_with_ca(endpoint, None).await
    }

    /// Connects to `endpoint`; an `https://` endpoint is verified against
    /// `ca_pem` (a PEM CA certificate) when given, else the system's roots.
    pub async fn connect_with_ca(
        endpoint: impl Into<String>,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, tonic::transport::Error> {
        let endpoint = endpoint.into();
        let mut target = Endpoint::from_shared(endpoint.clone())?;
        if endpoint.starts_with("https://") {
            let tls = match ca_pem {
                Some(pem) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)),
                None => ClientTlsConfig::new().with_native_roots(),
            };
            target = target.tls_config(tls)?;
        }
        Ok(Self::from_channel(target.connect().await?))
    }

    /// Wraps an existing channel.
    pub fn from_channel(channel: Channel) -> Self {
        Self {
            channel,
            bearer: Bearer::default(),
        }
    }

    /// A client on the same connection with its own token.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        let client = Self::from_channel(self.channel.clone());
        client.set_access_token(Some(token.into()));
        client
    }

    /// Sets (or clears) the access token sent as `authorization: Bearer …`.
    pub fn set_access_token(&self, token: Option<String>) {
        *self.bearer.0.write().unwrap_or_else(|e| e.into_inner()) = token;
    }

    /// The access token currently sent, if any.
    pub fn access_token(&self) -> Option<String> {
        self.bearer
            .0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn authed(&self) -> AuthedChannel {
        InterceptedService::new(self.channel.clone(), self.bearer.clone())
    }

    /// `tenantry.auth.v1.AuthService`.
    pub fn auth(&self) -> auth::v1::auth_service_client::AuthServiceClient<AuthedChannel> {
        auth::v1::auth_service_client::AuthServiceClient::new(self.authed())
            .max_decoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.org.v1.OrgService`.
    pub fn org(&self) -> org::v1::org_service_client::OrgServiceClient<AuthedChannel> {
        org::v1::org_service_client::OrgServiceClient::new(self.authed())
            .max_decoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.file.v1.FileService`.
    pub fn files(&self) -> file::v1::file_service_client::FileServiceClient<AuthedChannel> {
        file::v1::file_service_client::FileServiceClient::new(self.authed())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.sso.v1.SsoService`.
    pub fn sso(&self) -> sso::v1::sso_service_client::SsoServiceClient<AuthedChannel> {
        sso::v1::sso_service_client::SsoServiceClient::new(self.authed())
            .max_decoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.serviceaccount.v1.ServiceAccountService`.
    pub fn service_accounts(
        &self,
    ) -> serviceaccount::v1::service_account_service_client::ServiceAccountServiceClient<
        AuthedChannel,
    > {
        serviceaccount::v1::service_account_service_client::ServiceAccountServiceClient::new(
            self.authed(),
        )
        .max_decoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.audit.v1.AuditService`.
    pub fn audit(&self) -> audit::v1::audit_service_client::AuditServiceClient<AuthedChannel> {
        audit::v1::audit_service_client::AuditServiceClient::new(self.authed())
            .max_decoding_message_size(MAX_MESSAGE)
    }

    /// The underlying channel, for stubs of other services (health, …).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }
}

const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Adds `authorization: Bearer <token>` when a token is set.
#[derive(Debug, Clone, Default)]
pub struct Bearer(Arc<RwLock<Option<String>>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let token = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(token) = token {
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| Status::invalid_argument("access token is not valid header text"))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}
