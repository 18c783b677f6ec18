//! TLS on the one port: gRPC, grpc-web and the side door over https, plain
//! HTTP refused clearly, certificates reloaded in place, and mutual TLS with
//! certificate-bound service tokens (RFC 8705).

use std::time::{Duration, SystemTime};

use tenantry_client::{
    auth::v1::{GetJwksRequest, Role},
    file::v1::ListFilesRequest,
    serviceaccount::v1::UpdateServiceAccountRequest,
};
use tenantry_server::config::ClientAuth;
use tenantry_tests::{
    Backend, TestApp, assert_code, on_both_backends,
    tls::{Pair, TestCa},
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;

/// An app serving TLS with a certificate of `ca`; the folder of its files.
async fn tls_app(
    backend: Backend,
    ca: &TestCa,
    client_ca: Option<(String, ClientAuth)>,
) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = ca.server().write(dir.path(), "server");
    let client_ca = client_ca.map(|(pem, auth)| {
        let path = dir.path().join("clients.pem");
        std::fs::write(&path, pem).unwrap();
        (path, auth)
    });
    let app = TestApp::builder(backend)
        .trusting(&ca.pem)
        .configure(move |c| {
            c.tls.tls_cert = Some(cert);
            c.tls.tls_key = Some(key);
            if let Some((path, auth)) = client_ca {
                c.tls.tls_client_ca = Some(path);
                c.tls.tls_client_auth = auth;
            }
        })
        .start()
        .await;
    (app, dir)
}

fn https(ca: &TestCa, identity: Option<&Pair>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap());
    if let Some(pair) = identity {
        let pem = format!("{}{}", pair.cert, pair.key);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

async fn grpc_grpc_web_and_the_side_door_are_served_over_tls(backend: Backend) {
    let ca = TestCa::new("test ca");
    let (app, _dir) = tls_app(backend, &ca, None).await;
    let client = app.tls_client(&ca.pem, None).await.unwrap();
    let jwks = client
        .auth()
        .get_jwks(GetJwksRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!jwks.keys.is_empty());

    let side_door = https(&ca, None)
        .get(format!("{}/.well-known/jwks.json", app.https_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(side_door.status(), 200);
    assert_eq!(
        side_door.version(),
        reqwest::Version::HTTP_2,
        "ALPN picked HTTP/2"
    );

    // grpc-web over HTTP/1.1, as a browser without HTTP/2 would send it.
    let web = reqwest::Client::builder()
        .use_rustls_tls()
        .http1_only()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap())
        .build()
        .unwrap()
        .post(format!(
            "{}/tenantry.auth.v1.AuthService/GetJwks",
            app.https_url()
        ))
        .header("content-type", "application/grpc-web+proto")
        .body(vec![0_u8, 0, 0, 0, 0])
        .send()
        .await
        .unwrap();
    assert_eq!(web.status(), 200);
    assert_eq!(web.version(), reqwest::Version::HTTP_11);
    let body = web.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("grpc-status:0"), "grpc-web answer: {text:?}");
}

async fn plain_http_to_the_tls_port_is_refused_clearly(backend: Backend) {
    let ca = TestCa::new("test ca");
    let (app, _dir) = tls_app(backend, &ca, None).await;
    let mut socket = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    socket
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("https://"), "{answer}");

    // A plaintext gRPC client fails at once instead of hanging.
    let plain = tonic::transport::Endpoint::from_shared(app.url())
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plain {
        let client = tenantry_client::Tenantry::from_channel(channel)
            .with_retry(tenantry_client::RetryPolicy::none());
        let call = tokio::time::timeout(
            Duration::from_secs(30),
            client.auth().get_jwks(GetJwksRequest {}),
        )
        .await
        .expect("an answer, not a hang");
        assert!(call.is_err());
    }
}

async fn a_renewed_certificate_is_served_without_dropping_connections(backend: Backend) {
    let old_ca = TestCa::new("old ca");
    let (app, dir) = tls_app(backend, &old_ca, None).await;
    let open = app.tls_client(&old_ca.pem, None).await.unwrap();
    open.auth().get_jwks(GetJwksRequest {}).await.unwrap();

    let new_ca = TestCa::new("new ca");
    let (cert, key) = new_ca.server().write(dir.path(), "server");
    // A later modification time than the first pair's, whatever the
    // file system's resolution.
    let later = SystemTime::now() + Duration::from_secs(5);
    for path in [&cert, &key] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
    let renewed = app
        .tls_client(&new_ca.pem, None)
        .await
        .expect("the new certificate");
    renewed.auth().get_jwks(GetJwksRequest {}).await.unwrap();
    assert!(
        refused(&app, &old_ca, None).await,
        "the old certificate is gone"
    );
    open.auth()
        .get_jwks(GetJwksRequest {})
        .await
        .expect("the connection opened before goes on");
}

