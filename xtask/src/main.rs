//! Project tasks, run as `cargo xtask <task>` (the alias is in
//! `.cargo/config.toml`). Standard library only, so it builds in seconds.
//!
//! - `cargo xtask test [ARGS…]`: installs what the suite needs and is missing
//!   on this machine, checks the web client (`client/web`: generated code up
//!   to date, `tsc` strict, its unit tests), then runs
//!   `cargo test --workspace [ARGS…]`. On a prepared machine it installs
//!   nothing.
//! - `cargo xtask setup`: only the installing part.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

const USAGE: &str = "usage: cargo xtask test [ARGS passed to cargo test]
       cargo xtask setup";

fn main() -> ExitCode {
    let mut args = env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    let result = match task.as_deref() {
        Some("setup") => setup(),
        Some("test") => setup()
            .and_then(|()| web_checks())
            .and_then(|()| test(&rest)),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (this crate's parent folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Makes the machine ready: system packages, then the pinned Node modules.
fn setup() -> Result<(), String> {
    let missing = missing_packages();
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    node_modules(&root().join("tests/node"))?;
    node_modules(&root().join("client/web"))
}

/// The TypeScript client: its generated code matches `proto/`, it type-checks
/// (strict), and its unit tests pass. (Its browser test is a cargo test.)
fn web_checks() -> Result<(), String> {
    for script in ["check-generated", "typecheck", "test"] {
        run(Command::new("npm")
            .args(["run", "--silent", script])
            .current_dir(root().join("client/web")))?;
    }
    Ok(())
}

/// One thing the suite needs from the machine, and the Debian package that
/// brings it.
struct Prerequisite {
    what: &'static str,
    package: &'static [&'static str],
    present: fn() -> bool,
}

const PREREQUISITES: &[Prerequisite] = &[
    Prerequisite {
        what: "PostgreSQL server binaries (initdb)",
        package: &["postgresql"],
        present: || on_path("initdb") || !glob_initdb().is_empty(),
    },
    Prerequisite {
        what: "libpq headers (to link diesel's PostgreSQL backend)",
        package: &["libpq-dev"],
        present: || Path::new("/usr/include/postgresql/libpq-fe.h").exists(),
    },
    Prerequisite {
        what: "OpenSSL headers and pkg-config (webauthn-rs links OpenSSL)",
        package: &["libssl-dev", "pkg-config"],
        present: || Path::new("/usr/include/openssl/ssl.h").exists() && on_path("pkg-config"),
    },
    Prerequisite {
        what: "a C compiler (bundled SQLite)",
        package: &["build-essential"],
        present: || on_path("cc"),
    },
    Prerequisite {
        what: "Node and npm (OpenID provider, browser driver, buf)",
        package: &["nodejs", "npm"],
        present: || on_path("node") && on_path("npm"),
    },
    Prerequisite {
        what: "Chromium (grpc-web tests)",
        package: &["chromium"],
        present: || chromium().exists(),
    },
];

fn missing_packages() -> Vec<&'static str> {
    let mut packages = Vec::new();
    for prerequisite in PREREQUISITES {
        if !(prerequisite.present)() {
            eprintln!("xtask: missing {}", prerequisite.what);
            packages.extend_from_slice(prerequisite.package);
        }
    }
    packages
}

fn chromium() -> PathBuf {
    env::var_os("TENANTRY_CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), Into::into)
}

fn on_path(name: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|path| env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

fn glob_initdb() -> Vec<PathBuf> {
    fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .filter_map(Result::ok)
                .map(|v| v.path().join("bin/initdb"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default()
}

/// `apt-get install`, through sudo when not root.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    if !on_path("apt-get") {
        return Err(format!(
            "these packages are missing and there is no apt-get to install them: {}",
            packages.join(" ")
        ));
    }
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut command = if as_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut command)
    };
    eprintln!("xtask: installing {}", packages.join(" "));
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q"];
    install.extend_from_slice(packages);
    apt(&install)
}

/// `npm ci` when the modules are missing or older than the lockfile. A copy
/// of the lockfile they were installed from sits beside them.
fn node_modules(dir: &Path) -> Result<(), String> {
    let lockfile = fs::read(dir.join("package-lock.json"))
        .map_err(|e| format!("cannot read {}/package-lock.json: {e}", dir.display()))?;
    let stamp = dir.join("node_modules/.installed-from-lockfile");
    if fs::read(&stamp).is_ok_and(|installed| installed == lockfile) {
        return Ok(());
    }
    eprintln!("xtask: npm ci in {}", dir.display());
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir))?;
    fs::write(&stamp, lockfile).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// The whole suite, both backends, nothing skipped: a test whose peer is
/// missing fails (see `tests/src/requires.rs`), and setup installed them all.
fn test(args: &[String]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo)
        .args(["test", "--workspace"])
        .args(args)
        .current_dir(root()))
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}
