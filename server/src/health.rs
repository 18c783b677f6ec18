//! `grpc.health.v1`: SERVING only while the database answers.

use std::time::Duration;

use tonic_health::server::HealthReporter;

use crate::db::Db;

/// Services whose status follows the database ("" is the whole server).
const SERVICES: &[&str] = &[
    "",
    "tenantry.auth.v1.AuthService",
    "tenantry.org.v1.OrgService",
    "tenantry.audit.v1.AuditService",
    "tenantry.file.v1.FileService",
    "tenantry.sso.v1.SsoService",
];

const PROBE_EVERY: Duration = Duration::from_secs(2);

/// Sets the status once now, then keeps it current in a task (abort it when
/// the server stops).
pub async fn watch_database(db: Db, reporter: HealthReporter) -> tokio::task::JoinHandle<()> {
    report(&reporter, db.ping().await).await;
    tokio::spawn(async move {
        let mut last = None;
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            let up = db.ping().await;
            if last != Some(up) {
                if !up {
                    tracing::warn!("database does not answer: reporting NOT_SERVING");
                }
                report(&reporter, up).await;
                last = Some(up);
            }
        }
    })
}

/// NOT_SERVING from now on (the server is stopping; stop the watch first).
pub async fn report_stopping(reporter: &HealthReporter) {
    report(reporter, false).await;
}

async fn report(reporter: &HealthReporter, up: bool) {
    let status = if up {
        tonic_health::ServingStatus::Serving
    } else {
        tonic_health::ServingStatus::NotServing
    };
    for service in SERVICES {
        reporter.set_service_status(*service, status).await;
    }
}
