//! The bridge between rs-matter's `log` records and `tracing`, rate-limited per cause, so that a flood
//! of garbage datagrams cannot turn into a flood of log lines (one multi-line ERROR per datagram made
//! 21.6 MB of log from 120k datagrams, most of the CPU the flood cost).
//!
//! A cause is the record's call site (module and line). Per cause, the first [`BURST`] records of a
//! [`WINDOW`] are logged as they come; the rest are counted, and the first record after the window
//! says how many of that cause were suppressed. Warnings and errors only: debug/trace records pass
//! unthrottled (they are off unless someone asked for them).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing_log::{AsLog, LogTracer};

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

/// A `log::Log` that forwards to tracing (as `tracing_log::LogTracer` does) through a [`Limiter`].
pub struct RateLimitedLog {
    inner: LogTracer,
    limiter: Mutex<Limiter>,
}

impl RateLimitedLog {
    /// Installs it as the `log` logger, at tracing's current maximum level. Call after the tracing
    /// subscriber is set.
    pub fn init() -> Result<(), log::SetLoggerError> {
        log::set_boxed_logger(Box::new(RateLimitedLog {
            inner: LogTracer::new(),
            limiter: Mutex::new(Limiter::default()),
        }))?;
        log::set_max_level(tracing::level_filters::LevelFilter::current().as_log());
        Ok(())
    }
}

impl log::Log for RateLimitedLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.level() > log::Level::Warn || !self.enabled(record.metadata()) {
            self.inner.log(record);
            return;
        }
        let decision = match self.limiter.lock() {
            Ok(mut l) => l.decide(
                record.module_path().unwrap_or(record.target()),
                record.line().unwrap_or(0),
                Instant::now(),
            ),
            Err(_) => Decision::Log { suppressed: 0 },
        };
        match decision {
            Decision::Drop => {}
            Decision::Log { suppressed: 0 } => self.inner.log(record),
            Decision::Log { suppressed } => {
                tracing::warn!(
                    target: "hubbridge::log_limit",
                    suppressed,
                    module = record.module_path().unwrap_or(record.target()),
                    line = record.line().unwrap_or(0),
                    "suppressed repeated log records of one cause"
                );
                self.inner.log(record);
            }
        }
    }

    fn flush(&self) {
        self.inner.flush()
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
}
