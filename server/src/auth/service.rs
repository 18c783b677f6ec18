//! `tenantry.auth.v1.AuthService`: each method reads its caller and request
//! and hands them to the domain function that does the work.

use tenantry_proto::auth::v1::{self as pb, auth_service_server::AuthService};
use tonic::{Request, Response};

use super::{
    email_verification, login,
    mfa::{challenge, enrollment},
    passkeys, password_reset, personal_tokens, profile, refresh, register, sessions,
};
use crate::{
    context::{Call, meta},
    error::{Reply, ok},
    state::AppState,
};

#[derive(Clone)]
pub struct AuthApi {
    state: AppState,
}

impl AuthApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Reply<pb::RegisterResponse> {
        let meta = meta(&request);
        ok(register::register(&self.state, meta, request.into_inner()).await)
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Reply<pb::LoginResponse> {
        let meta = meta(&request);
        let answer = login::login(&self.state, meta, request.into_inner()).await;
        let pending = answer.as_ref().is_ok_and(|a| a.mfa_required.is_some());
        let pending = pending.then_some("mfa_required");
        self.state.meters.sign_in("password", &answer, pending);
        ok(answer)
    }

    async fn refresh(&self, request: Request<pb::RefreshRequest>) -> Reply<pb::RefreshResponse> {
        let meta = meta(&request);
        ok(refresh::refresh(&self.state, meta, request.into_inner()).await)
    }

