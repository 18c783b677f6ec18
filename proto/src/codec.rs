//! The codec every generated stub uses: prost, except that a request that does
//! not decode (a string field that is not UTF-8, a truncated message) is the
//! caller's mistake and answers INVALID_ARGUMENT with a field violation, where
//! plain prost answers INTERNAL.

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    Code, Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstEncoder};
use tonic_types::{ErrorDetails, StatusExt as _};

/// Prost encoding with caller-friendly decode errors.
#[derive(Debug, Clone)]
pub struct ValidatingCodec<T, U> {
    _pd: PhantomData<(T, U)>,
}

impl<T, U> Default for ValidatingCodec<T, U> {
    fn default() -> Self {
        Self { _pd: PhantomData }
    }
}

impl<T, U> Codec for ValidatingCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ValidatingDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        ValidatingDecoder { _pd: PhantomData }
    }
}

/// Decodes `U`, mapping prost's errors to INVALID_ARGUMENT.
#[derive(Debug)]
pub struct ValidatingDecoder<U> {
    _pd: PhantomData<U>,
}

impl<U: Message + Default> Decoder for ValidatingDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|err| decode_error(&err))
    }
}

/// prost renders its error as `failed to decode Protobuf message: Msg.field:
/// description`; the innermost `Msg.field` names the offending field.
fn decode_error(err: &prost::DecodeError) -> Status {
    let text = err.to_string();
    let rest = text
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(&text);
    let mut field = String::new();
    let mut description = rest;
    while let Some((head, tail)) = description.split_once(": ") {
        match head.split_once('.') {
            Some((message, name)) if is_ident(message) && is_ident(name) => {
                field = name.to_owned();
                description = tail;
            }
            _ => break,
        }
    }
    let field = if field.is_empty() {
        "request".to_owned()
    } else {
        field
    };
    Status::with_error_details(
        Code::InvalidArgument,
        format!("malformed request: {field}: {description}"),
        ErrorDetails::with_bad_request_violation(field, description.to_owned()),
    )
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_names_the_field() {
        // Field 1 (string), length 2, bytes that are not UTF-8.
        let bytes: &[u8] = &[0x0a, 0x02, 0xff, 0xfe];
        let err = crate::auth::v1::RegisterRequest::decode(bytes).unwrap_err();
        let status = decode_error(&err);
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let violation = &details.bad_request().unwrap().field_violations[0];
        assert_eq!(violation.field, "email");
    }
}
