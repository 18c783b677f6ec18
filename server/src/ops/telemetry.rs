//! Logs (JSON or text, filtered by `TENANTRY_LOG`) and, when an OTLP
//! endpoint is configured, traces exported over OTLP/gRPC: every call is a
//! span, a child of the caller's W3C `traceparent` when it sends one. The
//! caller's trace id is also on the call's log lines (`trace_id`), with or
//! without export.

use std::io::IsTerminal as _;

use opentelemetry::{
    Context, global,
    propagation::Extractor,
    trace::{TraceContextExt as _, TraceId, TracerProvider as _},
};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_subscriber::{
    EnvFilter, Layer, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

/// Where traces go.
#[derive(Debug, Clone, clap::Args)]
pub struct TracingConfig {
    /// OTLP/gRPC endpoint to export traces to, e.g. `http://collector:4317`.
    /// Unset: no export (the standard `OTEL_EXPORTER_OTLP_ENDPOINT`).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// The `service.name` of exported spans (the standard `OTEL_SERVICE_NAME`).
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "tenantry")]
    pub otel_service_name: String,
}

/// Keeps the exporter until the process ends; `shutdown` flushes it.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still buffered. Call it last.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            eprintln!("tracing: the last spans were not exported: {err}");
        }
    }
}

/// Installs the log and trace subscriber. Must run inside the Tokio runtime
/// (the OTLP client is a tonic channel).
pub fn init(log_format: &str, tracing: &TracingConfig) -> Result<Telemetry, String> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_env("TENANTRY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = match &tracing.otlp_endpoint {
        Some(endpoint) => Some(provider(endpoint, &tracing.otel_service_name)?),
        None => None,
    };
    let spans = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("tenantry")));
    tracing_subscriber::registry()
        .with(logs(log_format).with_filter(filter))
        .with(spans)
        .try_init()
        .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    Ok(Telemetry { provider })
}

fn provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| format!("--otlp-endpoint {endpoint}: {e}"))?;
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// JSON lines when stdout is not a terminal (or `json`), else text.
fn logs<S>(format: &str) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let json = match format {
        "json" => true,
        "text" => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let layer = tracing_subscriber::fmt::layer();
    if json {
        layer
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    } else {
        layer.boxed()
    }
}

/// The caller's trace context from its `traceparent` (W3C Trace Context),
/// or an empty one.
pub fn caller_context(headers: &http::HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&Headers(headers)))
}

/// The trace id of `context`, if it has one.
pub fn trace_id(context: &Context) -> Option<TraceId> {
    let span = context.span();
    let id = span.span_context().trace_id();
    (id != TraceId::INVALID).then_some(id)
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
