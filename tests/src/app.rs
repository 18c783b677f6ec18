//! A running Tenantry (one or more instances sharing one database and data
//! folder) with a clock the test moves.

use std::{net::SocketAddr, sync::Arc};

use chrono::{DateTime, Utc};
use tenantry_client::{RetryPolicy, Tenantry};
use tenantry_server::{
    Config, Server,
    clock::{ManualClock, SharedClock},
    jobs::JobRunner,
    state::AppState,
};
use tokio::{sync::oneshot, task::JoinHandle};

use crate::{
    postgres::{self, TestDatabase},
    s3::{self, S3Server},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and the local blob folder.
    Sqlite,
    /// PostgreSQL (row-level security on) and an S3 server.
    Postgres,
}

struct Instance {
    addr: SocketAddr,
    /// Its admin listener (`/metrics`, `/livez`, `/readyz`).
    admin: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    /// `None` once it has stopped.
    task: Option<JoinHandle<()>>,
}

pub struct TestApp {
    pub backend: Backend,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    instances: Vec<Instance>,
    /// Held for its `Drop` (drops the database), after `instances`.
    _database: Option<TestDatabase>,
    s3: Option<S3Server>,
    data_dir: tempfile::TempDir,
    /// The CA clients trust when the server serves TLS.
    tls_ca: Option<String>,
}

/// A change to the configuration before start.
type Tweak = Box<dyn FnOnce(&mut Config)>;

pub struct TestAppBuilder {
    backend: Backend,
    tweaks: Vec<Tweak>,
    clock_start: Option<DateTime<Utc>>,
    tls_ca: Option<String>,
}

impl TestAppBuilder {
    /// Changes the configuration before the server starts.
    pub fn configure(mut self, tweak: impl FnOnce(&mut Config) + 'static) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// Clients of this app connect over TLS and trust `ca_pem` (the server
    /// is configured for TLS by a `configure` tweak).
    pub fn trusting(mut self, ca_pem: &str) -> Self {
        self.tls_ca = Some(ca_pem.to_owned());
        self
    }

    /// Starts the server clock at `start` instead of now.
    pub fn clock_at(mut self, start: DateTime<Utc>) -> Self {
        self.clock_start = Some(start);
        self
    }

    pub async fn start(self) -> TestApp {
        // TENANTRY_TEST_LOG=debug (or any filter) shows the servers' logs.
        if let Ok(filter) = std::env::var("TENANTRY_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        crate::tls::install_crypto();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_data_dir(data_dir.path());
        // Cheap hashing keeps the suite fast; production parameters are
        // measured in the benchmarks.
        config.passwords.argon2_memory_kib = 256;
        config.passwords.argon2_iterations = 1;
        config.passwords.hash_concurrency = 4;
        config.limits.public_rate_limit = 0;
        config.limits.http_rate_limit = 0;
        config.limits.user_rate_limit = 0;
        // Domain verification records come from the test's DNS server.
        config.dns_server = Some(crate::dns::shared().addr());
        config.database_pool_size = 6;
        // The test provider runs on loopback.
        config.sso_allow_private_networks = true;
        // Jobs run when a test says so (`run_jobs`), not on a timer.
        config.storage.job_interval = std::time::Duration::ZERO;
        let (database, s3) = match self.backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let db = postgres::database();
                config.database_url = Some(db.url.clone());
                let s3 = S3Server::start().await;
                let s3_config = &mut config.storage.s3;
                s3_config.s3_bucket = Some(s3::BUCKET.into());
                s3_config.s3_endpoint = Some(s3.endpoint());
                s3_config.s3_access_key_id = Some(s3::ACCESS_KEY.into());
                s3_config.s3_secret_access_key = Some(s3::SECRET_KEY.into());
                s3_config.s3_force_path_style = true;
                (Some(db), Some(s3))
            }
        };
        for tweak in self.tweaks {
            tweak(&mut config);
        }
        let mut app = TestApp {
            backend: self.backend,
            clock: Arc::new(ManualClock::new(self.clock_start.unwrap_or_else(Utc::now))),
            config,
            instances: Vec::new(),
            _database: database,
            s3,
            data_dir,
            tls_ca: self.tls_ca,
        };
        app.start_instance().await;
        app
    }
}

