//! The scenarios, each against its baseline.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use tenantry_client::{
    RetryPolicy, Tenantry,
    auth::v1::{
        GetJwksRequest, GetMeRequest, LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest,
        VerifyEmailRequest,
    },
    file::v1::{
        DownloadRequest, FileMetadata, GetFileRequest, ListFilesRequest, UploadRequest,
        download_response, upload_request::Part,
    },
    org::v1::CreateOrganizationRequest,
};
use tenantry_tests::baseline::{
    EchoRequest, SinkRequest, SourceRequest, StoreRequest,
    baseline_service_client::BaselineServiceClient,
};
use tokio::sync::Mutex;

use crate::{
    load,
    procs::{self, Process},
    report::{Row, Section},
};

const PASSWORD: &str = "correct horse battery staple";
const MIB: usize = 1024 * 1024;
pub(crate) const CONNECTIONS: usize = 4;

pub(crate) fn row(scenario: impl Into<String>, value: f64, unit: &'static str) -> Row {
    Row {
        scenario: scenario.into(),
        value,
        unit,
        baseline: None,
        target: None,
        met: None,
        note: String::new(),
    }
}

async fn connect(addr: &str) -> Tenantry {
    Tenantry::builder(format!("http://{addr}"))
        .retry(RetryPolicy::none())
        .connect()
        .await
        .expect("connect")
}

/// A verified user, signed in; with an organization when `org` is given.
async fn user(server: &Process, data: &Path, email: &str, org: Option<&str>) -> (Tenantry, String) {
    let client = connect(&server.addr).await;
    client
        .auth()
        .register(RegisterRequest {
            email: email.into(),
            password: PASSWORD.into(),
            display_name: String::new(),
        })
        .await
        .expect("register");
    let token =
        tenantry_tests::mail::last_value_mailed(&data.join("mail"), email, "Verification token")
            .expect("mail");
    client
        .auth()
        .verify_email(VerifyEmailRequest { token })
        .await
        .expect("verify");
    let login = login(&client, email).await.expect("login");
    let mut access = login.access_token;
    let mut refresh = login.refresh_token;
    if let Some(slug) = org {
        let created = client
            .with_token(access.clone())
            .org()
            .create_organization(CreateOrganizationRequest {
                name: slug.into(),
                slug: slug.into(),
            })
            .await
            .expect("create org")
            .into_inner();
        let tokens = created.tokens.expect("tokens");
        access = tokens.access_token;
        refresh = tokens.refresh_token;
    }
    (client.with_token(access), refresh)
}

async fn login(
    client: &Tenantry,
    email: &str,
) -> Result<tenantry_client::auth::v1::TokenPair, tonic::Status> {
    let response = client
        .anonymous()
        .auth()
        .login(LoginRequest {
            email: email.into(),
            password: PASSWORD.into(),
            organization_id: String::new(),
        })
        .await?;
    Ok(response.into_inner().tokens.expect("tokens"))
}

/// `CONNECTIONS` clients to `addr` carrying `token`.
pub(crate) async fn pool(addr: &str, token: Option<&str>) -> Arc<Vec<Tenantry>> {
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        let client = connect(addr).await;
        clients.push(match token {
            Some(t) => client.with_token(t.to_owned()),
            None => client,
        });
    }
    Arc::new(clients)
}

pub async fn all(
    section: &mut Section,
    baseline: &Process,
    server: &Process,
    data: &Path,
    database_url: Option<&str>,
    quick: bool,
) {
    let (owner, _) = user(server, data, "owner@bench.test", Some("bench")).await;
    let token = owner.access_token().await.expect("token").expect("token");
    let file_id = owner_upload(&owner, "small.bin", Bytes::from_static(b"hello"), None).await;

    // TENANTRY_BENCH_ONLY=unary,transfers,… runs some groups (profiling).
    let only = std::env::var("TENANTRY_BENCH_ONLY").unwrap_or_default();
    let wanted = |group: &str| only.is_empty() || only.split(',').any(|g| g == group);
    if wanted("unary") {
        unary(section, baseline, server, &token, &file_id).await;
        crate::outside::reads(section, baseline, server, &token, &file_id);
    }
    if wanted("sessions") {
        sessions(section, server, data, &token, &file_id).await;
    }
    if wanted("transfers") {
        transfers(section, baseline, server, &owner, data, quick).await;
    }
    if wanted("dedup") {
        dedup(section, &owner, data).await;
    }
    if wanted("listing") {
        listing(section, &owner, data, database_url, quick).await;
    }
    if wanted("revocation") {
        revocation(section, server, data, database_url).await;
    }
    if wanted("services") {
        crate::services::services(section, server, &owner, data).await;
    }
}

