//! The Node tools the harness runs (`tests/node`, pinned by its lockfile):
//! the OpenID provider and the browser driver.

use std::{os::unix::process::CommandExt as _, path::PathBuf, process::Command};

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Whether `node` runs here.
pub fn available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The web client's package (`client/web`, pinned by its own lockfile).
pub fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../client/web")
}

/// Installs the pinned modules (`npm ci`) unless `module` is already there.
pub fn ensure_modules(module: &str) -> Result<(), String> {
    ensure_modules_in(&dir(), module)
}

/// [`ensure_modules`] for the package in `dir`.
pub fn ensure_modules_in(dir: &std::path::Path, module: &str) -> Result<(), String> {
    if dir.join("node_modules").join(module).exists() {
        return Ok(());
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .map_err(|e| format!("npm is needed for this test (apt-get install -y npm): {e}"))?;
    if !status.success() {
        return Err(format!("`npm ci` in {} failed", dir.display()));
    }
    Ok(())
}

/// Runs the web client's interop script `client/web/test/interop/<name>.ts`
/// against `server` and returns its one-line JSON summary.
pub async fn run_web_interop(name: &str, server: &str) -> Result<serde_json::Value, String> {
    let dir = web_dir();
    ensure_modules_in(&dir, "@connectrpc/connect-node")?;
    let mut command = Command::new("node");
    command
        .args(["test/interop.mjs", name])
        .current_dir(&dir)
        .env("TENANTRY_URL", server);
    json_summary(command, &format!("the {name} interop script")).await
}

/// Runs a node script that prints one JSON line last when it succeeds (and
/// dies with the test), and returns that line.
pub async fn json_summary(mut command: Command, what: &str) -> Result<serde_json::Value, String> {
    command.stdin(std::process::Stdio::null());
    die_with_parent(&mut command);
    let output = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("start node: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{what} failed:\n{stderr}"));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|e| format!("unreadable summary {line:?}: {e}\n{stderr}"))
}

/// Makes the child die with the test process, however that ends.
#[allow(unsafe_code)]
pub fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
