//! Authentication and authorization of every call, before any service code:
//! `authorization: Bearer <jwt>` (a person's or a service account's) or
//! `Bearer tnt_pat_…` (a personal access token) → a verified, live
//! [`Caller`](crate::context::Caller) in the request extensions,
//! checked against the method's rules in [`crate::access`].

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
    access::{self, Access, Callers, SsoSession},
    auth::{is_personal_token, liveness::SessionLiveness},
    clock::SharedClock,
    connections::ConnectionInfo,
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
        let rules = (
            access::access(path),
            access::sso_session(path),
            access::callers(path),
        );
        let (Some(rule), Some(sso_rule), Some(callers)) = rules else {
            let status = Status::unimplemented("unknown method");
            return Box::pin(async move { Ok(refuse(status)) });
        };
        let token = bearer_token(&request).map(str::to_owned);
        if rule == Access::Public && (callers == Callers::Everyone || token.is_none()) {
            return Box::pin(self.inner.call(request));
        }
        // The service that was made ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        if rule == Access::Public {
            return Box::pin(async move {
                match verifier.public_for_people(token, callers) {
                    Ok(()) => inner.call(request).await,
                    Err(err) => Ok(refuse(Status::from(err))),
                }
            });
        }
        let client_cert = request
            .extensions()
            .get::<ConnectionInfo>()
            .and_then(|c| c.client_cert.clone());
        let needs = Needs {
            rule,
            sso_rule,
            callers,
        };
        Box::pin(async move {
            match verifier.admit(token, needs, client_cert.as_deref()).await {
                Ok(context) => {
                    let span = tracing::Span::current();
                    span.record("user_id", context.user_id().as_str());
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
        needs: Needs,
        client_cert: Option<&str>,
    ) -> Result<crate::context::Caller, ApiError> {
        let Needs {
            rule,
            sso_rule,
            callers,
        } = needs;
        let token = token.ok_or(ApiError::Unauthenticated(
            "this call needs `authorization: Bearer <access token>`",
        ))?;
        let context = if is_personal_token(&token) {
            self.liveness.personal_token(&token).await?
        } else {
            let claims = self.claims(&token)?;
            if let Some(bound) = &claims.cnf
                && client_cert != Some(bound.x5t_s256.as_str())
            {
                return Err(ApiError::Unauthenticated(
                    "this token is bound to a client certificate that this connection did not present",
                ));
            }
            self.liveness.context(&claims).await?
        };
        callers
            .admit(&context.credential)
            .map_err(ApiError::permission_denied)?;
        if context.sso() && sso_rule == SsoSession::Refused {
            return Err(ApiError::permission_denied(SSO_CONFINED));
        }
        if let Access::Org(needed) = rule {
            context.tenant()?;
            if context.member_role()? < needed {
                return Err(ApiError::permission_denied(format!(
                    "this call needs the {} role or higher",
                    needed.as_str()
                )));
            }
        }
        Ok(context)
    }
}

/// What a method's rules ask of its caller.
#[derive(Debug, Clone, Copy)]
struct Needs {
    rule: Access,
    sso_rule: SsoSession,
    callers: Callers,
}

impl Verifier {
    fn claims(&self, token: &str) -> Result<crate::crypto::jwt::AccessClaims, ApiError> {
        self.codec
            .verify(token, self.clock.now())
            .map_err(|reason| {
                tracing::info!(reason, "access token refused");
                ApiError::Unauthenticated("invalid or expired access token")
            })
    }

    /// A public method for people (sign-in, sign-up) is not one a service
    /// account or a personal access token may call: presenting one is
    /// refused rather than ignored. Any other token (a person's, or one that
    /// no longer verifies) is ignored, as for every public method.
    fn public_for_people(&self, token: Option<String>, callers: Callers) -> Result<(), ApiError> {
        let Some(token) = token else { return Ok(()) };
        if is_personal_token(&token) {
            return Err(ApiError::permission_denied(
                "this method is for people signing in: a personal access token may not call it",
            ));
        }
        match self.claims(&token) {
            Ok(claims) if claims.is_service() && callers != Callers::Everyone => {
                Err(ApiError::permission_denied(
                    "this method is for people: a service account may not call it",
                ))
            }
            _ => Ok(()),
        }
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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use clap::Parser as _;
    use diesel::RunQueryDsl as _;
    use tonic::body::Body;
    use tower::{ServiceExt as _, service_fn};

    use super::*;
    use crate::{
        auth::issue::{self, AuthMethod},
        clock::SystemClock,
        config::Config,
        context::{Caller, RequestMeta},
        db::{rows::UserRow, schema::users},
        server::Server,
        state::AppState,
    };

    /// A real server state on a throwaway SQLite folder.
    async fn state(dir: &tempfile::TempDir) -> AppState {
        let data_dir = dir.path().to_str().unwrap();
        let config = Config::parse_from(["tenantry-server", "--data-dir", data_dir]);
        let server = Server::build(config, Arc::new(SystemClock)).await.unwrap();
        server.state().clone()
    }

    /// A user with a live session opened by `method`; its access token.
    async fn signed_in(state: &AppState, method: AuthMethod) -> (String, String) {
        let tokens = state
            .write(move |tx, st| {
                let now = st.now();
                let user = UserRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    email: format!("{}@example.com", uuid::Uuid::new_v4().simple()),
                    email_verified: true,
                    password_hash: None,
                    display_name: "Ann".into(),
                    last_org_id: None,
                    created_at: now,
                    updated_at: now,
                };
                diesel::insert_into(users::table)
                    .values(&user)
                    .execute(tx.conn())?;
                let meta = RequestMeta::default();
                issue::open_session(tx, st, &user.id, None, method, &meta)
            })
            .await
            .unwrap();
        let pair = tokens.sign(state).unwrap();
        (pair.session_id, pair.access_token)
    }

    /// The layer over a service that answers 200 and names the caller it saw.
    fn layered(
        state: &AppState,
    ) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone {
        let layer = AuthenticateLayer::new(
            state.tokens.clone(),
            state.liveness.clone(),
            state.clock.clone(),
        );
        layer.layer(service_fn(|request: Request<Body>| async move {
            let seen = request
                .extensions()
                .get::<Caller>()
                .map(|c| c.user_id().to_owned())
                .unwrap_or_default();
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert("x-caller", seen.parse().unwrap());
            Ok::<_, Infallible>(response)
        }))
    }

    async fn call(
        service: &(impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone),
        path: &str,
        token: Option<&str>,
    ) -> Response<Body> {
        let mut request = Request::builder().uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Body::empty()).unwrap();
        service.clone().oneshot(request).await.unwrap()
    }

    fn grpc_status(response: &Response<Body>) -> Option<&str> {
        response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
    }

    const GET_ME: &str = "/tenantry.auth.v1.AuthService/GetMe";
    const CHANGE_PASSWORD: &str = "/tenantry.auth.v1.AuthService/ChangePassword";
    const LIST_FILES: &str = "/tenantry.file.v1.FileService/ListFiles";

    #[tokio::test]
    async fn a_call_passes_only_with_what_its_method_needs() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(&dir).await;
        let service = layered(&state);
        let unknown = call(&service, "/tenantry.auth.v1.AuthService/Nope", None).await;
        assert_eq!(grpc_status(&unknown), Some("12"), "UNIMPLEMENTED");
        let public = call(&service, "/tenantry.auth.v1.AuthService/Login", None).await;
        assert_eq!(grpc_status(&public), None, "public methods need no token");
        let anonymous = call(&service, GET_ME, None).await;
        assert_eq!(grpc_status(&anonymous), Some("16"), "UNAUTHENTICATED");
        let forged = call(&service, GET_ME, Some("not.a.token")).await;
        assert_eq!(grpc_status(&forged), Some("16"));

        let (_, token) = signed_in(&state, AuthMethod::Password).await;
        let me = call(&service, GET_ME, Some(&token)).await;
        assert_eq!(grpc_status(&me), None);
        assert!(
            !me.headers()["x-caller"].is_empty(),
            "the caller is in the extensions"
        );
        let no_org = call(&service, LIST_FILES, Some(&token)).await;
        assert_eq!(
            grpc_status(&no_org),
            Some("9"),
            "FAILED_PRECONDITION: not pinned"
        );
    }

    #[tokio::test]
    async fn an_ended_session_and_an_sso_session_are_refused_where_they_must_be() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(&dir).await;
        let service = layered(&state);
        let (_, sso) = signed_in(&state, AuthMethod::Sso).await;
        assert_eq!(grpc_status(&call(&service, GET_ME, Some(&sso)).await), None);
        let refused = call(&service, CHANGE_PASSWORD, Some(&sso)).await;
        assert_eq!(grpc_status(&refused), Some("7"), "PERMISSION_DENIED");

        let (session, token) = signed_in(&state, AuthMethod::Password).await;
        assert_eq!(
            grpc_status(&call(&service, CHANGE_PASSWORD, Some(&token)).await),
            None
        );
        state
            .write(move |tx, st| {
                use diesel::{ExpressionMethods as _, QueryDsl as _};
                diesel::update(crate::db::schema::sessions::table.find(&session))
                    .set(crate::db::schema::sessions::revoked_at.eq(st.now()))
                    .execute(tx.conn())?;
                st.liveness.forget_all();
                Ok(())
            })
            .await
            .unwrap();
        let ended = call(&service, GET_ME, Some(&token)).await;
        assert_eq!(grpc_status(&ended), Some("16"), "a revoked session's token");
    }
}
