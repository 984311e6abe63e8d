//! The bridge between rs-matter's `log` records and `tracing`, rate-limited per cause, so that a flood
//! of garbage datagrams cannot turn into a flood of log lines (one multi-line ERROR per datagram made
//! 21.6 MB of log from 120k datagrams, most of the CPU the flood cost).
//!
//! A cause is the record's call site (module and line); the counting is
//! [`connectors::log_limit::Limiter`]'s. Warnings and errors only: debug/trace records pass
//! unthrottled (they are off unless someone asked for them).

use std::sync::Mutex;
use std::time::Instant;

pub use connectors::log_limit::{Decision, Limiter, BURST, WINDOW};
use tracing_log::{AsLog, LogTracer};

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
