//! The durable outbox of one connector: store-and-forward on disk (redb), so a dead link or a crash
//! never loses what the bridge accepted.
//!
//! # Design
//! - One redb file per connector, table `records: seq (u64) → JSON` ([`Record`]); `seq` is a
//!   per-file counter, so iterating the table is the delivery order.
//! - **State** is coalesced: a new state for a device replaces its pending row (the old `seq` is
//!   deleted, the new one appended), so pending state is bounded by the device count and never dropped.
//! - **Events** are appended in order, each with an idempotency key `<epoch>-<seq>` (`epoch` is random
//!   per file, so keys never repeat even if the file is deleted). Their bytes are capped
//!   ([`crate::OutboxConfig::event_max_bytes`]) with a [`DropPolicy`], and rows older than the TTL are
//!   dropped when read. Every drop is counted (persisted in `meta`) and logged.
//! - **Group commit**: [`Outbox::push`] writes a whole batch in one transaction, one fsync
//!   (`Durability::Immediate`). When `push` returns `Ok`, the batch survives `kill -9` and power loss.
//! - **Acknowledgement**: a row is deleted only by [`Outbox::ack`], which a connector calls after the
//!   cloud acknowledged it (PUBACK, HTTP 2xx). A permanent rejection goes to [`Outbox::dead_letter`]
//!   (table `dead`), counted, never silently dropped. Acks of rows that were coalesced away are no-ops.
//! - **Replay**: a connector reads with [`Outbox::read_after`] from seq 0 after every (re)connect, so
//!   everything not acknowledged is sent again, in order (duplicates carry the same idempotency key).
//! - An in-memory index (seq → kind, size, age) mirrors the table for cheap stats and cap checks; it is
//!   rebuilt from the file on open and after any failed transaction.

#[cfg(test)]
mod tests;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::config::OutboxConfig;
use crate::model::{now_ms, Entry, Record};
use crate::Error;

const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
const DEAD: TableDefinition<u64, &[u8]> = TableDefinition::new("dead");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

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

/// Figures for health and metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OutboxStats {
    /// Records waiting for the cloud's acknowledgement.
    pub depth: u64,
    pub pending_states: u64,
    pub pending_events: u64,
    pub event_bytes: u64,
    /// Age of the oldest waiting record, in ms.
    pub oldest_age_ms: Option<u64>,
    /// Events dropped (cap, TTL, lag) since the file was created.
    pub dropped_events: u64,
    /// Records the cloud rejected permanently, kept in the dead-letter table.
    pub dead_letters: u64,
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

struct Inner {
    db: Database,
    path: PathBuf,
    config: OutboxConfig,
    index: Mutex<Index>,
    notify: Notify,
}

#[derive(Default)]
struct Index {
    rows: BTreeMap<u64, Row>,
    state_seq: HashMap<String, u64>,
    event_bytes: u64,
    next_seq: u64,
    epoch: u64,
    dropped: u64,
    dead: u64,
}

struct Row {
    /// `Some(device)` for a state row, `None` for an event.
    state_of: Option<String>,
    bytes: u64,
    at_ms: u64,
}

