//! The harness itself: a test whose peer is missing must not report "ok".
//! This runs one real browser test again in a child process of this test
//! binary, with Chromium hidden, and reads the runner's own summary.

use std::process::Command;

const BROWSER_TEST: &str =
    "browser::grpc_web::sqlite::a_web_app_signs_up_signs_in_and_reads_the_profile";

#[test]
fn a_test_whose_browser_is_missing_fails_with_the_install_command() {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", BROWSER_TEST, "--test-threads", "1"])
        .env("TENANTRY_CHROMIUM", "/nonexistent/chromium")
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "reported as passed:\n{stdout}");
    assert!(
        stdout.contains("test result: FAILED. 0 passed; 1 failed"),
        "the runner's summary counts it as failed:\n{stdout}"
    );
    assert!(
        stdout.contains("NOT RUN") && stdout.contains("apt-get install -y chromium"),
        "the failure says how to install what is missing:\n{stdout}"
    );
}
