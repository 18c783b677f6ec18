//! Assembling the server: state, services, layers, one listener.

use std::{future::Future, sync::Arc};

use tenantry_proto::{
    audit::v1::audit_service_server::AuditServiceServer,
    auth::v1::auth_service_server::AuthServiceServer,
    file::v1::file_service_server::FileServiceServer,
    org::v1::org_service_server::OrgServiceServer,
    serviceaccount::v1::service_account_service_server::ServiceAccountServiceServer,
    sso::v1::sso_service_server::SsoServiceServer,
};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{
    audit::AuditApi,
    auth::{AuthApi, liveness::SessionLiveness},
    blob::{BlobStore, LocalStore, S3Store},
    clock::SharedClock,
    config::Config,
    connections::CallsLayer,
    crypto::{
        jwt::TokenCodec, master_key::MasterKeys, password::PasswordHasher,
        signing_keys::SigningKeys,
    },
    db::Db,
    error::BoxError,
    files::FileApi,
    health,
    jobs::{self, JobRunner},
    layers::{
        authenticate::AuthenticateLayer, deadline::DeadlineLayer, framing::FramingLayer,
        grpc_web::GrpcWebOnlyLayer, keep_alive::KeepAliveLayer, load_shed::LoadShedLayer,
        metered::MeteredLayer, protocol::ProtocolLayer, rate_limit::RateLimitLayer,
        request_meta::RequestMetaLayer,
    },
    mail::Mailer,
    ops::{self, Readiness, meters::Meters},
    org::OrgApi,
    side_door,
    state::{AppState, Inner},
};

/// How long, once the calls still running are cut off, the server waits
/// for their connections to close before it returns anyway.
const CUT_OFF_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A configured server, ready to serve on a listener.
pub struct Server {
    state: AppState,
    admin: Option<TcpListener>,
}

impl Server {
    /// Opens the database (applying migrations), loads or creates keys.
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, BoxError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            format!(
                "cannot create data folder {}: {e}",
                config.data_dir.display()
            )
        })?;
        let url = config.database_url();
        let (pool_size, workers) = (config.database_pool_size, config.database_workers);
        let db = tokio::task::spawn_blocking(move || Db::open(&url, pool_size, workers)).await??;
        let keys = Arc::new(SigningKeys::load(&config)?);
        let tokens = Arc::new(TokenCodec::new(
            keys,
            config.tokens.issuer.clone(),
            config.tokens.audience.clone(),
        ));
        let master_keys = MasterKeys::load(&config)?;
        let passwords = PasswordHasher::new(&config.passwords)?;
        let meters = Meters::new();
        db.meter_waits(meters.db_wait());
        let liveness = Arc::new(SessionLiveness::new(
            db.clone(),
            clock.clone(),
            config.sessions.session_cache_ttl,
            &meters,
        ));
        let job_wake = Arc::new(tokio::sync::Notify::new());
        let mailer = Mailer::new(
            &config.mail,
            &config.data_dir,
            db.clone(),
            clock.clone(),
            job_wake.clone(),
        )?;
        let refresh_key = master_keys.derive("refresh-successor");
        let page_tokens = crate::paging::PageTokens::new(master_keys.derive("page-token"));
        let download_key = master_keys.derive("download-url");
        let aborts = crate::jobs::JobQueueAborts::new(db.clone(), clock.clone(), job_wake.clone());
        let blobs = blob_store(&config, aborts)?;
        let passkeys = crate::auth::passkeys::relying_party(&config.passkeys)?;
        let oidc_http = crate::sso::http::ProviderHttp::new(config.sso_allow_private_networks);
        let upload_slots = crate::files::slots::UploadSlots::new(
            config.limits.uploads_per_user,
            config.limits.uploads_per_org,
        );
        let state = AppState::new(Inner {
            config,
            db,
            clock,
            tokens,
            master_keys,
            passwords,
            liveness,
            mailer,
            passkeys,
            job_wake,
            blobs,
            download_key,
            oidc_http,
            refresh_key,
            page_tokens,
            upload_slots,
            meters,
            readiness: Readiness::default(),
        });
        jobs::schedule_recurring(&state).await?;
        Ok(Self { state, admin: None })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Runs background jobs on demand (tests, operators' tools).
    pub fn jobs(&self) -> JobRunner {
        JobRunner::new(self.state.clone())
    }

    /// Serves the admin routes (`/metrics`, `/livez`, `/readyz`) on
    /// `listener` too, while the server serves.
    pub fn with_admin(mut self, listener: TcpListener) -> Self {
        self.admin = Some(listener);
        self
    }

    /// Serves until `shutdown` resolves. Then readiness and health turn
    /// false at once, new connections are refused, and calls in flight
    /// have `--shutdown-grace` to finish before they are cancelled.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), BoxError> {
        let state = self.state;
        let config = &state.config;
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let tasks = Tasks::start(&state, reporter.clone(), self.admin).await;
        let stopping = Arc::new(tokio::sync::Notify::new());
        let watch = tasks.health.abort_handle();
        let stop = stop_serving(state.clone(), shutdown, reporter, watch, stopping.clone());

        let rate_limit = RateLimitLayer::new(&config.limits, state.meters.clone());
        rate_limit.spawn_housekeeping();
        let layers = ServiceBuilder::new()
            .layer(RequestMetaLayer::new(&config.trusted_proxies))
            .layer(MeteredLayer::new(state.meters.clone()))
            .layer(LoadShedLayer::new(
                config.limits.max_in_flight as usize,
                state.meters.clone(),
            ))
            .layer(DeadlineLayer::new(
                config.limits.request_timeout,
                Some(state.clone()),
            ))
            .layer(AuthenticateLayer::new(
                state.tokens.clone(),
                state.liveness.clone(),
                state.clock.clone(),
            ))
            .layer(rate_limit)
            .layer(FramingLayer)
            .into_inner();
        let tls = crate::tls::server_config(&config.tls)?;
        let incoming = crate::handshake::serve_incoming(listener, (&config.limits).into(), tls);
        let serving = tonic::transport::Server::builder()
            .accept_http1(true)
            .concurrency_limit_per_connection(config.limits.concurrency_per_connection)
            .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(std::time::Duration::from_secs(20)))
            .layer(CallsLayer)
            .layer(KeepAliveLayer)
            .layer(cors(&config.cors_origins)?)
            .layer(ProtocolLayer)
            .layer(GrpcWebOnlyLayer)
            .layer(layers)
            .add_routes(routes(&state, health_service)?)
            .serve_with_incoming_shutdown(incoming, stop);
        tokio::pin!(serving);
        let grace = async {
            stopping.notified().await;
            tokio::time::sleep(config.shutdown_grace).await;
        };
        let result = tokio::select! {
            result = &mut serving => result,
            () = grace => {
                tracing::warn!("calls still running after the shutdown grace are cut off");
                state.readiness.cut_off_calls();
                // A download still streaming its body is not a call future:
                // it ends with the process.
                tokio::time::timeout(CUT_OFF_WAIT, serving).await.unwrap_or(Ok(()))
            }
        };
        tasks.abort();
        result.map_err(Into::into)
    }
}