async fn mutual_tls_binds_service_tokens_to_their_certificate(backend: Backend) {
    let ca = TestCa::new("test ca");
    let clients = TestCa::new("client ca");
    let (app, _dir) = tls_app(
        backend,
        &ca,
        Some((clients.pem.clone(), ClientAuth::Optional)),
    )
    .await;
    let robot_cert = clients.client("robot");
    let with_cert = app.tls_client(&ca.pem, Some(&robot_cert)).await.unwrap();
    let without = app.tls_client(&ca.pem, None).await.unwrap();

    let team = app.team("acme").await;
    let service = app.service(&team.admin, "robot", Role::Viewer).await;
    let robot = (service.account.id.clone(), service.client_secret.clone());
    team.admin
        .client
        .service_accounts()
        .update_service_account(UpdateServiceAccountRequest {
            service_account_id: robot.0.clone(),
            client_certificate_pem: Some(robot_cert.cert.clone()),
            ..UpdateServiceAccountRequest::default()
        })
        .await
        .unwrap();

    let unbound = with_cert.with_token("-");
    let refused = exchange(&without, &robot).await;
    assert_code(refused, Code::Unauthenticated);
    let token = exchange(&unbound, &robot).await.unwrap();
    let claims = tenantry_tests::jwt_claims(&token);
    assert_eq!(
        claims["cnf"]["x5t#S256"].as_str().map(str::len),
        Some(43),
        "bound to the certificate: {claims}"
    );
    let over_cert = with_cert.with_token(token.clone());
    over_cert
        .files()
        .list_files(ListFilesRequest::default())
        .await
        .unwrap();
    let stolen = without.with_token(token);
    let replayed = stolen.files().list_files(ListFilesRequest::default()).await;
    assert_code(replayed, Code::Unauthenticated);

    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", robot.0.as_str()),
        ("client_secret", robot.1.as_str()),
    ];
    let url = format!("{}/oauth/token", app.https_url());
    let answer = https(&ca, Some(&robot_cert))
        .post(&url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        200,
        "the token endpoint sees the certificate too"
    );
    let answer = https(&ca, None)
        .post(&url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
}

/// Whether a TLS client trusting `ca` (presenting `identity`) is refused, at
/// the handshake or its first call.
async fn refused(app: &TestApp, ca: &TestCa, identity: Option<&Pair>) -> bool {
    match app.tls_client(&ca.pem, identity).await {
        Err(_) => true,
        Ok(client) => client.auth().get_jwks(GetJwksRequest {}).await.is_err(),
    }
}

async fn exchange(
    client: &tenantry_client::Tenantry,
    robot: &(String, String),
) -> Result<String, tonic::Status> {
    use tenantry_client::auth::v1::{
        ExchangeTokenRequest,
        exchange_token_request::{ClientCredentials, Grant},
    };
    let grant = Grant::ClientCredentials(ClientCredentials {
        client_id: robot.0.clone(),
        client_secret: robot.1.clone(),
    });
    client
        .auth()
        .exchange_token(ExchangeTokenRequest { grant: Some(grant) })
        .await
        .map(|r| r.into_inner().access_token)
}

async fn required_client_certificates_refuse_a_client_without_one(backend: Backend) {
    let ca = TestCa::new("test ca");
    let clients = TestCa::new("client ca");
    let (app, _dir) = tls_app(
        backend,
        &ca,
        Some((clients.pem.clone(), ClientAuth::Required)),
    )
    .await;
    let with_cert = app
        .tls_client(&ca.pem, Some(&clients.client("robot")))
        .await
        .unwrap();
    with_cert.auth().get_jwks(GetJwksRequest {}).await.unwrap();
    assert!(
        refused(&app, &ca, None).await,
        "a client without a certificate"
    );
    let stranger = TestCa::new("stranger").client("eve");
    assert!(
        refused(&app, &ca, Some(&stranger)).await,
        "a certificate of another CA"
    );
}

on_both_backends!(
    grpc_grpc_web_and_the_side_door_are_served_over_tls,
    plain_http_to_the_tls_port_is_refused_clearly,
    a_renewed_certificate_is_served_without_dropping_connections,
    mutual_tls_binds_service_tokens_to_their_certificate,
    required_client_certificates_refuse_a_client_without_one,
);
