//! `tenantry-server`: parse flags, set up logs, serve until SIGINT/SIGTERM.

use std::{process::ExitCode, sync::Arc};

use clap::Parser as _;
use tenantry_server::{
    Config, Server, clock::SystemClock, config::Command, crypto::signing_keys, ops::telemetry,
};

// A faster allocator for many small, short-lived allocations (measured in
// BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    let telemetry = match telemetry::init(&config.log_format, &config.tracing) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Two rustls crypto providers are linked (aws-lc for S3 and TLS, ring
    // for the OIDC client): name the one every default TLS config uses.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Some(Command::GenerateSigningKey { out }) = &config.command {
        return match signing_keys::generate(out) {
            Ok(kid) => {
                println!("wrote {} (kid {kid})", out.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let code = match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "server stopped");
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let listen = config.listen;
    let backend = tenantry_server::db::parse_url(&config.database_url()).0;
    match tenantry_server::connections::raise_open_files_limit() {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(err) => tracing::warn!(error = %err, "cannot raise the open files limit"),
    }
    let admin = config.admin_listen.clone();
    let mut server = Server::build(config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    if admin != "off" {
        let admin_listener = tokio::net::TcpListener::bind(&admin)
            .await
            .map_err(|e| format!("cannot listen on {admin} (--admin-listen): {e}"))?;
        tracing::info!(%admin, "serving /metrics, /livez and /readyz");
        server = server.with_admin(admin_listener);
    }
    tracing::info!(%listen, database = backend.name(), "serving gRPC, grpc-web and HTTP");
    server.serve(listener, shutdown_signal()).await
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch SIGTERM; stopping on SIGINT only");
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
