//! Running the server binary as an operator does: with flags, on a port of
//! its own, on SQLite in a data folder or on PostgreSQL and S3 (the real
//! peers of `tenantry-test-peers`), and waiting until it serves.

#![allow(dead_code)] // each test file uses its part

use std::{ffi::OsString, path::Path, process::Stdio, time::Duration};

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};
use tenantry_test_peers::{
    postgres,
    s3::{self, S3Server},
};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::Child,
};

/// A loopback address nobody listens on right now.
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Starts the binary with `args` (after `--listen listen`; without an admin
/// listener unless `args` name one) and waits until it serves.
pub async fn start(listen: &str, args: &[OsString]) -> Child {
    let admin = args.iter().any(|a| a.to_str() == Some("--admin-listen"));
    let no_admin: &[&str] = if admin {
        &[]
    } else {
        &["--admin-listen", "off"]
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tenantry-server"))
        .args(["--listen", listen, "--log-format", "json"])
        .args(no_admin)
        .args(["--public-rate-limit", "0", "--user-rate-limit", "0"])
        .args(args)
        .env("TENANTRY_LOG", "info")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the tenantry-server binary");
    let mut logs = BufReader::new(child.stdout.take().unwrap()).lines();
    let serving = async {
        while let Some(line) = logs.next_line().await.unwrap() {
            if line.contains("serving gRPC") {
                return;
            }
        }
        panic!("the server stopped before serving");
    };
    tokio::time::timeout(Duration::from_secs(60), serving)
        .await
        .expect("the server serves");
    // Keep reading, or the server blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = logs.next_line().await {} });
    child
}

/// `--data-dir <data>` and nothing else: SQLite and the local store.
pub fn embedded(data: &Path) -> Vec<OsString> {
    vec!["--data-dir".into(), data.into()]
}

/// A fresh database on the test cluster and an S3 server, as several
/// instances share them.
pub struct SharedStores {
    pub database_url: String,
    pub s3: S3Server,
}

impl SharedStores {
    pub async fn start() -> Self {
        let base = postgres::shared_cluster().unwrap_or_else(|e| panic!("{e}"));
        let name = format!("server_test_{}_{}", std::process::id(), rand_suffix());
        let mut admin = PgConnection::establish(&format!("{base}/postgres")).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        Self {
            database_url: format!("{base}/{name}"),
            s3: S3Server::start().await,
        }
    }

    /// The flags that put an instance on them.
    pub fn args(&self) -> Vec<OsString> {
        [
            "--database-url",
            &self.database_url,
            "--s3-bucket",
            s3::BUCKET,
            "--s3-endpoint",
            &self.s3.endpoint(),
            "--s3-access-key-id",
            s3::ACCESS_KEY,
            "--s3-secret-access-key",
            s3::SECRET_KEY,
            "--s3-force-path-style",
        ]
        .iter()
        .map(OsString::from)
        .collect()
    }
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
