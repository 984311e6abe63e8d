//! Per-cause log rate limiting: a flood of bad input or of refused commands must not turn into a
//! flood of log lines. A cause is a call site (module and line). Per cause, the first [`BURST`] records
//! of a [`WINDOW`] are logged as they come; the rest are counted, and the first record after the window
//! says how many of that cause were suppressed. Used for rs-matter's log records (the bridge's
//! `log_limit`) and for the connectors' per-command warnings.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Whether to log a warning of cause (`scope`, `line`) now, through one process-wide [`Limiter`]:
/// `Some(suppressed)` — log it, with how many of its cause were dropped since the last one logged —
/// or `None`. For warnings that a peer can trigger once per message (a refused cloud command, a bad
/// payload): `scope` is the connector's name, `line` the call site's `line!()`.
pub fn allow(scope: &str, line: u32) -> Option<u64> {
    static LIMITER: LazyLock<Mutex<Limiter>> = LazyLock::new(Mutex::default);
    let decision = match LIMITER.lock() {
        Ok(mut l) => l.decide(scope, line, Instant::now()),
        Err(_) => Decision::Log { suppressed: 0 },
    };
    match decision {
        Decision::Log { suppressed } => Some(suppressed),
        Decision::Drop => None,
    }
}

/// Records of one cause logged per window before the rest are counted.
pub const BURST: u32 = 5;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Cause {
    since: Instant,
    logged: u32,
    suppressed: u64,
}

/// What the limiter does with one record.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Log it; `suppressed` records of its cause were dropped since the last one logged.
    Log {
        suppressed: u64,
    },
    Drop,
}

/// The per-cause counting, apart from any logger (so it can be tested).
#[derive(Debug, Default)]
pub struct Limiter {
    causes: HashMap<(String, u32), Cause>,
}

impl Limiter {
    pub fn decide(&mut self, module: &str, line: u32, now: Instant) -> Decision {
        if self.causes.len() > 4096 {
            self.causes
                .retain(|_, c| now.saturating_duration_since(c.since) < WINDOW);
        }
        let cause = self
            .causes
            .entry((module.to_owned(), line))
            .or_insert(Cause {
                since: now,
                logged: 0,
                suppressed: 0,
            });
        if now.saturating_duration_since(cause.since) >= WINDOW {
            cause.since = now;
            cause.logged = 0;
        }
        if cause.logged < BURST {
            cause.logged += 1;
            let suppressed = std::mem::take(&mut cause.suppressed);
            Decision::Log { suppressed }
        } else {
            cause.suppressed += 1;
            Decision::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_cause_then_a_count() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..BURST {
            assert_eq!(
                l.decide("rs_matter::transport", 10, t0),
                Decision::Log { suppressed: 0 }
            );
        }
        for _ in 0..1000 {
            assert_eq!(l.decide("rs_matter::transport", 10, t0), Decision::Drop);
        }
        // Another cause is not held back.
        assert_eq!(
            l.decide("rs_matter::transport", 11, t0),
            Decision::Log { suppressed: 0 }
        );
        // After the window the next record carries the count.
        assert_eq!(
            l.decide("rs_matter::transport", 10, t0 + WINDOW),
            Decision::Log { suppressed: 1000 }
        );
        assert_eq!(
            l.decide("rs_matter::transport", 10, t0 + WINDOW),
            Decision::Log { suppressed: 0 }
        );
    }

    #[test]
    fn allow_logs_a_burst_per_scope_and_call_site() {
        let scope = "log-limit-test-scope";
        for _ in 0..BURST {
            assert_eq!(allow(scope, 1), Some(0));
        }
        assert_eq!(allow(scope, 1), None);
        assert_eq!(allow(scope, 2), Some(0));
        assert_eq!(allow("log-limit-test-other", 1), Some(0));
    }
}
