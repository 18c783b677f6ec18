//! Service identities on the hot path: token exchanges, personal access
//! tokens, and TLS, each against its baseline in the same run.

use std::{path::Path, sync::Arc, time::SystemTime};

use tenantry_client::{
    RetryPolicy, Tenantry,
    auth::v1::{
        CreatePersonalAccessTokenRequest, ExchangeTokenRequest, GetMeRequest, Role,
        exchange_token_request::{ClientCredentials, Grant, JwtBearer},
    },
    serviceaccount::v1::AddServiceAccountKeyRequest,
};
use tenantry_tests::{KeyFile, assertion_claims, new_service_account, sign_assertion, tls::TestCa};

use crate::{
    load,
    procs::{self, Process},
    report::{Row, Section},
    scenarios::{CONNECTIONS, pool, row},
};

/// A service account of the owner's organization: its id, a client secret
/// and a generated Ed25519 key file.
async fn robot(owner: &Tenantry) -> (String, String, KeyFile) {
    let (account, secret) = new_service_account(owner, "bench", Role::Member).await;
    let key_file = owner
        .service_accounts()
        .add_service_account_key(AddServiceAccountKeyRequest {
            service_account_id: account.id.clone(),
            ..AddServiceAccountKeyRequest::default()
        })
        .await
        .expect("add key")
        .into_inner()
        .key_file;
    (
        account.id,
        secret,
        serde_json::from_str(&key_file).expect("key file"),
    )
}

pub async fn services(section: &mut Section, server: &Process, owner: &Tenantry, data: &Path) {
    let (id, secret, key) = robot(owner).await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let anonymous = pool(&server.addr, None).await;
    let clients = anonymous.clone();
    let secrets = load::run_on(Some(server.pid()), 16, move |w| {
        let client = clients[w % CONNECTIONS].clone();
        let grant = Grant::ClientCredentials(ClientCredentials {
            client_id: id.clone(),
            client_secret: secret.clone(),
        });
        async move { exchange(&client, grant).await }
    })
    .await;
    let key = Arc::new(key);
    let clients = anonymous.clone();
    let assertions = load::run_on(Some(server.pid()), 16, move |w| {
        let client = clients[w % CONNECTIONS].clone();
        let key = key.clone();
        async move {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let assertion = sign_assertion(&key, &assertion_claims(&key, "tenantry", now));
            exchange(&client, Grant::JwtBearer(JwtBearer { assertion })).await
        }
    })
    .await;
    for (name, stats) in [
        ("client credentials", &secrets),
        ("JWT bearer (Ed25519)", &assertions),
    ] {
        section.add(Row {
            note: format!(
                "{:.0} calls/s on 16 workers, p99 {:.2} ms, errors {}; per CPU second the server used",
                stats.per_second(),
                stats.p99_ms,
                stats.errors
            ),
            ..row(
                format!("ExchangeToken, {name}, per server core"),
                stats.per_server_core().unwrap_or(stats.per_second() / cores),
                "calls/s",
            )
        });
    }
    personal_tokens(section, server, owner).await;
    tls(section, server, owner, data).await;
}

async fn exchange(client: &Tenantry, grant: Grant) -> Result<(), tonic::Status> {
    let request = ExchangeTokenRequest { grant: Some(grant) };
    client.auth().exchange_token(request).await.map(|_| ())
}

fn get_me(
    clients: Arc<Vec<Tenantry>>,
) -> impl Fn(usize) -> futures::future::BoxFuture<'static, Result<(), tonic::Status>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |w| {
        let client = clients[w % CONNECTIONS].clone();
        Box::pin(async move { client.auth().get_me(GetMeRequest {}).await.map(|_| ()) })
    }
}

async fn personal_tokens(section: &mut Section, server: &Process, owner: &Tenantry) {
    let pat = owner
        .auth()
        .create_personal_access_token(CreatePersonalAccessTokenRequest {
            name: "bench".into(),
            role: 0,
            expire_time: None,
        })
        .await
        .expect("personal access token")
        .into_inner()
        .token;
    let jwt = owner.access_token().await.expect("token").expect("token");
    let by_jwt = load::run(64, get_me(pool(&server.addr, Some(&jwt)).await)).await;
    let by_pat = load::run(64, get_me(pool(&server.addr, Some(&pat)).await)).await;
    section.add(Row {
        baseline: Some(by_jwt.per_second()),
        note: format!(
            "baseline: GetMe with a JWT; p99 {:.2} ms vs {:.2} ms, errors {}",
            by_pat.p99_ms, by_jwt.p99_ms, by_pat.errors
        ),
        ..row(
            "GetMe with a personal access token, concurrency 64",
            by_pat.per_second(),
            "calls/s",
        )
    });
    crate::outside::personal_token(section, server, &pat, &jwt);
}

async fn tls(section: &mut Section, server: &Process, owner: &Tenantry, data: &Path) {
    tenantry_tests::tls::install_crypto();
    let ca = TestCa::new("bench ca");
    let (cert, key) = ca.server().write(data, "bench-tls");
    let flags = [
        "--tls-cert".to_owned(),
        cert.display().to_string(),
        "--tls-key".to_owned(),
        key.display().to_string(),
    ];
    let secure = procs::tenantry_with(data, server.database_url.as_deref(), &flags).await;
    let port = secure
        .addr
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let token = owner.access_token().await.expect("token").expect("token");
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        let url = format!("https://localhost:{port}");
        let client = Tenantry::builder(url)
            .retry(RetryPolicy::none())
            .ca_certificate(ca.pem.as_bytes())
            .connect()
            .await
            .expect("connect over TLS");
        clients.push(client.with_token(token.clone()));
    }
    let plain = load::run(64, get_me(pool(&server.addr, Some(&token)).await)).await;
    let over_tls = load::run(64, get_me(Arc::new(clients))).await;
    section.add(Row {
        baseline: Some(plain.per_second()),
        note: format!(
            "baseline: GetMe in plaintext on a twin instance; p99 {:.2} ms vs {:.2} ms, errors {}",
            over_tls.p99_ms, plain.p99_ms, over_tls.errors
        ),
        ..row(
            "GetMe over TLS, concurrency 64",
            over_tls.per_second(),
            "calls/s",
        )
    });
    crate::outside::tls(section, server, &secure, &token);
}
