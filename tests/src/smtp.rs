//! A real SMTP server for the mail tests: nodemailer's `smtp-server` from
//! `tests/node` (`smtp/server.mjs`), one per call to [`SmtpServer::start`],
//! on loopback. It records every message it accepts, with its envelope, so a
//! test sees what Tenantry really put on the wire.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncRead, BufReader},
    process::{Child, ChildStdout},
    sync::{oneshot, watch},
};

use crate::{node, tls::Pair};

/// How long node may take to listen: a loaded machine starts it slowly.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How the server speaks TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text only: STARTTLS is not offered.
    #[default]
    None,
    /// STARTTLS offered, and required before MAIL FROM (530 otherwise).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Implicit,
}

/// What kind of server to start.
#[derive(Debug, Clone, Default)]
pub struct SmtpOptions {
    /// The loopback port; 0 = any free one.
    pub port: u16,
    /// Plain, STARTTLS or implicit TLS.
    pub tls: SmtpTls,
    /// Required AUTH (PLAIN or LOGIN) user and password; wrong ones get 535.
    /// `None`: the server offers no AUTH at all.
    pub auth: Option<(String, String)>,
    /// Refuse every recipient with a permanent "550 5.1.1 mailbox unavailable".
    pub refuse: bool,
    /// The server's certificate, needed for [`SmtpTls::StartTls`] and
    /// [`SmtpTls::Implicit`] (e.g. `TestCa::new("smtp").server()`).
    pub cert: Option<Pair>,
}

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Received {
    /// The envelope sender (MAIL FROM), empty for `<>`.
    pub from: String,
    /// The envelope recipients (RCPT TO), in order.
    pub to: Vec<String>,
    /// Who signed in with AUTH, if anyone.
    pub user: Option<String>,
    /// Whether the message came over TLS (STARTTLS or implicit).
    pub secure: bool,
    /// The message as sent after DATA: headers and body.
    pub raw: String,
}

/// One line the server prints.
#[derive(serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Event {
    Port(u16),
    Mail(Received),
}

/// What the server wrote to stderr, for the panic messages.
type Log = Arc<Mutex<String>>;

/// A running SMTP server; killed when dropped.
pub struct SmtpServer {
    port: u16,
    mail: watch::Receiver<Vec<Received>>,
    errors: Log,
    _child: Child,
    /// Holds the certificate node read at start.
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts a server as `options` say and waits until it listens. Panics
    /// with the reason (and node's stderr) when it cannot.
    pub async fn start(options: SmtpOptions) -> Self {
        node::ensure_modules("smtp-server").unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().expect("a directory for the SMTP certificate");
        let mut child = tokio::process::Command::from(command(&options, dir.path()))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node (apt-get install -y nodejs): {e}"));
        let errors = Log::default();
        let stderr = tokio::spawn(collect(child.stderr.take().expect("piped"), errors.clone()));
        let (port_tx, port_rx) = oneshot::channel();
        let (mail_tx, mail) = watch::channel(Vec::new());
        let stdout = child.stdout.take().expect("piped stdout");
        tokio::spawn(read_events(stdout, port_tx, mail_tx, errors.clone()));
        let Ok(Ok(port)) = tokio::time::timeout(START_TIMEOUT, port_rx).await else {
            // Kill it so that stderr ends, and show what it said.
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), stderr).await;
            panic!("the SMTP server did not start:\n{}", errors.lock().unwrap());
        };
        Self {
            port,
            mail,
            errors,
            _child: child,
            _dir: dir,
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The messages accepted so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.mail.borrow().clone()
    }

    /// Waits until at least `count` messages arrived, or panics after
    /// `within`: mail is sent in the background, so a test cannot know when.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let mut mail = self.mail.clone();
        let arrived = tokio::time::timeout(within, async {
            mail.wait_for(|m| m.len() >= count)
                .await
                .map(|m| m.to_vec())
        })
        .await;
        match arrived {
            Ok(Ok(mail)) => mail,
            Ok(Err(_)) => panic!(
                "the SMTP server exited after {} of {count} messages:\n{}",
                self.received().len(),
                self.errors.lock().unwrap()
            ),
            Err(_) => panic!(
                "{} of {count} messages arrived within {within:?}:\n{}",
                self.received().len(),
                self.errors.lock().unwrap()
            ),
        }
    }
}

/// The node command for `options`, its certificate written to `dir`. The
/// settings are all set or removed, so none leaks in from the test's own
/// environment.
fn command(options: &SmtpOptions, dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new("node");
    command
        .arg("smtp/server.mjs")
        .current_dir(node::dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in ["SMTP_CERT", "SMTP_KEY", "SMTP_USER", "SMTP_PASS"] {
        command.env_remove(name);
    }
    let tls = match options.tls {
        SmtpTls::None => "none",
        SmtpTls::StartTls => "starttls",
        SmtpTls::Implicit => "implicit",
    };
    command
        .env("SMTP_PORT", options.port.to_string())
        .env("SMTP_TLS", tls)
        .env(
            "SMTP_MODE",
            if options.refuse { "refuse" } else { "accept" },
        );
    if let Some((user, pass)) = &options.auth {
        command.env("SMTP_USER", user).env("SMTP_PASS", pass);
    }
    match &options.cert {
        Some(pair) => {
            let (cert, key) = pair.write(dir, "smtp");
            command.env("SMTP_CERT", cert).env("SMTP_KEY", key);
        }
        None => assert!(
            options.tls == SmtpTls::None,
            "SmtpTls::{:?} needs SmtpOptions::cert, e.g. TestCa::new(\"smtp\").server()",
            options.tls
        ),
    }
    node::die_with_parent(&mut command);
    command
}

/// Reads the server's JSON lines until it exits: the first gives the port,
/// then one per message. The watch sender drops with it, which tells
/// waiters the server is gone.
async fn read_events(
    stdout: ChildStdout,
    port: oneshot::Sender<u16>,
    mail: watch::Sender<Vec<Received>>,
    errors: Log,
) {
    let mut port = Some(port);
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str::<Event>(&line) {
            Ok(Event::Port(p)) => {
                if let Some(port) = port.take() {
                    let _ = port.send(p);
                }
            }
            Ok(Event::Mail(m)) => mail.send_modify(|all| all.push(m)),
            Err(e) => {
                let mut text = errors.lock().unwrap();
                text.push_str(&format!("unreadable line {line:?}: {e}\n"));
            }
        }
    }
}

/// Keeps what `stream` says in `log`, line by line (an unread pipe would
/// stall the server once full).
async fn collect(stream: impl AsyncRead + Unpin, log: Log) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut text = log.lock().unwrap();
        text.push_str(&line);
        text.push('\n');
    }
}

/// A loopback port nothing listens on now, for a server that is not there
/// (or one to start later on a known port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a loopback port")
        .port()
}
