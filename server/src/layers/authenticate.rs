//! Authentication and authorization of every call, before any service code:
//! `authorization: Bearer <jwt>` → a verified, live
//! [`AuthContext`](crate::context::AuthContext) in the request extensions,
//! checked against the method's rule in [`crate::access`].

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use futures::future::BoxFuture;
use http::{Request, Response};
use tonic::Status;
use tower::{Layer, Service};

use super::refuse;
use crate::{
    access::{self, Access, SsoSession},
    auth::liveness::SessionLiveness,
    clock::SharedClock,
    crypto::jwt::TokenCodec,
    error::ApiError,
};

#[derive(Clone)]
pub struct AuthenticateLayer {
    verifier: Arc<Verifier>,
}

struct Verifier {
    codec: Arc<TokenCodec>,
    liveness: Arc<SessionLiveness>,
    clock: SharedClock,
}

impl AuthenticateLayer {
    pub fn new(codec: Arc<TokenCodec>, liveness: Arc<SessionLiveness>, clock: SharedClock) -> Self {
        Self {
            verifier: Arc::new(Verifier {
                codec,
                liveness,
                clock,
            }),
        }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    verifier: Arc<Verifier>,
}

impl<S, B, R> Service<Request<B>> for Authenticate<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        let (Some(rule), Some(sso_rule)) = (access::access(path), access::sso_session(path)) else {
            let status = Status::unimplemented("unknown method");
            return Box::pin(async move { Ok(refuse(status)) });
        };
        if rule == Access::Public {
            return Box::pin(self.inner.call(request));
        }
        // The service that was made ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let token = bearer_token(&request).map(str::to_owned);
        Box::pin(async move {
            match verifier.admit(token, rule, sso_rule).await {
                Ok(context) => {
                    let span = tracing::Span::current();
                    span.record("user_id", context.user_id.as_str());
                    if let Some(org) = &context.org_id {
                        span.record("org_id", org.as_str());
                    }
                    request.extensions_mut().insert(context);
                    inner.call(request).await
                }
                Err(err) => Ok(refuse(Status::from(err))),
            }
        })
    }
}

impl Verifier {
    async fn admit(
        &self,
        token: Option<String>,
        rule: Access,
        sso_rule: SsoSession,
    ) -> Result<crate::context::AuthContext, ApiError> {
        let token = token.ok_or(ApiError::Unauthenticated(
            "this call needs `authorization: Bearer <access token>`",
        ))?;
        let claims = self
            .codec
            .verify(&token, self.clock.now())
            .map_err(|reason| {
                tracing::info!(reason, "access token refused");
                ApiError::Unauthenticated("invalid or expired access token")
            })?;
        let context = self.liveness.context(&claims).await?;
        if context.sso && sso_rule == SsoSession::Refused {
            return Err(ApiError::permission_denied(SSO_CONFINED));
        }
        if let Access::Org(needed) = rule {
            if context.org_id.is_none() {
                return Err(ApiError::failed_precondition(
                    "this call needs an organization: create one, accept an invitation or switch to one",
                ));
            }
            match context.role {
                None => {
                    return Err(ApiError::permission_denied(
                        "you are no longer a member of this organization",
                    ));
                }
                Some(role) if role < needed => {
                    return Err(ApiError::permission_denied(format!(
                        "this call needs the {} role or higher",
                        needed.as_str()
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(context)
    }
}

const SSO_CONFINED: &str = "this session was opened through your organization's identity provider and acts only within that organization: sign in again with the account's own password to do this";

fn bearer_token<B>(request: &Request<B>) -> Option<&str> {
    let value = request
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
