//! `tenantry` in a terminal against a real server: what a person and a
//! script see, and the exit code of each class of failure.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tenantry_tests::{Backend, PASSWORD, TestApp, on_both_backends};

/// One run of the CLI.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn tenantry(server: &str, profile: &Path, args: &[&str]) -> Run {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args(["--server", server, "--profile"])
        .arg(profile)
        .args(args)
        .env("TENANTRY_PASSWORD", PASSWORD)
        .env_remove("TENANTRY_SERVER")
        .env_remove("TENANTRY_PROFILE")
        .output()
        .await
        .expect("run tenantry");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

struct Terminal {
    server: String,
    profile: PathBuf,
    dir: tempfile::TempDir,
}

impl Terminal {
    fn new(app: &TestApp) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            server: app.url(),
            profile: dir.path().join("profile.json"),
            dir,
        }
    }

    async fn run(&self, args: &[&str]) -> Run {
        tenantry(&self.server, &self.profile, args).await
    }

    /// Runs and expects success.
    async fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args).await;
        assert_eq!(run.code, 0, "tenantry {args:?}: {}", run.stderr);
        run.stdout
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

async fn a_person_signs_in_uploads_lists_and_downloads(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let term = Terminal::new(&app);

    let anonymous = term.run(&["me"]).await;
    assert_eq!(anonymous.code, 4, "not signed in: {}", anonymous.stderr);
    assert!(
        anonymous.stderr.contains("not signed in"),
        "{}",
        anonymous.stderr
    );

    term.ok(&["login", "--email", &team.member.email]).await;
    assert!(term.ok(&["me"]).await.contains(&team.member.email));

    let data: Vec<u8> = (0..1_500_000_u32).map(|i| (i % 251) as u8).collect();
    let source = term.path("data.bin");
    std::fs::write(&source, &data).unwrap();
    let uploaded = term.ok(&["files", "upload", &source]).await;
    assert!(uploaded.contains("1.4 MiB"), "sizes for people: {uploaded}");

    let json = term.ok(&["files", "list", "--output", "json"]).await;
    let files: Value = serde_json::from_str(&json).expect("JSON for scripts");
    let file = &files.as_array().expect("an array")[0];
    assert_eq!(file["name"], "data.bin");
    assert_eq!(file["size_bytes"], data.len());
    let id = file["id"].as_str().unwrap().to_owned();

    let table = term.ok(&["files", "list"]).await;
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("ID") && header.contains("SIZE"),
        "{table}"
    );
    assert!(
        table.contains("1.4 MiB") && table.contains("data.bin"),
        "{table}"
    );

    let target = term.path("copy.bin");
    term.ok(&["files", "download", &id, "--out", &target]).await;
    assert_eq!(std::fs::read(&target).unwrap(), data);

    // The access token ran out: the SDK refreshes and keeps the rotation.
    let mut profile: Value =
        serde_json::from_slice(&std::fs::read(&term.profile).unwrap()).unwrap();
    let spent = profile["refresh_token"].clone();
    profile["access_expires"] = 0.into();
    std::fs::write(&term.profile, profile.to_string()).unwrap();
    term.ok(&["me"]).await;
    let profile: Value = serde_json::from_slice(&std::fs::read(&term.profile).unwrap()).unwrap();
    assert_ne!(profile["refresh_token"], spent, "rotated and kept");
}

async fn each_class_of_failure_has_its_exit_code(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let term = Terminal::new(&app);
    term.ok(&["login", "--email", &team.viewer.email]).await;

    let missing = ["files", "download", "0190f5e0-0000-7000-8000-000000000000"];
    let run = term
        .run(&[&missing[..], &["--out", &term.path("x")]].concat())
        .await;
    assert_eq!(run.code, 5, "not found: {}", run.stderr);

    let run = term.run(&["org", "invite", "ann@example.com"]).await;
    assert_eq!(run.code, 4, "a viewer may not invite: {}", run.stderr);

    let run = term
        .run(&["org", "create", "--name", "X", "--slug", "NOT A SLUG"])
        .await;
    assert_eq!(run.code, 3, "invalid input: {}", run.stderr);
    assert!(
        run.stderr.contains("slug"),
        "the field is named: {}",
        run.stderr
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = tenantry(
        &nowhere,
        &term.profile,
        &["login", "--email", "a@example.com"],
    )
    .await;
    assert_eq!(run.code, 6, "unavailable: {}", run.stderr);

    let run = term.run(&["files", "frobnicate"]).await;
    assert_eq!(run.code, 2, "usage: {}", run.stderr);
}

/// A second factor from the terminal: enrolled with the code an app makes
/// from the printed URI, then needed at sign-in; and a forgotten password.
async fn a_second_factor_and_a_password_reset(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.user("ann").await;
    let term = Terminal::new(&app);
    term.ok(&["login", "--email", "ann@example.com"]).await;
    let enrolled = term.ok(&["mfa", "enroll"]).await;
    let uri = enrolled
        .lines()
        .find_map(|l| l.strip_prefix("uri     "))
        .expect("the otpauth URI");
    let authenticator = totp_rs::Totp::from_url(uri).unwrap();
    let code = |app: &TestApp| {
        let now = u64::try_from(app.now().timestamp()).unwrap();
        authenticator.generate(now).to_string()
    };
    let confirmed = term.ok(&["mfa", "confirm", &code(&app)]).await;
    assert_eq!(
        confirmed.lines().filter(|l| l.starts_with("  ")).count(),
        10
    );
    assert!(term.ok(&["mfa", "status"]).await.contains("enrolled"));

    let run = term.run(&["login", "--email", "ann@example.com"]).await;
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("--code"), "{}", run.stderr);
    app.advance(chrono::Duration::seconds(30));
    let signed_in = term
        .ok(&["login", "--email", "ann@example.com", "--code", &code(&app)])
        .await;
    assert!(
        signed_in.contains("signed in as ann@example.com"),
        "{signed_in}"
    );

    term.ok(&["forgot-password", "--email", "ann@example.com"])
        .await;
    let token = app.mailed("ann@example.com", "Reset token").unwrap();
    let reset = term.ok(&["reset-password", &token]).await;
    assert!(reset.contains("session(s) ended"), "{reset}");
    let run = term.run(&["me"]).await;
    assert_eq!(run.code, 4, "the session ended: {}", run.stderr);
}

on_both_backends!(
    a_second_factor_and_a_password_reset,
    a_person_signs_in_uploads_lists_and_downloads,
    each_class_of_failure_has_its_exit_code,
);
