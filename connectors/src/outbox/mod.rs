//! The durable outbox of one connector: store-and-forward on disk (redb), so a dead link, a crash or a
//! full disk never loses what the bridge accepted without saying so.
//!
//! # Design
//! - One redb file per connector, table `records: seq (u64) → JSON` ([`Record`] plus `queued_ms`, the
//!   outbox clock when it was queued); `seq` is a per-file counter, so `seq` order is delivery order.
//! - **The in-memory index is the truth**; the file is its durable copy. Every operation changes the
//!   index and queues the same change for the file (rows to write, rows to delete, dead letters to
//!   move); one commit then writes everything queued (one fsync). The queued changes are idempotent
//!   (insert by key, delete by key), so a commit that failed — or failed after it half reached the
//!   disk — is simply done again.
//! - **State** is coalesced: a new state for a device replaces its pending row, so pending state is
//!   bounded by the device count and never dropped, not even while the disk is full.
//! - **Events** are appended in order, each with an idempotency key `<epoch>-<seq>` (`epoch` random per
//!   file). Their bytes are capped ([`crate::OutboxConfig::event_max_bytes`]) with a [`DropPolicy`];
//!   rows older than the TTL are dropped when read. The TTL runs on the *outbox clock*: monotonic time
//!   summed over the runs of the bridge (persisted in `meta`), so a wall-clock jump (NTP on a hub
//!   without a hardware clock: +5 years, −1 day) neither expires nor keeps anything.
//! - **Disk full / I/O errors**: after a failed commit redb refuses every later transaction
//!   (`PreviousIo`), so the outbox closes the database and keeps working from memory: states as
//!   always, new events up to [`crate::OutboxConfig::memory_max_bytes`] (beyond: dropped, counted,
//!   named). About once a second it reopens the file and commits what is held; on success it says
//!   "recovered" and raises [`Outbox::take_resync`] so the host queues every device's state again.
//!   Health ([`OutboxStats::storage_error`], [`OutboxStats::disk_full`]) and the log say it plainly.
//!   While the file is closed, rows that exist only on disk cannot be read: delivery waits there.
//! - **Group commit**: [`Outbox::push`] writes a whole batch in one transaction
//!   (`Durability::Immediate`). [`Pushed::durable`] says whether it reached the disk (then it survives
//!   `kill -9` and power loss) or is held in memory while the disk refuses writes.
//! - **Acknowledgement**: a row is deleted only by [`Outbox::ack`], after the cloud acknowledged it
//!   (PUBACK, HTTP 2xx). An ack never fails: while the disk refuses writes, the delete waits in memory.
//! - **Dead letters**: a permanent rejection goes to [`Outbox::dead_letter`] (table `dead`, with the
//!   reason), counted; the table is capped by count, bytes and age, oldest dropped first, counted.
//! - **Drops** are counted by cause ([`Drops`], persisted) and the latest are named
//!   ([`OutboxStats::recent_drops`]: event id, device, type, cause) and logged one by one.
//! - **Replay**: a connector reads with [`Outbox::read_after`] from seq 0 after every (re)connect, so
//!   everything not acknowledged is sent again, in order (duplicates carry the same idempotency key).
//! - Health reads a snapshot ([`Outbox::stats`]) kept behind its own small lock: it never waits for a
//!   commit's fsync.

mod config;
#[cfg(test)]
mod fault_tests;
mod latency;
mod store;
#[cfg(test)]
mod tests;
mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use redb::Database;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::clock::{self, Clock};
use crate::model::{Entry, Record};
use crate::Error;
pub use config::OutboxConfig;
pub use latency::{Latency, LatencySnapshot, BUCKETS_MS as LATENCY_BUCKETS_MS};

/// What to do with a new event when the byte cap is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropPolicy {
    /// Delete the oldest queued events until the new one fits (default).
    #[default]
    DropOldest,
    /// Keep what is queued and drop the new event.
    RefuseNew,
}

/// One record as read back, with its delivery-order sequence number.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub seq: u64,
    pub record: Record,
}

/// The outcome of a push.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Events of this batch (or older ones, `drop_oldest`) dropped by the caps.
    pub dropped: u64,
    /// `true`: the batch is on disk. `false`: the disk refuses writes; it is held in memory.
    pub durable: bool,
}

