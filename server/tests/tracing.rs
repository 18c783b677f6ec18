//! Traces leave the real server binary over OTLP/gRPC to a receiver this
//! test runs, each call a child of the caller's W3C `traceparent`, and the
//! call's log lines carry the same trace id.

use std::{process::Stdio, time::Duration};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value,
    trace::v1::Span,
};
use tenantry_proto::auth::v1::{GetJwksRequest, auth_service_client::AuthServiceClient};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    sync::mpsc,
};
use tonic::{Request, Response, Status};

/// An OTLP trace receiver: every export is passed on to the test.
struct Receiver(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let _ = self.0.send(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn receiver() -> (String, mpsc::UnboundedReceiver<ExportTraceServiceRequest>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (sender, exports) = mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Receiver(sender)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (format!("http://{addr}"), exports)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(text) => Some(text.clone()),
            _ => None,
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first span of `trace_id` named `call`, and the exporter's service
/// name.
async fn exported_call(
    exports: &mut mpsc::UnboundedReceiver<ExportTraceServiceRequest>,
    trace_id: &str,
) -> (Span, Option<Value>) {
    loop {
        let export = exports.recv().await.expect("the receiver runs");
        for resource in export.resource_spans {
            let service = resource
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .and_then(|kv| kv.value.clone()?.value);
            for scope in resource.scope_spans {
                for span in scope.spans {
                    if hex(&span.trace_id) == trace_id && span.name == "call" {
                        return (span, service);
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_call_is_a_span_of_the_callers_trace_and_its_logs_say_so() {
    let (endpoint, mut exports) = receiver().await;
    let data = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_tenantry-server"))
        .args([
            "--listen",
            &listen,
            "--admin-listen",
            "off",
            "--log-format",
            "json",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .args(["--otlp-endpoint", &endpoint])
        .env("OTEL_SERVICE_NAME", "tenantry-under-test")
        // Export each batch at once rather than every 5 s.
        .env("OTEL_BSP_SCHEDULE_DELAY", "10")
        .env("TENANTRY_LOG", "info")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the tenantry-server binary");
    let mut logs = BufReader::new(server.stdout.take().unwrap()).lines();
    let wait = Duration::from_secs(60);
    let serving = async {
        while let Some(line) = logs.next_line().await.unwrap() {
            if line.contains("serving gRPC") {
                return;
            }
        }
        panic!("the server stopped before serving");
    };
    tokio::time::timeout(wait, serving)
        .await
        .expect("the server serves");

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let mut client = AuthServiceClient::connect(format!("http://{listen}"))
        .await
        .unwrap();
    let mut request = Request::new(GetJwksRequest {});
    let traceparent = format!("00-{trace_id}-{parent_id}-01");
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    client.get_jwks(request).await.unwrap();

    let (span, service) = tokio::time::timeout(wait, exported_call(&mut exports, trace_id))
        .await
        .expect("the call's span is exported");
    assert_eq!(
        hex(&span.parent_span_id),
        parent_id,
        "a child of the caller's span"
    );
    assert_eq!(
        attribute(&span, "method").as_deref(),
        Some("/tenantry.auth.v1.AuthService/GetJwks")
    );
    assert_eq!(
        service,
        Some(Value::StringValue("tenantry-under-test".into()))
    );

    let answered = async {
        while let Some(line) = logs.next_line().await.unwrap() {
            if line.contains("call answered") && line.contains(trace_id) {
                return line;
            }
        }
        panic!("the server stopped");
    };
    let logged = tokio::time::timeout(wait, answered)
        .await
        .expect("the call's log line carries the trace id");
    let line: serde_json::Value = serde_json::from_str(&logged).unwrap();
    assert_eq!(line["span"]["trace_id"], trace_id, "{logged}");
}
