//! Service identities: service accounts, their keys and secrets, the token
//! exchange (RPC and OAuth 2.0 endpoint), personal access tokens.

mod accounts;
mod exchange;
mod oauth;
mod personal_tokens;
