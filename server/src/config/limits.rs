//! Rate limits, lockouts and request limits.

use std::time::Duration;

use clap::Args;

use super::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Calls per minute to public methods (register, login, refresh, …) per
    /// client IP. 0 disables the limit.
    #[arg(long, env = "TENANTRY_PUBLIC_RATE_LIMIT", default_value_t = 120)]
    pub public_rate_limit: u32,

    /// Requests per minute to the plain HTTP routes (JWKS, signed download
    /// links) per client IP, a budget of their own: token verifiers polling
    /// the JWKS never use up sign-ups. 0 disables the limit.
    #[arg(long, env = "TENANTRY_HTTP_RATE_LIMIT", default_value_t = 1200)]
    pub http_rate_limit: u32,

    /// Calls per minute per signed-in user. 0 disables the limit.
    #[arg(long, env = "TENANTRY_USER_RATE_LIMIT", default_value_t = 6000)]
    pub user_rate_limit: u32,

    /// Failed sign-ins for one account before it is locked.
    #[arg(long, env = "TENANTRY_LOCKOUT_THRESHOLD", default_value_t = 5)]
    pub lockout_threshold: u32,

    /// First lockout window; each further failure doubles it.
    #[arg(long, env = "TENANTRY_LOCKOUT_BASE", default_value = "30s", value_parser = parse_duration)]
    pub lockout_base: Duration,

    /// Longest lockout window.
    #[arg(long, env = "TENANTRY_LOCKOUT_MAX", default_value = "15m", value_parser = parse_duration)]
    pub lockout_max: Duration,

    /// Failures older than this are forgotten.
    #[arg(long, env = "TENANTRY_LOCKOUT_RESET", default_value = "1h", value_parser = parse_duration)]
    pub lockout_reset: Duration,

    /// Longest a unary call may take.
    #[arg(long, env = "TENANTRY_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Concurrent calls per connection.
    #[arg(
        long,
        env = "TENANTRY_CONCURRENCY_PER_CONNECTION",
        default_value_t = 256
    )]
    pub concurrency_per_connection: usize,

    /// Largest request message in bytes.
    #[arg(long, env = "TENANTRY_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
}
