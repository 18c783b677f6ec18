//! What every server offers besides the services: health, reflection,
//! request ids.

use tenantry_client::auth::v1::{GetJwksRequest, GetMeRequest};
use tenantry_tests::{Backend, TestApp, on_both_backends};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

async fn health_reports_serving_while_the_database_answers(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut health = HealthClient::new(app.client().await.channel());
    for service in ["", "tenantry.auth.v1.AuthService"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.status(), ServingStatus::Serving, "{service:?}");
    }
}

/// One reflection request, one reply.
async fn reflect(app: &TestApp, request: MessageRequest) -> MessageResponse {
    let mut reflection = ServerReflectionClient::new(app.client().await.channel());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = stream.message().await.unwrap().unwrap();
    reply.message_response.expect("a reflection reply")
}

async fn reflection_lists_the_services(backend: Backend) {
    let app = TestApp::start(backend).await;
    let MessageResponse::ListServicesResponse(list) =
        reflect(&app, MessageRequest::ListServices(String::new())).await
    else {
        panic!("unexpected reflection reply");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["tenantry.auth.v1.AuthService", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
}

/// buf curl and grpcurl decode error details through reflection.
async fn reflection_serves_the_error_details(backend: Backend) {
    use prost::Message as _;
    let app = TestApp::start(backend).await;
    for symbol in [
        "google.rpc.BadRequest",
        "google.rpc.RetryInfo",
        "google.rpc.PreconditionFailure",
    ] {
        let reply = reflect(&app, MessageRequest::FileContainingSymbol(symbol.into())).await;
        let MessageResponse::FileDescriptorResponse(files) = reply else {
            panic!("{symbol}: {reply:?}");
        };
        let names: Vec<String> = files
            .file_descriptor_proto
            .iter()
            .map(|raw| {
                prost_types::FileDescriptorProto::decode(raw.as_slice())
                    .unwrap()
                    .name()
                    .to_owned()
            })
            .collect();
        assert!(
            names.iter().any(|n| n == "google/rpc/error_details.proto"),
            "{names:?}"
        );
    }
}

async fn every_answer_carries_a_request_id(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client().await;
    let answer = client.auth().get_jwks(GetJwksRequest {}).await.unwrap();
    let id = answer
        .metadata()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(uuid::Uuid::try_parse(id).is_ok());
    // A caller's own id is echoed, on errors too.
    let mut request = tonic::Request::new(GetMeRequest {});
    request
        .metadata_mut()
        .insert("x-request-id", "trace-42".parse().unwrap());
    let status = client.auth().get_me(request).await.unwrap_err();
    assert_eq!(status.metadata().get("x-request-id").unwrap(), "trace-42");
}

on_both_backends!(
    reflection_serves_the_error_details,
    health_reports_serving_while_the_database_answers,
    reflection_lists_the_services,
    every_answer_carries_a_request_id,
);