async fn owner_upload(
    owner: &Tenantry,
    name: &str,
    block: Bytes,
    expected_sha256: Option<String>,
) -> String {
    upload(owner, name, block, 1, expected_sha256).await.0
}

/// Uploads `block` repeated `times`; returns (file id, seconds, deduplicated).
async fn upload(
    owner: &Tenantry,
    name: &str,
    block: Bytes,
    times: usize,
    expected_sha256: Option<String>,
) -> (String, f64, bool) {
    let metadata = UploadRequest {
        part: Some(Part::Metadata(FileMetadata {
            name: name.into(),
            expected_sha256: expected_sha256.unwrap_or_default(),
            ..FileMetadata::default()
        })),
    };
    let chunks = (0..times).map(move |_| UploadRequest {
        part: Some(Part::Chunk(block.clone())),
    });
    let stream = futures::stream::iter(std::iter::once(metadata).chain(chunks));
    let began = Instant::now();
    let response = owner
        .files()
        .upload(stream)
        .await
        .expect("upload")
        .into_inner();
    (
        response.file.expect("file").id,
        began.elapsed().as_secs_f64(),
        response.deduplicated,
    )
}

async fn unary(
    section: &mut Section,
    baseline: &Process,
    server: &Process,
    token: &str,
    file_id: &str,
) {
    let echo_pool = {
        let mut channels = Vec::new();
        for _ in 0..CONNECTIONS {
            channels.push(
                tonic::transport::Endpoint::from_shared(format!("http://{}", baseline.addr))
                    .unwrap()
                    .connect()
                    .await
                    .unwrap(),
            );
        }
        Arc::new(channels)
    };
    let tenantry = pool(&server.addr, Some(token)).await;
    for concurrency in [16, 64] {
        let channels = echo_pool.clone();
        let echo = load::run(concurrency, move |w| {
            let mut client = BaselineServiceClient::new(channels[w % CONNECTIONS].clone());
            async move {
                client
                    .echo(EchoRequest {
                        text: "hello".into(),
                    })
                    .await
                    .map(|_| ())
            }
        })
        .await;
        let clients = tenantry.clone();
        let me = load::run(concurrency, move |w| {
            let client = clients[w % CONNECTIONS].clone();
            async move { client.auth().get_me(GetMeRequest {}).await.map(|_| ()) }
        })
        .await;
        let clients = tenantry.clone();
        let id = file_id.to_owned();
        let file = load::run(concurrency, move |w| {
            let (client, id) = (clients[w % CONNECTIONS].clone(), id.clone());
            async move {
                client
                    .files()
                    .get_file(GetFileRequest { file_id: id })
                    .await
                    .map(|_| ())
            }
        })
        .await;
        let clients = tenantry.clone();
        let jwks = load::run(concurrency, move |w| {
            let client = clients[w % CONNECTIONS].clone();
            async move { client.auth().get_jwks(GetJwksRequest {}).await.map(|_| ()) }
        })
        .await;
        section.add(Row {
            baseline: Some(echo.per_second()),
            note: "public, no database: the cost of the layers and the service stack".into(),
            ..row(
                format!("GetJwks throughput, concurrency {concurrency}"),
                jwks.per_second(),
                "calls/s",
            )
        });
        for (name, stats) in [("GetMe", &me), ("GetFile", &file)] {
            section.add(Row {
                baseline: Some(echo.per_second()),
                target: Some("≥ 0.50×".into()),
                met: Some(stats.per_second() >= 0.5 * echo.per_second()),
                note: format!(
                    "p50 {:.2} ms, p90 {:.2} ms, errors {}",
                    stats.p50_ms, stats.p90_ms, stats.errors
                ),
                ..row(
                    format!("{name} throughput, concurrency {concurrency}"),
                    stats.per_second(),
                    "calls/s",
                )
            });
            let p99_target =
                concurrency == 64 && section.backend == tenantry_tests::Backend::Sqlite;
            section.add(Row {
                baseline: Some(echo.p99_ms),
                target: p99_target.then(|| "< 5 ms".into()),
                met: p99_target.then_some(stats.p99_ms < 5.0),
                ..row(
                    format!("{name} p99 latency, concurrency {concurrency}"),
                    stats.p99_ms,
                    "ms",
                )
            });
        }
    }
}

