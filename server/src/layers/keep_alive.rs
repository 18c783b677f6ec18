//! HTTP/1.1 connections stay usable after an early answer.
//!
//! hyper closes a connection whose request body was not read to its end, and
//! says nothing about it: the answer has no `connection: close`. A client
//! that sends the body a moment after the headers (connect-node, proxies that
//! keep connections alive) then writes into a closed socket on its next call.
//! So when a call is answered while its body is still unread (a refusal by a
//! layer, a handler that gave up early), this layer reads and discards up to
//! [`DRAIN_LIMIT`] bytes within [`DRAIN_WAIT`] before answering; if the body
//! is longer or slower than that, the answer says `connection: close`.
//! The wait never outlasts the caller's deadline (`grpc-timeout`).
//! HTTP/2 needs none of this: a stream is reset on its own.

use std::{
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use http::{HeaderValue, Request, Response, Version, header};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt as _;
use tokio::sync::oneshot;
use tonic::body::Body;
use tower::{Layer, Service};

/// The most an early answer reads and discards to keep its connection.
pub const DRAIN_LIMIT: usize = 64 * 1024;
/// How long an early answer waits for the rest of the body.
pub const DRAIN_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, Default)]
pub struct KeepAliveLayer;

impl<S> Layer<S> for KeepAliveLayer {
    type Service = KeepAlive<S>;

    fn layer(&self, inner: S) -> Self::Service {
        KeepAlive { inner }
    }
}

#[derive(Debug, Clone)]
pub struct KeepAlive<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for KeepAlive<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if request.version() >= Version::HTTP_2 || request.body().is_end_stream() {
            return Box::pin(self.inner.call(request));
        }
        let deadline = super::deadline::callers_deadline(request.headers());
        let (unread, mut returned) = oneshot::channel();
        let request = request.map(|body| {
            Body::new(ReturnedUnread {
                body: Some(body),
                unread: Some(unread),
            })
        });
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            // A body still being read (a stream answered early) is left alone.
            if let Ok(rest) = returned.try_recv()
                && !drain(rest, deadline).await
            {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        })
    }
}

/// Reads and discards what is left of a body, if it is short and comes soon
/// (before the caller's deadline, if any).
async fn drain(mut rest: Body, deadline: Option<tokio::time::Instant>) -> bool {
    let read = async {
        let mut left = DRAIN_LIMIT;
        while let Some(frame) = rest.frame().await {
            let Ok(frame) = frame else { return false };
            let len = frame.data_ref().map_or(0, bytes::Buf::remaining);
            let Some(still) = left.checked_sub(len) else {
                return false;
            };
            left = still;
        }
        true
    };
    let wait = tokio::time::Instant::now() + DRAIN_WAIT;
    tokio::time::timeout_at(deadline.map_or(wait, |d| d.min(wait)), read)
        .await
        .unwrap_or(false)
}

/// A request body that, when dropped before its end, hands itself back so
/// the answer can drain it. Dropped at its end (or with the request still
/// being read by a handler), it hands back nothing.
struct ReturnedUnread {
    body: Option<Body>,
    unread: Option<oneshot::Sender<Body>>,
}

impl http_body::Body for ReturnedUnread {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let Some(body) = self.body.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = std::task::ready!(std::pin::Pin::new(body).poll_frame(cx));
        if frame.is_none() {
            self.body = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or(SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for ReturnedUnread {
    fn drop(&mut self) {
        if let (Some(body), Some(unread)) = (self.body.take(), self.unread.take())
            && !body.is_end_stream()
        {
            let _ = unread.send(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use futures::{StreamExt as _, stream};
    use tower::ServiceExt as _;

    use super::*;

    /// A request whose body is `chunk` `times` over, then ends — or never
    /// ends when `then_stall`.
    fn request(
        version: Version,
        chunk: &'static [u8],
        times: usize,
        then_stall: bool,
    ) -> Request<Body> {
        let frames = stream::iter(
            (0..times).map(move |_| Ok::<_, tonic::Status>(Frame::data(Bytes::from_static(chunk)))),
        );
        let body = if then_stall {
            Body::new(http_body_util::StreamBody::new(
                frames.chain(stream::pending()).boxed(),
            ))
        } else {
            Body::new(http_body_util::StreamBody::new(frames.boxed()))
        };
        Request::builder()
            .version(version)
            .method("POST")
            .uri("/tenantry.auth.v1.AuthService/GetMe")
            .body(body)
            .unwrap()
    }

    /// Answers at once, never reading the body (as a refusing layer does).
    async fn answer_early(request: Request<Body>) -> Response<Body> {
        let inner = tower::service_fn(|_: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        KeepAliveLayer.layer(inner).oneshot(request).await.unwrap()
    }

    fn closes(response: &Response<Body>) -> bool {
        response
            .headers()
            .get(header::CONNECTION)
            .is_some_and(|v| v == "close")
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_unread_body_is_drained_and_the_connection_kept() {
        let response = answer_early(request(Version::HTTP_11, &[7; 1024], 16, false)).await;
        assert!(!closes(&response));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_body_closes_the_connection() {
        let response = answer_early(request(Version::HTTP_11, &[7; 16 * 1024], 5, false)).await;
        assert!(
            closes(&response),
            "more than {DRAIN_LIMIT} bytes are not read"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_coming_closes_the_connection_after_the_wait() {
        let started = tokio::time::Instant::now();
        let response = answer_early(request(Version::HTTP_11, b"abc", 1, true)).await;
        assert!(closes(&response));
        assert_eq!(
            started.elapsed(),
            DRAIN_WAIT,
            "it waited exactly the drain wait"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_ends_at_the_callers_deadline() {
        let started = tokio::time::Instant::now();
        let mut request = request(Version::HTTP_11, b"abc", 1, true);
        request
            .headers_mut()
            .insert("grpc-timeout", HeaderValue::from_static("1S"));
        let response = answer_early(request).await;
        assert!(closes(&response));
        let deadline = Duration::from_secs(1) - super::super::deadline::MARGIN;
        assert_eq!(started.elapsed(), deadline, "not the whole drain wait");
    }

    #[tokio::test(start_paused = true)]
    async fn http2_is_left_alone() {
        let response = answer_early(request(Version::HTTP_2, &[7; 16 * 1024], 5, true)).await;
        assert!(
            !closes(&response),
            "HTTP/2 resets a stream, not the connection"
        );
    }
}
