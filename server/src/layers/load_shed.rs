//! A global bound on calls in flight (`--max-in-flight`), per instance.
//! Past it, a call is shed at once with RESOURCE_EXHAUSTED and RetryInfo
//! rather than queued: a caller that retries elsewhere or later does better
//! than one that waits on an overloaded instance. A call holds its place
//! until its answer has been sent in full (a download, to its last byte).
//! Health checks are never shed, so a load balancer still sees the truth.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::future::{BoxFuture, Either, Ready, ready};
use http::{Request, Response};
use http_body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use crate::{error::ApiError, ops::meters::Meters};

/// What a shed caller is told to wait before retrying.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct LoadShedLayer {
    places: Arc<Semaphore>,
    max: usize,
    meters: Meters,
}

impl LoadShedLayer {
    pub fn new(max_in_flight: usize, meters: Meters) -> Self {
        Self {
            places: Arc::new(Semaphore::new(max_in_flight)),
            max: max_in_flight,
            meters,
        }
    }
}

impl<S> Layer<S> for LoadShedLayer {
    type Service = LoadShed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LoadShed {
            inner,
            limit: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoadShed<S> {
    inner: S,
    limit: LoadShedLayer,
}

type Answer<E> = Result<Response<Body>, E>;

impl<S, B> Service<Request<B>> for LoadShed<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<BoxFuture<'static, Answer<S::Error>>, Ready<Answer<S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.uri().path().starts_with("/grpc.health.v1.") {
            return Either::Left(Box::pin(self.inner.call(request)));
        }
        let Ok(place) = self.limit.places.clone().try_acquire_owned() else {
            self.limit.meters.refused("load_shed");
            return Either::Right(ready(Ok(super::refuse(shed(self.limit.max)))));
        };
        let answer = self.inner.call(request);
        Either::Left(Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|body| {
                Body::new(Holding {
                    body,
                    _place: place,
                })
            }))
        }))
    }
}

fn shed(max: usize) -> Status {
    Status::from(ApiError::ResourceExhausted {
        message: format!("this instance is at its limit of {max} calls in flight; retry shortly"),
        retry_after: Some(RETRY_AFTER),
    })
}

/// A response body that keeps its call's place until it is dropped.
struct Holding {
    body: Body,
    _place: OwnedSemaphorePermit,
}

impl http_body::Body for Holding {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tonic_types::StatusExt as _;
    use tower::ServiceExt as _;

    use super::*;

    fn request(path: &str) -> Request<Body> {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn past_the_limit_calls_are_shed_until_an_answer_is_sent() {
        // Answers whose bodies never end, as a long download's.
        let inner = tower::service_fn(|_: Request<Body>| async {
            let endless = futures::stream::pending::<Result<Frame<bytes::Bytes>, Status>>();
            let body = Body::new(http_body_util::StreamBody::new(endless));
            Ok::<_, Infallible>(Response::new(body))
        });
        let service = LoadShedLayer::new(1, Meters::new()).layer(inner);
        let first = service
            .clone()
            .oneshot(request("/tenantry.file.v1.FileService/Download"))
            .await
            .unwrap();
        // The first answer's body is still being sent: its place is held.
        let shed = service
            .clone()
            .oneshot(request("/tenantry.auth.v1.AuthService/GetMe"))
            .await
            .unwrap();
        let status = Status::from_header_map(shed.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        let retry = status.get_details_retry_info().expect("RetryInfo");
        assert_eq!(retry.retry_delay, Some(RETRY_AFTER));
        let probe = service
            .clone()
            .oneshot(request("/grpc.health.v1.Health/Check"))
            .await
            .unwrap();
        assert!(
            Status::from_header_map(probe.headers()).is_none(),
            "probes pass"
        );
        drop(first);
        let again = service
            .oneshot(request("/tenantry.auth.v1.AuthService/GetMe"))
            .await
            .unwrap();
        assert!(
            Status::from_header_map(again.headers()).is_none(),
            "the place is free again"
        );
    }
}