async fn sessions(
    section: &mut Section,
    server: &Process,
    data: &Path,
    token: &str,
    file_id: &str,
) {
    let (member, _) = user(server, data, "member@bench.test", None).await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    // Refresh: each worker rotates its own session's chain.
    let workers = 16;
    let mut chains = Vec::new();
    for _ in 0..workers {
        chains.push(Arc::new(Mutex::new(
            login(&member, "member@bench.test")
                .await
                .expect("login")
                .refresh_token,
        )));
    }
    let chains = Arc::new(chains);
    let anonymous = pool(&server.addr, None).await;
    let refresh = load::run_on(Some(server.pid()), workers, move |w| {
        let (client, chain) = (anonymous[w % CONNECTIONS].clone(), chains[w].clone());
        async move {
            let mut current = chain.lock().await;
            let tokens = client
                .auth()
                .refresh(RefreshRequest {
                    refresh_token: current.clone(),
                })
                .await?
                .into_inner()
                .tokens
                .expect("tokens");
            *current = tokens.refresh_token;
            Ok(())
        }
    })
    .await;
    let per_core = refresh
        .per_server_core()
        .unwrap_or(refresh.per_second() / cores);
    section.add(Row {
        note: format!("p99 {:.2} ms, errors {}", refresh.p99_ms, refresh.errors),
        ..row(
            "Refresh throughput (16 sessions)",
            refresh.per_second(),
            "calls/s",
        )
    });
    section.add(Row {
        target: Some("≥ 2400/s".into()),
        met: Some(per_core >= 2400.0),
        note: format!(
            "per CPU second the server used ({:.2} of {cores} cores; the load generator had the rest)",
            refresh.server_cpu.unwrap_or(0.0) / load::MEASURE.as_secs_f64()
        ),
        ..row("Refresh throughput per server core", per_core, "calls/s")
    });

    let clients = pool(&server.addr, None).await;
    let logins = load::run(8, move |w| {
        let client = clients[w % CONNECTIONS].clone();
        async move { login(&client, "member@bench.test").await.map(|_| ()) }
    })
    .await;
    section.add(Row {
        note: format!(
            "argon2id 19 MiB × 2 iterations; p99 {:.0} ms",
            logins.p99_ms
        ),
        ..row(
            "Login throughput (8 concurrent)",
            logins.per_second(),
            "calls/s",
        )
    });

    // GetFile latency alone, then during a storm of logins.
    let tenantry = pool(&server.addr, Some(token)).await;
    let get_file = |clients: Arc<Vec<Tenantry>>, id: String| {
        move |w: usize| {
            let (client, id) = (clients[w % CONNECTIONS].clone(), id.clone());
            async move {
                client
                    .files()
                    .get_file(GetFileRequest { file_id: id })
                    .await
                    .map(|_| ())
            }
        }
    };
    let calm = load::run(16, get_file(tenantry.clone(), file_id.to_owned())).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut storm = Vec::new();
    let stormers = pool(&server.addr, None).await;
    for w in 0..32 {
        let (client, stop) = (stormers[w % CONNECTIONS].clone(), stop.clone());
        storm.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let _ = login(&client, "member@bench.test").await;
            }
        }));
    }
    let stormy = load::run(16, get_file(tenantry, file_id.to_owned())).await;
    stop.store(true, Ordering::Relaxed);
    for task in storm {
        let _ = task.await;
    }
    section.add(Row {
        baseline: Some(calm.p99_ms),
        target: Some("< 2.00×".into()),
        met: Some(stormy.p99_ms < 2.0 * calm.p99_ms),
        note: "32 concurrent logins; baseline: the same load without them".into(),
        ..row("GetFile p99 during a login storm", stormy.p99_ms, "ms")
    });
}

