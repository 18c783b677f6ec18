//! The processes under test: started from the binaries next to this one,
//! stopped when dropped; their memory read from /proc.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    time::Duration,
};

use tokio::process::{Child, Command};

pub struct Process {
    pub addr: String,
    /// The PostgreSQL database it uses; `None` for SQLite in its data dir.
    pub database_url: Option<String>,
    child: Child,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Resident memory now, in bytes.
    pub fn rss(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.with_file_name(name)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for(addr: &str) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {addr}");
}

pub async fn baseline() -> Process {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(sibling("baseline-server"))
        .arg(&addr)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("baseline-server (build it: cargo build --release -p tenantry-tests --bins)");
    wait_for(&addr).await;
    Process {
        addr,
        database_url: None,
        child,
    }
}

/// Tenantry with production settings except rate limits (off: the load
/// generator is one client) and request logs (warnings only).
pub async fn tenantry(data_dir: &Path, database_url: Option<&str>) -> Process {
    tenantry_with(data_dir, database_url, &[]).await
}

/// Tenantry as [`tenantry`] starts it, with `extra` flags (TLS).
pub async fn tenantry_with(
    data_dir: &Path,
    database_url: Option<&str>,
    extra: &[String],
) -> Process {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(sibling("tenantry-server"));
    command
        .args(["--listen", &addr, "--admin-listen", "off"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--public-rate-limit", "0", "--user-rate-limit", "0"])
        .args([
            "--max-file-size",
            "2GiB",
            "--default-storage-quota",
            "100GiB",
        ])
        .env("TENANTRY_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    command.args(extra);
    let child = command
        .spawn()
        .expect("tenantry-server (build it: cargo build --release -p tenantry-server)");
    wait_for(&addr).await;
    Process {
        addr,
        database_url: database_url.map(str::to_owned),
        child,
    }
}
