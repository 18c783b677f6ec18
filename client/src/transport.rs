//! The channel every stub of a [`Tenantry`](crate::Tenantry) handle sends
//! through. Per call it attaches the access token, retries an idempotent
//! call that found the server unavailable or over its limits, and renews
//! the token once when the server refused it.
//!
//! Only calls whose request is one message are sent again (the message is
//! kept); a client-streaming call (`Upload`) goes once.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use http_body_util::{BodyExt as _, Full};
use tonic::{Code, Status, body::Body, transport::Channel};
use tonic_types::StatusExt as _;
use tower::{Service, ServiceExt as _};

use crate::{RetryPolicy, credentials::TokenCache, error::is_retryable_code, methods::Methods};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The stubs' channel: a [`tonic::transport::Channel`] with the handle's
/// credentials and retry policy.
#[derive(Debug, Clone)]
pub struct Transport {
    shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) channel: Channel,
    pub(crate) tokens: Option<Arc<TokenCache>>,
    pub(crate) retry: RetryPolicy,
}

/// One attempt's outcome, read from the response headers (a refusal is
/// trailers-only: the status is in the headers).
enum Outcome {
    Answered(Response<Body>),
    Refused(Response<Body>, Status),
    Failed(Status),
}

impl Transport {
    pub(crate) fn new(shared: Shared) -> Self {
        Self {
            shared: Arc::new(shared),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl Service<Request<Body>> for Transport {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Each call clones the channel and waits for it to be ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move { shared.send(request).await })
    }
}

impl Shared {
    async fn send(&self, request: Request<Body>) -> Result<Response<Body>, BoxError> {
        let methods = Methods::get();
        let path = request.uri().path().to_owned();
        if !methods.has_single_request(&path) {
            let token = self.token().await?;
            return Ok(self
                .channel
                .clone()
                .oneshot(authorize(request, token.as_deref()))
                .await?);
        }
        let (parts, body) = request.into_parts();
        let message = body.collect().await?.to_bytes();
        let retries = if methods.is_idempotent(&path) {
            self.retry
        } else {
            RetryPolicy::none()
        };
        let mut token = self.token().await?;
        let mut renewed = false;
        let mut failed = 0;
        loop {
            let request = authorize(copy(&parts, message.clone()), token.as_deref());
            let (response, status) = match self.attempt(request).await {
                Outcome::Answered(response) => return Ok(response),
                Outcome::Refused(response, status) => (Ok(response), status),
                Outcome::Failed(status) => (Err(status.clone()), status),
            };
            if status.code() == Code::Unauthenticated && !renewed {
                renewed = true;
                if let Some(next) = self.renew(token.as_deref()).await {
                    token = Some(next.map_err(Status::from)?);
                    continue;
                }
            }
            failed += 1;
            let asks = status
                .get_error_details()
                .retry_info()
                .and_then(|r| r.retry_delay);
            match retries.delay(failed, asks) {
                Some(wait) if is_retryable_code(status.code()) => tokio::time::sleep(wait).await,
                _ => return response.map_err(Into::into),
            }
        }
    }

    async fn attempt(&self, request: Request<Body>) -> Outcome {
        match self.channel.clone().oneshot(request).await {
            Ok(response) => match Status::from_header_map(response.headers()) {
                Some(status) if status.code() != Code::Ok => Outcome::Refused(response, status),
                _ => Outcome::Answered(response),
            },
            Err(err) => Outcome::Failed(Status::from_error(err.into())),
        }
    }

    async fn token(&self) -> Result<Option<String>, Status> {
        match &self.tokens {
            Some(tokens) => Ok(Some(tokens.token().await.map_err(Status::from)?)),
            None => Ok(None),
        }
    }

    async fn renew(&self, refused: Option<&str>) -> Option<crate::Result<String>> {
        self.tokens.as_ref()?.renew_after_refusal(refused?).await
    }
}

/// The request again, with the kept message.
fn copy(parts: &http::request::Parts, message: Bytes) -> Request<Body> {
    let mut request = Request::new(Body::new(Full::new(message)));
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    request
}

/// Adds the bearer token unless the caller set `authorization` itself.
fn authorize(mut request: Request<Body>, token: Option<&str>) -> Request<Body> {
    if let Some(token) = token
        && !request.headers().contains_key(AUTHORIZATION)
        && let Ok(value) = HeaderValue::try_from(format!("Bearer {token}"))
    {
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    request
}
