//! Users as tests drive them: register, verify, sign in, call.

use tenantry_client::{
    Tenantry,
    auth::v1::{LoginRequest, RegisterRequest, TokenPair, VerifyEmailRequest},
};

use crate::TestApp;

/// A signed-in user with a client that sends their access token.
#[derive(Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub client: Tenantry,
    pub tokens: TokenPair,
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Registers `<name>@example.com` with a verified email and signs in.
    pub async fn user(&self, name: &str) -> TestUser {
        let email = format!("{name}@example.com");
        self.register(&email, PASSWORD).await;
        self.verify_email(&email).await;
        self.sign_in(&email, PASSWORD).await
    }

    pub async fn register(&self, email: &str, password: &str) -> String {
        let client = self.client().await;
        client
            .auth()
            .register(RegisterRequest {
                email: email.into(),
                password: password.into(),
                display_name: String::new(),
            })
            .await
            .expect("register")
            .into_inner()
            .user
            .expect("user")
            .id
    }

    /// Verifies `email` with the token the server mailed.
    pub async fn verify_email(&self, email: &str) {
        let token = self
            .mailed(email, "Verification token")
            .expect("a verification mail");
        self.client()
            .await
            .auth()
            .verify_email(VerifyEmailRequest { token })
            .await
            .expect("verify email");
    }

    /// One password sign-in, whatever it answers (for tests of refusals).
    pub async fn try_login(&self, email: &str, password: &str) -> Result<(), tonic::Status> {
        let request = LoginRequest {
            email: email.into(),
            password: password.into(),
            organization_id: String::new(),
        };
        self.client().await.auth().login(request).await.map(|_| ())
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> TestUser {
        let client = self.client().await;
        let login = client
            .auth()
            .login(LoginRequest {
                email: email.into(),
                password: password.into(),
                organization_id: String::new(),
            })
            .await
            .expect("login")
            .into_inner();
        let tokens = login.tokens.expect("tokens");
        let client = client.with_token(tokens.access_token.clone());
        TestUser {
            id: login.user.expect("user").id,
            email: email.into(),
            password: password.into(),
            client,
            tokens,
        }
    }
}

impl TestUser {
    /// Uses a new token pair (after a refresh, switch, …).
    pub fn adopt(&mut self, tokens: TokenPair) {
        self.client = self.client.with_token(tokens.access_token.clone());
        self.tokens = tokens;
    }
}
