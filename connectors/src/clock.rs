//! Time behind a trait: [`Clock`] gives the monotonic now (`Instant`, for expiry, TTL and "local change
//! wins") and the wall clock (Unix ms, only where a protocol or a persisted record carries it).
//!
//! A hub without a hardware clock can jump years at NTP sync; nothing that decides whether to drop or
//! refuse something may depend on the wall clock. [`SystemClock`] is the real one; [`TestClock`] is a
//! clock tests move by hand (a wall-clock jump, time passing) to prove that.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The two clocks a connector may read.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Monotonic now: never jumps, never goes back.
    fn now(&self) -> Instant;
    /// Milliseconds since the Unix epoch, as the system believes (may jump either way).
    fn wall_ms(&self) -> u64;
}

/// The process's real clocks.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// The shared real clock.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock for tests: the real `Instant` plus an offset the test advances, and a wall clock the test
/// can jump without moving the monotonic one.
#[derive(Debug, Default)]
pub struct TestClock {
    /// Added to the real `Instant::now()` (time passing, in ms).
    advanced_ms: AtomicU64,
    /// Added to the real wall clock (a jump, in ms; negative goes back).
    wall_offset_ms: AtomicI64,
}

impl TestClock {
    pub fn new() -> Arc<TestClock> {
        Arc::new(TestClock::default())
    }

    /// Time passes: both clocks move by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = d.as_millis() as u64;
        self.advanced_ms.fetch_add(ms, Ordering::SeqCst);
        self.wall_offset_ms.fetch_add(ms as i64, Ordering::SeqCst);
    }

    /// The wall clock jumps by `ms` (negative: back); monotonic time does not move.
    pub fn jump_wall(&self, ms: i64) {
        self.wall_offset_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.advanced_ms.load(Ordering::SeqCst))
    }

    fn wall_ms(&self) -> u64 {
        let real = SystemClock.wall_ms() as i64;
        (real + self.wall_offset_ms.load(Ordering::SeqCst)).max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_jump_does_not_move_monotonic_time() {
        let c = TestClock::new();
        let (i0, w0) = (c.now(), c.wall_ms());
        c.jump_wall(5 * 365 * 24 * 3600 * 1000);
        assert!(c.wall_ms() >= w0 + 5 * 365 * 24 * 3600 * 1000);
        assert!(c.now().duration_since(i0) < Duration::from_secs(5));
        c.advance(Duration::from_secs(60));
        assert!(c.now().duration_since(i0) >= Duration::from_secs(60));
    }
}