impl TestApp {
    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            tweaks: Vec::new(),
            clock_start: None,
            tls_ca: None,
        }
    }

    pub async fn start(backend: Backend) -> Self {
        Self::builder(backend).start().await
    }

    /// Starts one more instance on the same database, data folder and clock
    /// (as behind a load balancer); returns its index.
    pub async fn start_instance(&mut self) -> usize {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let admin_addr = admin.local_addr().expect("local addr");
        let clock: SharedClock = self.clock.clone();
        let mut config = self.config.clone();
        config.public_url = Some(format!("http://{addr}"));
        let server = Server::build(config, clock)
            .await
            .expect("server builds")
            .with_admin(admin);
        let state = server.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(err) = server.serve(listener, shutdown).await {
                panic!("server failed: {err}");
            }
        });
        self.instances.push(Instance {
            addr,
            admin: admin_addr,
            state,
            shutdown: Some(tx),
            task: Some(task),
        });
        self.instances.len() - 1
    }

    /// Stops instance `index` gracefully and waits until it has.
    pub async fn stop_instance(&mut self, index: usize) {
        self.signal_stop(index);
        self.wait_stopped(index).await;
    }

    /// Tells instance `index` to stop (as SIGTERM does), without waiting.
    pub fn signal_stop(&mut self, index: usize) {
        if let Some(tx) = self.instances[index].shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until instance `index` has stopped serving.
    pub async fn wait_stopped(&mut self, index: usize) {
        if let Some(task) = self.instances[index].task.take() {
            task.await.expect("server task");
        }
    }

    /// Stops every instance and starts one again on the same data.
    pub async fn restart(&mut self) {
        for i in 0..self.instances.len() {
            self.stop_instance(i).await;
        }
        self.instances.clear();
        self.start_instance().await;
    }

    pub fn url(&self) -> String {
        self.url_of(0)
    }

    pub fn url_of(&self, index: usize) -> String {
        format!("http://{}", self.instances[index].addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.instances[0].addr
    }

    /// The admin listener of instance 0.
    pub fn admin_addr(&self) -> SocketAddr {
        self.instances[0].admin
    }

    /// A client of instance 0 with no token. Test clients never retry:
    /// the tests watch what the server answers.
    pub async fn client(&self) -> Tenantry {
        self.client_of(0).await
    }

    pub async fn client_of(&self, index: usize) -> Tenantry {
        match &self.tls_ca {
            None => Tenantry::builder(self.url_of(index))
                .retry(RetryPolicy::none())
                .connect()
                .await
                .expect("connect"),
            Some(ca) => self.tls_client(ca, None).await.expect("connect over TLS"),
        }
    }

    pub fn mail_dir(&self) -> std::path::PathBuf {
        self.data_dir.path().join("mail")
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// Every mail to `to` in the mail folder, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<String> {
        crate::mail::mails_to(&self.mail_dir(), to)
    }

    /// The value of `label: …` in the newest mail to `to`.
    pub fn mailed(&self, to: &str, label: &str) -> Option<String> {
        crate::mail::last_value_mailed(&self.mail_dir(), to, label)
    }

    /// Runs `sql` on the database directly, as its owner (for the few tests
    /// that must reach under the API: a tampered row, a corrupt value).
    pub fn execute_sql(&self, sql: &str) {
        use diesel::{Connection as _, RunQueryDsl as _};
        match self.backend {
            Backend::Sqlite => {
                let path = self.data_dir().join("tenantry.db");
                let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
                diesel::sql_query(sql).execute(&mut conn).unwrap();
            }
            Backend::Postgres => {
                let mut conn = diesel::PgConnection::establish(&self.database_url()).unwrap();
                diesel::sql_query(sql).execute(&mut conn).unwrap();
            }
        }
    }

    /// Runs every background job that is due by the server clock.
    pub async fn run_jobs(&self) -> usize {
        JobRunner::new(self.instances[0].state.clone())
            .run_due()
            .await
            .expect("jobs run")
    }

    /// The first instance's state, for the few tests that must look at the
    /// blob store or the database directly.
    pub fn state(&self) -> &AppState {
        &self.instances[0].state
    }

    /// The S3 server of a PostgreSQL app (the SQLite one uses a folder).
    pub fn s3(&self) -> Option<&S3Server> {
        self.s3.as_ref()
    }

    /// Instance `index`'s state (its own caches, pool and job runner).
    pub fn state_of(&self, index: usize) -> &AppState {
        &self.instances[index].state
    }

    /// Every object key in the blob store under `orgs/`.
    pub async fn stored_objects(&self) -> Vec<String> {
        let store = &self.state().blobs;
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let (page, next) = store.list("orgs/", token).await.expect("list blobs");
            keys.extend(page.into_iter().map(|l| l.key));
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        keys.sort();
        keys
    }

    /// Writes begun and never finished: temporary files of the local store,
    /// open multipart uploads of the S3 server.
    pub fn unfinished_writes(&self) -> usize {
        match &self.s3 {
            Some(s3) => s3.open_multipart_uploads(),
            None => std::fs::read_dir(self.data_dir().join("blobs/.tmp")).map_or(0, |d| d.count()),
        }
    }

    /// Waits until no partial upload is left in the blob store (a call
    /// dropped at its deadline cleans up in the background).
    pub async fn wait_for_no_unfinished_writes(&self) {
        for _ in 0..600 {
            if self.unfinished_writes() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "{} partial uploads were never cleaned up",
            self.unfinished_writes()
        );
    }

    /// Waits until `org_id` has `count` uploads open on the first instance
    /// (the server's own count, so a test knows its streams have started).
    pub async fn wait_for_open_uploads(&self, org_id: &str, count: usize) {
        for _ in 0..600 {
            if self.state().upload_slots.open_in_org(org_id) == count {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{org_id} never had {count} uploads open");
    }

    /// Waits until a job of `kind` (`blob.abort_multipart`, …) is queued:
    /// some are queued in the background.
    pub async fn wait_for_queued(&self, kind: &'static str) {
        use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};
        use tenantry_server::db::schema::jobs;
        for _ in 0..600 {
            let queued = self
                .state()
                .db
                .read(move |tx| {
                    let count: i64 = jobs::table
                        .filter(jobs::kind.eq(kind))
                        .count()
                        .get_result(tx.conn())?;
                    Ok(count)
                })
                .await
                .expect("read the job queue");
            if queued > 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no {kind} job was ever queued");
    }

    /// The server clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        tenantry_server::clock::Clock::now(self.clock.as_ref())
    }

    /// Moves the shared clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    /// The database URL the servers use (for the few tests that must reach
    /// under the API).
    pub fn database_url(&self) -> String {
        self.config.database_url()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for instance in &mut self.instances {
            if let Some(tx) = instance.shutdown.take() {
                let _ = tx.send(());
            }
            if let Some(task) = &instance.task {
                task.abort();
            }
        }
    }
}
