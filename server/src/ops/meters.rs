//! The server's metrics, each in one place: what is counted, under which
//! name and labels. Every server has its own Prometheus recorder (not the
//! process-global one), so that servers sharing a process (the tests) keep
//! their counts apart; the admin listener renders it.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder as _, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::error::{ApiError, ApiResult};

/// Call latency buckets, in seconds: 1 ms to 30 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

const CALLS: &str = "tenantry_calls_total";
const CALL_SECONDS: &str = "tenantry_call_duration_seconds";
const IN_FLIGHT: &str = "tenantry_calls_in_flight";
const REFUSED: &str = "tenantry_refused_total";
const SIGN_INS: &str = "tenantry_sign_ins_total";
const SESSION_CACHE: &str = "tenantry_session_cache_lookups_total";
const JOB_FAILURES: &str = "tenantry_job_failures_total";
const JOBS_DONE: &str = "tenantry_jobs_done_total";
const RECEIVED: &str = "tenantry_received_bytes_total";
const SENT: &str = "tenantry_sent_bytes_total";
const DB_WAIT: &str = "tenantry_db_wait_seconds";

#[derive(Clone)]
pub struct Meters {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    /// Handles on every call's path, registered once: registering builds
    /// a key and takes the registry's lock.
    hot: Arc<Hot>,
}

#[derive(Default)]
struct Hot {
    in_flight: std::sync::OnceLock<Gauge>,
    calls: RwLock<HashMap<(&'static str, &'static str), Counter>>,
    latency: RwLock<HashMap<&'static str, Histogram>>,
    bytes: RwLock<HashMap<(&'static str, &'static str), Counter>>,
}

impl std::fmt::Debug for Meters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Meters")
    }
}

impl Default for Meters {
    fn default() -> Self {
        Self::new()
    }
}

