//! Rate limits (GCRA from the `governor` crate), one budget per kind of call:
//! public gRPC methods per client IP, the plain HTTP routes per client IP,
//! everything else per user. These counters are per instance — they shed
//! load; the limit that protects accounts (sign-in lockout) lives in the
//! database and holds across instances.
//!
//! A refusal speaks the caller's protocol: RESOURCE_EXHAUSTED with RetryInfo
//! for gRPC and grpc-web, `429 Too Many Requests` with `Retry-After` for the
//! plain HTTP routes (a browser saving a download must not get an empty file).

use std::{
    num::NonZeroU32,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock as _, DefaultClock},
};
use http::{HeaderValue, Request, Response, StatusCode, header};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::refuse;
use crate::{
    access,
    config::LimitsConfig,
    context::{Caller, RequestMeta},
    error::ApiError,
    ops::meters::Meters,
    side_door,
};

#[derive(Clone)]
pub struct RateLimitLayer {
    limits: Arc<Limits>,
}

struct Limits {
    public: Option<DefaultKeyedRateLimiter<String>>,
    http: Option<DefaultKeyedRateLimiter<String>>,
    user: Option<DefaultKeyedRateLimiter<String>>,
    meters: Meters,
}

/// Which budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Budget {
    /// Health probes: never limited.
    None,
    /// Public gRPC methods, per client IP.
    Public,
    /// The plain HTTP routes of the side door, per client IP.
    Http,
    /// A signed-in caller, per user.
    User,
}

impl RateLimitLayer {
    /// Limits in calls per minute; 0 disables one. Bursts of up to a sixth of
    /// a minute's budget pass at once.
    pub fn new(config: &LimitsConfig, meters: Meters) -> Self {
        Self {
            limits: Arc::new(Limits {
                public: limiter(config.public_rate_limit),
                http: limiter(config.http_rate_limit),
                user: limiter(config.user_rate_limit),
                meters,
            }),
        }
    }

    /// Forgets idle keys so the maps do not grow without bound.
    pub fn spawn_housekeeping(&self) {
        let limits = Arc::downgrade(&self.limits);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(limits) = limits.upgrade() else {
                    return;
                };
                for limiter in [&limits.public, &limits.http, &limits.user]
                    .into_iter()
                    .flatten()
                {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            }
        });
    }
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    let rate = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new((per_minute / 6).max(1)).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_minute(rate).allow_burst(burst),
    ))
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limits: self.limits.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RateLimit<S> {
    inner: S,
    limits: Arc<Limits>,
}

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Send,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let budget = budget(&request);
        let checked = self.limits.check(budget, &request);
        if checked.is_err() {
            self.limits.meters.refused(match budget {
                Budget::Http => "rate_limit_http",
                Budget::User => "rate_limit_user",
                Budget::Public | Budget::None => "rate_limit_ip",
            });
        }
        match checked {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(wait) if budget == Budget::Http => {
                Box::pin(async move { Ok(too_many_requests(wait)) })
            }
            Err(wait) => {
                let status = Status::from(ApiError::ResourceExhausted {
                    message: "too many calls, slow down".into(),
                    retry_after: Some(wait),
                });
                Box::pin(async move { Ok(refuse(status)) })
            }
        }
    }
}

fn budget<B>(request: &Request<B>) -> Budget {
    let path = request.uri().path();
    if access::is_probe(path) {
        Budget::None
    } else if side_door::serves(path) {
        Budget::Http
    } else if request.extensions().get::<Caller>().is_some() {
        Budget::User
    } else {
        Budget::Public
    }
}

impl Limits {
    fn check<B>(&self, budget: Budget, request: &Request<B>) -> Result<(), Duration> {
        let client_ip = || {
            request
                .extensions()
                .get::<RequestMeta>()
                .map(|m| m.client_ip.clone())
                .unwrap_or_default()
        };
        let (limiter, key) = match budget {
            Budget::None => return Ok(()),
            Budget::Public => (&self.public, client_ip()),
            Budget::Http => (&self.http, client_ip()),
            Budget::User => (
                &self.user,
                request
                    .extensions()
                    .get::<Caller>()
                    .map(|caller| caller.user_id().to_string())
                    .unwrap_or_default(),
            ),
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// A plain HTTP refusal: `429`, whole seconds to wait (rounded up), a line of
/// text.
fn too_many_requests(wait: Duration) -> Response<Body> {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let text = format!("too many requests: retry in {seconds} s\n");
    let mut response = super::plain_text(StatusCode::TOO_MANY_REQUESTS, text);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http_body_util::BodyExt as _;
    use tower::{ServiceExt as _, service_fn};

    use super::*;
    use crate::context::{Credential, Principal, SessionMethod};

    fn config(public: u32, http: u32, user: u32) -> LimitsConfig {
        use clap::Parser as _;
        let mut config = crate::config::Config::parse_from(["tenantry-server"]).limits;
        config.public_rate_limit = public;
        config.http_rate_limit = http;
        config.user_rate_limit = user;
        config
    }

    /// The service behind the limit: answers 200 "served".
    fn limited(
        layer: &RateLimitLayer,
    ) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone {
        layer.layer(service_fn(|_: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::new(http_body_util::Full::new(
                Bytes::from_static(b"served"),
            ))))
        }))
    }

