//! Access and refresh tokens: rotation, reuse detection, grace window,
//! expiry, tampering, key rotation.

use chrono::Duration;
use tenantry_client::auth::v1::{GetJwksRequest, GetMeRequest, RefreshRequest, TokenPair};
use tenantry_tests::{Backend, TestApp, TestUser, assert_code, on_both_backends};
use tonic::Code;

async fn refresh(user: &TestUser, token: &str) -> Result<TokenPair, tonic::Status> {
    user.client
        .auth()
        .refresh(RefreshRequest {
            refresh_token: token.into(),
        })
        .await
        .map(|r| r.into_inner().tokens.unwrap())
}

async fn me(user: &TestUser) -> Result<String, tonic::Status> {
    user.client
        .auth()
        .get_me(GetMeRequest {})
        .await
        .map(|r| r.into_inner().user.unwrap().email)
}

async fn register_login_refresh_and_reuse_revokes_the_session(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut ann = app.user("ann").await;
    assert_eq!(me(&ann).await.unwrap(), "ann@example.com");

    let first = ann.tokens.refresh_token.clone();
    let second = refresh(&ann, &first).await.unwrap();
    assert_ne!(second.refresh_token, first, "refresh rotates the token");
    assert_eq!(second.session_id, ann.tokens.session_id);
    ann.adopt(second.clone());
    assert_eq!(me(&ann).await.unwrap(), "ann@example.com");

    // Past the grace window the spent token is a stolen copy.
    app.advance(Duration::seconds(11));
    let status = assert_code(refresh(&ann, &first).await, Code::Unauthenticated);
    assert!(status.message().contains("reuse"), "{status:?}");
    // The whole session is gone: the successor and the access token too.
    assert_code(
        refresh(&ann, &second.refresh_token).await,
        Code::Unauthenticated,
    );
    assert_code(me(&ann).await, Code::Unauthenticated);
}

async fn a_lost_response_is_retried_within_the_grace_window(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let first = ann.tokens.refresh_token.clone();
    let second = refresh(&ann, &first).await.unwrap();
    app.advance(Duration::seconds(5));
    // The client never saw `second` and retries with `first`.
    let again = refresh(&ann, &first).await.unwrap();
    assert_eq!(again.refresh_token, second.refresh_token, "same successor");
    // It goes on normally with the successor...
    let third = refresh(&ann, &again.refresh_token).await.unwrap();
    // ...after which `first` is reuse, even inside the window.
    assert_code(refresh(&ann, &first).await, Code::Unauthenticated);
    assert_code(
        refresh(&ann, &third.refresh_token).await,
        Code::Unauthenticated,
    );
}

async fn access_tokens_expire_and_sessions_time_out(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut ann = app.user("ann").await;
    app.advance(Duration::minutes(16));
    assert_code(me(&ann).await, Code::Unauthenticated);
    // Refreshing within the idle timeout keeps the session alive...
    let pair = refresh(&ann, &ann.tokens.refresh_token.clone())
        .await
        .unwrap();
    ann.adopt(pair);
    assert!(me(&ann).await.is_ok());
    // ...but not after 30 idle minutes.
    app.advance(Duration::minutes(31));
    let status = assert_code(
        refresh(&ann, &ann.tokens.refresh_token.clone()).await,
        Code::Unauthenticated,
    );
    assert!(status.message().contains("inactivity"), "{status:?}");
}

async fn sessions_end_at_the_absolute_timeout(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut ann = app.user("ann").await;
    // Refresh every 20 minutes: never idle, yet over after 12 hours.
    let mut refreshed = 0;
    loop {
        app.advance(Duration::minutes(20));
        match refresh(&ann, &ann.tokens.refresh_token.clone()).await {
            Ok(pair) => {
                ann.adopt(pair);
                refreshed += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unauthenticated);
                break;
            }
        }
    }
    assert_eq!(refreshed, 12 * 3 - 1, "refreshes until the 12 h mark");
    // The last access token never outlives the session either.
    assert_code(me(&ann).await, Code::Unauthenticated);
}

async fn logout_takes_effect_on_another_instance_within_a_second(backend: Backend) {
    let mut app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let other = app.start_instance().await;
    let on_other = app
        .client_of(other)
        .await
        .with_token(ann.tokens.access_token.clone());
    // The second instance has now read (and cached) the live session.
    on_other.auth().get_me(GetMeRequest {}).await.unwrap();
    ann.client
        .auth()
        .logout(tenantry_client::auth::v1::LogoutRequest {})
        .await
        .unwrap();
    // The instance that revoked it refuses at once.
    assert_code(me(&ann).await, Code::Unauthenticated);
    // The other one within its cache lifetime (500 ms by default).
    app.advance(Duration::milliseconds(1000));
    assert_code(
        on_other.auth().get_me(GetMeRequest {}).await,
        Code::Unauthenticated,
    );
}

