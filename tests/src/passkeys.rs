//! A person's device with a passkey: headless Chromium with its virtual
//! authenticator, on a page of `http://localhost:<port>`, driven by
//! `tests/node/browser/authenticator.mjs`. The page runs the real WebAuthn
//! calls (`navigator.credentials.create` / `get`) on the options the server
//! wrote, and hands back `credential.toJSON()`.

use std::process::Stdio;

use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout},
};

use crate::{browser, node};

pub struct Authenticator {
    /// Held so the browser lives as long as this value.
    _child: Child,
    stdin: ChildStdin,
    replies: Lines<BufReader<ChildStdout>>,
    origin: String,
}

impl Authenticator {
    pub async fn start() -> Self {
        crate::requires::require_browser();
        node::ensure_modules("playwright-core").unwrap_or_else(|e| panic!("{e}"));
        let mut command = std::process::Command::new("node");
        command
            .arg("browser/authenticator.mjs")
            .current_dir(node::dir())
            .env("TENANTRY_CHROMIUM", browser::chromium())
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
            .expect("read the authenticator's origin")
            .expect("the browser did not start (apt-get install -y chromium)");
        let first: serde_json::Value = serde_json::from_str(&first).expect("JSON");
        Self {
            _child: child,
            stdin,
            replies,
            origin: first["origin"].as_str().expect("origin").to_owned(),
        }
    }

    /// The page's origin (`http://localhost:<port>`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `navigator.credentials.create` on the server's creation options: the
    /// new credential as JSON, or the browser's error.
    pub async fn create(&mut self, options: &str) -> Result<String, String> {
        self.ceremony(serde_json::json!({ "create": options }))
            .await
    }

    /// `navigator.credentials.get` on the server's request options.
    pub async fn get(&mut self, options: &str) -> Result<String, String> {
        self.ceremony(serde_json::json!({ "get": options })).await
    }

    async fn ceremony(&mut self, request: serde_json::Value) -> Result<String, String> {
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
        let reply: serde_json::Value = serde_json::from_str(&reply).expect("the browser's reply");
        match reply["credential"].as_str() {
            Some(credential) => Ok(credential.to_owned()),
            None => Err(reply["error"].as_str().unwrap_or("no answer").to_owned()),
        }
    }
}
