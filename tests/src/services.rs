//! Service accounts and personal access tokens as tests drive them.

use tenantry_client::{
    Tenantry,
    auth::v1::{
        CreatePersonalAccessTokenRequest, ExchangeTokenRequest, ExchangeTokenResponse, Role,
        exchange_token_request::{ClientCredentials, Grant, JwtBearer},
    },
    serviceaccount::v1::{
        AddServiceAccountKeyRequest, AddServiceAccountSecretRequest, CreateServiceAccountRequest,
        KeyAlgorithm, ServiceAccount,
    },
};

use crate::{TestApp, TestUser};

/// A service account with a client secret, signed in by exchanging it.
#[derive(Clone)]
pub struct TestService {
    pub account: ServiceAccount,
    pub client_secret: String,
    /// Sends the access token of the last exchange.
    pub client: Tenantry,
}

/// A generated key pair's key file, parsed.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct KeyFile {
    #[serde(rename = "type")]
    pub kind: String,
    pub key_id: String,
    pub client_id: String,
    pub private_key: String,
}

/// Creates a service account `name` with `role` through `admin` (an ADMIN's
/// client) and adds a client secret: the account and the secret.
pub async fn new_service_account(
    admin: &Tenantry,
    name: &str,
    role: Role,
) -> (ServiceAccount, String) {
    let accounts = admin.service_accounts();
    let account = accounts
        .clone()
        .create_service_account(CreateServiceAccountRequest {
            name: name.into(),
            description: format!("{name}, made by a test"),
            role: role as i32,
            client_certificate_pem: String::new(),
        })
        .await
        .expect("create service account")
        .into_inner()
        .service_account
        .expect("service account");
    let secret = accounts
        .clone()
        .add_service_account_secret(AddServiceAccountSecretRequest {
            service_account_id: account.id.clone(),
            expire_time: None,
        })
        .await
        .expect("add secret")
        .into_inner()
        .client_secret;
    (account, secret)
}

impl TestApp {
    /// Creates a service account `name` with `role` as `admin`, adds a
    /// client secret and exchanges it for a token.
    pub async fn service(&self, admin: &TestUser, name: &str, role: Role) -> TestService {
        let (account, client_secret) = new_service_account(&admin.client, name, role).await;
        let client = self.client().await;
        let token = self
            .exchange_secret(&account.id, &client_secret)
            .await
            .expect("exchange the secret")
            .access_token;
        let client = client.with_token(token);
        TestService {
            account,
            client_secret,
            client,
        }
    }

    /// ExchangeToken with the client-credentials grant.
    pub async fn exchange_secret(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<ExchangeTokenResponse, tonic::Status> {
        let grant = Grant::ClientCredentials(ClientCredentials {
            client_id: client_id.into(),
            client_secret: secret.into(),
        });
        self.exchange(grant).await
    }

    /// ExchangeToken with the JWT-bearer grant.
    pub async fn exchange_assertion(
        &self,
        assertion: &str,
    ) -> Result<ExchangeTokenResponse, tonic::Status> {
        let grant = Grant::JwtBearer(JwtBearer {
            assertion: assertion.into(),
        });
        self.exchange(grant).await
    }

    async fn exchange(&self, grant: Grant) -> Result<ExchangeTokenResponse, tonic::Status> {
        self.client()
            .await
            .auth()
            .exchange_token(ExchangeTokenRequest { grant: Some(grant) })
            .await
            .map(tonic::Response::into_inner)
    }

    /// A key pair the server generates for `account_id`, as its key file.
    pub async fn generated_key(
        &self,
        admin: &TestUser,
        account_id: &str,
        algorithm: KeyAlgorithm,
    ) -> KeyFile {
        let added = admin
            .client
            .service_accounts()
            .add_service_account_key(AddServiceAccountKeyRequest {
                service_account_id: account_id.into(),
                algorithm: algorithm as i32,
                public_key_pem: String::new(),
                expire_time: None,
            })
            .await
            .expect("add key")
            .into_inner();
        serde_json::from_str(&added.key_file).expect("a JSON key file")
    }

    /// A personal access token of `user` in their current organization.
    pub async fn personal_token(&self, user: &TestUser, role: Role) -> String {
        user.client
            .auth()
            .create_personal_access_token(CreatePersonalAccessTokenRequest {
                name: "ci".into(),
                role: role as i32,
                expire_time: None,
            })
            .await
            .expect("create personal access token")
            .into_inner()
            .token
    }

    /// This server's token issuer (the audience of assertions).
    pub fn issuer(&self) -> String {
        self.state().config.tokens.issuer.clone()
    }
}

/// Signs an assertion for `key` with the given claims.
pub fn sign_assertion(key: &KeyFile, claims: &serde_json::Value) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let (algorithm, encoding) = if key.private_key.len() > 400 {
        let encoding = EncodingKey::from_rsa_pem(key.private_key.as_bytes());
        (Algorithm::RS256, encoding)
    } else {
        let encoding = EncodingKey::from_ed_pem(key.private_key.as_bytes());
        (Algorithm::EdDSA, encoding)
    };
    let mut header = Header::new(algorithm);
    header.kid = Some(key.key_id.clone());
    jsonwebtoken::encode(&header, claims, &encoding.expect("a PEM private key")).expect("sign")
}

/// The claims of a valid assertion for `key`, issued `now` (unix seconds).
pub fn assertion_claims(key: &KeyFile, audience: &str, now: i64) -> serde_json::Value {
    serde_json::json!({
        "iss": key.client_id,
        "sub": key.client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// The claims of a JWT (not verified: the server did that).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}
