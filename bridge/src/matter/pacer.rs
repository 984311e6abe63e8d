//! Paces attribute-change notifications so that rs-matter never reports everything.
//!
//! rs-matter 0.4.1 remembers what changed since each subscription's last report in a table of 16
//! entries (`im/subscriptions.rs`, `ChangedAttrs`). When a 17th path arrives before the reporter
//! has caught up, it coalesces entries: first a cluster's attributes into `(ep, cluster, *)`,
//! then an endpoint's clusters into `(ep, *, *)`, and when the entries are on more than 16
//! endpoints, everything into `(*, *, *)`. Every subscription then re-reports *all* it covers: at
//! 5,000 lights one OnOff change cost a 5,000-attribute report (3.3 s of controller CPU), and for
//! a controller subscribed to everything it is the whole node. Worse, a change that arrives while
//! that long report is in flight only refreshes the `(*, *, *)` entry, so under a steady trickle
//! of changes every report is a full one and the node never recovers
//! (bench/scale-5000/report.md, the "local change → subscription report" row).
//!
//! The pacer keeps the table below its limit. It hands rs-matter changes on at most
//! [`ENDPOINT_BUDGET`] distinct endpoints per reporting round (any number of paths on those
//! endpoints: rs-matter folds those per endpoint without going global) and queues the rest.
//! A round is over when no subscription is in flight — rs-matter's reporter takes a
//! subscription out of its table while it reports to it, and purges the changes every
//! subscription has seen after the round — and at least [`ROUND_MIN`] has passed since the last
//! hand-over (the reporter runs on this executor: it gets to run in that time). The sync loop
//! calls [`Pacer::pump`] every [`PUMP_EVERY`] while anything is queued. A burst of changes on
//! 5,000 endpoints is then reported in rounds of 12 endpoints instead of one report of everything.
//!
//! What it cannot see: a subscription whose minimum interval has not elapsed is in the table but
//! not reporting, so its changes stay in rs-matter's table across rounds; a burst on more than 16
//! endpoints within one minimum interval still ends as `(*, *, *)` for it (README, Known
//! limitations).

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use rs_matter::dm::AttrChangeNotifier;

/// Distinct endpoints handed to rs-matter per reporting round: below its 16 entries, with room
/// for what rs-matter notifies itself (fabrics, access control, time on endpoint 0).
pub const ENDPOINT_BUDGET: usize = 12;
/// The shortest round.
pub const ROUND_MIN: Duration = Duration::from_millis(1);
/// How often the sync loop pumps while changes are queued (its timer's type).
pub const PUMP_EVERY: embassy_time::Duration = embassy_time::Duration::from_millis(2);

/// One notification: an attribute, or a whole endpoint (added at run time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    Attr(u16, u32, u32),
    Endpoint(u16),
}

impl Path {
    fn endpoint(self) -> u16 {
        match self {
            Path::Attr(ep, ..) | Path::Endpoint(ep) => ep,
        }
    }

    fn send(self, to: &dyn AttrChangeNotifier) {
        match self {
            Path::Attr(ep, cluster, attr) => to.notify_attr_changed(ep, cluster, attr),
            Path::Endpoint(ep) => to.notify_endpoint_changed(ep),
        }
    }
}

#[derive(Default)]
struct Inner {
    /// Endpoints handed to rs-matter in the current round.
    open: Vec<u16>,
    /// When the current round's first path was handed over (`None`: no round open).
    opened: Option<Instant>,
    /// Waiting for a later round, oldest first; `queued` holds the same paths for dedup.
    queue: VecDeque<Path>,
    queued: HashSet<Path>,
    /// Paths that had to wait since the start (for the metrics).
    deferred: u64,
}

/// See the module documentation. One per node (its handler), used on the node's Matter thread.
#[derive(Default)]
pub struct Pacer {
    inner: RefCell<Inner>,
}

