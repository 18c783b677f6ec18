//! grpc-web for browsers, without closing the HTTP side door: tonic-web
//! answers 400 to any HTTP/1.1 request that is not grpc-web, so only requests
//! with a grpc-web content type go through it; the rest (plain gRPC, GET
//! routes) go straight on.

use std::task::{Context, Poll};

use futures::future::Either;
use http::{Request, Response};
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service};

#[derive(Debug, Clone, Default)]
pub struct GrpcWebOnlyLayer;

impl<S: Clone> Layer<S> for GrpcWebOnlyLayer {
    type Service = GrpcWebOnly<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcWebOnly {
            web: GrpcWebLayer::new().layer(inner.clone()),
            plain: inner,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcWebOnly<S> {
    web: GrpcWebService<S>,
    plain: S,
}

impl<S> Service<Request<tonic::body::Body>> for GrpcWebOnly<S>
where
    S: Service<Request<tonic::body::Body>, Response = Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<tonic::codegen::StdError> + Send,
    GrpcWebService<S>: Service<
            Request<tonic::body::Body>,
            Response = Response<tonic::body::Body>,
            Error = S::Error,
        >,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future =
        Either<<GrpcWebService<S> as Service<Request<tonic::body::Body>>>::Future, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self.web.poll_ready(cx) {
            Poll::Ready(Ok(())) => self.plain.poll_ready(cx),
            other => other,
        }
    }

    fn call(&mut self, request: Request<tonic::body::Body>) -> Self::Future {
        if is_grpc_web(&request) {
            Either::Left(self.web.call(request))
        } else {
            Either::Right(self.plain.call(request))
        }
    }
}

fn is_grpc_web<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc-web"))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tonic::body::Body;
    use tower::{ServiceExt as _, service_fn};

    use super::*;

    /// The layer over a service that answers 200 with the content type it saw.
    async fn seen_content_type(request: Request<Body>) -> (http::StatusCode, String) {
        let service = GrpcWebOnlyLayer.layer(service_fn(|request: Request<Body>| async move {
            let seen = request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_owned();
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert("x-seen", seen.parse().unwrap());
            Ok::<_, Infallible>(response)
        }));
        let response = service.oneshot(request).await.unwrap();
        let seen = response
            .headers()
            .get("x-seen")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (response.status(), seen)
    }

    #[tokio::test]
    async fn grpc_web_is_translated_and_everything_else_passes_untouched() {
        let web = Request::builder()
            .method("POST")
            .uri("/tenantry.auth.v1.AuthService/GetMe")
            .header(http::header::CONTENT_TYPE, "application/grpc-web+proto")
            .body(Body::empty())
            .unwrap();
        let (_, seen) = seen_content_type(web).await;
        assert_eq!(seen, "application/grpc", "the service sees plain gRPC");

        let get = Request::builder()
            .uri("/.well-known/jwks.json")
            .body(Body::empty())
            .unwrap();
        let (status, seen) = seen_content_type(get).await;
        assert_eq!(
            status,
            http::StatusCode::OK,
            "tonic-web would refuse a plain GET"
        );
        assert_eq!(seen, "none");
    }
}
