//! A second factor: an authenticator app enrolled with the password and a
//! first code, sign-in in two steps, recovery codes that work once, and an
//! organization that requires it. Codes come from `totp-rs` reading the
//! `otpauth://` URI the server gives, at the server's clock.

use chrono::Duration;
use tenantry_client::{
    auth::v1::{
        BeginTotpEnrollmentRequest, CompleteMfaLoginRequest, GetMeRequest, GetMfaStatusRequest,
        LoginRequest, LoginResponse, RefreshRequest, RemoveTotpRequest, Role,
        complete_mfa_login_request::Proof,
    },
    org::v1::{SwitchOrganizationRequest, UpdateMfaPolicyRequest},
};
use tenantry_tests::{
    Backend, PASSWORD, TestApp, TestUser, assert_code, field_violations, on_both_backends,
};
use tonic::{Code, Status};
use totp_rs::Totp;

async fn enroll(app: &TestApp, user: &TestUser) -> (Totp, Vec<String>) {
    user.enroll_totp(app).await
}

fn code_now(app: &TestApp, authenticator: &Totp) -> String {
    app.totp_code(authenticator)
}

async fn login(app: &TestApp, email: &str, org: &str) -> Result<LoginResponse, Status> {
    let request = LoginRequest {
        email: email.into(),
        password: PASSWORD.into(),
        organization_id: org.into(),
    };
    let client = app.client().await;
    client.auth().login(request).await.map(|r| r.into_inner())
}

async fn complete(app: &TestApp, challenge: &str, proof: Proof) -> Result<String, Status> {
    let request = CompleteMfaLoginRequest {
        challenge_token: challenge.into(),
        proof: Some(proof),
    };
    let client = app.client().await;
    let done = client
        .auth()
        .complete_mfa_login(request)
        .await?
        .into_inner();
    Ok(done.tokens.expect("tokens").access_token)
}

/// Login's first step for an enrolled account: a challenge, no tokens.
async fn challenge(app: &TestApp, email: &str, org: &str) -> String {
    let first = login(app, email, org).await.unwrap();
    assert!(first.tokens.is_none() && first.user.is_none());
    let challenge = first.mfa_required.expect("a challenge");
    assert_eq!(challenge.methods, ["totp", "recovery_code"]);
    challenge.challenge_token
}

async fn an_enrolled_account_signs_in_in_two_steps(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let wrong = BeginTotpEnrollmentRequest {
        password: "not my password".into(),
    };
    let refused = ann.client.auth().begin_totp_enrollment(wrong).await;
    assert_code(refused, Code::PermissionDenied);
    let (authenticator, recovery) = enroll(&app, &ann).await;
    assert_eq!(recovery.len(), 10);
    let status = ann
        .client
        .auth()
        .get_mfa_status(GetMfaStatusRequest {})
        .await;
    let status = status.unwrap().into_inner();
    assert!(status.totp_enabled);
    assert_eq!(status.recovery_codes_remaining, 10);

    let token = challenge(&app, &ann.email, "").await;
    // The code that confirmed the enrollment is spent.
    let reused = complete(
        &app,
        &token,
        Proof::TotpCode(code_now(&app, &authenticator)),
    )
    .await;
    assert_eq!(
        assert_code(reused, Code::Unauthenticated).message(),
        "the code is wrong"
    );
    app.advance(Duration::seconds(30));
    let access = complete(
        &app,
        &token,
        Proof::TotpCode(code_now(&app, &authenticator)),
    )
    .await
    .unwrap();
    let me = ann
        .client
        .with_token(access)
        .auth()
        .get_me(GetMeRequest {})
        .await;
    assert_eq!(me.unwrap().into_inner().user.unwrap().email, ann.email);
    // A challenge works once.
    app.advance(Duration::seconds(30));
    let again = complete(
        &app,
        &token,
        Proof::TotpCode(code_now(&app, &authenticator)),
    )
    .await;
    assert_code(again, Code::Unauthenticated);
}

async fn recovery_codes_work_once_each(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let (_, recovery) = enroll(&app, &ann).await;
    let token = challenge(&app, &ann.email, "").await;
    // As people type them: upper case, no dashes.
    let typed = recovery[0].to_uppercase().replace('-', "");
    complete(&app, &token, Proof::RecoveryCode(typed))
        .await
        .unwrap();
    let token = challenge(&app, &ann.email, "").await;
    let spent = complete(&app, &token, Proof::RecoveryCode(recovery[0].clone())).await;
    assert_code(spent, Code::Unauthenticated);
    complete(&app, &token, Proof::RecoveryCode(recovery[1].clone()))
        .await
        .unwrap();
    let status = ann
        .client
        .auth()
        .get_mfa_status(GetMfaStatusRequest {})
        .await;
    assert_eq!(status.unwrap().into_inner().recovery_codes_remaining, 8);
}

