//! Passkeys, with a real browser: Chromium's virtual authenticator makes
//! and uses the credential on a page of `http://localhost`, from the
//! options the server wrote, and the server checks the answers (webauthn-rs).
//! A passkey is registered with the password, signs in alone (no password,
//! no email), and is a second step after the password.

use tenantry_client::{
    Tenantry,
    auth::v1::{
        BeginPasskeyLoginRequest, BeginPasskeyRegistrationRequest, CompleteMfaLoginRequest,
        DeletePasskeyRequest, FinishPasskeyLoginRequest, FinishPasskeyRegistrationRequest,
        FinishPasskeyRegistrationResponse, GetMeRequest, GetMfaStatusRequest, ListPasskeysRequest,
        LoginRequest, complete_mfa_login_request::Proof,
    },
    org::v1::UpdateMfaPolicyRequest,
};
use tenantry_tests::{
    Backend, PASSWORD, TestApp, TestUser, assert_code, field_violations, on_both_backends,
    passkeys::Authenticator,
};
use tonic::{Code, Status};

/// Registers a passkey for `user` on `device`, named `name`.
async fn register(
    user: &TestUser,
    device: &mut Authenticator,
    name: &str,
) -> FinishPasskeyRegistrationResponse {
    let begun = user
        .client
        .auth()
        .begin_passkey_registration(BeginPasskeyRegistrationRequest {
            password: PASSWORD.into(),
        })
        .await
        .expect("begin registration")
        .into_inner();
    let credential = device
        .create(&begun.creation_options)
        .await
        .expect("created");
    let finish = FinishPasskeyRegistrationRequest {
        registration_token: begun.registration_token,
        credential,
        name: name.into(),
    };
    let done = user.client.auth().finish_passkey_registration(finish).await;
    done.expect("finish registration").into_inner()
}

/// Signs in with a passkey alone; returns the access token.
async fn passkey_login(
    app: &TestApp,
    device: &mut Authenticator,
    org: &str,
) -> Result<String, Status> {
    let client = app.client().await;
    let begun = client
        .auth()
        .begin_passkey_login(BeginPasskeyLoginRequest {})
        .await?
        .into_inner();
    let credential = device.get(&begun.request_options).await.expect("asserted");
    let finish = FinishPasskeyLoginRequest {
        login_token: begun.login_token,
        credential,
        organization_id: org.into(),
    };
    let done = client
        .auth()
        .finish_passkey_login(finish)
        .await?
        .into_inner();
    Ok(done.tokens.expect("tokens").access_token)
}

async fn whose(client: &Tenantry, access: String) -> (String, String) {
    let me = client
        .with_token(access)
        .auth()
        .get_me(GetMeRequest {})
        .await;
    let me = me.expect("the token works").into_inner();
    (me.user.expect("user").email, me.organization_id)
}

async fn a_passkey_signs_in_without_a_password(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut device = Authenticator::start().await;
    let ann = app.user("ann").await;
    let done = register(&ann, &mut device, "Laptop").await;
    let passkey = done.passkey.expect("the passkey");
    assert_eq!(passkey.name, "Laptop");
    assert!(passkey.last_use_time.is_none());
    // The account's first factor: recovery codes come with it.
    assert_eq!(done.recovery_codes.len(), 10);

    let access = passkey_login(&app, &mut device, "")
        .await
        .expect("signed in");
    assert_eq!(whose(&ann.client, access).await.0, ann.email);
    let listed = ann
        .client
        .auth()
        .list_passkeys(ListPasskeysRequest {})
        .await;
    let listed = listed.unwrap().into_inner().passkeys;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, passkey.id);
    assert!(listed[0].last_use_time.is_some(), "its use is recorded");
    let status = ann
        .client
        .auth()
        .get_mfa_status(GetMfaStatusRequest {})
        .await;
    let status = status.unwrap().into_inner();
    assert_eq!(status.passkey_count, 1);
    assert!(!status.totp_enabled);
    assert_eq!(status.recovery_codes_remaining, 10);
}

