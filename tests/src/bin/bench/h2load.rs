//! h2load (nghttp2, Debian's `nghttp2-client`) as a second load generator
//! for unary calls, so that no ratio rests on our own client alone: one
//! connection per in-flight call, the request frame encoded once up front.
//!
//! h2load knows HTTP, not gRPC: a call that failed still answers HTTP 200
//! with its status in the trailers and no message. So each run also checks
//! that every counted response carried a message (its data bytes), and
//! counts the calls that did not as errors.

use std::{path::Path, process::Command};

use hdrhistogram::Histogram;

/// What one h2load run measured.
#[derive(Debug, Clone)]
pub struct H2Stats {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests that failed, answered a non-2xx status, or carried no
    /// message.
    pub errors: u64,
}

/// A unary call as h2load sends it.
#[derive(Clone)]
pub struct Call<'a> {
    /// `host:port`.
    pub addr: &'a str,
    pub tls: bool,
    /// `/package.Service/Method`.
    pub path: &'a str,
    pub message: Vec<u8>,
    /// Extra headers (`authorization`).
    pub headers: Vec<(String, String)>,
}

/// Whether h2load is installed (`apt-get install nghttp2-client`).
pub fn available() -> bool {
    Command::new("h2load")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The request body: a gRPC length-prefixed message (RFC-like framing of
/// the gRPC HTTP/2 protocol: no compression flag, big-endian length).
fn frame(message: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    body.extend_from_slice(message);
    body
}

/// Runs `call` from `concurrency` connections (one call in flight each) for
/// `seconds` after a one-second warm-up.
pub fn run(call: &Call<'_>, concurrency: usize, seconds: u64) -> H2Stats {
    let dir = tempfile::tempdir().expect("temp dir");
    let body = dir.path().join("request.bin");
    std::fs::write(&body, frame(&call.message)).expect("write the request frame");
    let log = dir.path().join("requests.tsv");
    let scheme = if call.tls { "https" } else { "http" };
    let mut command = Command::new("h2load");
    command
        .args(["-c", &concurrency.to_string(), "-m", "1", "-t", "1"])
        .args(["--warm-up-time", "1", "-D", &seconds.to_string()])
        .arg("-d")
        .arg(&body)
        .arg("--log-file")
        .arg(&log)
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"]);
    for (name, value) in &call.headers {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    command.arg(format!("{scheme}://{}{}", call.addr, call.path));
    let output = command.output().expect("run h2load");
    let summary = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "h2load failed: {summary}");
    parse(&summary, &log)
}

fn parse(summary: &str, log: &Path) -> H2Stats {
    let per_second = field(summary, "finished in", " req/s").expect("req/s");
    let failed = ["failed", "errored", "timeout"]
        .iter()
        .map(|what| field(summary, "requests:", &format!(" {what}")).unwrap_or(0.0) as u64)
        .sum::<u64>();
    let two_xx = field(summary, "status codes:", " 2xx").unwrap_or(0.0) as u64;
    // "traffic: 5.29MB (5546345) total, … 2.67MB (2800000) data": exact bytes.
    let data = summary
        .lines()
        .find(|l| l.starts_with("traffic:"))
        .and_then(|l| l.rsplit_once(") data"))
        .and_then(|(before, _)| before.rsplit_once('('))
        .and_then(|(_, n)| n.parse::<u64>().ok())
        .unwrap_or(0);
    // A message is at least its 5-byte prefix; a trailers-only error has none.
    let with_message = (data / 5).min(two_xx);
    let errors = failed + two_xx.saturating_sub(with_message);
    let (p50_ms, p99_ms) = percentiles(log);
    H2Stats {
        per_second,
        p50_ms,
        p99_ms,
        errors,
    }
}

/// The number just before `until` on the line starting with `line`
/// (h2load writes "requests: 9 total, 9 started, 9 done, 9 succeeded, 0 failed, …").
fn field(summary: &str, line: &str, until: &str) -> Option<f64> {
    let text = summary.lines().find(|l| l.trim_start().starts_with(line))?;
    let before = text.trim_start().strip_prefix(line)?.split_once(until)?.0;
    let number = before.rsplit_once(", ").map_or(before, |(_, n)| n);
    number.trim().parse().ok()
}

/// p50 and p99 of the per-request log (start µs, status, duration µs).
fn percentiles(log: &Path) -> (f64, f64) {
    let mut histogram = Histogram::<u64>::new(3).expect("histogram");
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        let mut columns = line.split('\t');
        let (Some(_), Some(status), Some(micros)) =
            (columns.next(), columns.next(), columns.next())
        else {
            continue;
        };
        if status == "200"
            && let Ok(micros) = micros.parse::<u64>()
        {
            let _ = histogram.record(micros);
        }
    }
    (
        histogram.value_at_quantile(0.50) as f64 / 1000.0,
        histogram.value_at_quantile(0.99) as f64 / 1000.0,
    )
}

/// Runs each call in turn, `rounds` times over (so drift of the machine
/// falls on all alike), and averages the rounds: calls/s and p50 as the
/// mean, p99 as the worst round, errors summed.
pub fn interleaved(calls: &[Call<'_>], concurrency: usize, rounds: usize) -> Vec<H2Stats> {
    let mut runs: Vec<Vec<H2Stats>> = calls.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (call, runs) in calls.iter().zip(&mut runs) {
            runs.push(run(call, concurrency, SECONDS));
        }
    }
    runs.into_iter()
        .map(|runs| {
            let n = runs.len() as f64;
            H2Stats {
                per_second: runs.iter().map(|r| r.per_second).sum::<f64>() / n,
                p50_ms: runs.iter().map(|r| r.p50_ms).sum::<f64>() / n,
                p99_ms: runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
                errors: runs.iter().map(|r| r.errors).sum(),
            }
        })
        .collect()
}

/// Seconds measured per run (after a one-second warm-up).
const SECONDS: u64 = 5;

/// `authorization: Bearer <token>`.
pub fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("authorization".into(), format!("Bearer {token}"))]
}
