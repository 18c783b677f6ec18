//! Forged and altered access tokens are refused: `alg: none`, another
//! algorithm, a bad signature, a foreign key, wrong issuer or audience, and an
//! expired token. The forgeries that need a valid signature read the server's
//! own key file — the one place these tests reach under the API.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tenantry_client::auth::v1::GetMeRequest;
use tenantry_tests::{Backend, TestApp, assert_code, on_both_backends};
use tonic::Code;

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign(claims: &Value, kid: &str, key_pem: &[u8]) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_pem(key_pem).unwrap()).unwrap()
}

async fn forged_and_altered_tokens_are_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let token = ann.tokens.access_token.clone();
    let claims = claims_of(&token);
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = std::fs::read(app.data_dir().join("keys/signing.pem")).unwrap();
    let body = token.split('.').nth(1).unwrap();

    // Sanity: our own re-signing of the same claims is accepted, so each
    // refusal below is due to the one thing changed.
    let resigned = sign(&claims, &kid, &key);
    let client = app.client().await;
    assert!(
        client
            .with_token(resigned)
            .auth()
            .get_me(GetMeRequest {})
            .await
            .is_ok()
    );

    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let hs_header = Header {
        kid: Some(kid.clone()),
        ..Header::new(Algorithm::HS256)
    };
    let public_x = {
        let jwks = client
            .auth()
            .get_jwks(tenantry_client::auth::v1::GetJwksRequest {})
            .await
            .unwrap();
        jwks.into_inner().keys[0].x.clone()
    };
    let foreign_dir = tempfile::tempdir().unwrap();
    let foreign_key = foreign_dir.path().join("k.pem");
    let foreign_kid = tenantry_server::crypto::signing_keys::generate(&foreign_key).unwrap();
    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };
    let mut flipped = token.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });

    let cases: Vec<(&str, String)> = vec![
        ("alg none", format!("{none_header}.{body}.")),
        (
            "HS256 keyed with the public key",
            jsonwebtoken::encode(
                &hs_header,
                &claims,
                &EncodingKey::from_secret(public_x.as_bytes()),
            )
            .unwrap(),
        ),
        ("bad signature", flipped),
        (
            "foreign key",
            sign(&claims, &foreign_kid, &std::fs::read(&foreign_key).unwrap()),
        ),
        (
            "foreign key under our kid",
            sign(&claims, &kid, &std::fs::read(&foreign_key).unwrap()),
        ),
        (
            "wrong issuer",
            sign(&with("iss", json!("someone-else")), &kid, &key),
        ),
        (
            "wrong audience",
            sign(&with("aud", json!("other-api")), &kid, &key),
        ),
        (
            "expired",
            sign(
                &with("exp", json!(claims["iat"].as_i64().unwrap() - 1)),
                &kid,
                &key,
            ),
        ),
        (
            "other session",
            sign(
                &with("sid", json!(uuid::Uuid::now_v7().to_string())),
                &kid,
                &key,
            ),
        ),
        ("garbage", "not-a-jwt".to_owned()),
    ];
    for (case, forged) in cases {
        let result = client
            .with_token(forged)
            .auth()
            .get_me(GetMeRequest {})
            .await;
        let status = assert_code(result, Code::Unauthenticated);
        assert!(!status.message().is_empty(), "{case}");
    }
    // And no token at all.
    assert_code(
        client.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
}

on_both_backends!(forged_and_altered_tokens_are_refused);
