//! Every gRPC and grpc-web call is counted when its answer has been sent in
//! full (or abandoned): by method and status code, with its latency, and
//! the calls in flight meanwhile (see [`crate::ops::meters`]).

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use http::{HeaderMap, Request, Response};
use http_body::{Frame, SizeHint};
use metrics::Counter;
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use crate::ops::meters::Meters;

#[derive(Debug, Clone)]
pub struct MeteredLayer {
    meters: Meters,
}

impl MeteredLayer {
    pub fn new(meters: Meters) -> Self {
        Self { meters }
    }
}

impl<S> Layer<S> for MeteredLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metered {
            inner,
            meters: self.meters.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Metered<S> {
    inner: S,
    meters: Meters,
}

impl<S, B> Service<Request<B>> for Metered<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if !super::is_grpc(&request) {
            return Box::pin(self.inner.call(request.map(Body::new)));
        }
        let method = method_name(request.uri().path());
        let (received, sent) = self.meters.bytes(method);
        let mut call = Call::start(self.meters.clone(), method, sent);
        let request = request.map(|body| {
            let watch = move |frame: &Frame<_>| received.increment(data_len(frame));
            let body = Body::new(body);
            Body::new(Watched { body, watch })
        });
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            call.code = code_in(response.headers());
            // The call is counted when the answer's body is dropped.
            let watch = move |frame: &Frame<_>| {
                call.sent.increment(data_len(frame));
                if let Some(trailers) = frame.trailers_ref() {
                    call.code = code_in(trailers).or(call.code);
                }
            };
            Ok(response.map(|body| Body::new(Watched { body, watch })))
        })
    }
}

/// A call being answered; counted when dropped.
struct Call {
    meters: Meters,
    method: &'static str,
    started: Instant,
    /// The status, once seen (headers of a trailers-only answer, or the
    /// trailers); a call dropped before it is CANCELLED.
    code: Option<&'static str>,
    /// Bytes of the answer, counted as they leave.
    sent: Counter,
}

impl Call {
    fn start(meters: Meters, method: &'static str, sent: Counter) -> Self {
        meters.call_started();
        Self {
            meters,
            method,
            started: Instant::now(),
            code: None,
            sent,
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let seconds = self.started.elapsed().as_secs_f64();
        let code = self.code.unwrap_or("CANCELLED");
        self.meters.call_finished(self.method, code, seconds);
    }
}

/// A body that shows each frame to `watch` as it passes: the answer's to
/// count its bytes and read its status from the trailers, the request's to
/// count its bytes.
struct Watched<W> {
    body: Body,
    watch: W,
}

impl<W> http_body::Body for Watched<W>
where
    W: FnMut(&Frame<bytes::Bytes>) + Unpin,
{
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let frame = std::task::ready!(Pin::new(&mut self.body).poll_frame(cx));
        if let Some(Ok(frame)) = &frame {
            (self.watch)(frame);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

fn data_len(frame: &Frame<bytes::Bytes>) -> u64 {
    frame.data_ref().map_or(0, |data| data.len() as u64)
}

/// The `grpc-status` in these headers, by its canonical name.
fn code_in(headers: &HeaderMap) -> Option<&'static str> {
    let number: i32 = headers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
    Some(
        CODE_NAMES
            .get(usize::try_from(number).ok()?)
            .copied()
            .unwrap_or("UNKNOWN"),
    )
}

const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The method's path when we serve it, else `unknown` (a caller must not
/// be able to mint label values).
fn method_name(path: &str) -> &'static str {
    super::served_methods()
        .get_key_value(path)
        .map_or("unknown", |(path, _)| *path)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn calls_are_counted_by_method_and_code_once_answered() {
        use http_body_util::BodyExt as _;

        let meters = Meters::new();
        let inner = tower::service_fn(|request: Request<Body>| async move {
            let response = match request.uri().path() {
                // An answer whose status comes in the trailers.
                "/tenantry.auth.v1.AuthService/GetMe" => {
                    let mut trailers = HeaderMap::new();
                    trailers.insert("grpc-status", "0".parse().unwrap());
                    let frames = futures::stream::iter([
                        Ok::<_, Status>(Frame::data(bytes::Bytes::from_static(b"\0\0\0\0\0"))),
                        Ok(Frame::trailers(trailers)),
                    ]);
                    Response::new(Body::new(http_body_util::StreamBody::new(frames)))
                }
                _ => Status::not_found("no").into_http(),
            };
            Ok::<_, Infallible>(response)
        });
        let service = MeteredLayer::new(meters.clone()).layer(inner);
        let call = |path: &str| {
            Request::builder()
                .uri(path)
                .header("content-type", "application/grpc")
                .body(Body::empty())
                .unwrap()
        };
        let answered = service
            .clone()
            .oneshot(call("/tenantry.auth.v1.AuthService/GetMe"));
        let answered = answered.await.unwrap();
        assert!(
            !meters.render().contains("tenantry_calls_total{"),
            "not counted before the answer is sent"
        );
        answered.into_body().collect().await.unwrap();
        let abandoned = service
            .clone()
            .oneshot(call("/tenantry.auth.v1.AuthService/GetMe"));
        drop(abandoned.await.unwrap());
        drop(service.oneshot(call("/made.up/Path")).await.unwrap());

        let text = meters.render();
        for line in [
            "method=\"/tenantry.auth.v1.AuthService/GetMe\",code=\"OK\"} 1",
            "method=\"/tenantry.auth.v1.AuthService/GetMe\",code=\"CANCELLED\"} 1",
            "method=\"unknown\",code=\"NOT_FOUND\"} 1",
            "tenantry_calls_in_flight 0",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}
