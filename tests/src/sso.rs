//! Single sign-on as tests drive it.

use tenantry_client::{
    Tenantry,
    auth::v1::Role,
    org::v1::{LoginPolicy, UpdateOrganizationRequest},
    sso::v1::{
        AddSsoDomainRequest, BeginSsoLoginRequest, CompleteSsoLoginRequest,
        CompleteSsoLoginResponse, ConfirmSsoLinkRequest, ConfirmSsoLinkResponse, GroupRoleMapping,
        ProvisioningRules, SsoConfig, SyncMode, UpsertSsoConfigRequest, VerifySsoDomainRequest,
    },
};

use crate::{
    TestApp, TestUser,
    oidc::{self, CALLBACK, CLIENT_ID, CLIENT_SECRET, Callback},
};

/// The issuer of the test's OpenID provider (started on first use); the test
/// fails with the install command where Node is missing.
pub fn oidc_issuer() -> String {
    crate::require_node();
    oidc::issuer()
}

/// A configuration for the test provider: auto-provisioning for
/// `acme.test`, `admins` → ADMIN, `engineering` → MEMBER, default VIEWER,
/// synced at every sign-in.
pub fn sso_config(issuer: &str) -> SsoConfig {
    SsoConfig {
        issuer_url: issuer.into(),
        client_id: CLIENT_ID.into(),
        scopes: vec!["email".into(), "profile".into(), "groups".into()],
        enabled: true,
        provisioning: Some(ProvisioningRules {
            auto_provision: true,
            allowed_email_domains: vec!["acme.test".into()],
            default_role: Role::Viewer as i32,
            group_roles: vec![
                GroupRoleMapping {
                    group: "admins".into(),
                    role: Role::Admin as i32,
                },
                GroupRoleMapping {
                    group: "engineering".into(),
                    role: Role::Member as i32,
                },
            ],
            sync: SyncMode::EveryLogin as i32,
        }),
        redirect_uris: vec![CALLBACK.into()],
        ..SsoConfig::default()
    }
}

impl TestUser {
    /// Saves `config` (with the client secret) and lets the organization
    /// sign in with SSO or passwords.
    pub async fn set_up_sso(&self, config: SsoConfig) {
        self.client
            .sso()
            .upsert_sso_config(UpsertSsoConfigRequest {
                config: Some(config),
                client_secret: CLIENT_SECRET.into(),
            })
            .await
            .expect("save SSO config");
        // The organization owns the domains its provider asserts: the
        // allowed one and the one the tests' existing accounts use.
        for domain in ["acme.test", "example.com"] {
            self.prove_domain(domain).await;
        }
        self.set_login_policy(LoginPolicy::Both)
            .await
            .expect("login policy");
    }

    /// Claims `domain` for the organization's SSO, publishes its TXT record
    /// in the test DNS server, and verifies it (once: a second call for the
    /// same organization finds it claimed).
    pub async fn prove_domain(&self, domain: &str) {
        let added = self
            .client
            .sso()
            .add_sso_domain(AddSsoDomainRequest {
                domain: domain.into(),
            })
            .await;
        let added = match added {
            Err(status) if status.code() == tonic::Code::AlreadyExists => return,
            other => other
                .expect("claim the domain")
                .into_inner()
                .domain
                .expect("domain"),
        };
        crate::dns::shared().publish(&added.record_name, &added.record_value);
        self.client
            .sso()
            .verify_sso_domain(VerifySsoDomainRequest {
                domain: domain.into(),
            })
            .await
            .expect("verify the domain");
    }

    pub async fn set_login_policy(&self, policy: LoginPolicy) -> Result<(), tonic::Status> {
        self.client
            .org()
            .update_organization(UpdateOrganizationRequest {
                name: None,
                login_policy: policy as i32,
                max_file_size_bytes: None,
            })
            .await
            .map(|_| ())
    }
}

impl TestApp {
    pub async fn begin_sso(&self, slug: &str, redirect_uri: &str) -> Result<String, tonic::Status> {
        self.client()
            .await
            .sso()
            .begin_sso_login(BeginSsoLoginRequest {
                organization_slug: slug.into(),
                redirect_uri: redirect_uri.into(),
            })
            .await
            .map(|r| r.into_inner().authorization_url)
    }

    pub async fn complete_sso(
        &self,
        callback: &Callback,
    ) -> Result<CompleteSsoLoginResponse, tonic::Status> {
        self.client()
            .await
            .sso()
            .complete_sso_login(CompleteSsoLoginRequest {
                state: callback.state.clone(),
                code: callback.code.clone(),
                iss: callback.iss.clone(),
            })
            .await
            .map(|r| r.into_inner())
    }

    /// The whole flow: begin, sign in at the provider as `login`, complete.
    pub async fn sso_sign_in(
        &self,
        slug: &str,
        login: &str,
    ) -> Result<CompleteSsoLoginResponse, tonic::Status> {
        let url = self.begin_sso(slug, CALLBACK).await?;
        let callback = oidc::browser_sign_in(&url, login)
            .await
            .expect("provider flow");
        self.complete_sso(&callback).await
    }

    /// The whole flow for a person whose account exists: sign in at the
    /// provider, get the pending link, and confirm it with the account's
    /// password.
    pub async fn sso_link_with_password(
        &self,
        slug: &str,
        login: &str,
        password: &str,
    ) -> Result<ConfirmSsoLinkResponse, tonic::Status> {
        let pending = self
            .sso_sign_in(slug, login)
            .await?
            .pending_link
            .expect("a first sign-in that matches an account waits for consent");
        self.confirm_sso_link(ConfirmSsoLinkRequest {
            link_token: pending.link_token,
            password: password.into(),
            email_token: String::new(),
        })
        .await
    }

    /// `member@acme.test` (an account of the test provider) with a password,
    /// verified, a MEMBER of `owner`'s organization.
    pub async fn member_with_password(&self, owner: &TestUser) -> TestUser {
        const EMAIL: &str = "member@acme.test";
        self.register(EMAIL, crate::PASSWORD).await;
        self.verify_email(EMAIL).await;
        let user = self.sign_in(EMAIL, crate::PASSWORD).await;
        user.accept(&owner.invite(EMAIL, Role::Member).await).await;
        user
    }

    /// A client signed in through `slug`'s provider as `login`, whose
    /// existing account is linked with its password.
    pub async fn sso_session(&self, slug: &str, login: &str, password: &str) -> Tenantry {
        let linked = self
            .sso_link_with_password(slug, login, password)
            .await
            .expect("link with the password");
        self.client()
            .await
            .with_token(linked.tokens.expect("tokens").access_token)
    }

    pub async fn confirm_sso_link(
        &self,
        request: ConfirmSsoLinkRequest,
    ) -> Result<ConfirmSsoLinkResponse, tonic::Status> {
        self.client()
            .await
            .sso()
            .confirm_sso_link(request)
            .await
            .map(|r| r.into_inner())
    }
}
