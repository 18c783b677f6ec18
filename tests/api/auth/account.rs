//! One's own account: profile, email verification, password, deletion.

use chrono::Duration;
use tenantry_client::auth::v1::{
    ChangePasswordRequest, DeleteAccountRequest, GetMeRequest, LoginRequest,
    RequestEmailVerificationRequest, UpdateProfileRequest, VerifyEmailRequest,
};
use tenantry_tests::{Backend, PASSWORD, TestApp, assert_code, on_both_backends};
use tonic::Code;

fn login(email: &str, password: &str) -> LoginRequest {
    LoginRequest {
        email: email.into(),
        password: password.into(),
        organization_id: String::new(),
    }
}

async fn email_verification_is_single_use_and_expires(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.register("ann@example.com", PASSWORD).await;
    let ann = app.sign_in("ann@example.com", PASSWORD).await;
    let me = ann
        .client
        .auth()
        .get_me(GetMeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!me.user.unwrap().email_verified);

    // An expired link does nothing.
    let stale = app.mailed("ann@example.com", "Verification token").unwrap();
    app.advance(Duration::hours(25));
    let auth = app.client().await.auth();
    assert_code(
        auth.clone()
            .verify_email(VerifyEmailRequest { token: stale })
            .await,
        Code::NotFound,
    );

    // (A day later the session is long over: sign in again.)
    let ann = app.sign_in("ann@example.com", PASSWORD).await;
    ann.client
        .auth()
        .request_email_verification(RequestEmailVerificationRequest {})
        .await
        .unwrap();
    let token = app.mailed("ann@example.com", "Verification token").unwrap();
    auth.clone()
        .verify_email(VerifyEmailRequest {
            token: token.clone(),
        })
        .await
        .unwrap();
    let me = ann
        .client
        .auth()
        .get_me(GetMeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(me.user.unwrap().email_verified);
    assert_code(
        auth.clone()
            .verify_email(VerifyEmailRequest { token })
            .await,
        Code::NotFound,
    );
    assert_code(
        ann.client
            .auth()
            .request_email_verification(RequestEmailVerificationRequest {})
            .await,
        Code::FailedPrecondition,
    );
}

async fn profile_updates_are_validated(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let me = ann
        .client
        .auth()
        .get_me(GetMeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        me.user.unwrap().display_name,
        "ann",
        "defaults to the email's local part"
    );
    let updated = ann
        .client
        .auth()
        .update_profile(UpdateProfileRequest {
            display_name: "  Ann Lee ".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.user.unwrap().display_name, "Ann Lee");
    for bad in ["", &"x".repeat(101), "new\nline"] {
        let request = UpdateProfileRequest {
            display_name: bad.into(),
        };
        assert_code(
            ann.client.auth().update_profile(request).await,
            Code::InvalidArgument,
        );
    }
}

async fn changing_the_password_ends_the_other_sessions(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let elsewhere = app.sign_in("ann@example.com", PASSWORD).await;
    let wrong = ChangePasswordRequest {
        current_password: "not my password".into(),
        new_password: "a brand new passphrase".into(),
    };
    assert_code(
        ann.client.auth().change_password(wrong).await,
        Code::PermissionDenied,
    );
    let weak = ChangePasswordRequest {
        current_password: PASSWORD.into(),
        new_password: "short".into(),
    };
    assert_code(
        ann.client.auth().change_password(weak).await,
        Code::InvalidArgument,
    );
    let changed = ann
        .client
        .auth()
        .change_password(ChangePasswordRequest {
            current_password: PASSWORD.into(),
            new_password: "a brand new passphrase".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.revoked_sessions, 1);
    assert!(ann.client.auth().get_me(GetMeRequest {}).await.is_ok());
    assert_code(
        elsewhere.client.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
    let auth = app.client().await.auth();
    assert_code(
        auth.clone().login(login("ann@example.com", PASSWORD)).await,
        Code::Unauthenticated,
    );
    assert!(
        auth.clone()
            .login(login("ann@example.com", "a brand new passphrase"))
            .await
            .is_ok()
    );
}

async fn deleting_the_account_needs_the_password_and_ends_everything(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let wrong = DeleteAccountRequest {
        password: "not my password".into(),
    };
    assert_code(
        ann.client.auth().delete_account(wrong).await,
        Code::PermissionDenied,
    );
    ann.client
        .auth()
        .delete_account(DeleteAccountRequest {
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert_code(
        ann.client.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
    let auth = app.client().await.auth();
    assert_code(
        auth.clone().login(login("ann@example.com", PASSWORD)).await,
        Code::Unauthenticated,
    );
    // The address is free again.
    app.register("ann@example.com", PASSWORD).await;
}

/// Only the newest verification mail works: asking for another withdraws
/// the one before.
async fn a_new_verification_mail_withdraws_the_old_one(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.register("ann@example.com", PASSWORD).await;
    let first = app.mailed("ann@example.com", "Verification token").unwrap();
    let ann = app.sign_in("ann@example.com", PASSWORD).await;
    ann.client
        .auth()
        .request_email_verification(RequestEmailVerificationRequest {})
        .await
        .unwrap();
    let second = app.mailed("ann@example.com", "Verification token").unwrap();
    assert_ne!(first, second);
    let auth = ann.client.auth();
    assert_code(
        auth.clone()
            .verify_email(VerifyEmailRequest { token: first })
            .await,
        Code::NotFound,
    );
    auth.clone()
        .verify_email(VerifyEmailRequest { token: second })
        .await
        .unwrap();
}

on_both_backends!(
    a_new_verification_mail_withdraws_the_old_one,
    email_verification_is_single_use_and_expires,
    profile_updates_are_validated,
    changing_the_password_ends_the_other_sessions,
    deleting_the_account_needs_the_password_and_ends_everything,
);
