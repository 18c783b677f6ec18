//! A throwaway PostgreSQL cluster from the machine's `initdb`: one shared by
//! a whole test process ([`shared_cluster`]), and clusters of a test's own
//! that it stops and starts ([`OwnCluster`]).
//!
//! A postmaster gets SIGQUIT when the thread that started it (which waits
//! for it) goes away, however the process ends.

use std::{
    net::TcpListener,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use diesel::{Connection as _, PgConnection};

const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, postgres) were not found: \
    install them with `apt-get install -y postgresql`, or set TENANTRY_TEST_DATABASE_URL";

static SHARED: OnceLock<Result<String, String>> = OnceLock::new();
static NEXT_OWN: AtomicU32 = AtomicU32::new(0);

/// The superuser URL (without a database name) of the process's shared
/// cluster: `TENANTRY_TEST_DATABASE_URL`'s server when set, else one started
/// now and kept for the life of the process.
pub fn shared_cluster() -> Result<&'static str, String> {
    SHARED
        .get_or_init(|| match std::env::var("TENANTRY_TEST_DATABASE_URL") {
            Ok(url) => Ok(url
                .trim_end_matches('/')
                .rsplit_once('/')
                .map_or(url.clone(), |(b, _)| b.to_owned())),
            Err(_) => start_local(),
        })
        .as_deref()
        .map_err(Clone::clone)
}

/// Whether PostgreSQL can be had.
pub fn available() -> bool {
    std::env::var("TENANTRY_TEST_DATABASE_URL").is_ok() || find_bin("initdb").is_some()
}

fn start_local() -> Result<String, String> {
    remove_stale_clusters();
    let dir = std::env::temp_dir().join(format!("tenantry-pg-{}", std::process::id()));
    let data = init_cluster(&dir)?;
    let port = free_port()?;
    let server = postmaster(&data, &dir, port)?;
    spawn_held(server)?;
    let base_url = format!("postgres://postgres@127.0.0.1:{port}");
    wait_until_ready(&format!("{base_url}/postgres"), &dir)?;
    Ok(base_url)
}

/// `initdb` into `<dir>/data` (as the `postgres` user when we are root,
/// which PostgreSQL refuses to run as).
fn init_cluster(dir: &Path) -> Result<PathBuf, String> {
    let initdb = find_bin("initdb").ok_or(INSTALL_HINT)?;
    let data = dir.join("data");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let run_as = running_as_root().then(postgres_ids).flatten();
    if let Some((uid, _)) = run_as {
        chown(dir, uid)?;
    }
    let mut init = Command::new(&initdb);
    init.args([
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--no-sync",
        "--no-instructions",
        "-D",
    ])
    .arg(&data)
    .stdout(Stdio::null());
    if let Some((uid, gid)) = run_as {
        init.uid(uid).gid(gid);
    }
    let status = init.status().map_err(|e| format!("initdb: {e}"))?;
    if !status.success() {
        return Err(format!("initdb failed ({status})"));
    }
    Ok(data)
}

/// The postmaster of `data` on `port`, its socket and log in `dir`.
fn postmaster(data: &Path, dir: &Path, port: u16) -> Result<Command, String> {
    let postgres = find_bin("initdb")
        .ok_or(INSTALL_HINT)?
        .with_file_name("postgres");
    let mut server = Command::new(postgres);
    server
        .arg("-D")
        .arg(data)
        .args(["-p", &port.to_string()])
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ])
        .args(["-c", "max_connections=400"])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", dir.display()))
        .stdout(Stdio::null())
        .stderr(log_file(dir)?);
    if let Some((uid, gid)) = running_as_root().then(postgres_ids).flatten() {
        server.uid(uid).gid(gid);
    }
    die_with_parent(&mut server);
    Ok(server)
}

fn log_file(dir: &Path) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("postgres.log"))
        .map_err(|e| e.to_string())
}

/// Starts `server` on a thread of its own that waits for it: the
/// parent-death signal fires when that thread ends, so it outlives the
/// postmaster. Returns the postmaster's pid and the thread.
fn spawn_held(mut server: Command) -> Result<(u32, std::thread::JoinHandle<()>), String> {
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("postgres".into())
        .spawn(move || match server.spawn() {
            Ok(mut child) => {
                let _ = started_tx.send(Ok(child.id()));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = started_tx.send(Err(format!("cannot start postgres: {e}")));
            }
        })
        .map_err(|e| e.to_string())?;
    let pid = started_rx.recv().map_err(|e| e.to_string())??;
    Ok((pid, thread))
}

/// A cluster of one test's own, which the test stops and starts again on
/// the same port and data: the database going away under a running server.
pub struct OwnCluster {
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    running: Option<(u32, std::thread::JoinHandle<()>)>,
}

impl OwnCluster {
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tenantry-pg-{}-own{}",
            std::process::id(),
            NEXT_OWN.fetch_add(1, Ordering::Relaxed)
        ));
        let data = init_cluster(&dir).unwrap_or_else(|e| panic!("{e}"));
        let port = free_port().unwrap_or_else(|e| panic!("{e}"));
        let mut cluster = Self {
            dir,
            data,
            port,
            running: None,
        };
        cluster.restart();
        cluster
    }

    /// A superuser URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it the way an operator's fast shutdown does: open sessions are
    /// ended, new connections refused.
    pub fn stop(&mut self) {
        self.signal(libc::SIGINT);
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        assert!(self.running.is_none(), "already running");
        let server = postmaster(&self.data, &self.dir, self.port).unwrap_or_else(|e| panic!("{e}"));
        self.running = Some(spawn_held(server).unwrap_or_else(|e| panic!("{e}")));
        wait_until_ready(&self.url(), &self.dir).unwrap_or_else(|e| panic!("{e}"));
    }

    #[allow(unsafe_code)]
    fn signal(&mut self, signal: libc::c_int) {
        if let Some((pid, thread)) = self.running.take() {
            let pid = libc::pid_t::try_from(pid).expect("a pid");
            // SAFETY: kill(2) on our own child, which the thread still waits for.
            unsafe { libc::kill(pid, signal) };
            let _ = thread.join();
        }
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.signal(libc::SIGQUIT);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn wait_until_ready(url: &str, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match PgConnection::establish(url) {
            Ok(_) => return Ok(()),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                let log = std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default();
                return Err(format!("postgres did not come up: {e}\n{log}"));
            }
        }
    }
}

fn find_bin(name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn postgres_ids() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres"))
            .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
    })
}

fn chown(path: &Path, uid: u32) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(uid), None)
        .map_err(|e| format!("chown {}: {e}", path.display()))
}

/// Clusters of earlier runs whose process is gone.
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("tenantry-pg-")
            .and_then(|p| p.split('-').next()?.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
