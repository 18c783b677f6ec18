//! Project tasks, run as `cargo xtask <task>` (the alias is in
//! `.cargo/config.toml`). Standard library only, so it builds in seconds.
//!
//! - `cargo xtask test [ARGS…]`: installs what the suite needs and is missing
//!   on this machine, checks the web client (`client/web`: generated code up
//!   to date, `tsc` strict, its unit tests), then runs
//!   `cargo test --workspace [ARGS…]`. On a prepared machine it installs
//!   nothing.
//! - `cargo xtask setup`: only the installing part.
//! - `cargo xtask fuzz [SECONDS]`: runs every `cargo fuzz` target of `fuzz/`
//!   for SECONDS (60) each, from the committed seeds; fails on any crash.
//!   Installs the nightly toolchain and cargo-fuzz when missing.
//! - `cargo xtask fuzz-seeds`: rewrites `fuzz/seeds/` (tokens signed with
//!   the fuzzing key, well-formed inputs).

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

const USAGE: &str = "usage: cargo xtask test [ARGS passed to cargo test]
       cargo xtask setup
       cargo xtask fuzz [SECONDS per target, default 60]
       cargo xtask fuzz-seeds";

fn main() -> ExitCode {
    let mut args = env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    let result = match task.as_deref() {
        Some("setup") => setup(),
        Some("test") => setup()
            .and_then(|()| web_checks())
            .and_then(|()| test(&rest)),
        Some("fuzz") => fuzz(rest.first().map_or("60", String::as_str)),
        Some("fuzz-seeds") => fuzz_seeds(),
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

/// How the targets are built: the dev profile with coverage and debug
/// assertions, no AddressSanitizer. The fuzzed code is safe Rust (a bad
/// index or overflow panics, which libFuzzer reports), and a release build
/// of the server and its dependencies with ASan takes four times as long.
const FUZZ_BUILD: [&str; 3] = ["--dev", "--sanitizer", "none"];

/// Every fuzz target for `seconds`, each from its committed seeds
/// (`fuzz/seeds/<target>`) plus what earlier runs found (`fuzz/corpus`).
fn fuzz(seconds: &str) -> Result<(), String> {
    seconds
        .parse::<u32>()
        .map_err(|_| format!("{seconds} is not a number of seconds\n{USAGE}"))?;
    nightly_with_cargo_fuzz()?;
    let dir = root().join("fuzz");
    run(nightly()
        .args(["fuzz", "build"])
        .args(FUZZ_BUILD)
        .current_dir(&dir))?;
    let listed = nightly()
        .args(["fuzz", "list"])
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("cargo fuzz list: {e}"))?;
    let targets = String::from_utf8_lossy(&listed.stdout).into_owned();
    for target in targets.lines() {
        eprintln!("xtask: fuzzing {target} for {seconds} s");
        let corpus = dir.join("corpus").join(target);
        fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        run(nightly()
            .args(["fuzz", "run"])
            .args(FUZZ_BUILD)
            .arg(target)
            .arg(format!("corpus/{target}"))
            .arg(format!("seeds/{target}"))
            .args(["--", &format!("-max_total_time={seconds}")])
            .current_dir(&dir))?;
    }
    Ok(())
}

/// The seeds example, built with the targets' coverage flags (so it reuses
/// their build) and run from `fuzz/`.
fn fuzz_seeds() -> Result<(), String> {
    nightly_with_cargo_fuzz()?;
    let flags = [
        "-Cpasses=sancov-module",
        "-Cllvm-args=-sanitizer-coverage-level=4",
        "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
        "-Cllvm-args=-sanitizer-coverage-pc-table",
        "-Cllvm-args=-sanitizer-coverage-trace-compares",
        "--cfg fuzzing",
        "-Cllvm-args=-simplifycfg-branch-fold-threshold=0",
        "-Cllvm-args=-sanitizer-coverage-stack-depth",
        "-Cdebug-assertions",
        "-Ccodegen-units=1",
    ];
    run(nightly()
        .args([
            "run",
            "--example",
            "seeds",
            "--target",
            "x86_64-unknown-linux-gnu",
        ])
        .env("RUSTFLAGS", flags.join(" "))
        .current_dir(root().join("fuzz")))
}

/// `cargo +nightly`, clear of the variables the stable `cargo xtask` set.
fn nightly() -> Command {
    let mut command = Command::new("cargo");
    command.arg("+nightly");
    for var in [
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "CARGO_MANIFEST_DIR",
    ] {
        command.env_remove(var);
    }
    command
}

fn nightly_with_cargo_fuzz() -> Result<(), String> {
    let toolchains = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map_err(|e| format!("rustup: {e}"))?;
    if !String::from_utf8_lossy(&toolchains.stdout).contains("nightly") {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let has_fuzz = nightly()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_fuzz {
        run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
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
