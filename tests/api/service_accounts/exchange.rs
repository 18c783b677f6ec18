//! The JWT-bearer grant (RFC 7523) and the refusals of both grants, through
//! `AuthService.ExchangeToken`.

use ed25519_dalek::pkcs8::{
    EncodePrivateKey as _, EncodePublicKey as _, spki::der::pem::LineEnding,
};
use serde_json::{Value, json};
use tenantry_client::{
    auth::v1::Role,
    file::v1::ListFilesRequest,
    serviceaccount::v1::{
        AddServiceAccountKeyRequest, KeyAlgorithm, ListServiceAccountKeysRequest,
        RevokeServiceAccountKeyRequest,
    },
};
use tenantry_tests::{
    Backend, KeyFile, TestApp, assert_code, assertion_claims, field_violations, on_both_backends,
    sign_assertion,
};
use tonic::Code;
use tonic_types::StatusExt as _;

async fn lenient(backend: Backend) -> TestApp {
    // Many refusals in a row for one client: keep the lockout out of the way
    // (its own test uses the default).
    TestApp::builder(backend)
        .configure(|c| c.limits.lockout_threshold = 1_000)
        .start()
        .await
}

async fn generated_key_files_sign_assertions_for_tokens(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let robot = app.service(&team.admin, "robot", Role::Member).await;
    let id = robot.account.id.clone();
    for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::Rs256] {
        let key = app.generated_key(&team.admin, &id, algorithm).await;
        assert_eq!(
            (key.kind.as_str(), key.client_id.as_str()),
            ("serviceaccount", id.as_str())
        );
        let now = app.now().timestamp();
        let assertion = sign_assertion(&key, &assertion_claims(&key, &app.issuer(), now));
        let issued = app.exchange_assertion(&assertion).await.unwrap();
        assert_eq!(issued.service_account_id, id);
        assert_eq!(issued.organization_id, team.org.id);
        assert_eq!(issued.role, Role::Member as i32);
        let claims = tenantry_tests::jwt_claims(&issued.access_token);
        assert_eq!(claims["kind"], "service", "{algorithm:?}: {claims}");
        assert_eq!(
            (claims["sub"].as_str(), claims["tid"].as_str()),
            (Some(&*id), Some(&*team.org.id))
        );
        let client = robot.client.with_token(issued.access_token);
        client
            .files()
            .list_files(ListFilesRequest::default())
            .await
            .unwrap();
    }
    let keys = team
        .admin
        .client
        .service_accounts()
        .list_service_account_keys(ListServiceAccountKeysRequest {
            service_account_id: id,
        })
        .await
        .unwrap()
        .into_inner()
        .keys;
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k.generated && k.public_key_pem.contains("PUBLIC KEY"))
    );
    assert!(
        keys.iter()
            .all(|k| k.times.as_ref().unwrap().last_use_time.is_some())
    );
}

