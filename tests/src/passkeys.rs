//! A person's device with a passkey: headless Chromium with its virtual
//! authenticator, on a page of `http://localhost:<port>`, driven by
//! `tests/node/browser/authenticator.mjs`. The page runs the real WebAuthn
//! calls (`navigator.credentials.create` / `get`) on the options the server
//! wrote, and hands back `credential.toJSON()`.

use crate::browser::Driver;

pub struct Authenticator {
    driver: Driver,
    origin: String,
}

impl Authenticator {
    pub async fn start() -> Self {
        crate::requires::require_browser();
        let (driver, first) = Driver::start("browser/authenticator.mjs", "[]").await;
        Self {
            driver,
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
        let reply = self.driver.ask(&request).await;
        match reply["credential"].as_str() {
            Some(credential) => Ok(credential.to_owned()),
            None => Err(reply["error"].as_str().unwrap_or("no answer").to_owned()),
        }
    }
}