impl Pacer {
    /// Hand `path` to rs-matter now if the round has room for its endpoint, else queue it.
    pub fn notify(&self, to: &dyn AttrChangeNotifier, path: Path) {
        let mut inner = self.inner.borrow_mut();
        let ep = path.endpoint();
        if inner.queue.is_empty() && inner.admits(ep) {
            inner.open_for(ep);
            drop(inner);
            path.send(to);
            return;
        }
        if inner.queued.insert(path) {
            inner.queue.push_back(path);
            inner.deferred += 1;
        }
    }

    /// Start a new round if the last one is over (`in_flight`: subscriptions rs-matter is
    /// reporting to right now, asked only once the round is old enough) and hand over what fits
    /// in it.
    pub fn pump(&self, to: &dyn AttrChangeNotifier, in_flight: impl FnOnce() -> u32) {
        let now = Instant::now();
        let mut batch = Vec::new();
        {
            let mut inner = self.inner.borrow_mut();
            let over = inner
                .opened
                .is_none_or(|t| now.duration_since(t) >= ROUND_MIN && in_flight() == 0);
            if !over {
                return;
            }
            inner.open.clear();
            inner.opened = None;
            // Queue order is kept: a path whose endpoint does not fit waits, later paths on
            // endpoints already open still go.
            let mut rest = VecDeque::with_capacity(inner.queue.len());
            while let Some(path) = inner.queue.pop_front() {
                let ep = path.endpoint();
                if inner.admits(ep) {
                    inner.open_for(ep);
                    inner.queued.remove(&path);
                    batch.push(path);
                } else {
                    rest.push_back(path);
                }
            }
            inner.queue = rest;
        }
        for path in batch {
            path.send(to);
        }
    }

    /// Whether a round is open (then [`Pacer::pump`] may have something to do).
    pub fn round_open(&self) -> bool {
        self.inner.borrow().opened.is_some()
    }

    /// Whether paths are waiting (the sync loop then pumps every [`PUMP_EVERY`]).
    pub fn has_queued(&self) -> bool {
        !self.inner.borrow().queue.is_empty()
    }

    /// Paths waiting now, and paths that had to wait since the start.
    pub fn figures(&self) -> (usize, u64) {
        let inner = self.inner.borrow();
        (inner.queue.len(), inner.deferred)
    }
}

impl Inner {
    fn admits(&self, ep: u16) -> bool {
        self.open.contains(&ep) || self.open.len() < ENDPOINT_BUDGET
    }

    fn open_for(&mut self, ep: u16) {
        if !self.open.contains(&ep) {
            self.open.push(ep);
        }
        self.opened.get_or_insert_with(Instant::now);
    }
}

