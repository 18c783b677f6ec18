//! Operating the server: the admin listener (`--admin-listen`, never the
//! public port) with `/metrics` (Prometheus text), `/livez` and `/readyz`,
//! the metrics themselves ([`meters`]), and logs and traces ([`telemetry`]).

pub mod meters;
pub mod telemetry;

use std::sync::atomic::{AtomicBool, Ordering};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};

use crate::state::AppState;

/// Whether the server takes new work (false from the moment it is told to
/// stop), and the signal that cuts off the calls still running when the
/// shutdown grace ends.
#[derive(Debug, Default)]
pub struct Readiness {
    stopping: AtomicBool,
    cut_off: tokio_util::sync::CancellationToken,
}

impl Readiness {
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Ends every call still running (see `layers::deadline`).
    pub fn cut_off_calls(&self) {
        self.cut_off.cancel();
    }

    /// Resolves when the calls still running must end.
    pub fn calls_cut_off(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.cut_off.clone().cancelled_owned()
    }
}

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(|| async { "live\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// Serves the admin routes until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) {
    if let Err(err) = axum::serve(listener, routes(state)).await {
        tracing::error!(error = %err, "the admin listener stopped");
    }
}

/// 200 while the server takes work and its database and blob store
/// answer; 503 with the reason otherwise.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.readiness.stopping() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n");
    }
    if !state.db.ping().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database does not answer\n",
        );
    }
    if state.blobs.list("readyz/", None).await.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the blob store does not answer\n",
        );
    }
    (StatusCode::OK, "ready\n")
}

/// The Prometheus exposition, with the gauges read at scrape time.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let pool = state.db.pool_state();
    state
        .meters
        .set("tenantry_db_connections", f64::from(pool.connections));
    state.meters.set(
        "tenantry_db_connections_idle",
        f64::from(pool.idle_connections),
    );
    state
        .meters
        .set("tenantry_db_queue_depth", state.db.queue_depth() as f64);
    if let Ok(jobs) = crate::jobs::queue_stats(&state).await {
        state.meters.set("tenantry_jobs_due", jobs.due as f64);
        state
            .meters
            .set("tenantry_jobs_oldest_due_seconds", jobs.oldest_due_seconds);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.meters.render(),
    )
}
