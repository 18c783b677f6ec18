//! Only the protocols Tenantry serves reach a service: gRPC and grpc-web,
//! with Protobuf bodies. The Connect protocol's streaming bodies are
//! byte-identical to gRPC's, so without this check a Connect upload would be
//! stored while its client read an error, and retried into a duplicate.
//!
//! - `POST` with `application/grpc[+proto]` or
//!   `application/grpc-web[-text][+proto]` (any parameters) goes on.
//! - Another gRPC-shaped type (`application/grpc+json`,
//!   `application/grpc-web+json`, …) gets that protocol's own error answer,
//!   UNIMPLEMENTED, naming the codec that is served.
//! - Anything else gets HTTP 415 with an `Accept-Post` list; a method other
//!   than `POST` gets 405 with `Allow: POST`.
//!
//! The plain HTTP routes of the side door and CORS preflights are not calls
//! and pass untouched.

use std::task::{Context, Poll};

use futures::future::Either;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use tonic::body::Body;
use tower::{Layer, Service};

use super::plain_text;

/// The content types served, as `Accept-Post` lists them.
pub const SERVED: &str = "application/grpc, application/grpc+proto, application/grpc-web, \
     application/grpc-web+proto, application/grpc-web-text, application/grpc-web-text+proto";

#[derive(Debug, Clone, Copy, Default)]
pub struct ProtocolLayer;

impl<S> Layer<S> for ProtocolLayer {
    type Service = Protocol<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Protocol { inner }
    }
}

#[derive(Debug, Clone)]
pub struct Protocol<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for Protocol<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<S::Future, std::future::Ready<Result<Response<Body>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        match refusal(&request) {
            None => Either::Left(self.inner.call(request)),
            Some(answer) => Either::Right(std::future::ready(Ok(answer))),
        }
    }
}

/// The answer to a request of a protocol not served, if it is one.
pub fn refusal<B>(request: &Request<B>) -> Option<Response<Body>> {
    let path = request.uri().path();
    if crate::side_door::serves(path) || request.method() == Method::OPTIONS {
        return None;
    }
    if request.method() != Method::POST {
        let mut answer = plain_text(
            StatusCode::METHOD_NOT_ALLOWED,
            "gRPC methods are called with POST\n".to_owned(),
        );
        answer
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Some(answer);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/grpc"
        | "application/grpc+proto"
        | "application/grpc-web"
        | "application/grpc-web+proto"
        | "application/grpc-web-text"
        | "application/grpc-web-text+proto" => None,
        web if web.starts_with("application/grpc-web") => Some(grpc_web_refusal(web)),
        grpc if grpc.starts_with("application/grpc+") => Some(
            tonic::Status::unimplemented(codec_message(grpc, "application/grpc+proto")).into_http(),
        ),
        _ => Some(unsupported_media_type(content_type)),
    }
}

fn codec_message(media: &str, served: &str) -> String {
    let codec = media.rsplit('+').next().unwrap_or(media);
    let json = if codec == "json" {
        " (JSON is not served)"
    } else {
        ""
    };
    format!("`{media}` is not served{json}: send Protobuf bodies as `{served}`")
}

/// A grpc-web error answer, headers only, as grpc-web clients read one.
fn grpc_web_refusal(media: &str) -> Response<Body> {
    let served = if media.starts_with("application/grpc-web-text") {
        "application/grpc-web-text+proto"
    } else {
        "application/grpc-web+proto"
    };
    let mut answer = tonic::Status::unimplemented(codec_message(media, served)).into_http::<Body>();
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(served));
    answer
}

fn unsupported_media_type(content_type: &str) -> Response<Body> {
    let shown = if content_type.is_empty() {
        "no content type"
    } else {
        content_type
    };
    let text = format!(
        "{shown} is not served: Tenantry speaks gRPC and grpc-web with Protobuf bodies \
         (not the Connect protocol, not JSON); accepted: {SERVED}\n"
    );
    let mut answer = plain_text(StatusCode::UNSUPPORTED_MEDIA_TYPE, text);
    answer
        .headers_mut()
        .insert("accept-post", HeaderValue::from_static(SERVED));
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(content_type: &str) -> Request<()> {
        Request::builder()
            .method("POST")
            .uri("/tenantry.file.v1.FileService/Upload")
            .header(header::CONTENT_TYPE, content_type)
            .body(())
            .unwrap()
    }

    #[test]
    fn grpc_and_grpc_web_with_protobuf_go_on() {
        for served in [
            "application/grpc",
            "application/grpc+proto",
            "Application/GRPC-Web+proto",
            "application/grpc-web-text; charset=utf-8",
            "application/grpc-web-text+proto",
        ] {
            assert!(refusal(&post(served)).is_none(), "{served}");
        }
    }

    #[test]
    fn other_protocols_are_refused_with_what_is_served() {
        for (content_type, status, grpc_status) in [
            (
                "application/proto",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
            ),
            (
                "application/connect+proto",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
            ),
            ("application/json", StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            ("", StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            ("application/grpc+json", StatusCode::OK, Some("12")),
            ("application/grpc-web+json", StatusCode::OK, Some("12")),
        ] {
            let answer = refusal(&post(content_type)).expect(content_type);
            assert_eq!(answer.status(), status, "{content_type}");
            let grpc = answer
                .headers()
                .get("grpc-status")
                .map(|v| v.to_str().unwrap());
            assert_eq!(grpc, grpc_status, "{content_type}");
            if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                assert!(
                    answer.headers()["accept-post"]
                        .to_str()
                        .unwrap()
                        .contains("application/grpc-web")
                );
            } else {
                let message = answer.headers()["grpc-message"].to_str().unwrap();
                assert!(message.contains("JSON%20is%20not%20served"), "{message}");
            }
        }
    }

    #[test]
    fn plain_routes_and_preflights_pass_and_get_on_a_method_is_405() {
        let jwks = Request::get(crate::side_door::JWKS_PATH).body(()).unwrap();
        assert!(refusal(&jwks).is_none());
        let preflight = Request::builder()
            .method("OPTIONS")
            .uri("/tenantry.auth.v1.AuthService/GetMe")
            .body(())
            .unwrap();
        assert!(refusal(&preflight).is_none());
        let get = Request::get("/tenantry.auth.v1.AuthService/GetMe")
            .body(())
            .unwrap();
        let answer = refusal(&get).unwrap();
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(answer.headers()[header::ALLOW], "POST");
    }
}
