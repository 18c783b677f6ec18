//! Accepting connections on a TLS port. Handshakes run in tasks of their own,
//! so a slow one never holds up the accept loop; each has the connection's
//! handshake timeout. A peer that speaks plain HTTP to the port gets a clear
//! HTTP/1.1 400 saying so, then the connection closes — not a hang.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::{StreamExt as _, stream::BoxStream};
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf},
    net::TcpListener,
    sync::mpsc,
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tonic::transport::server::Connected;

use crate::connections::{ConnectionInfo, ConnectionLimits, Guarded, incoming};

/// A served connection: plain, or TLS over the same guard.
pub enum Conn {
    Plain(Guarded),
    Tls(Box<TlsStream<Guarded>>),
}

/// The connections to serve: plain when `tls` is `None`.
pub fn serve_incoming(
    listener: TcpListener,
    limits: ConnectionLimits,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> BoxStream<'static, io::Result<Conn>> {
    let plain = incoming(listener, limits);
    let Some(tls) = tls else {
        return plain.map(|c| c.map(Conn::Plain)).boxed();
    };
    let acceptor = TlsAcceptor::from(tls);
    let (ready, served) = mpsc::channel(128);
    tokio::spawn(async move {
        let mut plain = std::pin::pin!(plain);
        loop {
            // Ends (closing the listener) once the server stops serving.
            let next = tokio::select! {
                next = plain.next() => next,
                () = ready.closed() => None,
            };
            let Some(Ok(guarded)) = next else { break };
            let (ready, acceptor) = (ready.clone(), acceptor.clone());
            tokio::spawn(async move {
                if let Some(conn) = handshake(guarded, acceptor, limits.handshake).await {
                    let _ = ready.send(Ok(conn)).await;
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(served).boxed()
}

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

const PLAIN_REFUSED: &str = "This port speaks TLS: call it with https:// (or a TLS channel).\n";

async fn handshake(guarded: Guarded, acceptor: TlsAcceptor, limit: Duration) -> Option<Conn> {
    let mut first = [0_u8; 1];
    match tokio::time::timeout(limit, guarded.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => {}
        Ok(Ok(1)) => {
            refuse_plain(guarded).await;
            return None;
        }
        _ => return None,
    }
    match tokio::time::timeout(limit, acceptor.accept(guarded)).await {
        Ok(Ok(tls)) => Some(Conn::Tls(Box::new(tls))),
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "TLS handshake failed");
            None
        }
        Err(_) => None,
    }
}

async fn refuse_plain(mut guarded: Guarded) {
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{PLAIN_REFUSED}",
        PLAIN_REFUSED.len()
    );
    let _ = guarded.write_all(answer.as_bytes()).await;
    let _ = guarded.shutdown().await;
}

impl Connected for Conn {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        match self {
            Conn::Plain(guarded) => guarded.connect_info(),
            Conn::Tls(tls) => {
                let (guarded, session) = tls.get_ref();
                let mut info = guarded.connect_info();
                info.client_cert = session
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|leaf| Arc::from(crate::tls::thumbprint(leaf)));
                info
            }
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(c) => Pin::new(c).poll_read(cx, buf),
            Conn::Tls(c) => Pin::new(c).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(c) => Pin::new(c).poll_write(cx, buf),
            Conn::Tls(c) => Pin::new(c).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(c) => Pin::new(c).poll_flush(cx),
            Conn::Tls(c) => Pin::new(c).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(c) => Pin::new(c).poll_shutdown(cx),
            Conn::Tls(c) => Pin::new(c).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(c) => Pin::new(c).poll_write_vectored(cx, bufs),
            Conn::Tls(c) => Pin::new(c).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(c) => c.is_write_vectored(),
            Conn::Tls(c) => c.is_write_vectored(),
        }
    }
}
