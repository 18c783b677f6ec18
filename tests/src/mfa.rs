//! A second factor as tests drive it: an authenticator app made by
//! `totp-rs` from the `otpauth://` URI the server returns, its codes taken
//! at the server's clock.

use tenantry_client::auth::v1::{
    BeginTotpEnrollmentRequest, CompleteMfaLoginRequest, ConfirmTotpEnrollmentRequest,
    LoginRequest, complete_mfa_login_request::Proof,
};
use totp_rs::Totp;

use crate::{PASSWORD, TestApp, TestUser};

impl TestApp {
    /// The code `authenticator` shows now, by the server's clock.
    pub fn totp_code(&self, authenticator: &Totp) -> String {
        let now = u64::try_from(self.now().timestamp()).expect("after 1970");
        authenticator.generate(now).to_string()
    }

    /// Signs in with the password and then a fresh code (the clock moves
    /// one step first, so a code used before is not reused); returns the
    /// access token.
    pub async fn sign_in_with_totp(&self, email: &str, org: &str, authenticator: &Totp) -> String {
        let client = self.client().await;
        let first = client
            .auth()
            .login(LoginRequest {
                email: email.into(),
                password: PASSWORD.into(),
                organization_id: org.into(),
            })
            .await
            .expect("first step")
            .into_inner();
        let challenge = first.mfa_required.expect("a second step").challenge_token;
        self.advance(chrono::Duration::seconds(30));
        let request = CompleteMfaLoginRequest {
            challenge_token: challenge,
            proof: Some(Proof::TotpCode(self.totp_code(authenticator))),
        };
        let done = client.auth().complete_mfa_login(request).await;
        done.expect("second step")
            .into_inner()
            .tokens
            .expect("tokens")
            .access_token
    }
}

impl TestUser {
    /// Enrolls an authenticator app; returns it and the recovery codes.
    pub async fn enroll_totp(&self, app: &TestApp) -> (Totp, Vec<String>) {
        let begun = self
            .client
            .auth()
            .begin_totp_enrollment(BeginTotpEnrollmentRequest {
                password: PASSWORD.into(),
            })
            .await
            .expect("begin enrollment")
            .into_inner();
        let authenticator = Totp::from_url(&begun.otpauth_uri).expect("a standard otpauth URI");
        let code = app.totp_code(&authenticator);
        let confirmed = self
            .client
            .auth()
            .confirm_totp_enrollment(ConfirmTotpEnrollmentRequest { code })
            .await
            .expect("confirm enrollment")
            .into_inner();
        (authenticator, confirmed.recovery_codes)
    }
}
