//! Migrations are embedded in the binary and applied at start, one folder per
//! backend.

use diesel::{RunQueryDsl as _, sql_types::Bool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

use super::connection::{APP_ROLE, AnyConnection};
use crate::error::BoxError;

const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Several instances may start at once: on PostgreSQL an advisory lock lets one
/// migrate while the others wait (SQLite's write lock does the same).
const MIGRATION_LOCK: i64 = 0x7465_6e61_6e74;

#[derive(diesel::QueryableByName)]
struct RoleCheck {
    #[diesel(sql_type = Bool)]
    unsafe_role: bool,
}

pub fn run(conn: &mut AnyConnection) -> Result<(), BoxError> {
    match conn {
        AnyConnection::Sqlite(c) => {
            c.run_pending_migrations(SQLITE)?;
        }
        AnyConnection::Postgresql(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(c)?;
            let result = c.run_pending_migrations(POSTGRES).map(|_| ());
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(c)?;
            result?;
            // Someone may have made the role by hand with more rights than it
            // must have; then row-level security would not hold.
            let check: RoleCheck = diesel::sql_query(format!(
                "SELECT (rolsuper OR rolbypassrls) AS unsafe_role FROM pg_roles \
                 WHERE rolname = '{APP_ROLE}'"
            ))
            .get_result(c)?;
            if check.unsafe_role {
                return Err(format!(
                    "role {APP_ROLE} is a superuser or bypasses row-level security; \
                     run `ALTER ROLE {APP_ROLE} NOSUPERUSER NOBYPASSRLS`"
                )
                .into());
            }
        }
    }
    Ok(())
}
