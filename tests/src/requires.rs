//! What a test needs from the machine. A missing peer fails the test with the
//! command that installs it: a test that did not run never reports "ok".
//! `cargo xtask test` installs all of them before it runs the suite.

use crate::{browser, oidc, postgres};

/// How to get everything at once.
const SET_UP: &str = "run `cargo xtask test`, which installs what is missing and runs every test";

/// Fails the calling test unless PostgreSQL can be had (the `initdb` binaries,
/// or `TENANTRY_TEST_DATABASE_URL`).
pub fn require_postgres() {
    assert!(
        postgres::available(),
        "NOT RUN: this test needs PostgreSQL and initdb was not found: \
         apt-get install -y postgresql (or set TENANTRY_TEST_DATABASE_URL), or {SET_UP}"
    );
}

/// Fails the calling test unless Node can run the OpenID provider.
pub fn require_node() {
    assert!(
        oidc::available(),
        "NOT RUN: this test needs Node for its OpenID provider and node was not found: \
         apt-get install -y nodejs npm, or {SET_UP}"
    );
}

/// Fails the calling test unless Node and Chromium can drive a real browser.
pub fn require_browser() {
    assert!(
        browser::available(),
        "NOT RUN: this test needs headless Chromium and it was not found at {}: \
         apt-get install -y chromium nodejs npm, or {SET_UP}",
        browser::chromium().display()
    );
}