async fn a_passkey_is_the_second_step_after_the_password(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut device = Authenticator::start().await;
    let ann = app.user("ann").await;
    register(&ann, &mut device, "").await;
    let client = app.client().await;
    let first = client
        .auth()
        .login(LoginRequest {
            email: ann.email.clone(),
            password: PASSWORD.into(),
            organization_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        first.tokens.is_none(),
        "the password alone is not enough now"
    );
    let challenge = first.mfa_required.expect("a second step");
    assert_eq!(challenge.methods, ["passkey", "recovery_code"]);
    let assertion = device.get(&challenge.passkey_request_options).await;
    let request = CompleteMfaLoginRequest {
        challenge_token: challenge.challenge_token,
        proof: Some(Proof::PasskeyAssertion(assertion.expect("asserted"))),
    };
    let done = client.auth().complete_mfa_login(request.clone()).await;
    let access = done
        .unwrap()
        .into_inner()
        .tokens
        .expect("tokens")
        .access_token;
    assert_eq!(whose(&ann.client, access).await.0, ann.email);
    // The challenge is spent.
    assert_code(
        client.auth().complete_mfa_login(request).await,
        Code::Unauthenticated,
    );
}

async fn a_login_ceremony_works_once_and_answers_only_itself(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut device = Authenticator::start().await;
    let ann = app.user("ann").await;
    register(&ann, &mut device, "").await;
    let client = app.client().await;
    let begin = || async {
        let begun = client
            .auth()
            .begin_passkey_login(BeginPasskeyLoginRequest {})
            .await;
        begun.unwrap().into_inner()
    };
    let first = begin().await;
    let credential = device.get(&first.request_options).await.unwrap();
    let finish = |token: &str| FinishPasskeyLoginRequest {
        login_token: token.into(),
        credential: credential.clone(),
        organization_id: String::new(),
    };
    client
        .auth()
        .finish_passkey_login(finish(&first.login_token))
        .await
        .expect("the first use signs in");
    // The same answer again: the ceremony is spent…
    assert_code(
        client
            .auth()
            .finish_passkey_login(finish(&first.login_token))
            .await,
        Code::Unauthenticated,
    );
    // …and it signs no other ceremony's challenge (a replay).
    let second = begin().await;
    let replayed = client
        .auth()
        .finish_passkey_login(finish(&second.login_token))
        .await;
    let replayed = assert_code(replayed, Code::Unauthenticated);
    assert!(
        replayed.message().contains("not accepted"),
        "{}",
        replayed.message()
    );
    // An expired ceremony is refused too.
    let third = begin().await;
    let late = device.get(&third.request_options).await.unwrap();
    app.advance(chrono::Duration::minutes(6));
    let request = FinishPasskeyLoginRequest {
        login_token: third.login_token,
        credential: late,
        organization_id: String::new(),
    };
    assert_code(
        client.auth().finish_passkey_login(request).await,
        Code::Unauthenticated,
    );
}

async fn registering_and_deleting_need_the_password(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut device = Authenticator::start().await;
    let ann = app.user("ann").await;
    let wrong = BeginPasskeyRegistrationRequest {
        password: "not my password".into(),
    };
    assert_code(
        ann.client.auth().begin_passkey_registration(wrong).await,
        Code::PermissionDenied,
    );
    let passkey = register(&ann, &mut device, "Phone").await.passkey.unwrap();
    let delete = |password: &str| DeletePasskeyRequest {
        passkey_id: passkey.id.clone(),
        password: password.into(),
    };
    assert_code(
        ann.client
            .auth()
            .delete_passkey(delete("not my password"))
            .await,
        Code::PermissionDenied,
    );
    // Another account cannot see or delete it.
    let bob = app.user("bob").await;
    assert_code(
        bob.client.auth().delete_passkey(delete(PASSWORD)).await,
        Code::NotFound,
    );
    ann.client
        .auth()
        .delete_passkey(delete(PASSWORD))
        .await
        .unwrap();
    // With its last factor gone, the password alone signs in again, the
    // recovery codes went too, and the passkey no longer opens the account.
    app.try_login(&ann.email, PASSWORD)
        .await
        .expect("one step again");
    let status = ann
        .client
        .auth()
        .get_mfa_status(GetMfaStatusRequest {})
        .await;
    let status = status.unwrap().into_inner();
    assert_eq!(
        (status.passkey_count, status.recovery_codes_remaining),
        (0, 0)
    );
    assert_code(
        passkey_login(&app, &mut device, "").await,
        Code::Unauthenticated,
    );
}

async fn bad_answers_are_invalid_arguments(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let begun = ann
        .client
        .auth()
        .begin_passkey_registration(BeginPasskeyRegistrationRequest {
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let options: serde_json::Value = serde_json::from_str(&begun.creation_options).unwrap();
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    let garbage = FinishPasskeyRegistrationRequest {
        registration_token: begun.registration_token,
        credential: "{\"id\": 1}".into(),
        name: "x".repeat(65),
    };
    let refused = ann.client.auth().finish_passkey_registration(garbage).await;
    let fields = field_violations(&assert_code(refused, Code::InvalidArgument));
    assert_eq!(fields, ["credential", "name"]);
    let client = app.client().await;
    let empty = FinishPasskeyLoginRequest::default();
    let refused = client.auth().finish_passkey_login(empty).await;
    let fields = field_violations(&assert_code(refused, Code::InvalidArgument));
    assert_eq!(fields, ["login_token", "credential"]);
}

async fn a_passkey_session_meets_an_mfa_policy(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut device = Authenticator::start().await;
    let mut ann = app.user("ann").await;
    let org = ann.create_org("secure").await;
    register(&ann, &mut device, "").await;
    // Signed in with the passkey alone, pinned to the organization: a
    // multi-factor session, so the owner may require a second factor…
    let access = passkey_login(&app, &mut device, &org.id).await.unwrap();
    let owner = ann.client.with_token(access);
    let require = UpdateMfaPolicyRequest { require_mfa: true };
    owner.org().update_mfa_policy(require).await.unwrap();
    // …and passkey sign-ins keep entering it.
    let again = passkey_login(&app, &mut device, &org.id).await.unwrap();
    assert_eq!(whose(&ann.client, again).await.1, org.id);
}

on_both_backends!(
    a_passkey_signs_in_without_a_password,
    a_passkey_is_the_second_step_after_the_password,
    a_login_ceremony_works_once_and_answers_only_itself,
    registering_and_deleting_need_the_password,
    bad_answers_are_invalid_arguments,
    a_passkey_session_meets_an_mfa_policy,
);