/// Subscriptions rs-matter is reporting to at this moment: its reporter takes each one out of the
/// table while it reports, and the per-fabric counts walk only the table.
pub fn in_flight(ctx: &impl rs_matter::dm::HandlerContext) -> u32 {
    use rs_matter::im::ImStats;
    let stats = ctx.im_stats();
    let total = u32::from(stats.device_load(None).current_subscriptions);
    let fabrics: Vec<std::num::NonZeroU8> = ctx
        .matter()
        .with_state(|s| s.fabrics.iter().map(|f| f.fab_idx()).collect());
    let in_table: u32 = fabrics
        .into_iter()
        .map(|f| u32::from(stats.device_load(Some(f)).current_subscriptions_for_fabric))
        .sum();
    total.saturating_sub(in_table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Records what it was told, in order (stands in for rs-matter's subscriptions).
    #[derive(Default)]
    struct Seen(RefCell<Vec<Path>>);

    impl AttrChangeNotifier for Seen {
        fn notify_attr_changed(&self, ep: u16, cluster: u32, attr: u32) {
            self.0.borrow_mut().push(Path::Attr(ep, cluster, attr));
        }
        fn notify_cluster_changed(&self, _: u16, _: u32) {
            unreachable!("the pacer never notifies a cluster")
        }
        fn notify_endpoint_changed(&self, ep: u16) {
            self.0.borrow_mut().push(Path::Endpoint(ep));
        }
        fn notify_all_changed(&self) {
            unreachable!("the pacer never notifies everything")
        }
    }

    fn endpoints(seen: &Seen) -> Vec<u16> {
        let mut eps: Vec<u16> = seen.0.borrow().iter().map(|p| p.endpoint()).collect();
        eps.dedup();
        eps
    }

    #[test]
    fn a_round_takes_at_most_the_budget_of_endpoints_and_the_rest_waits_in_order() {
        let pacer = Pacer::default();
        let seen = Seen::default();
        for ep in 2..32u16 {
            pacer.notify(&seen, Path::Attr(ep, 6, 0));
        }
        assert_eq!(
            endpoints(&seen),
            (2..2 + ENDPOINT_BUDGET as u16).collect::<Vec<_>>()
        );
        assert!(pacer.has_queued());
        assert_eq!(pacer.figures().0, 30 - ENDPOINT_BUDGET);

        // A subscription is still being reported to: the round is not over.
        std::thread::sleep(ROUND_MIN);
        pacer.pump(&seen, || 1);
        assert_eq!(seen.0.borrow().len(), ENDPOINT_BUDGET);

        // Round over: the next twelve, oldest first.
        pacer.pump(&seen, || 0);
        assert_eq!(
            endpoints(&seen),
            (2..2 + 2 * ENDPOINT_BUDGET as u16).collect::<Vec<_>>()
        );
        std::thread::sleep(ROUND_MIN);
        pacer.pump(&seen, || 0);
        assert_eq!(endpoints(&seen), (2..32).collect::<Vec<_>>());
        assert!(!pacer.has_queued());
        assert_eq!(pacer.figures().1, 30 - ENDPOINT_BUDGET as u64);
    }

    #[test]
    fn more_paths_on_an_open_endpoint_go_at_once_and_queued_duplicates_are_dropped() {
        let pacer = Pacer::default();
        let seen = Seen::default();
        for ep in 2..2 + ENDPOINT_BUDGET as u16 {
            pacer.notify(&seen, Path::Attr(ep, 6, 0));
        }
        // Same endpoint, other attributes: no new entry in rs-matter's table once folded.
        pacer.notify(&seen, Path::Attr(2, 8, 0));
        pacer.notify(&seen, Path::Endpoint(3));
        assert_eq!(seen.0.borrow().len(), ENDPOINT_BUDGET + 2);
        // A new endpoint waits; the same path twice waits once.
        pacer.notify(&seen, Path::Attr(99, 6, 0));
        pacer.notify(&seen, Path::Attr(99, 6, 0));
        assert_eq!(pacer.figures().0, 1);
        // Once something waits, even an open endpoint's path queues behind it (order kept).
        pacer.notify(&seen, Path::Attr(2, 6, 0));
        assert_eq!(pacer.figures().0, 2);
        std::thread::sleep(ROUND_MIN);
        pacer.pump(&seen, || 0);
        let tail: Vec<Path> = seen.0.borrow()[ENDPOINT_BUDGET + 2..].to_vec();
        assert_eq!(tail, vec![Path::Attr(99, 6, 0), Path::Attr(2, 6, 0)]);
    }

    #[test]
    fn a_quiet_pacer_hands_every_change_over_at_once() {
        let pacer = Pacer::default();
        let seen = Seen::default();
        for round in 0..3u32 {
            for ep in 2..2 + ENDPOINT_BUDGET as u16 {
                pacer.notify(&seen, Path::Attr(ep, 6, round));
            }
            std::thread::sleep(ROUND_MIN);
            pacer.pump(&seen, || 0);
        }
        assert_eq!(seen.0.borrow().len(), 3 * ENDPOINT_BUDGET);
        assert_eq!(pacer.figures(), (0, 0));
    }
}
