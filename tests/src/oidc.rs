//! A real OpenID provider for the SSO tests: `oidc-provider` (OpenID
//! Certified) from `tests/node`, started once per test process on loopback,
//! and a browser stand-in that signs in through its login and consent forms.

use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    sync::OnceLock,
};

use crate::node::{self, die_with_parent};

/// The redirect URI the test clients are registered with (nothing listens
/// there: the browser stand-in stops at the redirect).
pub const CALLBACK: &str = "http://127.0.0.1:9/callback";
pub const OTHER_CALLBACK: &str = "http://127.0.0.1:9/other";
pub const CLIENT_ID: &str = "tenantry";
/// A client whose ID tokens the provider alters after signing.
pub const TAMPERED_CLIENT_ID: &str = "tenantry-tampered";
pub const CLIENT_SECRET: &str = "tenantry-test-secret";

static ISSUER: OnceLock<Result<String, String>> = OnceLock::new();

/// Whether the provider can run here.
pub fn available() -> bool {
    node::available()
}

/// The issuer URL of the running provider (started on first use).
pub fn issuer() -> String {
    ISSUER
        .get_or_init(start)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn start() -> Result<String, String> {
    let dir = node::dir();
    node::ensure_modules("oidc-provider")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("oidc-provider".into())
        .spawn(move || {
            let mut command = Command::new("node");
            command
                .arg("oidc/provider.mjs")
                .current_dir(&dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            die_with_parent(&mut command);
            let mut child = match command.spawn() {
                Ok(child) => child,
                Err(e) => {
                    let _ = tx.send(Err(format!(
                        "cannot start node (apt-get install -y nodejs): {e}"
                    )));
                    return;
                }
            };
            let stdout = child.stdout.take().expect("piped stdout");
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let port = line.trim().strip_prefix("listening ").map(str::to_owned);
            let _ =
                tx.send(port.ok_or_else(|| format!("the OpenID provider did not start: {line:?}")));
            // Keep reading what it prints (a closed pipe would kill it), for
            // as long as it lives (see die_with_parent).
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
            let _ = child.wait();
        })
        .map_err(|e| e.to_string())?;
    let port = rx.recv().map_err(|e| e.to_string())??;
    Ok(format!("http://127.0.0.1:{port}"))
}

/// What the provider sent back to the redirect URI.
#[derive(Debug, Clone)]
pub struct Callback {
    pub code: String,
    pub state: String,
    pub iss: String,
}

/// Follows `authorization_url` as a browser would: signs in as `login` on
/// the provider's form, consents, and stops at the redirect back.
pub async fn browser_sign_in(authorization_url: &str, login: &str) -> Result<Callback, String> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let mut url = reqwest::Url::parse(authorization_url).map_err(|e| e.to_string())?;
    let mut form: Option<Vec<(String, String)>> = None;
    for _ in 0..20 {
        if url.as_str().starts_with("http://127.0.0.1:9/") {
            let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
            if let Some(error) = query.get("error") {
                return Err(format!(
                    "provider error: {error} {:?}",
                    query.get("error_description")
                ));
            }
            return Ok(Callback {
                code: query.get("code").cloned().ok_or("no code")?,
                state: query.get("state").cloned().ok_or("no state")?,
                iss: query.get("iss").cloned().unwrap_or_default(),
            });
        }
        let response = match form.take() {
            Some(fields) => client.post(url.clone()).form(&fields).send().await,
            None => client.get(url.clone()).send().await,
        }
        .map_err(|e| e.to_string())?;
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .ok_or("redirect without location")?;
            url = url.join(location).map_err(|e| e.to_string())?;
            continue;
        }
        let status = response.status();
        let page = response.text().await.map_err(|e| e.to_string())?;
        let action = between(&page, "action=\"", "\"")
            .ok_or_else(|| format!("no form on the page ({status}): {page}"))?;
        let prompt = between(&page, "name=\"prompt\" value=\"", "\"").unwrap_or_default();
        let mut fields = vec![("prompt".to_owned(), prompt.clone())];
        if prompt == "login" {
            fields.push(("login".into(), login.into()));
            fields.push(("password".into(), "any password".into()));
        }
        url = url
            .join(&action.replace("&amp;", "&"))
            .map_err(|e| e.to_string())?;
        form = Some(fields);
    }
    Err("too many steps".into())
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}
