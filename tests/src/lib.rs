//! The test harness: real Tenantry servers in-process on loopback, real
//! databases (a throwaway PostgreSQL cluster), a clock the tests move.
//!
//! ```text
//! async fn signing_in(backend: Backend) {
//!     let app = TestApp::start(backend).await;
//!     let ann = app.user("ann").await;
//!     let me = ann.client.auth().get_me(GetMeRequest {}).await.unwrap();
//! }
//! on_both_backends!(signing_in);
//! ```

/// The benchmarks' baseline contract (a bare echo, sink and source).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod baseline {
    tonic::include_proto!("baseline.v1");
}

mod app;
mod assertions;
pub mod browser;
mod files;
pub mod mail;
mod node;
pub mod oidc;
mod orgs;
pub mod postgres;
mod s3;
mod sso;
mod user;

pub use app::{Backend, TestApp, TestAppBuilder};
pub use assertions::{assert_code, field_violations};
pub use files::{chunks, sha256_hex};
pub use orgs::Team;
pub use sso::{oidc_issuer, sso_config};
pub use user::{PASSWORD, TestUser};

/// Whether the PostgreSQL variant of a test can run. In a plain developer run
/// without PostgreSQL it prints a loud SKIPPED line; with
/// `TENANTRY_REQUIRE_ALL=1` (CI) a missing PostgreSQL fails the test.
pub fn postgres_or_skip(test: &str) -> bool {
    if postgres::available() || std::env::var("TENANTRY_REQUIRE_ALL").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("SKIPPED {test} on PostgreSQL: initdb not found (apt-get install -y postgresql)");
    false
}

/// Whether the SSO tests can run (Node for the OpenID provider); a loud
/// SKIPPED line in a plain developer run without it, a failure in CI.
pub fn oidc_or_skip(test: &str) -> bool {
    if oidc::available() || std::env::var("TENANTRY_REQUIRE_ALL").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("SKIPPED {test}: node not found (apt-get install -y nodejs npm)");
    false
}

/// Whether the grpc-web browser tests can run (Node and Chromium); a loud
/// SKIPPED line in a plain developer run without them, a failure in CI.
pub fn browser_or_skip(test: &str) -> bool {
    if browser::available() || std::env::var("TENANTRY_REQUIRE_ALL").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("SKIPPED {test}: no browser (apt-get install -y chromium nodejs npm)");
    false
}

/// Runs each named `async fn(Backend)` twice: `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if !$crate::postgres_or_skip(stringify!($name)) {
                        return;
                    }
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}
