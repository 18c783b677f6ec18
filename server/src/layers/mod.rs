//! The tower layers of the request path, outermost first:
//! [`keep_alive`] (HTTP/1.1 connections survive early answers) → CORS →
//! [`protocol`] (gRPC and grpc-web with Protobuf only) → [`grpc_web`] →
//! [`request_meta`] (request id, client address, tracing span) →
//! [`metered`] (calls counted) → [`load_shed`] (--max-in-flight) → [`deadline`] (grpc-timeout,
//! --request-timeout) → [`authenticate`] (token → [`Caller`](crate::context::Caller),
//! access rule) → [`rate_limit`] → [`framing`] (request frames checked).

pub mod authenticate;
pub mod client_address;
pub mod deadline;
pub mod framing;
pub mod grpc_web;
pub mod keep_alive;
pub mod load_shed;
pub mod metered;
pub mod protocol;
pub mod rate_limit;
pub mod request_meta;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

/// Every method we serve, by its path (`/package.Service/Method`), and
/// whether it is client-streaming: read once from the compiled descriptor
/// sets.
pub(crate) fn served_methods() -> &'static std::collections::HashMap<&'static str, bool> {
    use prost::Message as _;
    static METHODS: std::sync::OnceLock<std::collections::HashMap<&'static str, bool>> =
        std::sync::OnceLock::new();
    METHODS.get_or_init(|| {
        [
            tenantry_proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ]
        .into_iter()
        .flat_map(|set| {
            prost_types::FileDescriptorSet::decode(set)
                .expect("the compiled descriptor sets decode")
                .file
        })
        .flat_map(|file| {
            let package = file.package().to_owned();
            file.service.into_iter().flat_map(move |service| {
                let prefix = format!("/{package}.{}/", service.name());
                service.method.into_iter().map(move |m| {
                    // Leaked once: metric labels need `'static` names.
                    let path: &'static str = Box::leak(format!("{prefix}{}", m.name()).into());
                    (path, m.client_streaming())
                })
            })
        })
        .collect()
    })
}

/// Whether the request speaks gRPC (or grpc-web, once translated).
pub(crate) fn is_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// A gRPC error as an HTTP response (trailers-only), for layers that refuse a
/// call before it reaches a service.
pub(crate) fn refuse<B: Default>(status: tonic::Status) -> Response<B> {
    status.into_http()
}

/// A plain-text HTTP answer, for callers that are not speaking gRPC.
pub(crate) fn plain_text(status: StatusCode, text: String) -> Response<tonic::body::Body> {
    let body = tonic::body::Body::new(http_body_util::Full::new(Bytes::from(text)));
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
