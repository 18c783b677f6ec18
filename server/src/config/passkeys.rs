//! Passkeys (WebAuthn): which site they belong to.

use clap::Args;
use url::Url;

#[derive(Debug, Clone, Args)]
pub struct PasskeyConfig {
    /// The WebAuthn relying party id: the domain passkeys are bound to, the
    /// web app's domain or a parent of it (`example.com` serves
    /// `app.example.com`). It cannot change later without losing every
    /// passkey.
    #[arg(long, env = "TENANTRY_PASSKEY_RP_ID", default_value = "localhost")]
    pub passkey_rp_id: String,

    /// The web app's origins that may use passkeys (comma-separated, e.g.
    /// `https://app.example.com`); each must be in the relying party's
    /// domain. Default: `http://localhost`, on any port while the relying
    /// party is `localhost` (development).
    #[arg(
        long = "passkey-origin",
        env = "TENANTRY_PASSKEY_ORIGINS",
        value_delimiter = ','
    )]
    pub passkey_origins: Vec<Url>,

    /// The name an authenticator shows for this site.
    #[arg(long, env = "TENANTRY_PASSKEY_RP_NAME", default_value = "Tenantry")]
    pub passkey_rp_name: String,
}
