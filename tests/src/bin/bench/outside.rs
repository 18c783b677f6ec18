//! The unary scenarios again, measured by h2load instead of our own client:
//! echo, GetMe and GetFile at concurrency 64 (one connection per call in
//! flight), a personal access token against a JWT, TLS against plaintext.

use prost::Message as _;
use tenantry_client::{auth::v1::GetMeRequest, file::v1::GetFileRequest};
use tenantry_tests::baseline::EchoRequest;

use crate::{
    h2load::{self, Call, H2Stats},
    procs::Process,
    report::{Row, Section},
    scenarios::row,
};

const CONCURRENCY: usize = 64;
const ROUNDS: usize = 2;
const GET_ME: &str = "/tenantry.auth.v1.AuthService/GetMe";

fn note(stats: &H2Stats, also: &str) -> String {
    format!(
        "h2load, {CONCURRENCY} connections × 1 call, {ROUNDS} rounds; p50 {:.2} ms, p99 {:.2} ms, errors {}{also}",
        stats.p50_ms, stats.p99_ms, stats.errors
    )
}

/// Echo, GetMe and GetFile, each a ratio to echo, with the p99 target.
pub fn reads(section: &mut Section, baseline: &Process, server: &Process, token: &str, file: &str) {
    let echo = Call {
        addr: &baseline.addr,
        tls: false,
        path: "/baseline.v1.BaselineService/Echo",
        message: EchoRequest {
            text: "hello".into(),
        }
        .encode_to_vec(),
        headers: Vec::new(),
    };
    let me = Call {
        addr: &server.addr,
        tls: false,
        path: GET_ME,
        message: GetMeRequest {}.encode_to_vec(),
        headers: h2load::bearer(token),
    };
    let get_file = Call {
        path: "/tenantry.file.v1.FileService/GetFile",
        message: GetFileRequest {
            file_id: file.to_owned(),
        }
        .encode_to_vec(),
        ..me.clone()
    };
    let stats = h2load::interleaved(&[echo, me, get_file], CONCURRENCY, ROUNDS);
    let [echo, me, get_file] = <[H2Stats; 3]>::try_from(stats).expect("three runs");
    section.add(Row {
        note: note(&echo, ""),
        ..row(
            format!("h2load: baseline echo, concurrency {CONCURRENCY}"),
            echo.per_second,
            "calls/s",
        )
    });
    for (name, stats) in [("GetMe", &me), ("GetFile", &get_file)] {
        let met = stats.per_second >= 0.5 * echo.per_second && stats.p99_ms < 5.0;
        section.add(Row {
            baseline: Some(echo.per_second),
            target: Some("≥ 0.50×, p99 < 5 ms".into()),
            met: Some(met && stats.errors == 0),
            note: note(stats, ""),
            ..row(
                format!("h2load: {name} throughput, concurrency {CONCURRENCY}"),
                stats.per_second,
                "calls/s",
            )
        });
    }
}

/// GetMe with a personal access token (`pat`) against GetMe with a JWT.
pub fn personal_token(section: &mut Section, server: &Process, pat: &str, jwt: &str) {
    let call = |token: &str| Call {
        addr: &server.addr,
        tls: false,
        path: GET_ME,
        message: GetMeRequest {}.encode_to_vec(),
        headers: h2load::bearer(token),
    };
    let stats = h2load::interleaved(&[call(jwt), call(pat)], CONCURRENCY, ROUNDS);
    let (by_jwt, by_pat) = (&stats[0], &stats[1]);
    section.add(Row {
        baseline: Some(by_jwt.per_second),
        target: Some("≥ 0.90×".into()),
        met: Some(by_pat.per_second >= 0.9 * by_jwt.per_second && by_pat.errors == 0),
        note: note(
            by_pat,
            &format!("; baseline: GetMe with a JWT, p99 {:.2} ms", by_jwt.p99_ms),
        ),
        ..row(
            format!("h2load: GetMe with a personal access token, concurrency {CONCURRENCY}"),
            by_pat.per_second,
            "calls/s",
        )
    });
}

/// GetMe over TLS (a twin instance with a certificate) against plaintext.
pub fn tls(section: &mut Section, plain: &Process, secure: &Process, token: &str) {
    let call = |addr, tls| Call {
        addr,
        tls,
        path: GET_ME,
        message: GetMeRequest {}.encode_to_vec(),
        headers: h2load::bearer(token),
    };
    let stats = h2load::interleaved(
        &[call(&plain.addr, false), call(&secure.addr, true)],
        CONCURRENCY,
        ROUNDS,
    );
    let (plain, over_tls) = (&stats[0], &stats[1]);
    section.add(Row {
        baseline: Some(plain.per_second),
        note: note(
            over_tls,
            &format!(
                "; new connections are not measured (h2load connects during its warm-up); baseline: plaintext, p99 {:.2} ms",
                plain.p99_ms
            ),
        ),
        ..row(
            format!("h2load: GetMe over TLS, concurrency {CONCURRENCY}"),
            over_tls.per_second,
            "calls/s",
        )
    });
}
