//! Delivery latency of one outbox: from the moment a record was queued (outbox clock, so an outage and
//! a restart count) to the cloud's acknowledgement, as a fixed-bucket histogram of relaxed atomics —
//! recording is a few increments, read without a lock by whoever renders the metrics.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Upper bounds of the buckets, in milliseconds (a last, unbounded bucket follows).
pub const BUCKETS_MS: [u64; 16] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000,
    3_600_000,
];

/// The histogram.
#[derive(Debug, Default)]
pub struct Latency {
    /// Observations per bucket (not cumulative); the last is beyond every bound.
    buckets: [AtomicU64; BUCKETS_MS.len() + 1],
    sum_ms: AtomicU64,
    count: AtomicU64,
}

/// A reading of the histogram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencySnapshot {
    /// (upper bound in seconds, observations in that bucket only); the last bound is +Inf.
    pub buckets: Vec<(f64, u64)>,
    pub sum_seconds: f64,
    pub count: u64,
}

impl Latency {
    /// One record delivered `ms` after it was queued.
    pub fn observe(&self, ms: u64) {
        let i = BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(BUCKETS_MS.len());
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_ms.fetch_add(ms, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> LatencySnapshot {
        let bounds = BUCKETS_MS
            .iter()
            .map(|b| *b as f64 / 1000.0)
            .chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> = bounds
            .zip(&self.buckets)
            .map(|(b, n)| (b, n.load(Relaxed)))
            .collect();
        // The count is the buckets' sum, so a reader never sees them disagree.
        let count = buckets.iter().map(|(_, n)| n).sum();
        LatencySnapshot {
            buckets,
            sum_seconds: self.sum_ms.load(Relaxed) as f64 / 1000.0,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket() {
        let l = Latency::default();
        l.observe(3);
        l.observe(5);
        l.observe(7);
        l.observe(90_000_000);
        let s = l.snapshot();
        assert_eq!(s.count, 4);
        assert_eq!(s.buckets[0], (0.005, 2));
        assert_eq!(s.buckets[1], (0.01, 1));
        assert_eq!(*s.buckets.last().unwrap(), (f64::INFINITY, 1));
        assert!((s.sum_seconds - 90_000.015).abs() < 1e-6);
    }
}
