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
pub mod dns;
mod files;
pub mod mail;
mod mfa;
pub mod node;
pub mod oidc;
mod orgs;
pub mod passkeys;
pub mod postgres;
pub mod raw_http;
mod requires;
pub use tenantry_test_peers::s3;
mod services;
pub mod smtp;
mod sso;
pub mod tls;
mod user;

pub use app::{Backend, TestApp, TestAppBuilder};
pub use assertions::{assert_code, field_violations};
pub use files::{chunks, metadata as file_metadata, sha256_hex, upload_with};
pub use orgs::Team;
pub use requires::{require_browser, require_node, require_postgres};
pub use services::{
    KeyFile, TestService, assertion_claims, jwt_claims, new_service_account, sign_assertion,
};
pub use sso::{oidc_issuer, sso_config};
pub use user::{PASSWORD, TestUser};

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
                    $crate::require_postgres();
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}
