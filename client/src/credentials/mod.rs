//! Who the SDK calls as. Every kind of credential implements
//! [`Credentials`]: it fetches an access token when asked. The SDK keeps the
//! token, renews it shortly before it expires (and once after the server
//! says `Unauthenticated`), and lets one renewal run at a time while the
//! other calls wait for it.
//!
//! ```no_run
//! use tenantry_client::{Tenantry, credentials::*};
//!
//! # fn demo() -> tenantry_client::Result<()> {
//! let url = "https://tenantry.example.com";
//! // A person: signs in once, then refreshes; the session survives restarts.
//! let person = Password::new("ann@example.com", "correct horse battery staple")
//!     .store(FileStore::new("/var/lib/app/tenantry-session.json"));
//! // A session someone else signed in (e.g. `tenantry login`), refreshed.
//! let kept = StoredSession::new(FileStore::new("/home/ann/.config/tenantry/session.json"));
//! // A service account: its key file, or its client id and secret.
//! let key = KeyFile::from_path("/etc/app/tenantry-key.json")?;
//! let secret = ClientCredentials::new("0190f5e0-…", "tnt_cs_…");
//! // Tokens as they are.
//! let script = PersonalAccessToken::new("tnt_pat_…");
//! let forwarded = StaticToken::new("eyJ…");
//!
//! let tenantry = Tenantry::builder(url).credentials(key).build()?;
//! # let _ = (person, kept, secret, script, forwarded, tenantry);
//! # Ok(()) }
//! ```

mod cache;
mod fixed;
mod service;
mod session;
mod store;

use std::{
    fmt,
    time::{Duration, SystemTime},
};

use futures::future::BoxFuture;

pub(crate) use cache::TokenCache;
pub use fixed::{PersonalAccessToken, StaticToken};
pub use service::{ClientCredentials, KeyFile};
pub use session::{Password, StoredSession};
pub use store::{FileStore, MemoryStore, StoredTokens, TokenStore, write_private};

use crate::{AuthClient, Result, auth::v1::TokenPair};

/// A source of access tokens. Implement it to sign in some other way; the
/// SDK's own kinds are [`Password`], [`StoredSession`], [`KeyFile`],
/// [`ClientCredentials`], [`PersonalAccessToken`] and [`StaticToken`].
pub trait Credentials: Send + Sync + fmt::Debug + 'static {
    /// A token to send. `fetch.rejected()` is the token the server has just
    /// refused, if that is why this is asked: do not return it again.
    fn fetch<'a>(&'a self, fetch: &'a Fetch) -> BoxFuture<'a, Result<AccessToken>>;

    /// Whether asking again can give another token. A fixed token cannot:
    /// the SDK then passes the server's `Unauthenticated` on at once.
    fn can_renew(&self) -> bool {
        true
    }

    /// Keeps the token pair of a session that changed organization
    /// ([`Tenantry::switch_organization`](crate::Tenantry::switch_organization)).
    /// Credentials without a session ignore it.
    fn adopt(&self, tokens: &TokenPair) -> Result<()> {
        let _ = tokens;
        Ok(())
    }
}

/// What [`Credentials::fetch`] may use.
#[derive(Debug)]
pub struct Fetch {
    auth: AuthClient,
    rejected: Option<String>,
}

impl Fetch {
    /// `AuthService` without credentials (sign-in, refresh, exchange), with
    /// the handle's retry policy.
    pub fn auth(&self) -> AuthClient {
        self.auth.clone()
    }

    /// The token the server has just refused, if any.
    pub fn rejected(&self) -> Option<&str> {
        self.rejected.as_deref()
    }
}

/// An access token and when it stops working.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token.
    pub token: String,
    /// When the server stops accepting it (`None`: the SDK does not know,
    /// and keeps it until the server refuses it).
    pub expires_at: Option<SystemTime>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"…")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Tokens are renewed this long before they expire, so a call never leaves
/// with a token that runs out on the way.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30);

impl AccessToken {
    /// A token that expires at `expires_at` (unix seconds; 0: unknown).
    pub fn new(token: impl Into<String>, expires_at: i64) -> Self {
        let expires_at = u64::try_from(expires_at)
            .ok()
            .filter(|&s| s > 0)
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        Self {
            token: token.into(),
            expires_at,
        }
    }

    /// Usable now, with [`RENEW_BEFORE`] to spare.
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        self.expires_at
            .is_none_or(|at| at.duration_since(now).is_ok_and(|left| left > RENEW_BEFORE))
    }
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
