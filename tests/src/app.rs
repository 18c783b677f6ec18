//! A running Tenantry (one or more instances sharing one database and data
//! folder) with a clock the test moves.

use std::{net::SocketAddr, sync::Arc};

use chrono::Utc;
use tenantry_client::Client;
use tenantry_server::{
    Config, Server,
    clock::{ManualClock, SharedClock},
};
use tokio::{sync::oneshot, task::JoinHandle};

use crate::postgres::{self, TestDatabase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and the local blob folder.
    Sqlite,
    /// PostgreSQL (row-level security on).
    Postgres,
}

struct Instance {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

pub struct TestApp {
    pub backend: Backend,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    instances: Vec<Instance>,
    /// Held for its `Drop` (drops the database), after `instances`.
    _database: Option<TestDatabase>,
    data_dir: tempfile::TempDir,
}

/// A change to the configuration before start.
type Tweak = Box<dyn FnOnce(&mut Config)>;

pub struct TestAppBuilder {
    backend: Backend,
    tweaks: Vec<Tweak>,
}

impl TestAppBuilder {
    /// Changes the configuration before the server starts.
    pub fn configure(mut self, tweak: impl FnOnce(&mut Config) + 'static) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    pub async fn start(self) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_data_dir(data_dir.path());
        // Cheap hashing keeps the suite fast; production parameters are
        // measured in the benchmarks.
        config.passwords.argon2_memory_kib = 256;
        config.passwords.argon2_iterations = 1;
        config.passwords.hash_concurrency = 4;
        config.limits.public_rate_limit = 0;
        config.limits.user_rate_limit = 0;
        config.database_pool_size = 6;
        let database = match self.backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let db = postgres::database();
                config.database_url = Some(db.url.clone());
                Some(db)
            }
        };
        for tweak in self.tweaks {
            tweak(&mut config);
        }
        let mut app = TestApp {
            backend: self.backend,
            clock: Arc::new(ManualClock::new(Utc::now())),
            config,
            instances: Vec::new(),
            _database: database,
            data_dir,
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
        let clock: SharedClock = self.clock.clone();
        let server = Server::build(self.config.clone(), clock)
            .await
            .expect("server builds");
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
            shutdown: Some(tx),
            task,
        });
        self.instances.len() - 1
    }

    /// Stops instance `index` gracefully and waits until it has.
    pub async fn stop_instance(&mut self, index: usize) {
        let instance = &mut self.instances[index];
        if let Some(tx) = instance.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut instance.task).await.expect("server task");
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

    /// A client of instance 0 with no token.
    pub async fn client(&self) -> Client {
        self.client_of(0).await
    }

    pub async fn client_of(&self, index: usize) -> Client {
        Client::connect(self.url_of(index)).await.expect("connect")
    }

    pub fn mail_dir(&self) -> std::path::PathBuf {
        self.data_dir.path().join("mail")
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The value of `label: …` in the newest mail to `to`.
    pub fn mailed(&self, to: &str, label: &str) -> Option<String> {
        crate::mail::last_value_mailed(&self.mail_dir(), to, label)
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
            instance.task.abort();
        }
    }
}
