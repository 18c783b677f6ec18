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

    /// Failed sign-ins for one account from one client address before that
    /// address is locked out of that account.
    #[arg(long, env = "TENANTRY_LOCKOUT_THRESHOLD", default_value_t = 5)]
    pub lockout_threshold: u32,

    /// Failed sign-ins from one client address, whatever the accounts,
    /// before that address is locked out of all of them (password spraying).
    #[arg(long, env = "TENANTRY_LOCKOUT_ADDRESS_THRESHOLD", default_value_t = 50)]
    pub lockout_address_threshold: u32,

    /// Failed sign-ins for one account, from any addresses, before sign-in
    /// to it slows down for addresses it was never signed in from (its
    /// owner's known addresses are never slowed).
    #[arg(
        long,
        env = "TENANTRY_LOCKOUT_ACCOUNT_THRESHOLD",
        default_value_t = 100
    )]
    pub lockout_account_threshold: u32,

    /// First lockout window; each further failure doubles it.
    #[arg(long, env = "TENANTRY_LOCKOUT_BASE", default_value = "30s", value_parser = parse_duration)]
    pub lockout_base: Duration,

    /// Longest lockout window.
    #[arg(long, env = "TENANTRY_LOCKOUT_MAX", default_value = "15m", value_parser = parse_duration)]
    pub lockout_max: Duration,

    /// Failures older than this are forgotten.
    #[arg(long, env = "TENANTRY_LOCKOUT_RESET", default_value = "1h", value_parser = parse_duration)]
    pub lockout_reset: Duration,

    /// Longest a call that sends one request message may take (a unary
    /// call; a download until its first bytes). A caller's shorter
    /// `grpc-timeout` wins; uploads are bound by theirs alone.
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

    /// Longest an upload stream may wait for its next message before it is
    /// ended (DEADLINE_EXCEEDED) and its partial bytes removed.
    #[arg(long, env = "TENANTRY_UPLOAD_IDLE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub upload_idle_timeout: Duration,

    /// Uploads (streams and session chunks) one person or service may run at
    /// once on one instance; more get RESOURCE_EXHAUSTED with RetryInfo.
    #[arg(long, env = "TENANTRY_UPLOADS_PER_USER", default_value_t = 16)]
    pub uploads_per_user: usize,

    /// Uploads one organization may run at once on one instance.
    #[arg(long, env = "TENANTRY_UPLOADS_PER_ORG", default_value_t = 64)]
    pub uploads_per_org: usize,

    /// Longest a new connection may take to send its first request (the
    /// HTTP/2 preface and a call, or an HTTP/1.1 request) before it is closed.
    #[arg(long, env = "TENANTRY_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,

    /// Longest a connection may stay open with no call in flight.
    #[arg(long, env = "TENANTRY_IDLE_CONNECTION_TIMEOUT", default_value = "2m", value_parser = parse_duration)]
    pub idle_connection_timeout: Duration,

    /// Open connections, in all; more are closed as they are accepted.
    #[arg(long, env = "TENANTRY_MAX_CONNECTIONS", default_value_t = 8192)]
    pub max_connections: usize,

    /// Open connections from one client address.
    #[arg(long, env = "TENANTRY_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,

    /// Calls in flight on this instance (a download until its last byte);
    /// past it a call is shed with RESOURCE_EXHAUSTED and RetryInfo. Health
    /// checks are never shed.
    #[arg(
        long,
        env = "TENANTRY_MAX_IN_FLIGHT",
        default_value_t = 4096,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_in_flight: u32,
}
