//! Tokens that are what they are: a personal access token, or any bearer
//! token the caller already holds.

use futures::future::BoxFuture;

use super::{AccessToken, Credentials, Fetch};
use crate::Result;

/// A personal access token (`tnt_pat_…`), made with
/// `AuthService.CreatePersonalAccessToken` or `tenantry tokens create`. It
/// acts as its owner, in one organization, until it expires or is revoked.
#[derive(Clone)]
pub struct PersonalAccessToken(String);

impl PersonalAccessToken {
    /// The token as the server returned it.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

/// A bearer token the caller obtained elsewhere (e.g. one a gateway
/// forwards per request). The SDK sends it as it is and never renews it.
#[derive(Clone)]
pub struct StaticToken(String);

impl StaticToken {
    /// The token to send.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

macro_rules! fixed_token {
    ($kind:ident) => {
        impl std::fmt::Debug for $kind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($kind), "(…)"))
            }
        }

        impl Credentials for $kind {
            fn fetch<'a>(&'a self, _: &'a Fetch) -> BoxFuture<'a, Result<AccessToken>> {
                Box::pin(async move { Ok(AccessToken::new(self.0.clone(), 0)) })
            }

            fn can_renew(&self) -> bool {
                false
            }
        }
    };
}

fixed_token!(PersonalAccessToken);
fixed_token!(StaticToken);
