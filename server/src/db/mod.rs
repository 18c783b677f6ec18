//! The database: one pool, one way in ([`Db::read`] / [`Db::write`]), run on
//! dedicated query workers so no query ever blocks a runtime thread.

mod connection;
mod executor;
mod migrations;
pub mod rows;
pub mod schema;
mod scope;
mod settings;
mod text_enum;
pub mod upsert;

use diesel::{
    Connection, RunQueryDsl as _,
    connection::{AnsiTransactionManager, TransactionManager},
};

pub use connection::{AnyConnection, Backend, parse_url};

/// Runs `$body` with `$c` bound to the concrete connection inside an
/// [`AnyConnection`], for queries on hot paths.
///
/// Through `AnyConnection`, diesel's multi-backend wrapper writes out a
/// query's whole SQL text on every execution (twice: to learn whether its
/// prepared statement may be cached, and to collect its binds); profiled,
/// that was about a fifth of the server's CPU in a PostgreSQL `GetFile`. On
/// the concrete connection the prepared statement is found by the query's
/// type and no text is written.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgresql($c) => $body,
            $crate::db::AnyConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

diesel::define_sql_function! {
    /// SQL `lower()`, the same on SQLite and PostgreSQL for ASCII, which is
    /// all an email address may hold (matched by the `lower(email)` index).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
pub use scope::{ACCOUNT_EVENTS_ORG, BoxedFiles, OwnRows, Tenant, TenantScope, Tx, UserScope};
use settings::Settings;

use crate::error::{ApiResult, BoxError};

#[derive(Clone)]
pub struct Db {
    backend: Backend,
    /// On SQLite, which has one writer at a time, writes of this process go
    /// to one writer thread in order instead of colliding on the database
    /// lock (whose busy handler retries by sleeping).
    executor: executor::Executor,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects, applies pending migrations, fills the pool and starts the
    /// query workers (`workers`: 0 picks one per core for SQLite, whose
    /// queries are CPU work, and one per connection for PostgreSQL, whose
    /// queries wait on the network).
    pub fn open(url: &str, pool_size: u32, workers: usize) -> Result<Self, BoxError> {
        let manager = connection::Manager::new(url);
        let backend = manager.backend();
        if backend == Backend::Sqlite {
            let (_, path) = parse_url(url);
            if let Some(parent) = std::path::Path::new(&path).parent() {
                std::fs::create_dir_all(parent)?;
            }
        }
        let mut operator = manager
            .connect_as_operator()
            .map_err(|e| format!("cannot connect to the {} database: {e}", backend.name()))?;
        migrations::run(&mut operator)?;
        drop(operator);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = match (workers, backend) {
            (0, Backend::Sqlite) => cores,
            (0, Backend::Postgres) => pool_size.max(1) as usize,
            (n, _) => n,
        };
        let pool = r2d2::Pool::builder()
            // Each worker (and the SQLite writer) holds a connection.
            .max_size(pool_size.max(u32::try_from(workers + 1).unwrap_or(u32::MAX)))
            .min_idle(Some(1))
            // Workers hold their connections, so this is the time to
            // connect: while the database is down, calls answer UNAVAILABLE
            // after it instead of hanging.
            .connection_timeout(std::time::Duration::from_secs(3))
            .build(manager)?;
        let executor = executor::Executor::start(pool, workers, backend == Backend::Sqlite)?;
        Ok(Self { backend, executor })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` to read, without a transaction: on PostgreSQL with the
    /// row-level-security settings the connection keeps (`settings`); on
    /// SQLite there is no RLS, and a one-statement read needs no
    /// transaction.
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> ApiResult<T> + Send + 'static,
    {
        let postgres = self.backend == Backend::Postgres;
        self.run(move |conn, kept| {
            let mut tx = Tx {
                conn,
                kept: postgres.then_some(kept),
                scoped: false,
                failed: None,
            };
            match (f(&mut tx), tx.failed) {
                (Ok(_), Some(failed)) => Err(failed),
                (result, _) => result,
            }
        })
        .await
    }

    /// Runs `f` in a write transaction: everything `f` does commits together
    /// or not at all. (On SQLite it takes the write lock up front, so two
    /// writers queue instead of failing on a lock upgrade.)
    pub async fn write<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> ApiResult<T> + Send + 'static,
    {
        self.executor
            .run_write(move |conn, kept| in_transaction(conn, kept, f))
            .await
    }

    /// Queries waiting for a query worker.
    /// Records how long each query waits for a worker (a histogram of the
    /// server's meters).
    pub fn meter_waits(&self, waits: metrics::Histogram) {
        self.executor.meter_waits(waits);
    }

    pub fn queue_depth(&self) -> usize {
        self.executor.queue_depth()
    }

    /// The pool's connections, open and idle.
    pub fn pool_state(&self) -> r2d2::State {
        self.executor.pool_state()
    }

    /// True when the database answers a query.
    pub async fn ping(&self) -> bool {
        self.run(|conn, _| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
        .is_ok()
    }

    /// The one way to a connection (with what its worker knows of its
    /// settings): on a query worker (never a runtime thread), in the
    /// caller's tracing span; a panic inside is re-raised here.
    async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, &mut Settings) -> ApiResult<T> + Send + 'static,
    {
        self.executor.run(f).await
    }
}

type Manager = <AnyConnection as Connection>::TransactionManager;

/// Runs `f` in a transaction; a PostgreSQL one first clears the settings its
/// connection keeps from reads, for itself (`settings::BEGIN_CLEARED`).
fn in_transaction<T>(
    conn: &mut AnyConnection,
    kept: &Settings,
    f: impl FnOnce(&mut Tx<'_>) -> ApiResult<T>,
) -> ApiResult<T> {
    match conn {
        AnyConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        }
        AnyConnection::Postgresql(pg) if !kept.are_none() => {
            AnsiTransactionManager::begin_transaction_sql(pg, settings::BEGIN_CLEARED)?;
        }
        AnyConnection::Postgresql(_) => Manager::begin_transaction(conn)?,
    }
    match f(&mut Tx {
        conn,
        kept: None,
        scoped: false,
        failed: None,
    }) {
        Ok(value) => match Manager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(err) => {
                let _ = Manager::rollback_transaction(conn);
                Err(err.into())
            }
        },
        Err(err) => {
            Manager::rollback_transaction(conn)?;
            Err(err)
        }
    }
}
