//! `bench`: measures Tenantry against a bare tonic baseline in the same run,
//! on SQLite and on PostgreSQL, and rewrites BENCHMARKS.md and
//! BENCHMARKS.json.
//!
//! ```sh
//! cargo build --release -p tenantry-server -p tenantry-tests --bins && target/release/bench
//! ```
//!
//! `--quick` runs a smaller smoke version (no 1 GiB transfer, 10k files) and
//! writes nothing.

mod h2load;
mod load;
mod outside;
mod procs;
mod report;
mod scenarios;
mod services;

use std::path::PathBuf;

use report::{Report, Section};
use tenantry_tests::Backend;

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let started = std::time::Instant::now();
    assert!(
        h2load::available(),
        "the benchmark needs h2load: apt-get install nghttp2-client"
    );
    let baseline = procs::baseline().await;
    let mut report = Report::new(quick);
    // TENANTRY_BENCH_BACKENDS=sqlite or postgres runs one (profiling).
    let backends = std::env::var("TENANTRY_BENCH_BACKENDS").unwrap_or_default();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if !backends.is_empty() && !backends.contains(&format!("{backend:?}").to_lowercase()) {
            continue;
        }
        eprintln!("== {backend:?}");
        let data = tempfile::tempdir().expect("data dir");
        let database = (backend == Backend::Postgres).then(tenantry_tests::postgres::database);
        let url = database.as_ref().map(|d| d.url.clone());
        let server = procs::tenantry(data.path(), url.as_deref()).await;
        let mut section = Section::new(backend);
        scenarios::all(
            &mut section,
            &baseline,
            &server,
            data.path(),
            url.as_deref(),
            quick,
        )
        .await;
        report.sections.push(section);
        drop(server);
        drop(database);
    }
    report.seconds = started.elapsed().as_secs_f64();
    if quick {
        println!("{}", report.markdown());
    } else {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::write(root.join("BENCHMARKS.md"), report.markdown()).expect("write BENCHMARKS.md");
        std::fs::write(
            root.join("BENCHMARKS.json"),
            serde_json::to_string_pretty(&report.json()).unwrap(),
        )
        .expect("write BENCHMARKS.json");
        eprintln!(
            "wrote BENCHMARKS.md and BENCHMARKS.json in {:.0} s",
            report.seconds
        );
    }
}