impl Outbox {
    /// Opens (or creates) the outbox file.
    pub fn open(path: &Path, config: OutboxConfig) -> Result<Outbox, Error> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| store_err(path, e))?;
        }
        let db = Database::create(path).map_err(|e| store_err(path, e))?;
        let inner = Inner {
            db,
            path: path.to_owned(),
            config,
            index: Mutex::new(Index::default()),
            notify: Notify::new(),
        };
        let outbox = Outbox(Arc::new(inner));
        {
            let mut index = outbox.lock();
            outbox.rebuild(&mut index)?;
            tracing::debug!(path = %path.display(), depth = index.rows.len(), "outbox open");
        }
        Ok(outbox)
    }

    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Appends a batch in one transaction (one fsync); returns how many events were dropped by the cap.
    /// When this returns `Ok`, every accepted entry is on disk.
    pub fn push_blocking(&self, entries: Vec<Entry>) -> Result<u64, Error> {
        if entries.is_empty() {
            return Ok(0);
        }
        let mut index = self.lock();
        let result = self.push_locked(&mut index, entries);
        if result.is_err() {
            let _ = self.rebuild(&mut index);
        }
        drop(index);
        if result.is_ok() {
            self.0.notify.notify_one();
        }
        result
    }

    /// Up to `limit` records with `seq > after`, in order. Events past their TTL are dropped first.
    pub fn read_after_blocking(&self, after: u64, limit: usize) -> Result<Vec<Stored>, Error> {
        self.expire()?;
        let path = &self.0.path;
        let txn = self.0.db.begin_read().map_err(|e| store_err(path, e))?;
        let table = match txn.open_table(RECORDS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(store_err(path, e)),
        };
        let mut out = Vec::new();
        let start = after.saturating_add(1);
        for item in table.range(start..).map_err(|e| store_err(path, e))? {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(|e| store_err(path, e))?;
            match serde_json::from_slice::<Record>(v.value()) {
                Ok(record) => out.push(Stored {
                    seq: k.value(),
                    record,
                }),
                Err(e) => {
                    tracing::error!(outbox = %path.display(), seq = k.value(), error = %e, "unreadable outbox record; moving it to the dead letters");
                    let seq = k.value();
                    drop((k, v));
                    self.dead_letter_blocking(seq, "unreadable record")?;
                }
            }
        }
        Ok(out)
    }

    /// Deletes acknowledged records in one transaction; returns how many were still there.
    pub fn ack_blocking(&self, seqs: &[u64]) -> Result<u64, Error> {
        if seqs.is_empty() {
            return Ok(0);
        }
        let mut index = self.lock();
        let result = self.remove_locked(&mut index, seqs, None);
        if result.is_err() {
            let _ = self.rebuild(&mut index);
        }
        result
    }

    /// Moves a record the cloud rejected for good to the dead-letter table (counted, logged).
    pub fn dead_letter_blocking(&self, seq: u64, reason: &str) -> Result<(), Error> {
        let mut index = self.lock();
        let result = self.remove_locked(&mut index, &[seq], Some(reason));
        if result.is_err() {
            let _ = self.rebuild(&mut index);
        }
        result.map(|_| ())
    }

    /// Counts events lost before they reached the outbox (e.g. the host lagged behind the registry).
    pub fn count_lost(&self, n: u64) {
        let mut index = self.lock();
        index.dropped += n;
        if let Err(e) = self.persist_dropped(&index) {
            tracing::error!(error = %e, "cannot record dropped events");
        }
    }

    pub fn stats(&self) -> OutboxStats {
        let index = self.lock();
        let states = index.state_seq.len() as u64;
        let depth = index.rows.len() as u64;
        OutboxStats {
            depth,
            pending_states: states,
            pending_events: depth - states,
            event_bytes: index.event_bytes,
            // The lowest seq is the oldest record (a rewritten state gets a new seq).
            oldest_age_ms: index
                .rows
                .first_key_value()
                .map(|(_, r)| now_ms().saturating_sub(r.at_ms)),
            dropped_events: index.dropped,
            dead_letters: index.dead,
        }
    }

    /// Completes when something was pushed since the last call (a stored permit: no lost wake-ups).
    pub async fn changed(&self) {
        self.0.notify.notified().await
    }

    /// [`Outbox::push_blocking`] off the async threads.
    pub async fn push(&self, entries: Vec<Entry>) -> Result<u64, Error> {
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

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.0.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reloads the in-memory index from the file (at open, and after a failed transaction).
    fn rebuild(&self, index: &mut Index) -> Result<(), Error> {
        let path = &self.0.path;
        *index = Index::default();
        let txn = self.0.db.begin_write().map_err(|e| store_err(path, e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| store_err(path, e))?;
            let get = |meta: &redb::Table<&str, u64>, k: &str| -> Result<Option<u64>, Error> {
                Ok(meta
                    .get(k)
                    .map_err(|e| store_err(path, e))?
                    .map(|v| v.value()))
            };
            index.next_seq = get(&meta, "next_seq")?.unwrap_or(1).max(1);
            index.dropped = get(&meta, "dropped")?.unwrap_or(0);
            index.epoch = match get(&meta, "epoch")? {
                Some(e) => e,
                None => {
                    let e = rand::random::<u32>() as u64;
                    meta.insert("epoch", e).map_err(|e| store_err(path, e))?;
                    e
                }
            };
            let records = txn.open_table(RECORDS).map_err(|e| store_err(path, e))?;
            for item in records.iter().map_err(|e| store_err(path, e))? {
                let (k, v) = item.map_err(|e| store_err(path, e))?;
                let seq = k.value();
                let bytes = v.value().len() as u64;
                index.next_seq = index.next_seq.max(seq + 1);
                match serde_json::from_slice::<Record>(v.value()) {
                    Ok(Record::State { device, at_ms, .. }) => {
                        index.state_seq.insert(device.clone(), seq);
                        index.rows.insert(
                            seq,
                            Row {
                                state_of: Some(device),
                                bytes,
                                at_ms,
                            },
                        );
                    }
                    other => {
                        let at_ms = other.map(|r| r.at_ms()).unwrap_or_else(|_| now_ms());
                        index.event_bytes += bytes;
                        index.rows.insert(
                            seq,
                            Row {
                                state_of: None,
                                bytes,
                                at_ms,
                            },
                        );
                    }
                }
            }
            let dead = txn.open_table(DEAD).map_err(|e| store_err(path, e))?;
            index.dead = dead.len().map_err(|e| store_err(path, e))?;
        }
        txn.commit().map_err(|e| store_err(path, e))?;
        Ok(())
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
