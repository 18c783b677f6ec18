//! [`Tenantry`], the handle a program keeps, and its [`Builder`].

use std::{sync::Arc, time::Duration};

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::{
    Error, Result, RetryPolicy,
    audit::v1::audit_service_client::AuditServiceClient,
    auth::v1::{TokenPair, auth_service_client::AuthServiceClient},
    credentials::{Credentials, StaticToken, TokenCache},
    file::v1::file_service_client::FileServiceClient,
    org::v1::{SwitchOrganizationRequest, org_service_client::OrgServiceClient},
    serviceaccount::v1::service_account_service_client::ServiceAccountServiceClient,
    sso::v1::sso_service_client::SsoServiceClient,
    transport::{Shared, Transport},
};

/// `AuthService`'s stub on a handle's channel.
pub type AuthClient = AuthServiceClient<Transport>;

/// A connection to a Tenantry server and the credentials to call it with.
///
/// Cheap to clone (the clones share the connection, the token and its
/// renewal) and safe to share across tasks. Each accessor returns the
/// generated stub of one service; its calls carry the access token, and
/// idempotent ones retry by themselves (see [`RetryPolicy`]).
#[derive(Debug, Clone)]
pub struct Tenantry {
    transport: Transport,
}

/// Settings of a [`Tenantry`] handle: see [`Tenantry::builder`].
#[derive(Debug)]
pub struct Builder {
    url: String,
    ca_pem: Option<Vec<u8>>,
    identity: Option<Identity>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    user_agent: String,
    credentials: Option<Arc<dyn Credentials>>,
    retry: RetryPolicy,
}

/// Responses up to this size are read (a `ListFiles` page of 1,000 files
/// is far below it).
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

impl Builder {
    /// Verifies an `https://` server against this CA certificate (PEM)
    /// instead of the system's roots.
    pub fn ca_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Presents this client certificate (PEM, with its PEM private key) in
    /// the TLS handshake: for service accounts bound to a certificate.
    pub fn client_certificate(
        mut self,
        cert_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Self {
        self.identity = Some(Identity::from_pem(cert_pem, key_pem));
        self
    }

    /// Gives up on a call after this long (default: no limit but the
    /// server's own).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Gives up connecting after this long (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sent as `user-agent` (before tonic's own), e.g. `my-service/1.4`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Calls as these credentials (default: none, for public calls).
    pub fn credentials(mut self, credentials: impl Credentials) -> Self {
        self.credentials = Some(Arc::new(credentials));
        self
    }

    /// Retries idempotent calls this way (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The handle; it connects on the first call (and reconnects by
    /// itself), so a server that is not up yet is not an error here.
    pub fn build(self) -> Result<Tenantry> {
        let channel = self.endpoint()?.connect_lazy();
        Ok(Tenantry::assemble(channel, self.credentials, self.retry))
    }

    /// The handle, connected now: a wrong address or certificate fails here.
    pub async fn connect(self) -> Result<Tenantry> {
        let endpoint = self.endpoint()?;
        let channel = endpoint.connect().await.map_err(|e| {
            Error::local(
                tonic::Code::Unavailable,
                format!("cannot reach {}: {e}", self.url),
            )
        })?;
        Ok(Tenantry::assemble(channel, self.credentials, self.retry))
    }

    fn endpoint(&self) -> Result<Endpoint> {
        let invalid = |e: tonic::transport::Error| {
            Error::local(tonic::Code::InvalidArgument, format!("{}: {e}", self.url))
        };
        let mut endpoint = Endpoint::from_shared(self.url.clone())
            .map_err(invalid)?
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.clone())
            .map_err(invalid)?;
        if let Some(timeout) = self.timeout {
            endpoint = endpoint.timeout(timeout);
        }
        if self.url.starts_with("https://") {
            let mut tls = match &self.ca_pem {
                Some(pem) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)),
                None => ClientTlsConfig::new().with_native_roots(),
            };
            if let Some(identity) = self.identity.clone() {
                tls = tls.identity(identity);
            }
            endpoint = endpoint.tls_config(tls).map_err(invalid)?;
        }
        Ok(endpoint)
    }
}

impl Tenantry {
    /// Settings for a handle to the server at `url` (`http://…` or
    /// `https://…`, verified against the system's roots by default).
    pub fn builder(url: impl Into<String>) -> Builder {
        Builder {
            url: url.into(),
            ca_pem: None,
            identity: None,
            timeout: None,
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("tenantry-client/", env!("CARGO_PKG_VERSION")).into(),
            credentials: None,
            retry: RetryPolicy::default(),
        }
    }