async fn wrong_codes_end_the_challenge_and_count_toward_the_lockout(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let (authenticator, _) = enroll(&app, &ann).await;
    let token = challenge(&app, &ann.email, "").await;
    for _ in 0..4 {
        let wrong = complete(&app, &token, Proof::TotpCode("000000".into())).await;
        assert_code(wrong, Code::Unauthenticated);
    }
    let locked = complete(&app, &token, Proof::TotpCode("000000".into())).await;
    assert_code(locked, Code::ResourceExhausted);
    app.advance(Duration::seconds(31));
    let right = complete(
        &app,
        &token,
        Proof::TotpCode(code_now(&app, &authenticator)),
    )
    .await;
    let gone = assert_code(right, Code::Unauthenticated);
    assert!(
        gone.message().contains("sign in again"),
        "{}",
        gone.message()
    );
    // A fresh challenge with a right code works; one left too long does not.
    let token = challenge(&app, &ann.email, "").await;
    app.advance(Duration::minutes(6));
    let late = complete(
        &app,
        &token,
        Proof::TotpCode(code_now(&app, &authenticator)),
    )
    .await;
    assert_code(late, Code::Unauthenticated);
}

async fn bad_proofs_are_invalid_arguments(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client().await;
    let cases = [
        (Some(Proof::TotpCode("12345".into())), "totp_code"),
        (Some(Proof::TotpCode("abcdef".into())), "totp_code"),
        (Some(Proof::RecoveryCode("nope".into())), "recovery_code"),
        (None, "totp_code"),
    ];
    for (proof, field) in cases {
        let request = CompleteMfaLoginRequest {
            challenge_token: "mfa_x".into(),
            proof,
        };
        let status = assert_code(
            client.auth().complete_mfa_login(request).await,
            Code::InvalidArgument,
        );
        assert_eq!(field_violations(&status), [field]);
    }
}

async fn removing_the_app_needs_the_password(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    enroll(&app, &ann).await;
    let wrong = RemoveTotpRequest {
        password: "not my password".into(),
    };
    assert_code(
        ann.client.auth().remove_totp(wrong).await,
        Code::PermissionDenied,
    );
    let right = RemoveTotpRequest {
        password: PASSWORD.into(),
    };
    ann.client.auth().remove_totp(right).await.unwrap();
    let signed_in = login(&app, &ann.email, "").await.unwrap();
    assert!(signed_in.tokens.is_some() && signed_in.mfa_required.is_none());
}

async fn an_organization_can_require_a_second_factor(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut ann = app.user("ann").await;
    let org = ann.create_org("secure").await;
    let bob = app.member_of(&ann, "bob", Role::Member).await;
    let require = UpdateMfaPolicyRequest { require_mfa: true };
    // Not from a session without a second factor (the owner would lock
    // themselves out).
    let refused = ann.client.org().update_mfa_policy(require).await;
    assert_code(refused, Code::FailedPrecondition);
    let (authenticator, _) = enroll(&app, &ann).await;
    app.advance(Duration::seconds(30));
    let token = challenge(&app, &ann.email, &org.id).await;
    let access = complete(
        &app,
        &token,
        Proof::TotpCode(code_now(&app, &authenticator)),
    )
    .await
    .unwrap();
    let owner = ann.client.with_token(access);
    let updated = owner
        .org()
        .update_mfa_policy(require)
        .await
        .unwrap()
        .into_inner();
    assert!(updated.organization.unwrap().require_mfa);

    // Bob's session without a second factor stops working there…
    let stopped = bob.client.auth().get_me(GetMeRequest {}).await;
    let stopped = assert_code(stopped, Code::Unauthenticated);
    assert!(
        stopped.message().contains("multi-factor"),
        "{}",
        stopped.message()
    );
    // …nor be refreshed…
    let refresh = RefreshRequest {
        refresh_token: bob.tokens.refresh_token.clone(),
    };
    let refused = app.client().await.auth().refresh(refresh).await;
    let refused = assert_code(refused, Code::Unauthenticated);
    assert!(
        refused.message().contains("multi-factor"),
        "{}",
        refused.message()
    );
    // …cannot be pinned there again, by name or by switching…
    assert_code(
        login(&app, &bob.email, &org.id).await,
        Code::FailedPrecondition,
    );
    let elsewhere = login(&app, &bob.email, "").await.unwrap();
    let tokens = elsewhere
        .tokens
        .expect("signed in, pinned to no organization");
    let bob_now = bob.client.with_token(tokens.access_token);
    let switch = SwitchOrganizationRequest {
        organization_id: org.id.clone(),
    };
    assert_code(
        bob_now.org().switch_organization(switch).await,
        Code::FailedPrecondition,
    );
    // …until he signs in with one.
    let (bobs_app, _) = enroll(
        &app,
        &TestUser {
            client: bob_now,
            ..bob
        },
    )
    .await;
    app.advance(Duration::seconds(30));
    let token = challenge(&app, "bob@example.com", &org.id).await;
    let access = complete(&app, &token, Proof::TotpCode(code_now(&app, &bobs_app))).await;
    let me = owner
        .with_token(access.unwrap())
        .auth()
        .get_me(GetMeRequest {})
        .await;
    assert_eq!(me.unwrap().into_inner().organization_id, org.id);
}

on_both_backends!(
    an_enrolled_account_signs_in_in_two_steps,
    recovery_codes_work_once_each,
    wrong_codes_end_the_challenge_and_count_toward_the_lockout,
    bad_proofs_are_invalid_arguments,
    removing_the_app_needs_the_password,
    an_organization_can_require_a_second_factor,
);
