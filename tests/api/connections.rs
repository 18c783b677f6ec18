//! Connections that cost without calling are closed: over the caps at once,
//! silent ones after the handshake timeout, idle ones after the idle timeout
//! — and a flood from one address does not crowd out another. Behind a
//! trusted proxy, the client is the address the proxy names.

use std::time::Duration;

use prost::Message as _;
use tenantry_client::auth::v1::{GetJwksRequest, ListSessionsRequest, LoginRequest};
use tenantry_tests::{
    Backend, PASSWORD, TestApp, on_both_backends,
    raw_http::{closed_by_server, connect_from, exchange, frame, post_head},
};

/// Bounds a wait for the server to act; failing it fails the test.
const BOUND: Duration = Duration::from_secs(30);

fn jwks_call() -> Vec<u8> {
    let body = frame(0, b"");
    let mut request = post_head(
        "/tenantry.auth.v1.AuthService/GetJwks",
        "application/grpc-web+proto",
        body.len(),
        &[],
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

async fn closed_soon(stream: &mut tokio::net::TcpStream) -> bool {
    tokio::time::timeout(BOUND, closed_by_server(stream))
        .await
        .unwrap_or(false)
}

async fn connections_over_the_caps_are_closed_at_once(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|config| {
            config.limits.max_connections_per_ip = 3;
            config.limits.max_connections = 5;
        })
        .start()
        .await;
    let flood = [127, 0, 0, 2];
    let mut admitted = Vec::new();
    for _ in 0..3 {
        admitted.push(connect_from(flood, app.addr()).await);
    }
    let mut fourth = connect_from(flood, app.addr()).await;
    assert!(closed_soon(&mut fourth).await, "over the per-address cap");
    for stream in &mut admitted {
        let answer = exchange(stream, &jwks_call()).await.expect("served");
        assert_eq!(answer.grpc_status().as_deref(), Some("0"));
    }
    // Another address is not crowded out by the flood.
    let client = app.client().await;
    client.auth().get_jwks(GetJwksRequest {}).await.unwrap();
    // 3 + the client's + one more fill the total; the next is closed.
    let mut fifth = connect_from([127, 0, 0, 3], app.addr()).await;
    let answer = exchange(&mut fifth, &jwks_call()).await.expect("served");
    assert_eq!(answer.status, 200);
    let mut over = connect_from([127, 0, 0, 4], app.addr()).await;
    assert!(closed_soon(&mut over).await, "over the total cap");
    // A closed connection frees its place.
    drop(admitted);
    drop(fifth);
    let mut later = connect_from([127, 0, 0, 4], app.addr()).await;
    let mut served = None;
    for _ in 0..100 {
        served = exchange(&mut later, &jwks_call()).await;
        if served.is_some() {
            break;
        }
        // Closed because the server had not yet seen the others go.
        tokio::time::sleep(Duration::from_millis(50)).await;
        later = connect_from([127, 0, 0, 4], app.addr()).await;
    }
    assert_eq!(served.expect("a freed place").status, 200);
}

async fn silent_and_idle_connections_are_closed(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|config| {
            config.limits.handshake_timeout = Duration::from_millis(500);
            config.limits.idle_connection_timeout = Duration::from_secs(1);
        })
        .start()
        .await;
    let mut silent = connect_from([127, 0, 0, 5], app.addr()).await;
    assert!(closed_soon(&mut silent).await, "never sent a request");

    let mut used = connect_from([127, 0, 0, 5], app.addr()).await;
    let answer = exchange(&mut used, &jwks_call()).await.expect("served");
    assert_eq!(answer.grpc_status().as_deref(), Some("0"));
    assert!(closed_soon(&mut used).await, "idle after its call");

    // gRPC clients reconnect by themselves after an idle close.
    let client = app.client().await;
    client.auth().get_jwks(GetJwksRequest {}).await.unwrap();
    client.auth().get_jwks(GetJwksRequest {}).await.unwrap();
}

/// A grpc-web Login from loopback address `from`, with `forwarded` as its
/// X-Forwarded-For.
async fn login_from(app: &TestApp, from: [u8; 4], email: &str, forwarded: &str) {
    let login = LoginRequest {
        email: email.into(),
        password: PASSWORD.into(),
        organization_id: String::new(),
    };
    let body = frame(0, &login.encode_to_vec());
    let header = format!("x-forwarded-for: {forwarded}");
    let mut request = post_head(
        "/tenantry.auth.v1.AuthService/Login",
        "application/grpc-web+proto",
        body.len(),
        &[&header],
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let mut socket = connect_from(from, app.addr()).await;
    let answer = exchange(&mut socket, &request).await.expect("an answer");
    assert_eq!(answer.grpc_status().as_deref(), Some("0"), "{answer:?}");
}

/// Sessions record the address the trusted proxy names, and the peer's own
/// address for anyone else, whatever header it sends.
async fn behind_a_trusted_proxy_the_client_is_who_it_names(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|config| config.trusted_proxies = vec!["127.0.0.2/32".parse().unwrap()])
        .start()
        .await;
    let ada = app.user("ada").await;
    login_from(&app, [127, 0, 0, 2], &ada.email, "198.51.100.7").await;
    login_from(&app, [127, 0, 0, 3], &ada.email, "198.51.100.8").await;
    let sessions = ada
        .client
        .auth()
        .list_sessions(ListSessionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .sessions;
    let addresses: Vec<&str> = sessions.iter().map(|s| s.client_ip.as_str()).collect();
    assert!(
        addresses.contains(&"198.51.100.7"),
        "named by the proxy: {addresses:?}"
    );
    assert!(
        addresses.contains(&"127.0.0.3"),
        "not a proxy: {addresses:?}"
    );
    assert!(
        !addresses.contains(&"198.51.100.8") && !addresses.contains(&"127.0.0.2"),
        "{addresses:?}"
    );
}

on_both_backends!(
    connections_over_the_caps_are_closed_at_once,
    silent_and_idle_connections_are_closed,
    behind_a_trusted_proxy_the_client_is_who_it_names,
);