    /// A handle on a channel made elsewhere (a custom TLS setup, a
    /// connector of your own), without credentials.
    pub fn from_channel(channel: Channel) -> Self {
        Self::assemble(channel, None, RetryPolicy::default())
    }

    fn assemble(
        channel: Channel,
        credentials: Option<Arc<dyn Credentials>>,
        retry: RetryPolicy,
    ) -> Self {
        let tokens = credentials.map(|credentials| {
            let bare = Transport::new(Shared {
                channel: channel.clone(),
                tokens: None,
                retry,
            });
            let auth = AuthServiceClient::new(bare).max_decoding_message_size(MAX_MESSAGE);
            Arc::new(TokenCache::new(credentials, auth))
        });
        let transport = Transport::new(Shared {
            channel,
            tokens,
            retry,
        });
        Self { transport }
    }

    /// A handle on the same connection that calls as `credentials`.
    pub fn with_credentials(&self, credentials: impl Credentials) -> Self {
        let shared = self.transport.shared();
        Self::assemble(
            shared.channel.clone(),
            Some(Arc::new(credentials)),
            shared.retry,
        )
    }

    /// A handle on the same connection that sends `token` as it is.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        self.with_credentials(StaticToken::new(token))
    }

    /// A handle on the same connection without credentials.
    pub fn anonymous(&self) -> Self {
        let shared = self.transport.shared();
        Self::assemble(shared.channel.clone(), None, shared.retry)
    }

    /// A handle on the same connection and credentials (sharing the token)
    /// that retries this way.
    pub fn with_retry(&self, retry: RetryPolicy) -> Self {
        let shared = self.transport.shared();
        let tokens = shared.tokens.clone();
        let transport = Transport::new(Shared {
            channel: shared.channel.clone(),
            tokens,
            retry,
        });
        Self { transport }
    }

    /// The access token calls carry now (renewed first if it is about to
    /// expire); `None` without credentials.
    pub async fn access_token(&self) -> Result<Option<String>> {
        match &self.transport.shared().tokens {
            Some(tokens) => tokens.token().await.map(Some),
            None => Ok(None),
        }
    }

    /// Moves the signed-in session to another organization
    /// (`OrgService.SwitchOrganization`), keeps the new token pair in the
    /// credentials' store and uses it from the next call on.
    pub async fn switch_organization(
        &self,
        organization_id: impl Into<String>,
    ) -> Result<TokenPair> {
        let request = SwitchOrganizationRequest {
            organization_id: organization_id.into(),
        };
        let pair = self.org().switch_organization(request).await?.into_inner();
        let pair = pair.tokens.unwrap_or_default();
        if let Some(tokens) = &self.transport.shared().tokens {
            tokens.credentials().adopt(&pair)?;
            tokens.clear();
        }
        Ok(pair)
    }

    /// The channel under the handle, without credentials or retries (for
    /// stubs of other services, e.g. `grpc.health.v1`).
    pub fn channel(&self) -> Channel {
        self.transport.shared().channel.clone()
    }

    /// `tenantry.auth.v1.AuthService`: accounts, sessions, tokens.
    pub fn auth(&self) -> AuthClient {
        AuthServiceClient::new(self.transport.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.org.v1.OrgService`: organizations, members, invitations.
    pub fn org(&self) -> OrgServiceClient<Transport> {
        OrgServiceClient::new(self.transport.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.file.v1.FileService`: files and uploads (see also the
    /// helpers in [`files`](crate::files)).
    pub fn files(&self) -> FileServiceClient<Transport> {
        FileServiceClient::new(self.transport.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.sso.v1.SsoService`: the organization's OpenID Connect.
    pub fn sso(&self) -> SsoServiceClient<Transport> {
        SsoServiceClient::new(self.transport.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.serviceaccount.v1.ServiceAccountService`.
    pub fn service_accounts(&self) -> ServiceAccountServiceClient<Transport> {
        ServiceAccountServiceClient::new(self.transport.clone())
            .max_decoding_message_size(MAX_MESSAGE)
    }

    /// `tenantry.audit.v1.AuditService`: the organization's audit log.
    pub fn audit(&self) -> AuditServiceClient<Transport> {
        AuditServiceClient::new(self.transport.clone()).max_decoding_message_size(MAX_MESSAGE)
    }
}
