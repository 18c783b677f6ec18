//! The handle's current access token, renewed single-flight.

use std::{
    sync::{Arc, RwLock},
    time::SystemTime,
};

use super::{AccessToken, Credentials, Fetch};
use crate::{AuthClient, Result};

#[derive(Debug)]
pub(crate) struct TokenCache {
    credentials: Arc<dyn Credentials>,
    auth: AuthClient,
    current: RwLock<Option<AccessToken>>,
    /// Held while a renewal runs: the others wait, then use its token.
    renewing: tokio::sync::Mutex<()>,
}

impl TokenCache {
    pub(crate) fn new(credentials: Arc<dyn Credentials>, auth: AuthClient) -> Self {
        Self {
            credentials,
            auth,
            current: RwLock::new(None),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn credentials(&self) -> &Arc<dyn Credentials> {
        &self.credentials
    }

    /// A fresh token: the kept one, or one renewal shared by every caller
    /// that finds it stale at the same time.
    pub(crate) async fn token(&self) -> Result<String> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _renewing = self.renewing.lock().await;
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        self.renew(None).await
    }

    /// A new token after the server refused `refused`, or `None` when the
    /// credentials cannot give another one. If another caller has already
    /// replaced `refused`, that replacement is used.
    pub(crate) async fn renew_after_refusal(&self, refused: &str) -> Option<Result<String>> {
        if !self.credentials.can_renew() {
            return None;
        }
        let _renewing = self.renewing.lock().await;
        if let Some(token) = self.fresh().filter(|t| t != refused) {
            return Some(Ok(token));
        }
        Some(self.renew(Some(refused.to_owned())).await)
    }

    /// Forgets the kept token (the credentials changed underneath).
    pub(crate) fn clear(&self) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn fresh(&self) -> Option<String> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|t| t.is_fresh(SystemTime::now()))
            .map(|t| t.token.clone())
    }

    async fn renew(&self, rejected: Option<String>) -> Result<String> {
        let fetch = Fetch {
            auth: self.auth.clone(),
            rejected,
        };
        let token = self.credentials.fetch(&fetch).await?;
        let secret = token.token.clone();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(token);
        Ok(secret)
    }
}
