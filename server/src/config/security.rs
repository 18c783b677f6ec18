//! Tokens, sessions and password hashing.

use std::{path::PathBuf, time::Duration};

use clap::Args;

use super::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct TokenConfig {
    /// Ed25519 private key (PKCS#8 PEM) that signs access tokens. Default:
    /// `<data-dir>/keys/signing.pem`, generated on first start.
    #[arg(long, env = "TENANTRY_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,

    /// Earlier signing keys (private or public PEM), still accepted for
    /// verification until their tokens expire (comma-separated).
    #[arg(long, env = "TENANTRY_VERIFICATION_KEYS", value_delimiter = ',')]
    pub verification_keys: Vec<PathBuf>,

    /// 32-byte master key (hex) that encrypts secrets at rest and derives
    /// server secrets. Default: `<data-dir>/keys/master.key`, generated on
    /// first start. Every instance of a deployment needs the same one.
    #[arg(long, env = "TENANTRY_MASTER_KEY")]
    pub master_key: Option<PathBuf>,

    /// Earlier master keys still needed to decrypt (comma-separated).
    #[arg(long, env = "TENANTRY_PREVIOUS_MASTER_KEYS", value_delimiter = ',')]
    pub previous_master_keys: Vec<PathBuf>,

    /// `iss` claim of access tokens.
    #[arg(long, env = "TENANTRY_TOKEN_ISSUER", default_value = "tenantry")]
    pub issuer: String,

    /// `aud` claim of access tokens.
    #[arg(long, env = "TENANTRY_TOKEN_AUDIENCE", default_value = "tenantry-api")]
    pub audience: String,

    /// Lifetime of access tokens.
    #[arg(long, env = "TENANTRY_ACCESS_TOKEN_TTL", default_value = "15m", value_parser = parse_duration)]
    pub access_token_ttl: Duration,

    /// Lifetime of refresh tokens (never beyond the session's absolute end).
    #[arg(long, env = "TENANTRY_REFRESH_TOKEN_TTL", default_value = "7d", value_parser = parse_duration)]
    pub refresh_token_ttl: Duration,

    /// How long a spent refresh token still returns the same successor (for
    /// clients whose response was lost) instead of counting as theft.
    #[arg(long, env = "TENANTRY_REFRESH_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub refresh_grace: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct SessionConfig {
    /// A session ends when it has not refreshed for this long.
    #[arg(long, env = "TENANTRY_SESSION_IDLE_TIMEOUT", default_value = "30m", value_parser = parse_duration)]
    pub session_idle_timeout: Duration,

    /// A session ends this long after sign-in, whatever happens.
    #[arg(long, env = "TENANTRY_SESSION_ABSOLUTE_TIMEOUT", default_value = "12h", value_parser = parse_duration)]
    pub session_absolute_timeout: Duration,

    /// How long a server trusts what it read of a session (revocation, role)
    /// before reading it again: the bound on how late a revocation made on
    /// another instance takes effect here.
    #[arg(long, env = "TENANTRY_SESSION_CACHE_TTL", default_value = "500ms", value_parser = parse_duration)]
    pub session_cache_ttl: Duration,

    /// Lifetime of organization invitations.
    #[arg(long, env = "TENANTRY_INVITATION_TTL", default_value = "7d", value_parser = parse_duration)]
    pub invitation_ttl: Duration,

    /// Lifetime of email verification links.
    #[arg(long, env = "TENANTRY_EMAIL_VERIFICATION_TTL", default_value = "24h", value_parser = parse_duration)]
    pub email_verification_ttl: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct PasswordConfig {
    /// argon2id memory cost in KiB (OWASP: 19456).
    #[arg(long, env = "TENANTRY_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,

    /// argon2id iterations (OWASP: 2).
    #[arg(long, env = "TENANTRY_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// argon2id lanes (OWASP: 1).
    #[arg(long, env = "TENANTRY_ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,

    /// Password hashes computed at once; the rest wait their turn, so a burst
    /// of sign-ins cannot starve other calls of CPU. 0 means half the cores
    /// (at least one).
    #[arg(long, env = "TENANTRY_PASSWORD_HASH_CONCURRENCY", default_value_t = 0)]
    pub hash_concurrency: usize,

    /// Scheduling of the hashing threads: `idle` (they run only on CPU time
    /// nothing else wants, so a burst of sign-ins cannot slow other calls;
    /// on a machine saturated for long, sign-ins wait) or `normal`.
    #[arg(long, env = "TENANTRY_PASSWORD_HASH_SCHEDULING", default_value = "idle", value_parser = ["idle", "normal"])]
    pub hash_scheduling: String,
}
