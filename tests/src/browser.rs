//! A real browser for the grpc-web tests: headless Chromium driven by
//! `tests/node/browser/fetcher.mjs`, with a page on each of two loopback
//! origins. Calls are the `fetch` a grpc-web client makes, so the browser
//! applies CORS as it would for a web app; the messages are encoded and
//! decoded here with the generated types.

use std::{collections::HashMap, path::PathBuf, process::Stdio};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout},
};

use crate::node;

/// The Chromium the tests drive (`TENANTRY_CHROMIUM` overrides).
pub(crate) fn chromium() -> PathBuf {
    std::env::var_os("TENANTRY_CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), Into::into)
}

/// Whether the browser tests can run here.
pub fn available() -> bool {
    node::available() && chromium().exists()
}

/// Which page a call is made from.
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    /// The web app's origin: the one a test puts on the allow-list.
    App,
    /// Any other site.
    Other,
}

pub struct Browser {
    driver: Driver,
    app: String,
}

impl Browser {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A browser that also trusts the server certificate whose public key
    /// has this SHA-256 (base64): Chromium's `--ignore-certificate-errors-
    /// spki-list`, which keeps every other certificate check.
    pub async fn trusting(spki_sha256: &str) -> Self {
        Self::start_with(&[format!(
            "--ignore-certificate-errors-spki-list={spki_sha256}"
        )])
        .await
    }

    async fn start_with(args: &[String]) -> Self {
        let args = serde_json::to_string(args).expect("JSON");
        let (driver, origins) = Driver::start("browser/fetcher.mjs", &args).await;
        Self {
            driver,
            app: origins["app"]
                .as_str()
                .expect("the app's origin")
                .to_owned(),
        }
    }

    /// The origin of the app's page (`http://127.0.0.1:<port>`).
    pub fn app_origin(&self) -> &str {
        &self.app
    }

    /// Calls `method` (`/package.Service/Method`) on `server` over grpc-web
    /// from a page of `origin`, with a bearer token if given.
    pub async fn call<M: prost::Message>(
        &mut self,
        origin: Origin,
        server: &str,
        method: &str,
        token: Option<&str>,
        message: &M,
    ) -> WebAnswer {
        let mut headers = HashMap::from([
            ("content-type", "application/grpc-web+proto".to_owned()),
            ("x-grpc-web", "1".to_owned()),
        ]);
        if let Some(token) = token {
            headers.insert("authorization", format!("Bearer {token}"));
        }
        let request = serde_json::json!({
            "origin": match origin { Origin::App => "app", Origin::Other => "other" },
            "url": format!("{server}{method}"),
            "headers": headers,
            "body": STANDARD.encode(frame(0, &message.encode_to_vec())),
        });
        let reply = self.driver.ask(&request).await;
        if let Some(error) = reply["error"].as_str() {
            return WebAnswer {
                fetch_error: Some(error.to_owned()),
                ..WebAnswer::default()
            };
        }
        let headers = reply["headers"]
            .as_object()
            .expect("headers")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        let body = STANDARD
            .decode(reply["body"].as_str().expect("body"))
            .expect("base64 body");
        let (messages, trailers) = unframe(&body);
        WebAnswer {
            fetch_error: None,
            http_status: reply["status"].as_u64().unwrap_or_default() as u16,
            headers,
            messages,
            trailers,
        }
    }
}

/// A Node script driving headless Chromium (playwright-core), spoken to in
/// JSON lines: its first line says where its pages are; then one reply per
/// request.
pub(crate) struct Driver {
    /// Held so the browser lives as long as this value.
    _child: Child,
    stdin: ChildStdin,
    replies: Lines<BufReader<ChildStdout>>,
}

