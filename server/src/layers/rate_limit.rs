//! Rate limits: public methods per client IP, everything else per user
//! (GCRA from the `governor` crate). These counters are per instance — they
//! shed load; the limit that protects accounts (sign-in lockout) lives in the
//! database and holds across instances.

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
use http::{Request, Response};
use tonic::Status;
use tower::{Layer, Service};

use super::refuse;
use crate::{
    access,
    context::{AuthContext, RequestMeta},
    error::ApiError,
};

#[derive(Clone)]
pub struct RateLimitLayer {
    limits: Arc<Limits>,
}

struct Limits {
    public: Option<DefaultKeyedRateLimiter<String>>,
    user: Option<DefaultKeyedRateLimiter<String>>,
}

impl RateLimitLayer {
    /// Limits in calls per minute; 0 disables one. Bursts of up to a sixth of
    /// a minute's budget pass at once.
    pub fn new(public_per_minute: u32, user_per_minute: u32) -> Self {
        Self {
            limits: Arc::new(Limits {
                public: limiter(public_per_minute),
                user: limiter(user_per_minute),
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
                for limiter in [&limits.public, &limits.user].into_iter().flatten() {
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

impl<S, B, R> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response<R>> + Send,
    S::Future: Send + 'static,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Err(wait) = self.limits.check(&request) {
            let status = Status::from(ApiError::ResourceExhausted {
                message: "too many calls, slow down".into(),
                retry_after: Some(wait),
            });
            return Box::pin(async move { Ok(refuse(status)) });
        }
        Box::pin(self.inner.call(request))
    }
}

impl Limits {
    fn check<B>(&self, request: &Request<B>) -> Result<(), Duration> {
        let path = request.uri().path();
        if access::is_probe(path) {
            return Ok(());
        }
        let (limiter, key) = match request.extensions().get::<AuthContext>() {
            Some(caller) => (&self.user, caller.user_id.clone()),
            None => {
                let ip = request
                    .extensions()
                    .get::<RequestMeta>()
                    .map(|m| m.client_ip.clone())
                    .unwrap_or_default();
                (&self.public, ip)
            }
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}