async fn jwks_lists_the_signing_key_over_grpc_and_http(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client().await;
    let keys = client
        .auth()
        .get_jwks(GetJwksRequest {})
        .await
        .unwrap()
        .into_inner()
        .keys;
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (
            keys[0].kty.as_str(),
            keys[0].crv.as_str(),
            keys[0].alg.as_str()
        ),
        ("OKP", "Ed25519", "EdDSA")
    );
    let ann = app.user("ann").await;
    let header = jsonwebtoken::decode_header(&ann.tokens.access_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(keys[0].kid.as_str()));
    let body = http_get(app.addr(), "/.well-known/jwks.json").await;
    assert!(
        body.contains(&keys[0].kid) && body.contains(&keys[0].x),
        "{body}"
    );
}

/// A minimal HTTP/1.1 GET (the side door is plain HTTP).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// Plain HTTP routes answer a rate-limit refusal in plain HTTP, from a budget
/// of their own: a service polling the JWKS never uses up sign-ups.
async fn the_http_side_door_refuses_with_429_and_retry_after(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|c| {
            c.limits.http_rate_limit = 12;
            c.limits.public_rate_limit = 30;
        })
        .start()
        .await;
    // A burst of a sixth of the minute's budget passes, then requests wait.
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(http_get(app.addr(), "/.well-known/jwks.json").await);
    }
    assert!(answers[0].starts_with("HTTP/1.1 200"), "{}", answers[0]);
    let refused = answers
        .iter()
        .find(|a| a.starts_with("HTTP/1.1 429"))
        .expect("the JWKS is rate limited");
    let lower = refused.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: "), "{refused}");
    assert!(lower.contains("content-type: text/plain"), "{refused}");
    assert!(!lower.contains("\r\ngrpc-status:"), "{refused}");
    assert!(refused.contains("too many requests"), "{refused}");
    let link = http_get(app.addr(), "/files/download?token=whatever").await;
    assert!(
        link.starts_with("HTTP/1.1 429"),
        "signed links share it: {link}"
    );
    // Sign-ups have their own budget (a burst of 5: register and sign in).
    app.user("ann").await;
}

async fn a_rotated_key_keeps_old_tokens_valid(backend: Backend) {
    let mut app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let old_key = app.data_dir().join("keys/signing.pem");
    let new_key = app.data_dir().join("keys/next.pem");
    tenantry_server::crypto::signing_keys::generate(&new_key).unwrap();
    app.config.tokens.signing_key = Some(new_key);
    app.config.tokens.verification_keys = vec![old_key];
    app.restart().await;
    let client = app.client().await;
    let keys = client
        .auth()
        .get_jwks(GetJwksRequest {})
        .await
        .unwrap()
        .into_inner()
        .keys;
    assert_eq!(keys.len(), 2, "new key and the one kept for verification");
    // A token signed with the old key still works...
    let ann_again = client.with_token(ann.tokens.access_token.clone());
    assert!(ann_again.auth().get_me(GetMeRequest {}).await.is_ok());
    // ...and new tokens carry the new key id.
    let bob = app.user("bob").await;
    let kid = jsonwebtoken::decode_header(&bob.tokens.access_token)
        .unwrap()
        .kid
        .unwrap();
    assert_eq!(kid, keys[0].kid);
    assert_ne!(
        kid,
        jsonwebtoken::decode_header(&ann.tokens.access_token)
            .unwrap()
            .kid
            .unwrap()
    );
}

/// A session moved A → B → A: the access tokens of its first stay in A are
/// refused, though they name the organization it is back in.
async fn a_token_of_an_earlier_pin_is_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut ann = app.user("ann").await;
    let first = ann.create_org("first").await;
    let old = ann.tokens.access_token.clone();
    ann.create_org("second").await;
    ann.switch_to(&first.id).await;
    let me = |token: String| {
        let client = ann.client.with_token(token);
        async move { client.auth().get_me(GetMeRequest {}).await }
    };
    let status = assert_code(me(old).await, Code::Unauthenticated);
    assert!(status.message().contains("replaced"), "{status:?}");
    me(ann.tokens.access_token.clone())
        .await
        .expect("the current token works");
}

on_both_backends!(
    a_token_of_an_earlier_pin_is_refused,
    register_login_refresh_and_reuse_revokes_the_session,
    a_lost_response_is_retried_within_the_grace_window,
    access_tokens_expire_and_sessions_time_out,
    sessions_end_at_the_absolute_timeout,
    logout_takes_effect_on_another_instance_within_a_second,
    jwks_lists_the_signing_key_over_grpc_and_http,
    the_http_side_door_refuses_with_429_and_retry_after,
    a_rotated_key_keeps_old_tokens_valid,
);