impl Driver {
    /// Starts `script` (in `tests/node`) with `args` (a JSON array of extra
    /// Chromium flags); returns it and its first line.
    pub(crate) async fn start(script: &str, args: &str) -> (Self, serde_json::Value) {
        node::ensure_modules("playwright-core").unwrap_or_else(|e| panic!("{e}"));
        let mut command = std::process::Command::new("node");
        command
            .arg(script)
            .current_dir(node::dir())
            .env("TENANTRY_CHROMIUM", chromium())
            .env("TENANTRY_CHROMIUM_ARGS", args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        node::die_with_parent(&mut command);
        let mut child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()
            .expect("start node (apt-get install -y nodejs)");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut replies = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = replies
            .next_line()
            .await
            .expect("read the browser's first line")
            .expect("the browser did not start (apt-get install -y chromium)");
        let first = serde_json::from_str(&first).expect("the browser's first line");
        let driver = Self {
            _child: child,
            stdin,
            replies,
        };
        (driver, first)
    }

    /// Sends one request; its reply.
    pub(crate) async fn ask(&mut self, request: &serde_json::Value) -> serde_json::Value {
        let mut line = request.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("send to the browser");
        let reply = self
            .replies
            .next_line()
            .await
            .expect("read the browser")
            .expect("the browser exited");
        serde_json::from_str(&reply).expect("the browser's reply")
    }
}

/// What a page's `fetch` got: what a browser app can see of the answer.
#[derive(Debug, Default)]
pub struct WebAnswer {
    /// Set when `fetch` itself failed (as it does when CORS refuses).
    pub fetch_error: Option<String>,
    pub http_status: u16,
    /// The response headers script may read.
    pub headers: HashMap<String, String>,
    pub messages: Vec<Vec<u8>>,
    /// The trailers frame of the body.
    pub trailers: HashMap<String, String>,
}

impl WebAnswer {
    /// The gRPC status as the page can read it: from the trailers frame,
    /// or from the headers of a trailers-only answer.
    pub fn status(&self) -> tonic::Status {
        let source = if self.trailers.contains_key("grpc-status") {
            &self.trailers
        } else {
            &self.headers
        };
        let mut map = http::HeaderMap::new();
        for (name, value) in source {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                map.insert(name, value);
            }
        }
        tonic::Status::from_header_map(&map)
            .unwrap_or_else(|| panic!("no grpc-status the page can read: {self:?}"))
    }

    /// The one response message of a successful unary call.
    pub fn message<M: prost::Message + Default>(&self) -> M {
        assert_eq!(self.status().code(), tonic::Code::Ok, "{self:?}");
        assert_eq!(self.messages.len(), 1, "one message");
        M::decode(self.messages[0].as_slice()).expect("decode the message")
    }
}

/// A grpc-web frame: flag byte, big-endian length, payload.
fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(flag);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .expect("frame size")
            .to_be_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// Splits a grpc-web body into its messages and its trailers.
fn unframe(mut body: &[u8]) -> (Vec<Vec<u8>>, HashMap<String, String>) {
    let (mut messages, mut trailers) = (Vec::new(), HashMap::new());
    while body.len() >= 5 {
        let flag = body[0];
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let payload = &body[5..5 + len];
        if flag & 0x80 == 0 {
            messages.push(payload.to_vec());
        } else {
            for line in String::from_utf8_lossy(payload).split("\r\n") {
                if let Some((name, value)) = line.split_once(':') {
                    trailers.insert(name.trim().to_lowercase(), value.trim().to_owned());
                }
            }
        }
        body = &body[5 + len..];
    }
    (messages, trailers)
}

/// The web client's demo app (`client/web/demo`), driven through its UI in
/// headless Chromium by `client/web/test/demo.browser.mjs`: it serves the
/// demo on `http://<demo_host>:<demo_port>`, types, clicks and reads what
/// the page shows against `server`, and writes a screenshot. With a domain
/// as `demo_host` (`localhost`), passkeys are used too. Returns the
/// script's JSON summary, or what it said went wrong.
pub async fn drive_demo_app(
    server: &str,
    (demo_host, demo_port): (&str, u16),
    screenshot: &std::path::Path,
) -> Result<serde_json::Value, String> {
    let dir = node::web_dir();
    node::ensure_modules_in(&dir, "playwright-core")?;
    let mut command = std::process::Command::new("node");
    command
        .arg("test/demo.browser.mjs")
        .current_dir(&dir)
        .env("TENANTRY_URL", server)
        .env("DEMO_PORT", demo_port.to_string())
        .env("DEMO_HOST", demo_host)
        .env("SCREENSHOT", screenshot)
        .env("TENANTRY_CHROMIUM", chromium());
    node::json_summary(command, "the demo test").await
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
