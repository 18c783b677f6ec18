//! Gives every call a request id (the caller's `x-request-id` when it is sane,
//! else a new UUIDv7), records who is calling from where, opens the tracing
//! span every log line of the call carries, and returns the id in the response
//! metadata.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use http::{HeaderValue, Request, Response};
use tower::{Layer, Service};
use tracing::{Instrument as _, field::Empty};

use super::client_address::{Cidr, client_ip};
use crate::{context::RequestMeta, ops::telemetry};

pub const REQUEST_ID: &str = "x-request-id";

#[derive(Debug, Clone, Default)]
pub struct RequestMetaLayer {
    /// Proxies whose `Forwarded` / `X-Forwarded-For` name the client.
    trusted_proxies: Arc<[Cidr]>,
}

impl RequestMetaLayer {
    pub fn new(trusted_proxies: &[Cidr]) -> Self {
        Self {
            trusted_proxies: trusted_proxies.into(),
        }
    }
}

impl<S> Layer<S> for RequestMetaLayer {
    type Service = RequestMetaService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetaService {
            inner,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestMetaService<S> {
    inner: S,
    trusted_proxies: Arc<[Cidr]>,
}

impl<S, B, R> Service<Request<B>> for RequestMetaService<S>
where
    S: Service<Request<B>, Response = Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let request_id = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|id| is_sane_id(id))
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
        let client_ip = request
            .extensions()
            .get::<crate::connections::ConnectionInfo>()
            .map(|info| client_ip(info.remote.ip(), request.headers(), &self.trusted_proxies))
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "call",
            request_id = %request_id,
            method = %request.uri().path(),
            client_ip = %client_ip,
            user_id = Empty,
            org_id = Empty,
            trace_id = Empty,
        );
        trace(&span, request.headers());
        let header = HeaderValue::from_str(&request_id).ok();
        request.extensions_mut().insert(RequestMeta {
            request_id,
            client_ip,
            user_agent,
        });
        let started = Instant::now();
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(
            async move {
                let mut response = future.await?;
                if let Some(header) = header {
                    response.headers_mut().insert(REQUEST_ID, header);
                }
                let grpc_status = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("in trailers")
                    .to_owned();
                tracing::info!(
                    elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                    grpc_status,
                    "call answered"
                );
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// Makes the call's span a child of the caller's trace (when spans are
/// exported) and puts the trace id on its log lines.
fn trace(span: &tracing::Span, headers: &http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let caller = telemetry::caller_context(headers);
    // Fails only without an exporter, where there is no parent to set.
    let _ = span.set_parent(caller.clone());
    let id = telemetry::trace_id(&span.context()).or_else(|| telemetry::trace_id(&caller));
    if let Some(id) = id {
        span.record("trace_id", tracing::field::display(id));
    }
}

/// Ids we echo into logs and headers: short, visible ASCII.
fn is_sane_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tonic::body::Body;
    use tower::{ServiceExt as _, service_fn};

    use super::*;

    /// The layer over a service that answers with the meta it was given.
    async fn through(request: Request<Body>) -> (RequestMeta, Response<Body>) {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let keep = seen.clone();
        let service =
            RequestMetaLayer::default().layer(service_fn(move |request: Request<Body>| {
                let keep = keep.clone();
                async move {
                    *keep.lock().unwrap() = request.extensions().get::<RequestMeta>().cloned();
                    Ok::<_, Infallible>(Response::new(Body::empty()))
                }
            }));
        let response = service.oneshot(request).await.unwrap();
        let meta = seen.lock().unwrap().take().expect("meta in the extensions");
        (meta, response)
    }

    #[tokio::test]
    async fn a_sane_request_id_is_kept_and_echoed() {
        let request = Request::builder()
            .uri("/x")
            .header(REQUEST_ID, "trace-42")
            .header(http::header::USER_AGENT, "curl/8")
            .body(Body::empty())
            .unwrap();
        let (meta, response) = through(request).await;
        assert_eq!(meta.request_id, "trace-42");
        assert_eq!(meta.user_agent, "curl/8");
        assert_eq!(response.headers()[REQUEST_ID], "trace-42");
    }

    #[tokio::test]
    async fn an_insane_request_id_is_replaced_and_a_long_agent_cut() {
        let request = Request::builder()
            .uri("/x")
            .header(REQUEST_ID, "x".repeat(500))
            .header(http::header::USER_AGENT, "a".repeat(1000))
            .body(Body::empty())
            .unwrap();
        let (meta, response) = through(request).await;
        assert!(
            uuid::Uuid::try_parse(&meta.request_id).is_ok(),
            "a new UUID"
        );
        assert_eq!(response.headers()[REQUEST_ID], meta.request_id.as_str());
        assert_eq!(meta.user_agent.len(), 256);
    }
}
