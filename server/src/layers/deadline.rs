//! Deadlines. A call ends with DEADLINE_EXCEEDED when the caller's
//! `grpc-timeout` runs out, and a call that sends one request message
//! (unary, or a download until it starts) after `--request-timeout` at the
//! latest. Uploads stream for as long as they take: their bound is the
//! caller's deadline and the upload idle timeout.
//!
//! The handler's future is dropped at the deadline, so nothing half-done is
//! committed: a transaction not yet committed rolls back, and an upload's
//! partial bytes are thrown away (see `files::ingest`).
//!
//! A stopping server is every call's last deadline: when its shutdown grace
//! ends, the calls still running end with UNAVAILABLE.
//!
//! The answer leaves [`MARGIN`] before the caller's own deadline, so it
//! arrives before the caller gives up (and before tonic's own timer, which
//! would answer CANCELLED, the wrong code).

use std::{
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use http::{HeaderMap, Request, Response};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::framing::single_message;
use crate::state::AppState;

/// How much earlier than the caller's deadline the server answers.
pub const MARGIN: Duration = Duration::from_millis(5);

#[derive(Clone)]
pub struct DeadlineLayer {
    request_timeout: Duration,
    state: Option<AppState>,
}

impl DeadlineLayer {
    /// Deadlines of callers and `request_timeout`; with `state`, also the
    /// end of its shutdown grace.
    pub fn new(request_timeout: Duration, state: Option<AppState>) -> Self {
        Self {
            request_timeout,
            state,
        }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline {
            inner,
            request_timeout: self.request_timeout,
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Deadline<S> {
    inner: S,
    request_timeout: Duration,
    state: Option<AppState>,
}

impl<S, B> Service<Request<B>> for Deadline<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let limit = limit(
            request.headers(),
            single_message(request.uri().path()),
            self.request_timeout,
        );
        let answer = self.inner.call(request);
        let cut_off = self.state.as_ref().map(|s| s.readiness.calls_cut_off());
        Box::pin(async move {
            let expired = async {
                match &limit {
                    Some(limit) => tokio::time::sleep(limit.after).await,
                    None => std::future::pending().await,
                }
            };
            let stopped = async {
                match cut_off {
                    Some(cut_off) => cut_off.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                answer = answer => answer,
                () = expired => Ok(super::refuse(Status::deadline_exceeded(
                    limit.map(|l| l.message()).unwrap_or_default(),
                ))),
                () = stopped => Ok(super::refuse(Status::unavailable(
                    "the server stopped before this call finished: retry (nothing of it was kept)",
                ))),
            }
        })
    }
}

/// When a call must be answered, and whose limit that is.
#[derive(Debug, PartialEq, Eq)]
struct Limit {
    after: Duration,
    callers: bool,
}

impl Limit {
    fn message(&self) -> String {
        if self.callers {
            "the call's deadline (grpc-timeout) passed before it finished".into()
        } else {
            format!(
                "the call took longer than the server allows ({} s); nothing of it was kept",
                self.after.as_secs_f64()
            )
        }
    }
}

/// The shorter of the caller's deadline (less [`MARGIN`]) and, for a call
/// of one request message, the server's request timeout.
fn limit(headers: &HeaderMap, one_message: bool, request_timeout: Duration) -> Option<Limit> {
    let callers = grpc_timeout(headers).map(|t| Limit {
        after: t.saturating_sub(MARGIN),
        callers: true,
    });
    let servers = one_message.then_some(Limit {
        after: request_timeout,
        callers: false,
    });
    match (callers, servers) {
        (Some(c), Some(s)) => Some(if c.after <= s.after { c } else { s }),
        (c, s) => c.or(s),
    }
}

/// When the server must have answered by the caller's deadline, if the
/// call carries one.
pub fn callers_deadline(headers: &HeaderMap) -> Option<tokio::time::Instant> {
    grpc_timeout(headers).map(|t| tokio::time::Instant::now() + t.saturating_sub(MARGIN))
}

/// The `grpc-timeout` header: up to 8 digits and a unit (gRPC over HTTP/2).
/// A malformed one is ignored, as the spec's servers do.
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value * 3600),
        "M" => Duration::from_secs(value * 60),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::ServiceExt as _;

    use super::*;

    const UNARY: &str = "/tenantry.auth.v1.AuthService/GetMe";
    const UPLOAD: &str = "/tenantry.file.v1.FileService/Upload";

    fn headers(timeout: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(t) = timeout {
            headers.insert("grpc-timeout", t.parse().unwrap());
        }
        headers
    }

    #[test]
    fn grpc_timeouts_parse_by_the_spec() {
        let parse = |t| grpc_timeout(&headers(Some(t)));
        assert_eq!(parse("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in ["", "S", "123456789S", "10s", "-1S", "1.5S", "10"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_shorter_limit_wins_and_uploads_have_only_the_callers() {
        let server = Duration::from_secs(30);
        let callers = |after| Limit {
            after,
            callers: true,
        };
        let unary = |t| limit(&headers(t), true, server);
        assert_eq!(
            unary(Some("2S")),
            Some(callers(Duration::from_secs(2) - MARGIN))
        );
        assert_eq!(unary(Some("1M")).map(|l| l.after), Some(server));
        assert_eq!(unary(None).map(|l| l.callers), Some(false));
        let upload = |t| limit(&headers(t), false, server);
        assert_eq!(upload(None), None, "an upload takes as long as it takes");
        assert_eq!(
            upload(Some("1M")),
            Some(callers(Duration::from_secs(60) - MARGIN))
        );
        assert!(!single_message(UPLOAD));
        assert!(single_message(UNARY));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_past_its_deadline_is_answered_deadline_exceeded() {
        let slow = tower::service_fn(|_: Request<Body>| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        let service = DeadlineLayer::new(Duration::from_secs(30), None).layer(slow);
        let request = Request::builder()
            .uri(UNARY)
            .header("grpc-timeout", "1S")
            .body(Body::empty())
            .unwrap();
        let started = tokio::time::Instant::now();
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(1) - MARGIN);
        let status = Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
    }
}
