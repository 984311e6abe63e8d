//! The counters the data path bumps where things happen (registry, Matter thread, sources): relaxed
//! atomics only, so counting costs an increment and never a lock or an allocation on the hot path. The
//! rare first sight of a new cloud origin or source name takes a short write lock once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::RwLock;
use std::time::Instant;

use crate::registry::Origin;

/// Everything counted at the source; one per registry (so per bridge), shared by `Arc`.
#[derive(Debug, Default)]
pub struct Counters {
    /// State changes the registry accepted, by origin (a source's confirmation is `local`).
    changes: ByOrigin,
    /// Commands the registry handed to a device's source, by who sent them.
    commands: ByOrigin,
    /// Figures the Matter thread publishes.
    pub matter: MatterFigures,
    /// Whether each device source with a remote end (a Zigbee2MQTT broker) is connected.
    sources: Named<AtomicBool>,
}

/// A count per origin: fixed slots for matter, local, api; one per cloud connector.
#[derive(Debug, Default)]
struct ByOrigin {
    fixed: [AtomicU64; 3],
    cloud: Named<AtomicU64>,
}

impl ByOrigin {
    fn count(&self, origin: &Origin) {
        match origin {
            Origin::Matter => self.fixed[0].fetch_add(1, Relaxed),
            Origin::Local => self.fixed[1].fetch_add(1, Relaxed),
            Origin::Api => self.fixed[2].fetch_add(1, Relaxed),
            Origin::Cloud(name) => self.cloud.with(name, |c| c.fetch_add(1, Relaxed)),
        };
    }

    /// (`matter` | `local` | `api` | `cloud:<name>`, count).
    fn snapshot(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = ["matter", "local", "api"]
            .iter()
            .zip(&self.fixed)
            .map(|(n, c)| ((*n).to_owned(), c.load(Relaxed)))
            .collect();
        out.extend(
            self.cloud
                .snapshot(|c| c.load(Relaxed))
                .into_iter()
                .map(|(n, c)| (format!("cloud:{n}"), c)),
        );
        out
    }
}

/// A small list of named values, grown under a write lock the first time a name shows up.
#[derive(Debug)]
struct Named<T>(RwLock<Vec<(String, T)>>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(RwLock::new(Vec::new()))
    }
}

impl<T: Default> Named<T> {
    fn with<R>(&self, name: &str, f: impl Fn(&T) -> R) -> R {
        {
            let list = self.0.read().unwrap_or_else(|e| e.into_inner());
            if let Some((_, v)) = list.iter().find(|(n, _)| n == name) {
                return f(v);
            }
        }
        let mut list = self.0.write().unwrap_or_else(|e| e.into_inner());
        let i = match list.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                list.push((name.to_owned(), T::default()));
                list.len() - 1
            }
        };
        f(&list[i].1)
    }

    fn snapshot<R>(&self, f: impl Fn(&T) -> R) -> Vec<(String, R)> {
        let list = self.0.read().unwrap_or_else(|e| e.into_inner());
        list.iter().map(|(n, v)| (n.clone(), f(v))).collect()
    }
}

/// The outcome of a Matter command, as a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvokeResult {
    Success,
    ConstraintError,
    InvalidCommand,
    UnsupportedCommand,
    NotFound,
    Busy,
    Failure,
}

impl InvokeResult {
    pub const ALL: [InvokeResult; 7] = [
        InvokeResult::Success,
        InvokeResult::ConstraintError,
        InvokeResult::InvalidCommand,
        InvokeResult::UnsupportedCommand,
        InvokeResult::NotFound,
        InvokeResult::Busy,
        InvokeResult::Failure,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            InvokeResult::Success => "success",
            InvokeResult::ConstraintError => "constraint_error",
            InvokeResult::InvalidCommand => "invalid_command",
            InvokeResult::UnsupportedCommand => "unsupported_command",
            InvokeResult::NotFound => "not_found",
            InvokeResult::Busy => "busy",
            InvokeResult::Failure => "failure",
        }
    }
}

/// Figures of the Matter node, published by the Matter thread (rs-matter's own counters) or counted
/// there (the bridge's notifications and events; secured sessions seen by the transport guard).
#[derive(Debug, Default)]
pub struct MatterFigures {
    /// Each Matter node's figures, by node index (main is 0).
    nodes: [NodeFigures; crate::config::MAX_NODES],
}

