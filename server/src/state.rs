//! What every service shares: configuration, database, clock, keys.

use std::{ops::Deref, sync::Arc};

use chrono::NaiveDateTime;

use crate::{
    auth::liveness::SessionLiveness,
    blob::BlobStore,
    clock::{SharedClock, naive_now},
    config::Config,
    crypto::{jwt::TokenCodec, master_key::MasterKeys, password::PasswordHasher},
    db::{Db, Tx},
    error::ApiResult,
    mail::Mailer,
};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: Db,
    pub clock: SharedClock,
    pub tokens: Arc<TokenCodec>,
    pub master_keys: MasterKeys,
    pub passwords: PasswordHasher,
    pub liveness: Arc<SessionLiveness>,
    pub mailer: Mailer,
    /// The WebAuthn relying party passkeys belong to.
    pub passkeys: webauthn_rs::Webauthn,
    /// Wakes this instance's job runner when a job it queued is due now.
    pub job_wake: Arc<tokio::sync::Notify>,
    pub blobs: Arc<dyn BlobStore>,
    /// Signs download links served by the side door.
    pub download_key: [u8; 32],
    /// For OpenID providers (public addresses only, no redirects).
    pub oidc_http: crate::sso::http::ProviderHttp,
    /// Derives a spent refresh token's successor, so a retry within the grace
    /// window gets the same one on any instance without storing it.
    pub refresh_key: [u8; 32],
    /// Signs page tokens, so a cursor cannot be forged or moved to another
    /// list.
    pub page_tokens: crate::paging::PageTokens,
    /// Upload streams open per caller and per organization.
    pub upload_slots: crate::files::slots::UploadSlots,
    /// This server's metrics.
    pub meters: crate::ops::meters::Meters,
    /// False from the moment the server is told to stop.
    pub readiness: crate::ops::Readiness,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// Now, as stored in the database.
    pub fn now(&self) -> NaiveDateTime {
        naive_now(self.clock.as_ref())
    }

    /// A read-only transaction on a query worker ([`Db::read`]) with the
    /// state at hand inside it (clock, configuration, keys, caches).
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>, &AppState) -> ApiResult<T> + Send + 'static,
    {
        let state = self.clone();
        self.db.read(move |tx| f(tx, &state)).await
    }

    /// A read-write transaction ([`Db::write`]) with the state at hand.
    pub async fn write<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>, &AppState) -> ApiResult<T> + Send + 'static,
    {
        let state = self.clone();
        self.db.write(move |tx| f(tx, &state)).await
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// `now + d`, saturating instead of overflowing on absurd settings.
pub fn after(now: NaiveDateTime, d: std::time::Duration) -> NaiveDateTime {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(NaiveDateTime::MAX)
}