fn block(seed: u8) -> Bytes {
    let mut state = u64::from(seed) * 0x9E37_79B9_7F4A_7C15 + 1;
    Bytes::from(
        (0..MIB)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect::<Vec<u8>>(),
    )
}

/// Samples `process`'s RSS until `stop`; returns the peak.
fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let read = || {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .unwrap_or_default()
                .lines()
                .find_map(|l| {
                    l.strip_prefix("VmRSS:").map(|v| {
                        v.trim()
                            .trim_end_matches("kB")
                            .trim()
                            .parse::<u64>()
                            .unwrap_or(0)
                            * 1024
                    })
                })
                .unwrap_or(0)
        };
        let mut peak = read();
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(read());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak.max(read())
    })
}

async fn transfers(
    section: &mut Section,
    baseline: &Process,
    server: &Process,
    owner: &Tenantry,
    data: &Path,
    quick: bool,
) {
    let sizes: &[usize] = if quick { &[64] } else { &[64, 1024] };
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", baseline.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    for (n, &mib) in sizes.iter().enumerate() {
        let label = if mib >= 1024 {
            format!("{} GiB", mib / 1024)
        } else {
            format!("{mib} MiB")
        };
        let bytes = (mib * MIB) as f64;
        // Baseline sink and source.
        let chunk = block(200);
        let mut sink = BaselineServiceClient::new(channel.clone())
            .max_decoding_message_size(16 * MIB)
            .max_encoding_message_size(16 * MIB);
        let began = Instant::now();
        let stream = futures::stream::iter((0..mib).map(move |_| SinkRequest {
            chunk: chunk.clone(),
        }));
        sink.sink(stream).await.expect("sink");
        let sink_mbs = bytes / MIB as f64 / began.elapsed().as_secs_f64();
        let store_mbs = baseline_store(&mut sink, data, mib).await;
        let began = Instant::now();
        let mut source = sink
            .source(SourceRequest {
                size: (mib * MIB) as i64,
                chunk_size: 256 * 1024,
            })
            .await
            .expect("source")
            .into_inner();
        while source.message().await.expect("source chunk").is_some() {}
        let source_mbs = bytes / MIB as f64 / began.elapsed().as_secs_f64();

        // Tenantry upload.
        let before = server.rss();
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = sample_rss(server.pid(), stop.clone());
        let (file_id, seconds, _) = upload(
            owner,
            &format!("transfer-{n}.bin"),
            block(n as u8 + 1),
            mib,
            None,
        )
        .await;
        stop.store(true, Ordering::Relaxed);
        let upload_peak = sampler.await.unwrap_or(0);
        let upload_mbs = bytes / MIB as f64 / seconds;
        section.add(Row {
            baseline: Some(store_mbs),
            target: Some("≥ 0.80×".into()),
            met: Some(upload_mbs >= 0.8 * store_mbs),
            note: "baseline: the same work without the rest of Tenantry — a tonic server that \
                   hashes each 1 MiB chunk with SHA-256, writes it to the data dir's disk and \
                   fsyncs before answering"
                .into(),
            ..row(format!("Upload {label} (local store)"), upload_mbs, "MB/s")
        });
        section.add(Row {
            baseline: Some(sink_mbs),
            note: "baseline: a tonic sink that keeps nothing (the cost of gRPC alone)".into(),
            ..row(
                format!("Upload {label} against an in-memory sink"),
                upload_mbs,
                "MB/s",
            )
        });
        // Tenantry download (whole file, SHA-256 checked by the server).
        let before_download = server.rss();
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = sample_rss(server.pid(), stop.clone());
        let began = Instant::now();
        let mut stream = owner
            .files()
            .download(DownloadRequest {
                file_id,
                offset: 0,
                length: 0,
            })
            .await
            .expect("download")
            .into_inner();
        let mut received = 0_usize;
        let mut hasher = Sha256::new();
        while let Some(message) = stream.message().await.expect("download chunk") {
            if let Some(download_response::Part::Chunk(chunk)) = message.part {
                received += chunk.len();
                if n == 0 {
                    hasher.update(&chunk);
                }
            }
        }
        let download_mbs = bytes / MIB as f64 / began.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let download_peak = sampler.await.unwrap_or(0);
        assert_eq!(received, mib * MIB);
        section.add(Row {
            baseline: Some(source_mbs),
            target: Some("≥ 0.80×".into()),
            met: Some(download_mbs >= 0.8 * source_mbs),
            ..row(
                format!("Download {label} (local store)"),
                download_mbs,
                "MB/s",
            )
        });
        let growth = |peak: u64, start: u64| peak.saturating_sub(start) as f64 / MIB as f64;
        let worst = growth(upload_peak, before).max(growth(download_peak, before_download));
        let big = mib >= 1024;
        section.add(Row {
            target: big.then(|| "< 32 MiB".into()),
            met: big.then_some(worst < 32.0),
            note: format!(
                "upload {:.1} MiB, download {:.1} MiB",
                growth(upload_peak, before),
                growth(download_peak, before_download)
            ),
            ..row(
                format!("Server RSS growth during {label} transfers"),
                worst,
                "MiB",
            )
        });
    }
}