async fn an_uploaded_public_key_verifies_the_services_own_assertions(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let robot = app.service(&team.admin, "robot", Role::Viewer).await;
    let private = ed25519_dalek::SigningKey::generate(&mut rand_core());
    let public_pem = private
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let added = team
        .admin
        .client
        .service_accounts()
        .add_service_account_key(AddServiceAccountKeyRequest {
            service_account_id: robot.account.id.clone(),
            algorithm: 0,
            public_key_pem: public_pem,
            expire_time: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        added.key_file.is_empty(),
        "the server has no private key to hand out"
    );
    let key = KeyFile {
        kind: "serviceaccount".into(),
        key_id: added.key.unwrap().id,
        client_id: robot.account.id.clone(),
        private_key: private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
    };
    let now = app.now().timestamp();
    let assertion = sign_assertion(&key, &assertion_claims(&key, &app.issuer(), now));
    app.exchange_assertion(&assertion).await.unwrap();

    let junk = team
        .admin
        .client
        .service_accounts()
        .add_service_account_key(AddServiceAccountKeyRequest {
            service_account_id: robot.account.id.clone(),
            algorithm: 0,
            public_key_pem: "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----".into(),
            expire_time: None,
        })
        .await;
    assert_eq!(
        field_violations(&assert_code(junk, Code::InvalidArgument)),
        ["public_key_pem"]
    );
}

fn rand_core() -> rand::rngs::OsRng {
    rand::rngs::OsRng
}

async fn bad_assertions_and_secrets_are_refused(backend: Backend) {
    let app = lenient(backend).await;
    let team = app.team("acme").await;
    let robot = app.service(&team.admin, "robot", Role::Viewer).await;
    let key = app
        .generated_key(&team.admin, &robot.account.id, KeyAlgorithm::Ed25519)
        .await;
    let stranger = app
        .generated_key(&team.admin, &robot.account.id, KeyAlgorithm::Ed25519)
        .await;
    let now = app.now().timestamp();
    let audience = app.issuer();
    let valid = || assertion_claims(&key, &audience, now);
    let with = |field: &str, value: Value| {
        let mut claims = valid();
        claims[field] = value;
        claims
    };
    let forged = {
        // Signed by another key, claiming to be `key`.
        let impostor = KeyFile {
            key_id: key.key_id.clone(),
            ..stranger.clone()
        };
        sign_assertion(&impostor, &valid())
    };
    let cases = [
        ("forged", forged),
        (
            "expired",
            sign_assertion(&key, &with("exp", json!(now - 10))),
        ),
        (
            "too long",
            sign_assertion(&key, &with("exp", json!(now + 7_200))),
        ),
        (
            "from the future",
            sign_assertion(&key, &with("iat", json!(now + 600))),
        ),
        (
            "another audience",
            sign_assertion(&key, &with("aud", json!("someone-else"))),
        ),
        (
            "another subject",
            sign_assertion(&key, &with("sub", json!(team.owner.id))),
        ),
        ("no jti", {
            let mut claims = valid();
            claims.as_object_mut().unwrap().remove("jti");
            sign_assertion(&key, &claims)
        }),
        ("not a JWT", "not.a.jwt".to_owned()),
    ];
    for (case, assertion) in cases {
        let refused = app.exchange_assertion(&assertion).await.map(|_| ());
        assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated, "{case}");
    }

    let once = sign_assertion(&key, &valid());
    app.exchange_assertion(&once).await.unwrap();
    let replayed = app.exchange_assertion(&once).await;
    assert!(
        assert_code(replayed, Code::Unauthenticated)
            .message()
            .contains("already used")
    );

    let wrong = app.exchange_secret(&robot.account.id, "tnt_cs_wrong").await;
    assert_code(wrong, Code::Unauthenticated);
    let unknown = app
        .exchange_secret(&uuid::Uuid::now_v7().to_string(), &robot.client_secret)
        .await;
    assert_code(unknown, Code::Unauthenticated);

    team.admin
        .client
        .service_accounts()
        .revoke_service_account_key(RevokeServiceAccountKeyRequest {
            service_account_id: robot.account.id.clone(),
            key_id: key.key_id.clone(),
        })
        .await
        .unwrap();
    let revoked = app
        .exchange_assertion(&sign_assertion(&key, &valid()))
        .await;
    assert_code(revoked, Code::Unauthenticated);
    app.exchange_assertion(&sign_assertion(
        &stranger,
        &assertion_claims(&stranger, &audience, now),
    ))
    .await
    .expect("the account's other key still works");

    // Once the janitor forgets spent ids, a replay is refused for its age.
    app.advance(chrono::Duration::hours(2));
    app.run_jobs().await;
    assert_code(app.exchange_assertion(&once).await, Code::Unauthenticated);
}

async fn repeated_failures_lock_a_client_out_for_a_while(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let robot = app.service(&team.admin, "robot", Role::Viewer).await;
    for _ in 0..5 {
        let wrong = app.exchange_secret(&robot.account.id, "tnt_cs_wrong").await;
        let code = wrong.unwrap_err().code();
        assert!(
            matches!(code, Code::Unauthenticated | Code::ResourceExhausted),
            "{code:?}"
        );
    }
    let locked = app
        .exchange_secret(&robot.account.id, &robot.client_secret)
        .await;
    let status = assert_code(locked, Code::ResourceExhausted);
    let retry = status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay);
    let wait = retry.expect("RetryInfo says when to come back");
    app.advance(chrono::Duration::from_std(wait).unwrap() + chrono::Duration::seconds(1));
    app.exchange_secret(&robot.account.id, &robot.client_secret)
        .await
        .expect("the lock ends by itself");
}

async fn an_exchange_without_a_grant_is_invalid(backend: Backend) {
    let app = TestApp::start(backend).await;
    let empty = app
        .client()
        .await
        .auth()
        .exchange_token(tenantry_client::auth::v1::ExchangeTokenRequest { grant: None })
        .await;
    assert_eq!(
        field_violations(&assert_code(empty, Code::InvalidArgument)),
        ["grant"]
    );
}

on_both_backends!(
    generated_key_files_sign_assertions_for_tokens,
    an_uploaded_public_key_verifies_the_services_own_assertions,
    bad_assertions_and_secrets_are_refused,
    repeated_failures_lock_a_client_out_for_a_while,
    an_exchange_without_a_grant_is_invalid,
);
