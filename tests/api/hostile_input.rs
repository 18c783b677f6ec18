//! Hostile input to every RPC, driven by the API's own descriptors: each
//! string, number, enum and timestamp field of each request gets bad values
//! (oversized, control characters, negative, huge, unknown), one at a time:
//! each gets INVALID_ARGUMENT (a few get the answer their protocol names).
//! Each call's metadata also gets bytes that are not UTF-8: never INTERNAL,
//! never UNKNOWN, never a panic. The server stays up.

use std::collections::HashMap;

use bytes::{Buf as _, BufMut as _};
use prost::{
    Message as _,
    encoding::{WireType, encode_key, encode_varint},
};
use prost_types::{
    DescriptorProto, FileDescriptorSet, MethodDescriptorProto, field_descriptor_proto::Type,
};
use tenantry_client::auth::v1::GetJwksRequest;
use tenantry_tests::{Backend, TestApp, on_both_backends};
use tonic::{
    Code, Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    metadata::AsciiMetadataValue,
};

/// Sends and receives messages as the bytes they are.
#[derive(Debug, Clone, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

/// The API's messages by full name (`.tenantry.file.v1.FileMetadata`).
struct Messages(HashMap<String, DescriptorProto>);

impl Messages {
    fn of(set: &FileDescriptorSet) -> Self {
        let mut all = HashMap::new();
        for file in &set.file {
            for message in &file.message_type {
                add(&mut all, &format!(".{}", file.package()), message);
            }
        }
        Self(all)
    }

    fn get(&self, name: &str) -> &DescriptorProto {
        &self.0[name]
    }
}

fn add(all: &mut HashMap<String, DescriptorProto>, scope: &str, message: &DescriptorProto) {
    let name = format!("{scope}.{}", message.name());
    for nested in &message.nested_type {
        add(all, &name, nested);
    }
    all.insert(name, message.clone());
}

/// One bad request: which field got what, and its bytes.
struct Case {
    what: String,
    bytes: Vec<u8>,
}

fn length_delimited(tag: u32, value: &[u8], buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(value.len() as u64, buf);
    buf.extend_from_slice(value);
}

fn varint(tag: u32, value: u64, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::Varint, buf);
    encode_varint(value, buf);
}

/// Bad values for each field of `message`, nested messages one level down.
fn cases(messages: &Messages, message: &DescriptorProto, depth: usize) -> Vec<Case> {
    let mut out = Vec::new();
    for field in &message.field {
        let tag = field.number() as u32;
        let mut one = |what: &str, bytes: Vec<u8>| {
            out.push(Case {
                what: format!("{}: {what}", field.name()),
                bytes,
            })
        };
        match field.r#type() {
            Type::String => {
                for (what, value) in [
                    ("70,000 characters", "a".repeat(70_000)),
                    ("control characters", "a\u{0}b\u{7}c\u{1b}".into()),
                    ("a line break", "two\nlines".into()),
                ] {
                    let mut buf = Vec::new();
                    length_delimited(tag, value.as_bytes(), &mut buf);
                    one(what, buf);
                }
            }
            Type::Int32 | Type::Int64 | Type::Enum => {
                let (min, max) = if field.r#type() == Type::Int64 {
                    (i64::MIN, i64::MAX)
                } else {
                    (i32::MIN.into(), i32::MAX.into())
                };
                for (what, value) in [("-1", -1), ("huge", max), ("most negative", min)] {
                    let mut buf = Vec::new();
                    varint(tag, value as u64, &mut buf);
                    one(what, buf);
                }
            }
            Type::Message if field.type_name() == ".google.protobuf.Timestamp" => {
                for (what, seconds, nanos) in [
                    ("year 292277026596", i64::MAX, 0),
                    ("negative nanos", 0, -1_i64),
                ] {
                    let mut inner = Vec::new();
                    varint(1, seconds as u64, &mut inner);
                    varint(2, nanos as u64, &mut inner);
                    let mut buf = Vec::new();
                    length_delimited(tag, &inner, &mut buf);
                    one(what, buf);
                }
            }
            Type::Message if depth == 0 && field.type_name().starts_with(".tenantry.") => {
                let nested = messages.get(field.type_name());
                for case in cases(messages, nested, depth + 1) {
                    let mut buf = Vec::new();
                    length_delimited(tag, &case.bytes, &mut buf);
                    one(&case.what, buf);
                }
            }
            _ => {}
        }
    }
    out
}

/// What a bad value must get: INVALID_ARGUMENT, except where the protocol
/// says otherwise.
fn expected(path: &str, what: &str) -> Code {
    match path.rsplit('/').next().unwrap_or_default() {
        // RFC 6749 §5.2: a token endpoint says only that the client or the
        // grant is wrong.
        "ExchangeToken" => Code::Unauthenticated,
        // Any text of a sane length can be a password; this one is wrong
        // (after a few, the lockout answers instead: see `is_wrong_password`).
        "DeleteAccount"
        | "BeginTotpEnrollment"
        | "RemoveTotp"
        | "RegenerateRecoveryCodes"
        | "BeginPasskeyRegistration"
            if what.starts_with("password") && !what.contains("70,000") =>
        {
            Code::PermissionDenied
        }
        // Nothing comes after a huge sequence number: an empty export.
        "ExportAuditEvents" if what == "after_sequence: huge" => Code::Ok,
        _ => Code::InvalidArgument,
    }
}