/// MB/s of the baseline server's store: the same 1 MiB chunks hashed,
/// written next to the server's data and fsynced.
async fn baseline_store(
    client: &mut BaselineServiceClient<tonic::transport::Channel>,
    data: &Path,
    mib: usize,
) -> f64 {
    let (chunk, directory) = (block(99), data.display().to_string());
    let stream = futures::stream::iter((0..mib).map(move |n| StoreRequest {
        directory: if n == 0 {
            directory.clone()
        } else {
            String::new()
        },
        chunk: chunk.clone(),
    }));
    let began = Instant::now();
    let stored = client.store(stream).await.expect("store").into_inner();
    let seconds = began.elapsed().as_secs_f64();
    assert_eq!(stored.received, (mib * MIB) as i64);
    mib as f64 / seconds
}

/// Files under `<data>/blobs/orgs`.
fn stored_blobs(data: &Path) -> usize {
    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    walk(&data.join("blobs/orgs"))
}

async fn dedup(section: &mut Section, owner: &Tenantry, data: &Path) {
    let content = block(99);
    let times = 64;
    let mut hasher = Sha256::new();
    for _ in 0..times {
        hasher.update(&content);
    }
    let sha = hex::encode(hasher.finalize());
    let (_, first, _) = upload(
        owner,
        "original.bin",
        content.clone(),
        times,
        Some(sha.clone()),
    )
    .await;
    let blobs = stored_blobs(data);
    let (_, again, deduplicated) = upload(owner, "copy.bin", content, times, Some(sha)).await;
    let written = stored_blobs(data) - blobs;
    assert!(deduplicated);
    section.add(Row {
        baseline: Some(64.0 / first),
        target: Some("no second blob".into()),
        met: Some(written == 0),
        note: format!("{written} blob(s) written; baseline: the first upload of the content"),
        ..row(
            "Dedup-hit upload, 64 MiB with declared SHA-256",
            64.0 / again,
            "MB/s",
        )
    });
}

/// Inserts `count` files straight into the database (setup only).
fn insert_files(
    data: &Path,
    database_url: Option<&str>,
    org_id: &str,
    uploader: &str,
    count: usize,
) {
    use diesel::{Connection as _, RunQueryDsl as _, connection::SimpleConnection as _};
    let start = chrono::Utc::now().naive_utc() - chrono::Duration::days(30);
    let mut statements = vec!["BEGIN".to_owned()];
    for batch in (0..count).collect::<Vec<_>>().chunks(1000) {
        let values: Vec<String> = batch
            .iter()
            .map(|n| {
                let at = (start + chrono::Duration::seconds(*n as i64)).format("%Y-%m-%d %H:%M:%S%.6f");
                format!(
                    "('{}', '{org_id}', 'file-{n:06}.bin', 'application/octet-stream', '', 1, '{:064x}', '{uploader}', '{at}', '{at}')",
                    uuid::Uuid::now_v7(),
                    n
                )
            })
            .collect();
        statements.push(format!(
            "INSERT INTO files (id, org_id, name, declared_content_type, detected_content_type, size, sha256, uploader_id, created_at, updated_at) VALUES {}",
            values.join(",")
        ));
    }
    statements.push("COMMIT".into());
    let sql = statements.join(";\n");
    match database_url {
        Some(url) => {
            let mut conn = diesel::PgConnection::establish(url).expect("postgres");
            conn.batch_execute(&sql).expect("insert files");
            diesel::sql_query("ANALYZE files")
                .execute(&mut conn)
                .expect("analyze");
        }
        None => {
            let path = data.join("tenantry.db");
            let mut conn =
                diesel::SqliteConnection::establish(path.to_str().unwrap()).expect("sqlite");
            conn.batch_execute("PRAGMA busy_timeout = 10000")
                .expect("pragma");
            conn.batch_execute(&sql).expect("insert files");
            conn.batch_execute("ANALYZE").expect("analyze");
        }
    }
}

