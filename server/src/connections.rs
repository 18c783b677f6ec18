//! The listener's guard against connections that cost without calling.
//!
//! Every accepted connection holds a file descriptor, so idle ones must not
//! be able to crowd out callers:
//! - at most `max_connections` open in all and `max_connections_per_ip` from
//!   one client address; one over either cap is closed as it is accepted;
//! - a connection that has not started a call within `handshake_timeout`
//!   (never sent the HTTP/2 preface, or a request) is closed;
//! - a connection with no call in flight for `idle_connection_timeout` is
//!   closed (what gRPC calls MAX_CONNECTION_IDLE); a call in flight, such as
//!   a long download, keeps it open.
//!
//! Closing is done from inside the connection: its reads end (EOF), which
//! hyper answers by closing the socket. [`CallsLayer`] counts the calls in
//! flight on each connection, from the request until its answer's body ends.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use futures::Stream;
use http::{Request, Response};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::{Instant, Sleep},
};
use tonic::{body::Body, transport::server::Connected};
use tower::{Layer, Service};

use crate::config::LimitsConfig;

/// The caps and timeouts of [`LimitsConfig`] that apply to connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub handshake: Duration,
    pub idle: Duration,
    pub max_total: usize,
    pub max_per_ip: usize,
}

impl From<&LimitsConfig> for ConnectionLimits {
    fn from(limits: &LimitsConfig) -> Self {
        Self {
            handshake: limits.handshake_timeout,
            idle: limits.idle_connection_timeout,
            max_total: limits.max_connections,
            max_per_ip: limits.max_connections_per_ip,
        }
    }
}

/// Raises the soft limit of open files to the hard limit, so the connection
/// caps (not the default of 1024) decide when callers are turned away.
/// Returns the limit now in force.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The connections open, in all and per client address.
#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection's place in [`Open`]; freed on drop.
#[derive(Debug)]
struct Admitted {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total -= 1;
        if let Some(count) = open.by_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

fn admit(open: &Arc<Mutex<Open>>, ip: IpAddr, limits: ConnectionLimits) -> Option<Admitted> {
    let mut guard = open.lock().unwrap_or_else(|p| p.into_inner());
    let from_ip = guard.by_ip.get(&ip).copied().unwrap_or(0);
    if guard.total >= limits.max_total || from_ip >= limits.max_per_ip {
        return None;
    }
    guard.total += 1;
    *guard.by_ip.entry(ip).or_default() += 1;
    Some(Admitted {
        open: open.clone(),
        ip,
    })
}

/// The accepted connections that are within the caps, for tonic to serve.
pub fn incoming(
    listener: TcpListener,
    limits: ConnectionLimits,
) -> impl Stream<Item = std::io::Result<Guarded>> {
    let open = Arc::new(Mutex::new(Open::default()));
    futures::stream::unfold((listener, open), move |(listener, open)| async move {
        loop {
            let (stream, remote) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, most likely: give closing ones a moment.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(admitted) = admit(&open, remote.ip(), limits) else {
                tracing::debug!(%remote, "connection over the caps closed");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let guarded = Guarded::new(stream, remote, admitted, limits);
            return Some((Ok(guarded), (listener, open)));
        }
    })
}

/// What the layers know of the connection a call came on.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub remote: SocketAddr,
    /// The SHA-256 thumbprint (base64url) of the client certificate the
    /// peer presented over mutual TLS.
    pub client_cert: Option<Arc<str>>,
    calls: Arc<Calls>,
}

/// Calls in flight on one connection.
#[derive(Debug)]
struct Calls {
    in_flight: AtomicUsize,
    ever: AtomicBool,
    /// When the count last fell to zero.
    idle_since: Mutex<Instant>,
}

/// An accepted connection that ends its reads when it has been idle too long.
pub struct Guarded {
    stream: TcpStream,
    remote: SocketAddr,
    calls: Arc<Calls>,
    accepted: Instant,
    check: Pin<Box<Sleep>>,
    limits: ConnectionLimits,
    _admitted: Admitted,
}

impl Guarded {
    fn new(
        stream: TcpStream,
        remote: SocketAddr,
        admitted: Admitted,
        limits: ConnectionLimits,
    ) -> Self {
        let accepted = Instant::now();
        Self {
            stream,
            remote,
            calls: Arc::new(Calls {
                in_flight: AtomicUsize::new(0),
                ever: AtomicBool::new(false),
                idle_since: Mutex::new(accepted),
            }),
            accepted,
            check: Box::pin(tokio::time::sleep_until(accepted + limits.handshake)),
            limits,
            _admitted: admitted,
        }
    }

    /// The first bytes the peer sent, left to be read (the TLS acceptor
    /// tells a handshake from plain HTTP with them).
    pub async fn peek(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stream.peek(buf).await
    }

    /// When the connection is to be closed if nothing changes, or `None`
    /// while a call is in flight.
    fn closes_at(&self) -> Option<Instant> {
        if self.calls.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        if !self.calls.ever.load(Ordering::Acquire) {
            return Some(self.accepted + self.limits.handshake);
        }
        let since = *self
            .calls
            .idle_since
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Some(since + self.limits.idle)
    }

    /// Whether the connection has had its time; re-arms the check if not.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.check.as_mut().poll(cx).is_ready() {
            let next = match self.closes_at() {
                Some(at) if at <= Instant::now() => return true,
                Some(at) => at,
                // Checked again when the call ends, at the latest after this.
                None => Instant::now() + self.limits.idle.min(self.limits.handshake),
            };
            self.check.as_mut().reset(next);
        }
        false
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.expired(cx) {
            tracing::debug!(remote = %self.remote, "idle connection closed");
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

impl Connected for Guarded {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        ConnectionInfo {
            remote: self.remote,
            client_cert: None,
            calls: self.calls.clone(),
        }
    }
}

/// Counts each call in flight on its connection, until its answer ends.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallsLayer;

impl<S> Layer<S> for CallsLayer {
    type Service = CountCalls<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CountCalls { inner }
    }
}

#[derive(Debug, Clone)]
pub struct CountCalls<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for CountCalls<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let call = request
            .extensions()
            .get::<ConnectionInfo>()
            .map(|info| InFlight::start(info.calls.clone()));
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(match call {
                Some(call) => response.map(|body| Body::new(Counted { body, _call: call })),
                None => response,
            })
        })
    }
}

/// One call in flight; its end may start the connection's idle time.
struct InFlight(Arc<Calls>);

impl InFlight {
    fn start(calls: Arc<Calls>) -> Self {
        calls.ever.store(true, Ordering::Release);
        calls.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(calls)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut since = self.0.idle_since.lock().unwrap_or_else(|p| p.into_inner());
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *since = Instant::now();
        }
    }
}

/// An answer's body that ends its call when it is dropped.
struct Counted {
    body: Body,
    _call: InFlight,
}

impl http_body::Body for Counted {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
