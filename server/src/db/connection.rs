//! One connection type for both databases, and a pool manager that picks the
//! backend from the URL scheme (diesel's own `establish` tries each backend and
//! drops the errors, so a down PostgreSQL would read "invalid URL").

use diesel::{Connection as _, RunQueryDsl as _, connection::SimpleConnection as _};

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// Splits a database URL into its backend and the string its driver takes.
pub fn parse_url(url: &str) -> (Backend, String) {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return (Backend::Postgres, url.to_owned());
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    (Backend::Sqlite, path.to_owned())
}

/// The PostgreSQL role every pooled connection switches to: it owns nothing,
/// is no superuser and cannot bypass row-level security.
pub const APP_ROLE: &str = "tenantry_app";

#[derive(Debug)]
pub struct Manager {
    backend: Backend,
    target: String,
}

impl Manager {
    pub fn new(url: &str) -> Self {
        let (backend, target) = parse_url(url);
        Self { backend, target }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection as the operator's URL names it, without the role switch
    /// (migrations and startup checks).
    pub fn connect_as_operator(&self) -> diesel::ConnectionResult<AnyConnection> {
        match self.backend {
            Backend::Postgres => {
                diesel::PgConnection::establish(&self.target).map(AnyConnection::Postgresql)
            }
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(&self.target)?;
                // busy_timeout first: it makes this connection wait for a lock
                // (even the one switching to WAL needs) instead of failing. WAL
                // lets readers run beside the writer; SQLite leaves foreign
                // keys off unless asked.
                // (No mmap_size: measured, remapping as the file grows costs
                // writes more than mapped reads save.)
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        let mut conn = self
            .connect_as_operator()
            .map_err(diesel::r2d2::Error::ConnectionError)?;
        if let AnyConnection::Postgresql(pg) = &mut conn {
            pg.batch_execute(&format!("SET ROLE {APP_ROLE}"))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        use diesel::connection::TransactionManager as _;
        std::thread::panicking()
            || <AnyConnection as diesel::Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}