/// Events (and dead letters) dropped, by cause; persisted with the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Drops {
    /// The event byte cap (`event_max_bytes`, `drop_policy`).
    pub cap: u64,
    /// Older than `event_ttl_secs` when read.
    pub ttl: u64,
    /// The disk refused writes and the memory budget (`memory_max_bytes`) was used up.
    pub disk: u64,
    /// Lost before they reached the outbox (the host fell behind the registry).
    pub lagged: u64,
    /// Dead letters dropped by the dead-letter caps.
    pub dead_letters: u64,
}

impl Drops {
    /// Events lost (dead letters dropped are not events lost: they were already counted as dead).
    pub fn events(&self) -> u64 {
        self.cap + self.ttl + self.disk + self.lagged
    }
}

/// One dropped event, named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DropNote {
    /// The event's idempotency key (what the cloud would have seen), or `seq:<n>` without one.
    pub id: String,
    pub device: String,
    /// The event type (`availability`, `device_added`...).
    pub kind: String,
    /// `cap`, `ttl`, `disk`, `dead_letters`.
    pub cause: &'static str,
}

/// How many dropped events are named in [`OutboxStats::recent_drops`].
pub const RECENT_DROPS: usize = 32;

/// Figures for health and metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OutboxStats {
    /// Records waiting for the cloud's acknowledgement.
    pub depth: u64,
    pub pending_states: u64,
    pub pending_events: u64,
    pub event_bytes: u64,
    /// Age of the oldest waiting record, in ms (outbox clock).
    pub oldest_age_ms: Option<u64>,
    /// Events dropped (cap, TTL, disk, lag) since the file was created.
    pub dropped_events: u64,
    /// The same, by cause.
    pub drops: Drops,
    /// The latest drops, named (newest last).
    pub recent_drops: Vec<DropNote>,
    /// Records the cloud rejected permanently, kept in the dead-letter table.
    pub dead_letters: u64,
    /// Why the latest record went to the dead letters (since the bridge started), e.g. a record too
    /// large for the cloud: names the device, the size and the limit.
    pub last_dead_letter: Option<String>,
    /// Records accepted but held only in memory (the disk refuses writes).
    pub memory_only: u64,
    /// `true` while the disk is full (ENOSPC / EDQUOT).
    pub disk_full: bool,
    /// Why the file cannot be written right now ("disk full: ..."), `None` when it can.
    pub storage_error: Option<String>,
}

/// A connector's outbox; cheap to clone (one file, shared).
#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.0.path)
            .finish()
    }
}

/// Opens the database file (again, after a failure); a closure so tests can put a faulty disk under it.
pub type Opener = Box<dyn Fn() -> Result<Database, String> + Send + Sync>;

struct Inner {
    path: PathBuf,
    config: OutboxConfig,
    clock: Arc<dyn Clock>,
    opener: Opener,
    /// Monotonic origin of this run and the outbox clock it stands for.
    opened: Instant,
    clock_base_ms: u64,
    store: Mutex<Store>,
    /// What health reads; updated after every operation, never held across I/O.
    stats: Mutex<Snapshot>,
    notify: Notify,
    /// Queued → acknowledged, per record acknowledged in this run.
    latency: Latency,
}

#[derive(Default, Clone)]
struct Snapshot {
    stats: OutboxStats,
    /// Outbox clock of the oldest waiting record.
    oldest_ms: Option<u64>,
}

/// Everything behind the store lock.
struct Store {
    /// `None` after a failure closed it; reopened on the next attempt.
    db: Option<Database>,
    index: Index,
    pending: Pending,
    /// Why the disk refuses writes (while it does).
    fault: Option<Fault>,
    /// No reopen / commit attempt before this (while faulty).
    next_attempt: Instant,
    /// Set on recovery: the host should queue every device's state again.
    resync: bool,
}

#[derive(Clone, Debug)]
struct Fault {
    reason: String,
    disk_full: bool,
}

#[derive(Default)]
struct Index {
    rows: BTreeMap<u64, Row>,
    state_seq: HashMap<String, u64>,
    event_bytes: u64,
    /// Bytes of event rows held only in memory.
    memory_event_bytes: u64,
    next_seq: u64,
    epoch: u64,
    drops: Drops,
    recent: VecDeque<DropNote>,
    /// Dead letters: seq → (bytes, outbox clock when dead-lettered).
    dead: BTreeMap<u64, (u64, u64)>,
    dead_bytes: u64,
    /// The reason of the latest dead letter of this run.
    last_dead: Option<String>,
}

struct Row {
    /// `Some(device)` for a state row, `None` for an event.
    state_of: Option<String>,
    bytes: u64,
    /// Outbox clock when queued.
    queued_ms: u64,
    /// The stored form, while it is not on disk yet.
    unwritten: Option<Vec<u8>>,
    /// For naming a dropped event.
    device: String,
    kind: String,
}

