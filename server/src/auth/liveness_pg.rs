//! On PostgreSQL, each check behind the liveness cache is one statement: a
//! SQL function (migration 000012) reads the credential's row, acts for the
//! organization that row names (only inside the function) and returns the
//! organization's state and the role there now. SQLite runs the same checks
//! as separate queries (`liveness.rs`, `credentials.rs`).

use chrono::NaiveDateTime;
use diesel::{
    OptionalExtension as _, PgConnection, QueryableByName, RunQueryDsl as _,
    sql_types::{BigInt, Bool, Nullable, Text, Timestamp},
};

use crate::error::ApiResult;

/// A row of `tenantry_session_liveness`.
#[derive(QueryableByName)]
pub struct SessionRow {
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub org_id: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub revoked_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Timestamp)]
    pub absolute_expires_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    pub auth_method: String,
    #[diesel(sql_type = BigInt)]
    pub pin_generation: i64,
    #[diesel(sql_type = Bool)]
    pub org_live: bool,
    #[diesel(sql_type = Bool)]
    pub require_mfa: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub role: Option<String>,
}

/// A row of `tenantry_token_liveness`.
#[derive(QueryableByName)]
pub struct TokenRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = Text)]
    pub org_id: String,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Timestamp)]
    pub expires_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub revoked_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_used_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Bool)]
    pub org_live: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub member_role: Option<String>,
}

/// A row of `tenantry_service_liveness`.
#[derive(QueryableByName)]
pub struct ServiceRow {
    #[diesel(sql_type = Text)]
    pub service_account_id: String,
    #[diesel(sql_type = Text)]
    pub org_id: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub revoked_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Bool)]
    pub org_live: bool,
    #[diesel(sql_type = Bool)]
    pub account_found: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub role: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub disabled_at: Option<NaiveDateTime>,
}

/// The session `id`, if it exists.
pub fn session(pg: &mut PgConnection, id: &str) -> ApiResult<Option<SessionRow>> {
    call(pg, "SELECT * FROM tenantry_session_liveness($1)", id)
}

/// The personal access token whose hash is `hash`, if it exists.
pub fn token(pg: &mut PgConnection, hash: &str) -> ApiResult<Option<TokenRow>> {
    call(pg, "SELECT * FROM tenantry_token_liveness($1)", hash)
}

/// The service credential `id`, if it exists.
pub fn service(pg: &mut PgConnection, id: &str) -> ApiResult<Option<ServiceRow>> {
    call(pg, "SELECT * FROM tenantry_service_liveness($1)", id)
}

fn call<R>(pg: &mut PgConnection, sql: &'static str, key: &str) -> ApiResult<Option<R>>
where
    R: QueryableByName<diesel::pg::Pg> + 'static,
{
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .get_result(pg)
        .optional()?)
}
