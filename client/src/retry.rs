//! When to try an idempotent call again: exponential backoff with jitter,
//! and never sooner than the server asked (`google.rpc.RetryInfo`).

use std::time::Duration;

use rand::Rng as _;

/// How the SDK retries calls whose method is declared idempotent
/// (`option idempotency_level` in `proto/`), after `Unavailable` or
/// `ResourceExhausted`. Nothing else is ever retried.
///
/// The wait before attempt *n + 1* is a random point in the upper half of
/// `initial_backoff × 2ⁿ⁻¹` (capped at `max_backoff`), or the server's
/// `RetryInfo` delay when that is longer. A server that asks for more than
/// `max_wait` gets its error back at once: the caller decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retries).
    pub max_attempts: u32,
    /// The backoff before the first retry.
    pub initial_backoff: Duration,
    /// The longest backoff the doubling reaches.
    pub max_backoff: Duration,
    /// The longest server-requested delay the SDK waits out by itself.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// How long to wait before attempt `failed + 1`, or `None` to give up.
    pub(crate) fn delay(&self, failed: u32, server_asks: Option<Duration>) -> Option<Duration> {
        if failed >= self.max_attempts {
            return None;
        }
        if server_asks.is_some_and(|d| d > self.max_wait) {
            return None;
        }
        let doubled = self
            .initial_backoff
            .saturating_mul(1 << failed.saturating_sub(1).min(16));
        let cap = doubled.min(self.max_backoff);
        let jittered = cap / 2 + cap.mul_f64(rand::thread_rng().gen_range(0.0..0.5));
        Some(jittered.max(server_asks.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::RetryPolicy;

    #[test]
    fn backs_off_doubling_with_jitter_and_honours_the_server() {
        let policy = RetryPolicy::default();
        for _ in 0..100 {
            let first = policy.delay(1, None).unwrap();
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
            let third = policy.delay(3, None).unwrap();
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third));
        }
        let asked = Duration::from_secs(2);
        assert_eq!(policy.delay(1, Some(asked)), Some(asked));
        assert_eq!(policy.delay(4, None), None, "four attempts in all");
        assert_eq!(policy.delay(1, Some(Duration::from_secs(31))), None);
        assert_eq!(RetryPolicy::none().delay(1, None), None);
    }
}
