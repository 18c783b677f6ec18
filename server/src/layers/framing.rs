//! gRPC request bodies are checked frame by frame before a service decodes
//! them, so a caller's mistake is answered as one, not as INTERNAL:
//! - a frame flag of 1 (compressed): UNIMPLEMENTED, no compression is
//!   accepted; any other flag (a trailer frame, say): INVALID_ARGUMENT;
//! - a body that ends inside a frame header or message: INVALID_ARGUMENT;
//! - a unary or server-streaming request with other than exactly one
//!   message: INVALID_ARGUMENT (tonic would answer OK to two).
//!
//! And a request stream that the client reset (RST_STREAM, or a connection
//! lost mid-stream) ends as ABORTED: tonic reads a CANCELLED request stream
//! as a finished one, which would turn a cancelled upload into a file.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Buf as _, Bytes};
use http::{Request, Response};
use http_body::Frame;
use tonic::{Code, Status, body::Body};
use tower::{Layer, Service};

const HEADER: usize = 5;

#[derive(Debug, Clone, Copy, Default)]
pub struct FramingLayer;

impl<S> Layer<S> for FramingLayer {
    type Service = Framing<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Framing { inner }
    }
}

#[derive(Debug, Clone)]
pub struct Framing<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for Framing<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if !super::is_grpc(&request) {
            return self.inner.call(request);
        }
        let one_message = single_message(request.uri().path());
        self.inner
            .call(request.map(|body| Body::new(CheckedFrames::new(body, one_message))))
    }
}

/// Whether the method at `path` takes exactly one request message: every
/// known method that is not client-streaming (reflection's bidi stream and
/// unknown paths are not counted).
pub(super) fn single_message(path: &str) -> bool {
    super::served_methods().get(path) == Some(&false)
}

/// A request body whose gRPC frames are checked as they pass.
struct CheckedFrames {
    body: Body,
    one_message: bool,
    messages: usize,
    /// Bytes of the current frame header seen so far (0 between frames).
    header: Vec<u8>,
    /// Bytes of the current message still to come.
    message_left: usize,
    failed: bool,
}

impl CheckedFrames {
    fn new(body: Body, one_message: bool) -> Self {
        Self {
            body,
            one_message,
            messages: 0,
            header: Vec::with_capacity(HEADER),
            message_left: 0,
            failed: false,
        }
    }

    /// Walks `data` through the framing, refusing the first mistake.
    fn check(&mut self, mut data: &[u8]) -> Result<(), Status> {
        while !data.is_empty() {
            if self.message_left > 0 {
                let step = self.message_left.min(data.len());
                self.message_left -= step;
                data.advance(step);
                continue;
            }
            let step = (HEADER - self.header.len()).min(data.len());
            self.header.extend_from_slice(&data[..step]);
            data.advance(step);
            if self.header.len() == HEADER {
                self.start_message()?;
            }
        }
        Ok(())
    }

    fn start_message(&mut self) -> Result<(), Status> {
        match self.header[0] {
            0 => {}
            1 => {
                return Err(Status::unimplemented(
                    "compressed messages are not accepted: send them uncompressed",
                ));
            }
            flag => {
                return Err(Status::invalid_argument(format!(
                    "a request frame has flag {flag:#04x}: only 0x00 (an uncompressed \
                     message) is accepted"
                )));
            }
        }
        self.messages += 1;
        if self.one_message && self.messages > 1 {
            return Err(Status::invalid_argument(
                "this method takes exactly one request message; the body holds more",
            ));
        }
        let len = u32::from_be_bytes([
            self.header[1],
            self.header[2],
            self.header[3],
            self.header[4],
        ]);
        self.message_left = len as usize;
        self.header.clear();
        Ok(())
    }

    /// The body ended: it must end between frames, with the right count.
    fn finish(&self) -> Result<(), Status> {
        if !self.header.is_empty() || self.message_left > 0 {
            return Err(Status::invalid_argument(
                "the request body ends inside a gRPC frame (a truncated header, or a \
                 message shorter than its declared length)",
            ));
        }
        if self.one_message && self.messages == 0 {
            return Err(Status::invalid_argument(
                "this method takes exactly one request message; the body holds none",
            ));
        }
        Ok(())
    }
}

impl http_body::Body for CheckedFrames {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let polled = std::task::ready!(Pin::new(&mut self.body).poll_frame(cx));
        let checked = match polled {
            Some(Ok(frame)) => match frame.data_ref().map(|d| self.check(d)) {
                Some(Err(status)) => Err(status),
                _ => return Poll::Ready(Some(Ok(frame))),
            },
            Some(Err(status)) if status.code() == Code::Cancelled => Err(Status::aborted(
                "the client cancelled the call before its request stream ended",
            )),
            Some(Err(status)) => Err(status),
            None => match self.finish() {
                Ok(()) => return Poll::Ready(None),
                Err(status) => Err(status),
            },
        };
        self.failed = true;
        Poll::Ready(Some(checked))
    }
}

/// What the check says of a body that arrives as `chunks`, then ends
/// (its unit tests, and the fuzz target that splits bodies at random).
pub fn verdict(one_message: bool, chunks: &[&[u8]]) -> Result<(), Code> {
    let mut checked = CheckedFrames::new(Body::empty(), one_message);
    for chunk in chunks {
        checked.check(chunk).map_err(|s| s.code())?;
    }
    checked.finish().map_err(|s| s.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
        let mut out = vec![flag];
        out.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    #[test]
    fn well_framed_bodies_pass_however_they_are_split() {
        let two = [frame(0, b"hello"), frame(0, b"")].concat();
        for split in 0..=two.len() {
            let (a, b) = two.split_at(split);
            assert_eq!(verdict(false, &[a, b]), Ok(()), "split at {split}");
        }
        assert_eq!(verdict(true, &[&frame(0, b"one")]), Ok(()));
        assert_eq!(verdict(false, &[]), Ok(()), "a stream may be empty");
    }

    #[test]
    fn framing_mistakes_are_the_callers() {
        let whole = frame(0, b"hello");
        assert_eq!(
            verdict(false, &[&whole[..3]]),
            Err(Code::InvalidArgument),
            "truncated header"
        );
        assert_eq!(
            verdict(false, &[&whole[..7]]),
            Err(Code::InvalidArgument),
            "length past the body"
        );
        assert_eq!(
            verdict(false, &[&frame(0x80, b"")]),
            Err(Code::InvalidArgument),
            "a trailer frame"
        );
        assert_eq!(
            verdict(false, &[&frame(1, b"x")]),
            Err(Code::Unimplemented),
            "compressed"
        );
    }

    #[test]
    fn a_unary_request_holds_exactly_one_message() {
        let two = [frame(0, b"a"), frame(0, b"b")].concat();
        assert_eq!(verdict(true, &[&two]), Err(Code::InvalidArgument));
        assert_eq!(verdict(true, &[]), Err(Code::InvalidArgument));
        assert_eq!(verdict(false, &[&two]), Ok(()));
    }

    #[test]
    fn methods_are_told_apart_by_the_descriptors() {
        assert!(single_message("/tenantry.auth.v1.AuthService/GetMe"));
        assert!(single_message("/tenantry.file.v1.FileService/Download"));
        assert!(single_message("/grpc.health.v1.Health/Check"));
        assert!(!single_message("/tenantry.file.v1.FileService/Upload"));
        assert!(!single_message("/nope.Nope/Nope"));
    }
}