/// How long a secured session counts as active after its last message.
pub const SESSION_IDLE_SECS: u64 = 300;
const SESSION_SLOTS: usize = 32;

/// Secured session ids the transport guard saw, with when it last saw each: a fixed table of atomics
/// (session id + 1 in the top 16 bits, seconds since start in the rest), written by the Matter thread,
/// counted at scrape time. rs-matter 0.4.1 keeps its session table private; this is the node's view
/// from the wire.
#[derive(Debug)]
pub struct SessionsSeen {
    slots: [AtomicU64; SESSION_SLOTS],
    origin: Instant,
}

impl Default for SessionsSeen {
    fn default() -> Self {
        SessionsSeen {
            slots: Default::default(),
            origin: Instant::now(),
        }
    }
}

impl SessionsSeen {
    fn secs(&self, now: Instant) -> u64 {
        // +1 so that a slot written in the first second is not taken for empty.
        now.saturating_duration_since(self.origin).as_secs() + 1
    }

    /// A message arrived on secured unicast session `id` at `now`.
    pub fn seen(&self, id: u16, now: Instant) {
        let tag = (u64::from(id) + 1) << 48;
        let value = tag | self.secs(now);
        let mut oldest = (u64::MAX, 0);
        for (i, slot) in self.slots.iter().enumerate() {
            let v = slot.load(Relaxed);
            if v & !LOW == tag {
                slot.store(value, Relaxed);
                return;
            }
            let at = v & LOW;
            if at < oldest.0 {
                oldest = (at, i);
            }
        }
        self.slots[oldest.1].store(value, Relaxed);
    }

    /// Sessions with a message in the last [`SESSION_IDLE_SECS`].
    pub fn active(&self, now: Instant) -> u64 {
        let now = self.secs(now);
        self.slots
            .iter()
            .map(|s| s.load(Relaxed))
            .filter(|v| *v != 0 && now.saturating_sub(v & LOW) < SESSION_IDLE_SECS)
            .count() as u64
    }
}

const LOW: u64 = (1 << 48) - 1;

/// rs-matter's Interaction Model figures at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImFigures {
    pub subscriptions: u64,
    pub subscriptions_established: u64,
    pub im_sent: u64,
    pub im_received: u64,
    /// Change notifications waiting in the pacer now, and deferred by it since start.
    pub changes_waiting: u64,
    pub changes_deferred: u64,
}

/// One node's rs-matter figures.
#[derive(Debug, Default)]
struct NodeFigures {
    /// Subscriptions established now (rs-matter's subscription table).
    subscriptions: AtomicU64,
    /// Subscriptions accepted since start.
    subscriptions_established: AtomicU64,
    /// Interaction Model messages sent and received (rs-matter's transport counters).
    im_sent: AtomicU64,
    im_received: AtomicU64,
    /// The node's pacer (matter/pacer.rs).
    changes_waiting: AtomicU64,
    changes_deferred: AtomicU64,
    /// Counted by the node's thread: commands on its endpoints by [`InvokeResult`], attribute
    /// changes handed to rs-matter, events emitted (Switch presses, StateChange, LockOperation, ...).
    invokes: [AtomicU64; InvokeResult::ALL.len()],
    attribute_changes: AtomicU64,
    events: AtomicU64,
    /// Secured unicast sessions that sent the node a message lately (session ids are per node).
    sessions: SessionsSeen,
}

/// What one node counted itself (see [`MatterFigures::counted`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeCounts {
    pub invokes: Vec<(InvokeResult, u64)>,
    pub attribute_changes: u64,
    pub events: u64,
    pub sessions: u64,
}

impl MatterFigures {
    /// Stores node `node`'s rs-matter figures (its Matter thread, a few times a second).
    pub fn publish(&self, node: usize, f: ImFigures) {
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        n.subscriptions.store(f.subscriptions, Relaxed);
        n.subscriptions_established
            .store(f.subscriptions_established, Relaxed);
        n.im_sent.store(f.im_sent, Relaxed);
        n.im_received.store(f.im_received, Relaxed);
        n.changes_waiting.store(f.changes_waiting, Relaxed);
        n.changes_deferred.store(f.changes_deferred, Relaxed);
    }

