//! The one place that decides retry vs permanent failure, and the backoff between runs: exponential,
//! full jitter, capped; failures a human must fix (wrong password, untrusted certificate) go straight
//! to the cap so a misconfigured connector never hammers a broker.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::check::invalid;
use crate::Error;

/// `[connectors.retry]`: the backoff between connection attempts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// First delay after a failure, in ms. Default 500.
    pub backoff_min_ms: u64,
    /// Longest delay, in ms (also used at once after a failure a human must fix). Default 60000.
    pub backoff_max_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            backoff_min_ms: 500,
            backoff_max_ms: 60_000,
        }
    }
}

impl RetryConfig {
    pub(crate) fn validate(&self, name: &str) -> Result<(), Error> {
        if self.backoff_min_ms == 0 {
            return Err(invalid(name, "retry.backoff_min_ms", 0, "must not be 0"));
        }
        if self.backoff_max_ms < self.backoff_min_ms {
            return Err(invalid(
                name,
                "retry.backoff_max_ms",
                self.backoff_max_ms,
                "must be at least retry.backoff_min_ms",
            ));
        }
        Ok(())
    }
}

/// Whether a failed run needs a human (wrong password, untrusted certificate, unreadable key file, bad
/// option): such failures are still retried, but at the longest backoff at once.
pub fn is_permanent(e: &Error) -> bool {
    matches!(
        e,
        Error::Connection {
            permanent: true,
            ..
        } | Error::Credentials { .. }
            | Error::Config { .. }
    )
}

/// Exponential backoff with jitter; [`Backoff::reset`] after a run that got connected.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(config: &RetryConfig) -> Backoff {
        Backoff {
            min: Duration::from_millis(config.backoff_min_ms),
            max: Duration::from_millis(config.backoff_max_ms.max(config.backoff_min_ms)),
            attempt: 0,
        }
    }

    /// The delay before the next attempt: uniformly random in [ceiling/2, ceiling], where the ceiling
    /// doubles per failure from `min` up to `max` (a permanent failure jumps to `max`).
    pub fn next_delay(&mut self, permanent: bool) -> Duration {
        if permanent {
            self.attempt = 31;
        }
        let factor = 1u64.checked_shl(self.attempt.min(30)).unwrap_or(u64::MAX);
        let ceiling = (self.min.as_millis() as u64)
            .saturating_mul(factor)
            .min(self.max.as_millis() as u64)
            .max(1);
        self.attempt = self.attempt.saturating_add(1);
        let ms = rand::random_range(ceiling / 2..=ceiling);
        Duration::from_millis(ms)
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(&RetryConfig {
            backoff_min_ms: 100,
            backoff_max_ms: 1000,
        });
        let first = b.next_delay(false);
        assert!((50..=100).contains(&(first.as_millis() as u64)));
        for _ in 0..10 {
            assert!(b.next_delay(false) <= Duration::from_millis(1000));
        }
        assert!(b.next_delay(false) >= Duration::from_millis(500));
        b.reset();
        assert!(b.next_delay(false) <= Duration::from_millis(100));
        assert!(b.next_delay(true) >= Duration::from_millis(500));
    }
}
