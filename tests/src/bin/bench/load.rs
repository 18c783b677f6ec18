//! The load generator: `concurrency` workers call as fast as they can over a
//! few HTTP/2 connections for a fixed time, after a warm-up; latencies go to
//! an HDR histogram.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;

pub const WARMUP: Duration = Duration::from_secs(1);
pub const MEASURE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Stats {
    /// CPU seconds the server process used while the calls were counted.
    pub server_cpu: Option<f64>,
    pub calls: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
}

impl Stats {
    pub fn per_second(&self) -> f64 {
        self.calls as f64 / self.seconds
    }

    /// Calls per CPU second of the server.
    pub fn per_server_core(&self) -> Option<f64> {
        self.server_cpu
            .filter(|s| *s > 0.0)
            .map(|s| self.calls as f64 / s)
    }
}

/// Runs `call(worker)` from `concurrency` workers; only calls started after
/// the warm-up and finished before the end count.
pub async fn run<F, Fut>(concurrency: usize, call: F) -> Stats
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    run_on(None, concurrency, call).await
}

/// CPU seconds `pid` has used so far (user + system, from /proc).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after ')'.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 12 and 13 here.
    (ticks(11) + ticks(12)) / 100.0
}

/// As [`run`], also measuring the CPU time of the server process `pid`.
pub async fn run_on<F, Fut>(pid: Option<u32>, concurrency: usize, call: F) -> Stats
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + WARMUP;
    let measure_to = measure_from + MEASURE;
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (call, stop, errors) = (call.clone(), stop.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            while !stop.load(Ordering::Relaxed) {
                let began = Instant::now();
                let result = call(worker).await;
                let ended = Instant::now();
                if began >= measure_from && ended <= measure_to {
                    match result {
                        Ok(()) => histogram.saturating_record((ended - began).as_micros() as u64),
                        Err(status) => {
                            if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("  first error: {status:?}");
                            }
                        }
                    }
                }
            }
            histogram
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_from = pid.map(cpu_seconds);
    tokio::time::sleep_until(measure_to.into()).await;
    let server_cpu = pid.zip(cpu_from).map(|(pid, from)| cpu_seconds(pid) - from);
    stop.store(true, Ordering::Relaxed);
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    for worker in workers {
        total.add(worker.await.expect("worker")).expect("merge");
    }
    let ms = |q: f64| total.value_at_quantile(q) as f64 / 1000.0;
    Stats {
        server_cpu,
        calls: total.len(),
        errors: errors.load(Ordering::Relaxed),
        seconds: MEASURE.as_secs_f64(),
        p50_ms: ms(0.5),
        p90_ms: ms(0.9),
        p99_ms: ms(0.99),
    }
}