impl Meters {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(CALL_SECONDS.into()),
                LATENCY_BUCKETS,
            )
            .expect("the latency buckets are not empty")
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(DB_WAIT.into()),
                LATENCY_BUCKETS,
            )
            .expect("the latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let meters = Self {
            recorder: Arc::new(recorder),
            handle,
            hot: Arc::default(),
        };
        meters.describe();
        meters
    }

    fn describe(&self) {
        let r = &self.recorder;
        let text = |s: &'static str| s.into();
        r.describe_counter(
            CALLS.into(),
            None,
            text("gRPC and grpc-web calls answered, by method and status code"),
        );
        r.describe_histogram(
            CALL_SECONDS.into(),
            Some(Unit::Seconds),
            text("time to the whole answer, by method"),
        );
        r.describe_gauge(IN_FLIGHT.into(), None, text("calls being answered now"));
        r.describe_counter(
            REFUSED.into(),
            None,
            text(
                "calls refused to protect the server: rate limits, load shedding, sign-in lockout",
            ),
        );
        r.describe_counter(
            SIGN_INS.into(),
            None,
            text("sign-in steps by method (password, mfa, passkey, sso) and outcome"),
        );
        r.describe_counter(
            JOB_FAILURES.into(),
            None,
            text("background jobs that failed and will be retried, by kind"),
        );
        r.describe_counter(
            JOBS_DONE.into(),
            None,
            text("background jobs this instance finished (and removed from the queue), by kind"),
        );
        r.describe_counter(
            RECEIVED.into(),
            Some(Unit::Bytes),
            text("bytes of gRPC and grpc-web request bodies received, by method"),
        );
        r.describe_counter(
            SENT.into(),
            Some(Unit::Bytes),
            text("bytes of gRPC and grpc-web response bodies sent, by method"),
        );
        r.describe_histogram(
            DB_WAIT.into(),
            Some(Unit::Seconds),
            text("time a query waited for a database worker and its connection"),
        );
        r.describe_counter(
            SESSION_CACHE.into(),
            None,
            text("session liveness lookups answered from the cache (hit) or the database (miss)"),
        );
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &metadata())
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.recorder
            .register_gauge(&Key::from_parts(name, labels), &metadata())
    }

    fn histogram(&self, name: &'static str, labels: Vec<Label>) -> Histogram {
        self.recorder
            .register_histogram(&Key::from_parts(name, labels), &metadata())
    }

    fn in_flight(&self) -> &Gauge {
        self.hot
            .in_flight
            .get_or_init(|| self.gauge(IN_FLIGHT, vec![]))
    }

    /// A call began; its place in the in-flight gauge.
    pub fn call_started(&self) {
        self.in_flight().increment(1.0);
    }

    /// A call's answer was sent (or abandoned): `method` is the full gRPC
    /// path of a method we serve (anything else is counted as `unknown`),
    /// `code` the status name.
    pub fn call_finished(&self, method: &'static str, code: &'static str, seconds: f64) {
        self.in_flight().decrement(1.0);
        once(&self.hot.calls, (method, code), || {
            let labels = vec![Label::new("method", method), Label::new("code", code)];
            self.counter(CALLS, labels)
        })
        .increment(1);
        once(&self.hot.latency, method, || {
            self.histogram(CALL_SECONDS, vec![Label::new("method", method)])
        })
        .record(seconds);
    }

    /// A call refused to protect the server: `rate_limit_ip`,
    /// `rate_limit_user`, `rate_limit_http`, `load_shed`, `lockout`.
    pub fn refused(&self, reason: &'static str) {
        self.counter(REFUSED, vec![Label::new("reason", reason)])
            .increment(1);
    }

    /// A sign-in step ended: `method` is `password`, `mfa`, `passkey` or
    /// `sso`; the outcome is `success`, `pending` when another step follows
    /// (`mfa_required`, `link_pending`), or the error's kind: `failure`
    /// (wrong credentials, a provider answer that did not verify), `locked`
    /// (also counted as a `lockout` refusal), `refused` (the rules said no),
    /// `invalid` (bad input) or `error`.
    pub fn sign_in<T>(
        &self,
        method: &'static str,
        answer: &ApiResult<T>,
        pending: Option<&'static str>,
    ) {
        let outcome = match answer {
            Ok(_) => pending.unwrap_or("success"),
            Err(ApiError::ResourceExhausted { .. }) => {
                self.refused("lockout");
                "locked"
            }
            Err(ApiError::Unauthenticated(_) | ApiError::Unavailable(_)) => "failure",
            Err(ApiError::PermissionDenied(_) | ApiError::FailedPrecondition { .. }) => "refused",
            Err(ApiError::InvalidArgument(_)) => "invalid",
            Err(_) => "error",
        };
        let labels = vec![Label::new("method", method), Label::new("outcome", outcome)];
        self.counter(SIGN_INS, labels).increment(1);
    }

    /// A service account's token exchange, counted with sign-ins under its
    /// grant (`client_credentials`, `jwt_bearer`).
    pub fn exchange(&self, grant: &'static str, outcome: &'static str) {
        if outcome == "locked" {
            self.refused("lockout");
        }
        let labels = vec![Label::new("method", grant), Label::new("outcome", outcome)];
        self.counter(SIGN_INS, labels).increment(1);
    }

    /// The counters of session liveness lookups answered from the cache
    /// (hits) and from the database (misses), registered once: they are
    /// on every authenticated call's path.
    pub fn session_cache(&self) -> (Counter, Counter) {
        let result = |r: &'static str| self.counter(SESSION_CACHE, vec![Label::new("result", r)]);
        (result("hit"), result("miss"))
    }

    /// This instance finished a background job.
    pub fn job_done(&self, kind: &'static str) {
        self.counter(JOBS_DONE, vec![Label::new("kind", kind)])
            .increment(1);
    }

    /// A background job failed (it will be retried).
    pub fn job_failed(&self, kind: &'static str) {
        self.counter(JOB_FAILURES, vec![Label::new("kind", kind)])
            .increment(1);
    }

    /// The counters of bytes received and sent for `method` (a served
    /// method's path, or `unknown`).
    pub fn bytes(&self, method: &'static str) -> (Counter, Counter) {
        let of = |name: &'static str| {
            once(&self.hot.bytes, (method, name), || {
                self.counter(name, vec![Label::new("method", method)])
            })
        };
        (of(RECEIVED), of(SENT))
    }

    /// The histogram of queries' waits for a database worker.
    pub fn db_wait(&self) -> Histogram {
        self.histogram(DB_WAIT, vec![])
    }

    /// Sets a gauge read at scrape time (pool, queues).
    pub fn set(&self, name: &'static str, value: f64) {
        self.gauge(name, vec![]).set(value);
    }
}

/// The handle under `key`, registered by `register` the first time.
fn once<K, H>(map: &RwLock<HashMap<K, H>>, key: K, register: impl FnOnce() -> H) -> H
where
    K: std::hash::Hash + Eq,
    H: Clone,
{
    if let Some(handle) = map.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return handle.clone();
    }
    let mut map = map.write().unwrap_or_else(|p| p.into_inner());
    map.entry(key).or_insert_with(register).clone()
}

fn metadata() -> Metadata<'static> {
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_as_prometheus_text() {
        let meters = Meters::new();
        let get_me = "/tenantry.auth.v1.AuthService/GetMe";
        meters.call_started();
        meters.call_finished(get_me, "OK", 0.003);
        meters.refused("load_shed");
        let text = meters.render();
        assert!(
            text.contains(
                "tenantry_calls_total{method=\"/tenantry.auth.v1.AuthService/GetMe\",code=\"OK\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("tenantry_call_duration_seconds_bucket{method=\"/tenantry.auth.v1.AuthService/GetMe\",le=\"0.005\"} 1"), "{text}");
        assert!(
            text.contains("tenantry_refused_total{reason=\"load_shed\"} 1"),
            "{text}"
        );
        assert!(text.contains("tenantry_calls_in_flight 0"), "{text}");
        assert!(text.contains("# HELP tenantry_calls_total"), "{text}");
        let other = Meters::new().render();
        assert!(
            !other.contains("tenantry_calls_total{"),
            "servers keep their counts apart: {other}"
        );
    }
}