    /// Node `node`'s figures (zero for a node that never published).
    pub fn node(&self, node: usize) -> ImFigures {
        let Some(n) = self.nodes.get(node) else {
            return ImFigures::default();
        };
        ImFigures {
            subscriptions: n.subscriptions.load(Relaxed),
            subscriptions_established: n.subscriptions_established.load(Relaxed),
            im_sent: n.im_sent.load(Relaxed),
            im_received: n.im_received.load(Relaxed),
            changes_waiting: n.changes_waiting.load(Relaxed),
            changes_deferred: n.changes_deferred.load(Relaxed),
        }
    }

    /// Node `node` handed an attribute change to rs-matter.
    pub fn attribute_changed(&self, node: usize) {
        if let Some(n) = self.nodes.get(node) {
            n.attribute_changes.fetch_add(1, Relaxed);
        }
    }

    /// Node `node` emitted an event.
    pub fn event_emitted(&self, node: usize) {
        if let Some(n) = self.nodes.get(node) {
            n.events.fetch_add(1, Relaxed);
        }
    }

    /// Node `node` answered a command.
    pub fn invoked(&self, node: usize, result: InvokeResult) {
        let i = InvokeResult::ALL
            .iter()
            .position(|r| *r == result)
            .unwrap_or(0);
        if let Some(n) = self.nodes.get(node) {
            n.invokes[i].fetch_add(1, Relaxed);
        }
    }

    /// A message arrived on node `node`'s secured unicast session `id`.
    pub fn session_seen(&self, node: usize, id: u16, now: Instant) {
        if let Some(n) = self.nodes.get(node) {
            n.sessions.seen(id, now);
        }
    }

    /// What node `node` counted (zero for a node that never counted).
    pub fn counted(&self, node: usize, now: Instant) -> NodeCounts {
        let Some(n) = self.nodes.get(node) else {
            return NodeCounts::default();
        };
        NodeCounts {
            invokes: InvokeResult::ALL
                .iter()
                .zip(&n.invokes)
                .map(|(r, c)| (*r, c.load(Relaxed)))
                .collect(),
            attribute_changes: n.attribute_changes.load(Relaxed),
            events: n.events.load(Relaxed),
            sessions: n.sessions.active(now),
        }
    }
}

impl Counters {
    /// One state change entered the registry.
    pub fn change(&self, origin: &Origin) {
        self.changes.count(origin);
    }

    /// State changes so far, by origin label (`matter`, `local`, `api`, `cloud:<name>`).
    pub fn changes(&self) -> Vec<(String, u64)> {
        self.changes.snapshot()
    }

    /// One command handed to a device's source.
    pub fn command(&self, origin: &Origin) {
        self.commands.count(origin);
    }

    /// Commands so far, by origin label.
    pub fn commands(&self) -> Vec<(String, u64)> {
        self.commands.snapshot()
    }

    /// A device source connected to (or lost) its remote end.
    pub fn source_connected(&self, source: &str, connected: bool) {
        self.sources.with(source, |c| c.store(connected, Relaxed));
    }

    /// Every source that reported its connection, with its state.
    pub fn sources(&self) -> Vec<(String, bool)> {
        self.sources.snapshot(|c| c.load(Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn changes_are_counted_by_origin() {
        let c = Counters::default();
        c.change(&Origin::Matter);
        c.change(&Origin::Cloud("home".into()));
        c.change(&Origin::Cloud("home".into()));
        c.change(&Origin::Api);
        let changes = c.changes();
        let get = |n: &str| changes.iter().find(|(o, _)| o == n).map(|(_, v)| *v);
        assert_eq!(get("matter"), Some(1));
        assert_eq!(get("local"), Some(0));
        assert_eq!(get("api"), Some(1));
        assert_eq!(get("cloud:home"), Some(2));
    }

    #[test]
    fn sessions_count_while_active_and_age_out() {
        let s = SessionsSeen::default();
        let t0 = s.origin;
        s.seen(7, t0);
        s.seen(7, t0 + Duration::from_secs(1));
        s.seen(9, t0 + Duration::from_secs(2));
        assert_eq!(s.active(t0 + Duration::from_secs(3)), 2);
        s.seen(9, t0 + Duration::from_secs(200));
        // Session 7 was last heard at 1 s: gone after SESSION_IDLE_SECS.
        assert_eq!(s.active(t0 + Duration::from_secs(SESSION_IDLE_SECS + 2)), 1);
        // More sessions than slots: the oldest is replaced, nothing panics.
        for id in 100..200 {
            s.seen(id, t0 + Duration::from_secs(400));
        }
        assert_eq!(
            s.active(t0 + Duration::from_secs(401)),
            SESSION_SLOTS as u64
        );
    }
}
