//! A person's session: signed in with a password, kept in a
//! [`TokenStore`], and refreshed with rotation (each refresh token is spent
//! once; the SDK keeps the successor before it uses the new access token).

use std::{fmt, sync::Arc, time::SystemTime};

use futures::future::BoxFuture;
use tonic::{Code, Status};

use super::{AccessToken, Credentials, Fetch, MemoryStore, StoredTokens, TokenStore};
use crate::{
    Error, Result,
    auth::v1::{LoginRequest, RefreshRequest, TokenPair},
};

/// A session that is already signed in and kept in a store (e.g. by
/// `tenantry login`): refreshed while it lasts, never signed in again.
#[derive(Debug, Clone)]
pub struct StoredSession {
    store: Arc<dyn TokenStore>,
}

/// Signs in with an email and password, then refreshes; signs in again
/// when the session has ended. The session is kept in a [`MemoryStore`]
/// unless [`store`](Self::store) names another.
#[derive(Clone)]
pub struct Password {
    email: String,
    password: String,
    organization_id: String,
    session: StoredSession,
}

/// What the store gave.
enum Kept {
    Token(AccessToken),
    /// No session, or the server ended it (its answer, if it gave one).
    Ended(Option<Status>),
}

impl StoredSession {
    /// The session kept in `store`.
    pub fn new(store: impl TokenStore) -> Self {
        Self {
            store: Arc::new(store),
        }
    }

    /// The kept access token if it is fresh (and not the refused one), else
    /// a refreshed one.
    async fn kept(&self, fetch: &Fetch) -> Result<Kept> {
        let Some(stored) = self.store.load()? else {
            return Ok(Kept::Ended(None));
        };
        let access = AccessToken::new(stored.access_token.clone(), stored.access_expires);
        let refused = fetch.rejected() == Some(stored.access_token.as_str());
        // A stored pair always has its expiry: 0 means someone cleared it.
        let fresh = stored.access_expires > 0 && access.is_fresh(SystemTime::now());
        if !stored.access_token.is_empty() && !refused && fresh {
            return Ok(Kept::Token(access));
        }
        if stored.refresh_token.is_empty() {
            return Ok(Kept::Ended(None));
        }
        let request = RefreshRequest {
            refresh_token: stored.refresh_token,
        };
        match fetch.auth().refresh(request).await {
            Ok(response) => {
                let pair = response.into_inner().tokens.unwrap_or_default();
                Ok(Kept::Token(self.keep(&pair)?))
            }
            Err(status) if status.code() == Code::Unauthenticated => Ok(Kept::Ended(Some(status))),
            Err(status) => Err(status.into()),
        }
    }

    fn keep(&self, pair: &TokenPair) -> Result<AccessToken> {
        let stored = StoredTokens::from(pair);
        self.store.save(&stored)?;
        Ok(AccessToken::new(stored.access_token, stored.access_expires))
    }
}

impl Credentials for StoredSession {
    fn fetch<'a>(&'a self, fetch: &'a Fetch) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move {
            match self.kept(fetch).await? {
                Kept::Token(token) => Ok(token),
                Kept::Ended(Some(status)) => Err(status.into()),
                Kept::Ended(None) => Err(Error::local(Code::Unauthenticated, "not signed in")),
            }
        })
    }

    fn adopt(&self, tokens: &TokenPair) -> Result<()> {
        self.keep(tokens).map(drop)
    }
}

impl Password {
    /// Signs in as `email`.
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
            organization_id: String::new(),
            session: StoredSession::new(MemoryStore::new()),
        }
    }

    /// Signs in to this organization (default: the last one used).
    pub fn organization(mut self, organization_id: impl Into<String>) -> Self {
        self.organization_id = organization_id.into();
        self
    }

    /// Keeps the session in `store` (e.g. a [`FileStore`](super::FileStore),
    /// so the next run refreshes instead of signing in again).
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.session = StoredSession::new(store);
        self
    }

    async fn sign_in(&self, fetch: &Fetch) -> Result<AccessToken> {
        let request = LoginRequest {
            email: self.email.clone(),
            password: self.password.clone(),
            organization_id: self.organization_id.clone(),
        };
        let response = fetch.auth().login(request).await?.into_inner();
        if response.mfa_required.is_some() {
            return Err(Error::local(
                Code::FailedPrecondition,
                "this account signs in with a second factor: finish the sign-in with \
                 CompleteMfaLogin and keep the session in a StoredSession",
            ));
        }
        self.session.keep(&response.tokens.unwrap_or_default())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Password")
            .field("email", &self.email)
            .field("organization_id", &self.organization_id)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Credentials for Password {
    fn fetch<'a>(&'a self, fetch: &'a Fetch) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move {
            match self.session.kept(fetch).await? {
                Kept::Token(token) => Ok(token),
                Kept::Ended(_) => self.sign_in(fetch).await,
            }
        })
    }

    fn adopt(&self, tokens: &TokenPair) -> Result<()> {
        self.session.adopt(tokens)
    }
}
