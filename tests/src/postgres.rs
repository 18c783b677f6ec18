//! A fresh database per test, cloned from a migrated template, on the
//! shared throwaway cluster of `tenantry_test_peers::postgres`
//! (`TENANTRY_TEST_DATABASE_URL` points the tests at an existing server
//! instead: a superuser URL; databases are created there).

use std::sync::{
    OnceLock,
    atomic::{AtomicU32, Ordering},
};

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};
pub use tenantry_test_peers::postgres::{OwnCluster, available};

const TEMPLATE: &str = "tenantry_template";

struct Cluster {
    /// Superuser URL without a database name.
    base_url: String,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test; dropped with it.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// A fresh, migrated database. Panics with an install hint when PostgreSQL is
/// missing.
pub fn database() -> TestDatabase {
    let cluster = CLUSTER
        .get_or_init(start)
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let admin_url = format!("{}/postgres", cluster.base_url);
    let mut admin = PgConnection::establish(&admin_url).expect("connect to the test cluster");
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .execute(&mut admin)
        .expect("create a test database");
    TestDatabase {
        url: format!("{}/{name}", cluster.base_url),
        name,
        admin_url,
    }
}

fn start() -> Result<Cluster, String> {
    let base_url = tenantry_test_peers::postgres::shared_cluster()?.to_owned();
    prepare_template(&base_url)?;
    Ok(Cluster { base_url })
}

/// Migrates a template database once; each test clones it.
fn prepare_template(base_url: &str) -> Result<(), String> {
    let mut admin =
        PgConnection::establish(&format!("{base_url}/postgres")).map_err(|e| e.to_string())?;
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
        .execute(&mut admin);
    diesel::sql_query(format!("CREATE DATABASE {TEMPLATE}"))
        .execute(&mut admin)
        .map_err(|e| e.to_string())?;
    tenantry_server::db::Db::open(&format!("{base_url}/{TEMPLATE}"), 1, 1)
        .map_err(|e| e.to_string())?;
    Ok(())
}
