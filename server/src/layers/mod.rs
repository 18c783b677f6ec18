//! The tower layers of the request path, outermost first:
//! [`request_meta`] (request id, client address, tracing span) →
//! [`authenticate`] (token → [`Caller`](crate::context::Caller),
//! access rule) → [`rate_limit`].

pub mod authenticate;
pub mod grpc_web;
pub mod rate_limit;
pub mod request_meta;

use http::Response;

/// A gRPC error as an HTTP response (trailers-only), for layers that refuse a
/// call before it reaches a service.
pub(crate) fn refuse<B: Default>(status: tonic::Status) -> Response<B> {
    status.into_http()
}
