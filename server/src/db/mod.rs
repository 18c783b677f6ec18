//! The database: one pool, one way in ([`Db::read`] / [`Db::write`]), run on
//! the blocking pool so no query ever blocks a runtime thread.

mod connection;
mod migrations;
pub mod rows;
pub mod schema;
mod scope;
pub mod upsert;

use diesel::{
    Connection, RunQueryDsl as _,
    connection::{AnsiTransactionManager, TransactionManager},
};
use tracing::Span;

pub use connection::{AnyConnection, Backend, parse_url};
pub use scope::{ACCOUNT_EVENTS_ORG, OwnRows, Tenant, TenantScope, Tx, UserScope};

use crate::error::{ApiError, ApiResult, BoxError};

#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<connection::Manager>,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects, applies pending migrations and fills the pool.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, BoxError> {
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
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(manager)?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` in a read transaction.
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> ApiResult<T> + Send + 'static,
    {
        self.run(move |conn| in_transaction(conn, false, f)).await
    }

    /// Runs `f` in a write transaction: everything `f` does commits together
    /// or not at all. (On SQLite it takes the write lock up front, so two
    /// writers queue instead of failing on a lock upgrade.)
    pub async fn write<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> ApiResult<T> + Send + 'static,
    {
        self.run(move |conn| in_transaction(conn, true, f)).await
    }

    /// True when the database answers a query.
    pub async fn ping(&self) -> bool {
        self.run(|conn| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
        .is_ok()
    }

    /// The one place that checks out a connection: on the blocking pool, in
    /// the caller's tracing span; a panic inside is re-raised here.
    async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = Span::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => Err(ApiError::internal(err)),
        }
    }
}

type Manager = <AnyConnection as Connection>::TransactionManager;

fn in_transaction<T>(
    conn: &mut AnyConnection,
    write: bool,
    f: impl FnOnce(&mut Tx<'_>) -> ApiResult<T>,
) -> ApiResult<T> {
    match conn {
        AnyConnection::Sqlite(sqlite) if write => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        }
        _ => Manager::begin_transaction(conn)?,
    }
    match f(&mut Tx { conn }) {
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