/// File changes not committed yet (all idempotent).
#[derive(Default)]
struct Pending {
    /// Rows whose `unwritten` bytes must be inserted.
    puts: BTreeSet<u64>,
    /// Rows to delete from `records`.
    deletes: BTreeSet<u64>,
    /// Dead letters to insert (seq → stored form).
    dead_puts: BTreeMap<u64, Vec<u8>>,
    /// Dead letters to delete (caps).
    dead_deletes: BTreeSet<u64>,
    /// Counters and the clock changed.
    meta: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.puts.is_empty()
            && self.deletes.is_empty()
            && self.dead_puts.is_empty()
            && self.dead_deletes.is_empty()
            && !self.meta
    }
}

impl Outbox {
    /// Opens (or creates) the outbox file, with the system clock.
    pub fn open(path: &Path, config: OutboxConfig) -> Result<Outbox, Error> {
        Outbox::open_with(path, config, clock::system(), None)
    }

    /// Opens with a given clock and, for tests, a given way of opening the database.
    pub fn open_with(
        path: &Path,
        config: OutboxConfig,
        clock: Arc<dyn Clock>,
        opener: Option<Opener>,
    ) -> Result<Outbox, Error> {
        let opener = match opener {
            Some(o) => o,
            None => {
                if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| store_err(path, e))?;
                }
                let p = path.to_owned();
                Box::new(move || Database::create(&p).map_err(|e| e.to_string()))
            }
        };
        let db = opener().map_err(|e| store_err(path, e))?;
        let (index, clock_base_ms) = store::load(&db, path)?;
        let opened = clock.now();
        let inner = Inner {
            path: path.to_owned(),
            config,
            clock,
            opener,
            opened,
            clock_base_ms,
            store: Mutex::new(Store {
                db: Some(db),
                index,
                pending: Pending {
                    meta: true,
                    ..Pending::default()
                },
                fault: None,
                next_attempt: opened,
                resync: false,
            }),
            stats: Mutex::new(Snapshot::default()),
            notify: Notify::new(),
            latency: Latency::default(),
        };
        let outbox = Outbox(Arc::new(inner));
        {
            let mut st = outbox.lock();
            // The epoch of a new file, the clock: committed now, so a failure shows at open.
            outbox.flush(&mut st)?;
            tracing::debug!(path = %path.display(), depth = st.index.rows.len(), "outbox open");
            outbox.publish(&st);
        }
        Ok(outbox)
    }

    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Appends a batch in one transaction (one fsync). Never fails for want of disk: while the disk
    /// refuses writes the batch is held in memory ([`Pushed::durable`] `false`).
    pub fn push_blocking(&self, entries: Vec<Entry>) -> Result<Pushed, Error> {
        if entries.is_empty() {
            return Ok(Pushed {
                dropped: 0,
                durable: true,
            });
        }
        let mut st = self.lock();
        let dropped = self.push_locked(&mut st, entries)?;
        let durable = self.flush(&mut st).is_ok();
        self.publish(&st);
        drop(st);
        self.0.notify.notify_one();
        Ok(Pushed { dropped, durable })
    }

    /// Up to `limit` records with `seq > after`, in order. Events past their TTL are dropped first.
    /// While the file is closed (disk failure), stops before the first row that exists only on disk.
    pub fn read_after_blocking(&self, after: u64, limit: usize) -> Result<Vec<Stored>, Error> {
        let mut st = self.lock();
        self.expire_locked(&mut st);
        let _ = self.flush(&mut st);
        let out = self.read_locked(&mut st, after, limit);
        self.publish(&st);
        out
    }

    /// Deletes acknowledged records; returns how many were still there. Never fails: while the disk
    /// refuses writes the deletes wait in memory (the records are not delivered again meanwhile).
    pub fn ack_blocking(&self, seqs: &[u64]) -> Result<u64, Error> {
        if seqs.is_empty() {
            return Ok(0);
        }
        let mut st = self.lock();
        let n = self.remove_locked(&mut st, seqs, None);
        let _ = self.flush(&mut st);
        self.publish(&st);
        Ok(n)
    }

    /// Moves a record the cloud rejected for good to the dead letters (counted, logged, capped).
    pub fn dead_letter_blocking(&self, seq: u64, reason: &str) -> Result<(), Error> {
        let mut st = self.lock();
        self.remove_locked(&mut st, &[seq], Some(reason));
        let _ = self.flush(&mut st);
        self.publish(&st);
        Ok(())
    }

    /// Counts events lost before they reached the outbox (e.g. the host lagged behind the registry).
    pub fn count_lost(&self, n: u64) {
        let mut st = self.lock();
        st.index.drops.lagged += n;
        st.pending.meta = true;
        let _ = self.flush(&mut st);
        self.publish(&st);
    }

    /// Tries to reopen and commit what is held in memory (the host calls it while
    /// [`OutboxStats::storage_error`] is set). `true` when everything is on disk.
    pub fn recover_blocking(&self) -> bool {
        let mut st = self.lock();
        let ok = self.flush(&mut st).is_ok();
        self.publish(&st);
        drop(st);
        if ok {
            self.0.notify.notify_one();
        }
        ok
    }

    /// `true` once after the outbox recovered from a disk failure: the host should queue every
    /// device's current state again (state is never lost).
    pub fn take_resync(&self) -> bool {
        std::mem::take(&mut self.lock().resync)
    }

    /// A snapshot for health; never waits for a commit.
    pub fn stats(&self) -> OutboxStats {
        let snap = self
            .0
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut stats = snap.stats;
        stats.oldest_age_ms = snap.oldest_ms.map(|at| self.clock_ms().saturating_sub(at));
        stats
    }

    /// Delivery latency (queued → acknowledged by the cloud) of the records acknowledged in this run.
    pub fn latency(&self) -> LatencySnapshot {
        self.0.latency.snapshot()
    }

    /// Completes when something was pushed since the last call (a stored permit: no lost wake-ups).
    pub async fn changed(&self) {
        self.0.notify.notified().await
    }

    /// [`Outbox::push_blocking`] off the async threads.
    pub async fn push(&self, entries: Vec<Entry>) -> Result<Pushed, Error> {
        let me = self.clone();
        blocking(move || me.push_blocking(entries)).await
    }

    /// [`Outbox::read_after_blocking`] off the async threads.
    pub async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<Stored>, Error> {
        let me = self.clone();
        blocking(move || me.read_after_blocking(after, limit)).await
    }

    /// [`Outbox::ack_blocking`] off the async threads.
    pub async fn ack(&self, seqs: Vec<u64>) -> Result<u64, Error> {
        let me = self.clone();
        blocking(move || me.ack_blocking(&seqs)).await
    }

    /// [`Outbox::dead_letter_blocking`] off the async threads.
    pub async fn dead_letter(&self, seq: u64, reason: String) -> Result<(), Error> {
        let me = self.clone();
        blocking(move || me.dead_letter_blocking(seq, &reason)).await
    }

    /// [`Outbox::recover_blocking`] off the async threads.
    pub async fn recover(&self) -> bool {
        let me = self.clone();
        blocking(move || Ok(me.recover_blocking()))
            .await
            .unwrap_or(false)
    }

    /// The clock this outbox (and the connector reading it) runs on: the system's, or a test's.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.0.clock.clone()
    }

    /// The outbox clock: monotonic ms summed over the runs of this file.
    fn clock_ms(&self) -> u64 {
        let run = self.0.clock.now().saturating_duration_since(self.0.opened);
        self.0.clock_base_ms + run.as_millis() as u64
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.0.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refreshes the health snapshot from the index.
    fn publish(&self, st: &Store) {
        let index = &st.index;
        let states = index.state_seq.len() as u64;
        let depth = index.rows.len() as u64;
        let snap = Snapshot {
            stats: OutboxStats {
                depth,
                pending_states: states,
                pending_events: depth - states,
                event_bytes: index.event_bytes,
                oldest_age_ms: None,
                dropped_events: index.drops.events(),
                drops: index.drops.clone(),
                recent_drops: index.recent.iter().cloned().collect(),
                dead_letters: index.dead.len() as u64,
                last_dead_letter: index.last_dead.clone(),
                memory_only: st.pending.puts.len() as u64,
                disk_full: st.fault.as_ref().is_some_and(|f| f.disk_full),
                storage_error: st.fault.as_ref().map(|f| f.reason.clone()),
            },
            // The lowest seq is the oldest record (a rewritten state gets a new seq).
            oldest_ms: index.rows.first_key_value().map(|(_, r)| r.queued_ms),
        };
        *self.0.stats.lock().unwrap_or_else(|e| e.into_inner()) = snap;
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Outbox {
            path: String::new(),
            reason: format!("outbox task failed: {e}"),
        })?
}

fn store_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Outbox {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