/// Wrong passwords count toward the sign-in lockout, so after five the
/// answer is RESOURCE_EXHAUSTED: the same verdict, the caller erred.
fn is_wrong_password(want: Code, got: Code) -> bool {
    want == Code::PermissionDenied && got == Code::ResourceExhausted
}

/// The codes that mean "the server failed", not "the caller erred".
fn is_server_failure(code: Code) -> bool {
    matches!(
        code,
        Code::Internal | Code::Unknown | Code::DataLoss | Code::Unimplemented
    )
}

fn dress<T>(
    mut request: Request<T>,
    metadata: &[(&'static str, AsciiMetadataValue)],
) -> Request<T> {
    for (key, value) in metadata {
        request.metadata_mut().insert(*key, value.clone());
    }
    request
}

async fn call(
    app: &TestApp,
    path: &str,
    method: &MethodDescriptorProto,
    body: Vec<u8>,
    metadata: &[(&'static str, AsciiMetadataValue)],
) -> Result<(), Status> {
    let channel = app.client().await.channel();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::try_from(path).unwrap();
    if method.client_streaming() {
        let messages = tokio_stream::iter(vec![body]);
        grpc.client_streaming(dress(Request::new(messages), metadata), path, RawCodec)
            .await?;
    } else if method.server_streaming() {
        let mut stream = grpc
            .server_streaming(dress(Request::new(body), metadata), path, RawCodec)
            .await?
            .into_inner();
        while stream.message().await?.is_some() {}
    } else {
        grpc.unary(dress(Request::new(body), metadata), path, RawCodec)
            .await?;
    }
    Ok(())
}

async fn every_rpc_answers_bad_fields_as_the_callers_mistake(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bearer: AsciiMetadataValue = format!("Bearer {}", team.owner.tokens.access_token)
        .parse()
        .unwrap();
    let set = FileDescriptorSet::decode(tenantry_client::FILE_DESCRIPTOR_SET).unwrap();
    let messages = Messages::of(&set);
    let mut failures = Vec::new();
    let mut sent = 0;
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                let input = messages.get(method.input_type());
                for case in cases(&messages, input, 0) {
                    sent += 1;
                    let metadata = [("authorization", bearer.clone())];
                    let answer = call(&app, &path, method, case.bytes, &metadata).await;
                    let code = answer.as_ref().map_or_else(Status::code, |()| Code::Ok);
                    let want = expected(&path, &case.what);
                    if code != want && !is_wrong_password(want, code) {
                        let message = answer.err().map(|s| s.message().to_owned());
                        failures.push(format!("{path} {}: {code:?} {message:?}", case.what));
                    }
                }
            }
        }
    }
    assert!(sent > 300, "only {sent} cases");
    assert!(
        failures.is_empty(),
        "{} of {sent}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let jwks = app.client().await.auth().get_jwks(GetJwksRequest {}).await;
    assert!(jwks.is_ok(), "the server is still up: {jwks:?}");
}

async fn metadata_that_is_not_utf8_is_refused_cleanly(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let set = FileDescriptorSet::decode(tenantry_client::FILE_DESCRIPTOR_SET).unwrap();
    let not_utf8 = |prefix: &[u8]| {
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe, 0x80]);
        AsciiMetadataValue::try_from(bytes).ok()
    };
    let bearer = format!("Bearer {}", team.owner.tokens.access_token);
    let cases: Vec<(&str, Vec<(&'static str, AsciiMetadataValue)>)> = vec![
        (
            "authorization",
            vec![("authorization", not_utf8(b"Bearer ").expect("obs-text"))],
        ),
        (
            "x-request-id",
            vec![
                ("authorization", bearer.parse().unwrap()),
                ("x-request-id", not_utf8(b"id-").expect("obs-text")),
            ],
        ),
        (
            "grpc-timeout",
            vec![
                ("authorization", bearer.parse().unwrap()),
                ("grpc-timeout", "soon".parse().unwrap()),
            ],
        ),
        (
            "traceparent",
            vec![
                ("authorization", bearer.parse().unwrap()),
                ("traceparent", not_utf8(b"00-").expect("obs-text")),
            ],
        ),
    ];
    let mut failures = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                for (what, metadata) in &cases {
                    let result = call(&app, &path, method, Vec::new(), metadata).await;
                    if let Err(status) = result
                        && is_server_failure(status.code())
                    {
                        failures.push(format!(
                            "{path} {what}: {:?} {}",
                            status.code(),
                            status.message()
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

on_both_backends!(
    every_rpc_answers_bad_fields_as_the_callers_mistake,
    metadata_that_is_not_utf8_is_refused_cleanly,
);