    fn request(path: &str, ip: &str, user: Option<&str>) -> Request<Body> {
        let mut request = Request::builder().uri(path).body(Body::empty()).unwrap();
        request.extensions_mut().insert(RequestMeta {
            client_ip: ip.into(),
            ..RequestMeta::default()
        });
        if let Some(user) = user {
            request.extensions_mut().insert(Caller {
                principal: Principal::Person {
                    user_id: crate::ids::UserId::trusted(user),
                },
                credential: Credential::Session {
                    session_id: crate::ids::SessionId::trusted("s"),
                    method: SessionMethod::Password,
                    multi_factor: false,
                },
                org_id: None,
                role: None,
            });
        }
        request
    }

    async fn send(
        service: &mut (
                 impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone
             ),
        request: Request<Body>,
    ) -> Response<Body> {
        service.clone().oneshot(request).await.unwrap()
    }

    const REGISTER: &str = "/tenantry.auth.v1.AuthService/Register";
    const GET_ME: &str = "/tenantry.auth.v1.AuthService/GetMe";

    #[tokio::test]
    async fn public_methods_are_limited_per_ip_with_a_grpc_answer() {
        let layer = RateLimitLayer::new(&config(6, 0, 0), Meters::new());
        let mut service = limited(&layer);
        // A burst of a sixth of the minute's budget: one call.
        let first = send(&mut service, request(REGISTER, "10.0.0.1", None)).await;
        assert_eq!(first.headers().get("grpc-status"), None);
        let refused = send(&mut service, request(REGISTER, "10.0.0.1", None)).await;
        assert_eq!(
            refused.status(),
            StatusCode::OK,
            "gRPC errors travel as 200"
        );
        assert_eq!(refused.headers()["grpc-status"], "8");
        assert!(refused.headers().contains_key("grpc-status-details-bin"));
        let other_ip = send(&mut service, request(REGISTER, "10.0.0.2", None)).await;
        assert_eq!(other_ip.headers().get("grpc-status"), None);
    }

    #[tokio::test]
    async fn plain_http_routes_get_429_with_retry_after_and_their_own_budget() {
        let layer = RateLimitLayer::new(&config(6, 6, 0), Meters::new());
        let mut service = limited(&layer);
        let jwks = side_door::JWKS_PATH;
        assert_eq!(
            send(&mut service, request(jwks, "10.0.0.1", None))
                .await
                .status(),
            StatusCode::OK
        );
        let refused = send(&mut service, request(jwks, "10.0.0.1", None)).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().get("grpc-status").is_none());
        assert_eq!(
            refused.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let retry: u64 = refused.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=10).contains(&retry), "retry after {retry} s");
        let body = refused.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).starts_with("too many requests"));

        let link = "/files/download?token=abc";
        assert_eq!(
            send(&mut service, request(link, "10.0.0.1", None))
                .await
                .status(),
            StatusCode::TOO_MANY_REQUESTS,
            "signed links share the HTTP budget"
        );
        let sign_up = send(&mut service, request(REGISTER, "10.0.0.1", None)).await;
        assert_eq!(
            sign_up.headers().get("grpc-status"),
            None,
            "the JWKS does not spend the sign-up budget"
        );
    }

    #[tokio::test]
    async fn signed_in_callers_are_limited_per_user() {
        let layer = RateLimitLayer::new(&config(0, 0, 6), Meters::new());
        let mut service = limited(&layer);
        let ann = || request(GET_ME, "10.0.0.1", Some("ann"));
        assert_eq!(
            send(&mut service, ann()).await.headers().get("grpc-status"),
            None
        );
        assert_eq!(
            send(&mut service, ann()).await.headers()["grpc-status"],
            "8"
        );
        let bob_same_ip = request(GET_ME, "10.0.0.1", Some("bob"));
        assert_eq!(
            send(&mut service, bob_same_ip)
                .await
                .headers()
                .get("grpc-status"),
            None,
            "another user behind the same address has a budget of their own"
        );
    }

    #[tokio::test]
    async fn health_probes_are_never_limited() {
        let layer = RateLimitLayer::new(&config(6, 6, 6), Meters::new());
        let mut service = limited(&layer);
        for _ in 0..20 {
            let probe = request("/grpc.health.v1.Health/Check", "10.0.0.1", None);
            assert_eq!(
                send(&mut service, probe).await.headers().get("grpc-status"),
                None
            );
        }
    }
}