/// The configured blob store: S3 (whose failed aborts become jobs) or the
/// local folder.
fn blob_store(
    config: &Config,
    aborts: crate::jobs::JobQueueAborts,
) -> Result<Arc<dyn BlobStore>, BoxError> {
    Ok(match &config.storage.s3.s3_bucket {
        Some(bucket) => {
            Arc::new(S3Store::new(&config.storage.s3, bucket).with_abort_later(Arc::new(aborts)))
        }
        None => {
            let dir = config
                .storage
                .blob_dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("blobs"));
            Arc::new(LocalStore::new(dir)?)
        }
    })
}

/// What runs beside the listener: the database health watch, the admin
/// listener, the job runner.
struct Tasks {
    health: tokio::task::JoinHandle<()>,
    others: Vec<tokio::task::JoinHandle<()>>,
}

impl Tasks {
    async fn start(
        state: &AppState,
        reporter: tonic_health::server::HealthReporter,
        admin: Option<TcpListener>,
    ) -> Self {
        let health = health::watch_database(state.db.clone(), reporter).await;
        let mut others = Vec::new();
        if let Some(listener) = admin {
            others.push(tokio::spawn(ops::serve(listener, state.clone())));
        }
        let every = state.config.storage.job_interval;
        if !every.is_zero() {
            others.push(JobRunner::new(state.clone()).spawn(every));
        }
        Self { health, others }
    }

    fn abort(self) {
        self.health.abort();
        self.others.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// Resolves when the server must stop taking work, having turned readiness
/// and health false; then wakes `stopping` to start the grace period.
/// (`watch` is the health watch, stopped so it cannot report SERVING again.)
async fn stop_serving(
    state: AppState,
    shutdown: impl Future<Output = ()> + Send,
    reporter: tonic_health::server::HealthReporter,
    watch: tokio::task::AbortHandle,
    stopping: Arc<tokio::sync::Notify>,
) {
    shutdown.await;
    state.readiness.stop();
    watch.abort();
    health::report_stopping(&reporter).await;
    let grace = state.config.shutdown_grace;
    tracing::info!(
        ?grace,
        "stopping: new connections refused, calls in flight finishing"
    );
    stopping.notify_one();
}

/// Every service, reflection, health and the HTTP side door.
fn routes(
    state: &AppState,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
) -> Result<tonic::service::Routes, BoxError> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tenantry_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tenantry_proto::ERROR_DETAILS_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let max = state.config.limits.max_message_bytes;
    let auth = AuthServiceServer::new(AuthApi::new(state.clone())).max_decoding_message_size(max);
    let org = OrgServiceServer::new(OrgApi::new(state.clone())).max_decoding_message_size(max);
    let audit =
        AuditServiceServer::new(AuditApi::new(state.clone())).max_decoding_message_size(max);
    let file = FileServiceServer::new(FileApi::new(state.clone())).max_decoding_message_size(max);
    let sso = SsoServiceServer::new(crate::sso::SsoApi::new(state.clone()))
        .max_decoding_message_size(max);
    let service_accounts = ServiceAccountServiceServer::new(
        crate::service_accounts::ServiceAccountApi::new(state.clone()),
    )
    .max_decoding_message_size(max);
    Ok(
        tonic::service::Routes::from(side_door::routes(state.clone()))
            .add_service(health)
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?)
            .add_service(auth)
            .add_service(org)
            .add_service(audit)
            .add_service(file)
            .add_service(sso)
            .add_service(service_accounts),
    )
}

/// Browsers may call from the configured origins only; they must be able to
/// read the gRPC status headers of an error answer.
fn cors(origins: &[String]) -> Result<CorsLayer, BoxError> {
    let origins = origins
        .iter()
        .map(|o| o.parse())
        .collect::<Result<Vec<http::HeaderValue>, _>>()
        .map_err(|e| format!("invalid --cors-origin: {e}"))?;
    let header = |name: &'static str| http::HeaderName::from_static(name);
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([http::Method::POST, http::Method::GET, http::Method::OPTIONS])
        .allow_headers([
            header("content-type"),
            header("authorization"),
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
            header("x-request-id"),
        ])
        .expose_headers([
            header("grpc-status"),
            header("grpc-message"),
            header("grpc-status-details-bin"),
            header("x-request-id"),
        ])
        .max_age(std::time::Duration::from_secs(86_400)))
}