async fn listing(
    section: &mut Section,
    owner: &Tenantry,
    data: &Path,
    database_url: Option<&str>,
    quick: bool,
) {
    let count = if quick { 10_000 } else { 100_000 };
    let me = owner
        .auth()
        .get_me(GetMeRequest {})
        .await
        .expect("me")
        .into_inner();
    insert_files(
        data,
        database_url,
        &me.organization_id,
        &me.user.expect("user").id,
        count,
    );
    let page = |token: String| ListFilesRequest {
        page_size: 100,
        page_token: token,
        ..ListFilesRequest::default()
    };
    // Walk to the deepest page, keeping the token of a page near the end.
    let deep_at = count / 100 - 10;
    let mut token = String::new();
    let mut deep_token = String::new();
    for n in 0..=deep_at {
        if n == deep_at {
            deep_token = token.clone();
        }
        token = owner
            .files()
            .list_files(page(token.clone()))
            .await
            .expect("list")
            .into_inner()
            .next_page_token;
    }
    let measure = |token: String| {
        let owner = owner.clone();
        async move {
            let mut histogram = hdrhistogram::Histogram::<u64>::new(3).unwrap();
            for _ in 0..200 {
                let began = Instant::now();
                owner
                    .files()
                    .list_files(page(token.clone()))
                    .await
                    .expect("list");
                histogram
                    .record(began.elapsed().as_micros() as u64)
                    .unwrap();
            }
            (
                histogram.value_at_quantile(0.5) as f64 / 1000.0,
                histogram.value_at_quantile(0.99) as f64 / 1000.0,
            )
        }
    };
    let (first_p50, first_p99) = measure(String::new()).await;
    let (deep_p50, deep_p99) = measure(deep_token).await;
    section.add(Row {
        note: format!("p99 {first_p99:.2} ms"),
        ..row(
            format!("ListFiles first page of 100, {count} files"),
            first_p50,
            "ms",
        )
    });
    section.add(Row {
        baseline: Some(first_p50),
        target: Some("≤ 2.00×".into()),
        met: Some(deep_p50 <= 2.0 * first_p50),
        note: format!("page {deep_at}; p99 {deep_p99:.2} ms; baseline: the first page"),
        ..row(
            format!("ListFiles deep page of 100, {count} files"),
            deep_p50,
            "ms",
        )
    });
}

async fn revocation(
    section: &mut Section,
    server: &Process,
    data: &Path,
    database_url: Option<&str>,
) {
    let other = procs::tenantry(data, database_url).await;
    let here = connect(&server.addr).await;
    let tokens = login(&here, "member@bench.test").await.expect("login");
    let there = connect(&other.addr)
        .await
        .with_token(tokens.access_token.clone());
    there
        .auth()
        .get_me(GetMeRequest {})
        .await
        .expect("cached on the other instance");
    here.with_token(tokens.access_token)
        .auth()
        .logout(LogoutRequest {})
        .await
        .expect("logout");
    let began = Instant::now();
    while there.auth().get_me(GetMeRequest {}).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "revocation never arrived"
        );
    }
    let ms = began.elapsed().as_secs_f64() * 1000.0;
    section.add(Row {
        target: Some("< 1000 ms".into()),
        met: Some(ms < 1000.0),
        ..row("Logout seen by a second instance after", ms, "ms")
    });
}
