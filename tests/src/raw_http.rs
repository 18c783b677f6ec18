//! HTTP/1.1 on a bare socket, for tests of what a client library would hide:
//! when the body is sent, whether the connection stays open, who closes it.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpSocket, TcpStream},
};

/// A gRPC frame: flag, big-endian length, message.
pub fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// A connection to `server` from the loopback address `from` (127.0.0.x:
/// every such address reaches the machine itself, each a client of its own).
pub async fn connect_from(from: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback source address");
    socket.connect(server).await.expect("connect")
}

/// The head of a POST, without its body.
pub fn post_head(path: &str, content_type: &str, length: usize, extra: &[&str]) -> String {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: tenantry\r\ncontent-type: {content_type}\r\n\
         content-length: {length}\r\n"
    );
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// A response as read off the socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Lowercased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The gRPC status, from the headers or from a grpc-web trailer frame.
    pub fn grpc_status(&self) -> Option<String> {
        if let Some(status) = self.header("grpc-status") {
            return Some(status.to_owned());
        }
        let text = String::from_utf8_lossy(&self.body);
        let at = text.find("grpc-status:")? + "grpc-status:".len();
        let value = text[at..].split("\r\n").next()?;
        Some(value.trim().to_owned())
    }
}

/// Reads one response: its head, then a body by content-length or chunks.
/// `None` when the server closed the connection before a response began.
pub async fn read_response(stream: &mut TcpStream) -> Option<RawResponse> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0_u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut rest = buffer[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let response = |body| RawResponse {
        status,
        headers: headers.clone(),
        body,
    };
    if status == 100 {
        return Some(response(rest));
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = fill_until(stream, &mut rest, b"\r\n").await?;
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)
                .ok()?;
            rest.drain(..line_end + 2);
            if size == 0 {
                fill_until(stream, &mut rest, b"\r\n").await?;
                return Some(response(body));
            }
            while rest.len() < size + 2 {
                read_more(stream, &mut rest).await?;
            }
            body.extend_from_slice(&rest[..size]);
            rest.drain(..size + 2);
        }
    }
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while rest.len() < length {
        read_more(stream, &mut rest).await?;
    }
    rest.truncate(length);
    Some(response(rest))
}

/// Whether the server closed the connection (a read ends or fails) before
/// sending anything more.
pub async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0_u8; 1];
    matches!(stream.read(&mut byte).await, Ok(0) | Err(_))
}

/// Sends a request and reads its response.
pub async fn exchange(stream: &mut TcpStream, request: &[u8]) -> Option<RawResponse> {
    stream.write_all(request).await.ok()?;
    read_response(stream).await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0_u8; 4096];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}

async fn fill_until(stream: &mut TcpStream, buffer: &mut Vec<u8>, needle: &[u8]) -> Option<usize> {
    loop {
        if let Some(at) = find(buffer, needle) {
            return Some(at);
        }
        read_more(stream, buffer).await?;
    }
}