    async fn get_jwks(&self, _request: Request<pb::GetJwksRequest>) -> Reply<pb::GetJwksResponse> {
        let keys = self
            .state
            .tokens
            .keys()
            .published()
            .iter()
            .map(|key| pb::Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: key.x.clone(),
                kid: key.kid.clone(),
                alg: "EdDSA".into(),
                r#use: "sig".into(),
            })
            .collect();
        Ok(Response::new(pb::GetJwksResponse { keys }))
    }

    async fn request_email_verification(
        &self,
        request: Request<pb::RequestEmailVerificationRequest>,
    ) -> Reply<pb::RequestEmailVerificationResponse> {
        let Call { caller, .. } = Call::signed_in(request)?;
        ok(email_verification::request_email_verification(&self.state, caller).await)
    }

    async fn verify_email(
        &self,
        request: Request<pb::VerifyEmailRequest>,
    ) -> Reply<pb::VerifyEmailResponse> {
        let meta = meta(&request);
        ok(email_verification::verify_email(&self.state, meta, request.into_inner()).await)
    }

    async fn request_password_reset(
        &self,
        request: Request<pb::RequestPasswordResetRequest>,
    ) -> Reply<pb::RequestPasswordResetResponse> {
        let meta = meta(&request);
        let request = request.into_inner();
        ok(password_reset::request_password_reset(&self.state, meta, request).await)
    }

    async fn reset_password(
        &self,
        request: Request<pb::ResetPasswordRequest>,
    ) -> Reply<pb::ResetPasswordResponse> {
        let meta = meta(&request);
        ok(password_reset::reset_password(&self.state, meta, request.into_inner()).await)
    }

    async fn complete_mfa_login(
        &self,
        request: Request<pb::CompleteMfaLoginRequest>,
    ) -> Reply<pb::CompleteMfaLoginResponse> {
        let meta = meta(&request);
        let answer = challenge::complete_mfa_login(&self.state, meta, request.into_inner()).await;
        self.state.meters.sign_in("mfa", &answer, None);
        ok(answer)
    }

    async fn get_mfa_status(
        &self,
        request: Request<pb::GetMfaStatusRequest>,
    ) -> Reply<pb::GetMfaStatusResponse> {
        let Call { caller, .. } = Call::signed_in(request)?;
        ok(enrollment::get_mfa_status(&self.state, caller).await)
    }

    async fn begin_totp_enrollment(
        &self,
        request: Request<pb::BeginTotpEnrollmentRequest>,
    ) -> Reply<pb::BeginTotpEnrollmentResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(enrollment::begin_totp_enrollment(&self.state, meta, caller, message).await)
    }

    async fn confirm_totp_enrollment(
        &self,
        request: Request<pb::ConfirmTotpEnrollmentRequest>,
    ) -> Reply<pb::ConfirmTotpEnrollmentResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(enrollment::confirm_totp_enrollment(&self.state, meta, caller, message).await)
    }

    async fn remove_totp(
        &self,
        request: Request<pb::RemoveTotpRequest>,
    ) -> Reply<pb::RemoveTotpResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(enrollment::remove_totp(&self.state, meta, caller, message).await)
    }

    async fn regenerate_recovery_codes(
        &self,
        request: Request<pb::RegenerateRecoveryCodesRequest>,
    ) -> Reply<pb::RegenerateRecoveryCodesResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(enrollment::regenerate_recovery_codes(&self.state, meta, caller, message).await)
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Reply<pb::LogoutResponse> {
        let Call { meta, caller, .. } = Call::signed_in(request)?;
        ok(sessions::logout(&self.state, meta, caller).await)
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Reply<pb::ListSessionsResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(sessions::list_sessions(&self.state, caller, message).await)
    }

    async fn revoke_session(
        &self,
        request: Request<pb::RevokeSessionRequest>,
    ) -> Reply<pb::RevokeSessionResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(sessions::revoke_session(&self.state, meta, caller, message).await)
    }

    async fn revoke_other_sessions(
        &self,
        request: Request<pb::RevokeOtherSessionsRequest>,
    ) -> Reply<pb::RevokeOtherSessionsResponse> {
        let Call { meta, caller, .. } = Call::signed_in(request)?;
        ok(sessions::revoke_other_sessions(&self.state, meta, caller).await)
    }

    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Reply<pb::GetMeResponse> {
        let Call { caller, .. } = Call::signed_in(request)?;
        ok(profile::get_me(&self.state, caller).await)
    }

    async fn update_profile(
        &self,
        request: Request<pb::UpdateProfileRequest>,
    ) -> Reply<pb::UpdateProfileResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(profile::update_profile(&self.state, meta, caller, message).await)
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Reply<pb::ChangePasswordResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(profile::change_password(&self.state, meta, caller, message).await)
    }

    async fn delete_account(
        &self,
        request: Request<pb::DeleteAccountRequest>,
    ) -> Reply<pb::DeleteAccountResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(profile::delete_account(&self.state, meta, caller, message).await)
    }

    async fn exchange_token(
        &self,
        request: Request<pb::ExchangeTokenRequest>,
    ) -> Reply<pb::ExchangeTokenResponse> {
        let client_cert = request
            .extensions()
            .get::<crate::connections::ConnectionInfo>()
            .and_then(|c| c.client_cert.clone());
        ok(exchange_token(&self.state, request.into_inner(), client_cert).await)
    }

    async fn create_personal_access_token(
        &self,
        request: Request<pb::CreatePersonalAccessTokenRequest>,
    ) -> Reply<pb::CreatePersonalAccessTokenResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(personal_tokens::create_personal_access_token(&self.state, meta, caller, message).await)
    }

    async fn list_personal_access_tokens(
        &self,
        request: Request<pb::ListPersonalAccessTokensRequest>,
    ) -> Reply<pb::ListPersonalAccessTokensResponse> {
        let Call { caller, .. } = Call::signed_in(request)?;
        ok(personal_tokens::list_personal_access_tokens(&self.state, caller).await)
    }

    async fn revoke_personal_access_token(
        &self,
        request: Request<pb::RevokePersonalAccessTokenRequest>,
    ) -> Reply<pb::RevokePersonalAccessTokenResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(personal_tokens::revoke_personal_access_token(&self.state, meta, caller, message).await)
    }

    async fn begin_passkey_registration(
        &self,
        request: Request<pb::BeginPasskeyRegistrationRequest>,
    ) -> Reply<pb::BeginPasskeyRegistrationResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        let answer =
            passkeys::registration::begin_passkey_registration(&self.state, meta, caller, message);
        ok(answer.await)
    }

    async fn finish_passkey_registration(
        &self,
        request: Request<pb::FinishPasskeyRegistrationRequest>,
    ) -> Reply<pb::FinishPasskeyRegistrationResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        let answer =
            passkeys::registration::finish_passkey_registration(&self.state, meta, caller, message);
        ok(answer.await)
    }

    async fn list_passkeys(
        &self,
        request: Request<pb::ListPasskeysRequest>,
    ) -> Reply<pb::ListPasskeysResponse> {
        let Call { caller, .. } = Call::signed_in(request)?;
        ok(passkeys::registration::list_passkeys(&self.state, caller).await)
    }

    async fn delete_passkey(
        &self,
        request: Request<pb::DeletePasskeyRequest>,
    ) -> Reply<pb::DeletePasskeyResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(passkeys::registration::delete_passkey(&self.state, meta, caller, message).await)
    }

    async fn begin_passkey_login(
        &self,
        _request: Request<pb::BeginPasskeyLoginRequest>,
    ) -> Reply<pb::BeginPasskeyLoginResponse> {
        ok(passkeys::login::begin_passkey_login(&self.state).await)
    }

    async fn finish_passkey_login(
        &self,
        request: Request<pb::FinishPasskeyLoginRequest>,
    ) -> Reply<pb::FinishPasskeyLoginResponse> {
        let meta = meta(&request);
        let answer =
            passkeys::login::finish_passkey_login(&self.state, meta, request.into_inner()).await;
        self.state.meters.sign_in("passkey", &answer, None);
        ok(answer)
    }
}

/// ExchangeToken: the same exchange as `POST /oauth/token`.
async fn exchange_token(
    state: &AppState,
    request: pb::ExchangeTokenRequest,
    client_cert: Option<std::sync::Arc<str>>,
) -> crate::error::ApiResult<pb::ExchangeTokenResponse> {
    use pb::exchange_token_request::Grant as Wire;

    use crate::service_accounts::exchange::{self, Grant};
    let grant = match request.grant {
        Some(Wire::ClientCredentials(c)) => Grant::ClientCredentials {
            client_id: c.client_id,
            client_secret: c.client_secret,
        },
        Some(Wire::JwtBearer(j)) => Grant::JwtBearer {
            assertion: j.assertion,
        },
        None => {
            return Err(crate::error::ApiError::invalid(
                "grant",
                "must be client_credentials or jwt_bearer",
            ));
        }
    };
    let issued = exchange::exchange(state, grant, client_cert).await?;
    Ok(pb::ExchangeTokenResponse {
        access_token: issued.access_token,
        access_token_expire_time: Some(crate::clock::to_proto(issued.expires_at)),
        service_account_id: issued.account_id,
        organization_id: issued.org_id,
        role: issued.role.to_proto() as i32,
    })
}
