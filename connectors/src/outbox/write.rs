//! The outbox's write transactions: append a batch (coalescing state, enforcing the event cap), delete
//! acknowledged or dead-lettered rows, expire old events. Each keeps the in-memory index in step.

use super::{store_err, DropPolicy, Index, Outbox, Row, DEAD, META, RECORDS};
use crate::model::{now_ms, Entry, Record};
use crate::Error;

impl Outbox {
    pub(super) fn push_locked(&self, index: &mut Index, entries: Vec<Entry>) -> Result<u64, Error> {
        let path = &self.0.path;
        let cap = self.0.config.event_max_bytes;
        let now = now_ms();
        let mut dropped = 0u64;
        let txn = self.0.db.begin_write().map_err(|e| store_err(path, e))?;
        {
            let mut records = txn.open_table(RECORDS).map_err(|e| store_err(path, e))?;
            for entry in entries {
                let seq = index.next_seq;
                let record = match entry {
                    Entry::State {
                        device,
                        state,
                        version,
                        origin,
                    } => Record::State {
                        device,
                        state,
                        version,
                        origin,
                        at_ms: now,
                    },
                    Entry::Event { device, body } => Record::Event {
                        id: format!("{:08x}-{seq}", index.epoch),
                        device,
                        body,
                        at_ms: now,
                    },
                };
                let bytes = serde_json::to_vec(&record).map_err(|e| store_err(path, e))?;
                let len = bytes.len() as u64;
                match &record {
                    Record::State { device, .. } => {
                        if let Some(old) = index.state_seq.remove(device) {
                            records.remove(old).map_err(|e| store_err(path, e))?;
                            index.rows.remove(&old);
                        }
                        index.state_seq.insert(device.clone(), seq);
                        index.rows.insert(
                            seq,
                            Row {
                                state_of: Some(device.clone()),
                                bytes: len,
                                at_ms: now,
                            },
                        );
                    }
                    Record::Event { device, .. } => {
                        if index.event_bytes + len > cap {
                            match self.0.config.drop_policy {
                                _ if len > cap => {
                                    dropped += 1;
                                    continue;
                                }
                                DropPolicy::RefuseNew => {
                                    dropped += 1;
                                    tracing::warn!(device = %device, outbox = %path.display(), "event cap reached: new event dropped (refuse_new)");
                                    continue;
                                }
                                DropPolicy::DropOldest => {
                                    while index.event_bytes + len > cap {
                                        let Some(oldest) = index
                                            .rows
                                            .iter()
                                            .find(|(_, r)| r.state_of.is_none())
                                            .map(|(s, _)| *s)
                                        else {
                                            break;
                                        };
                                        records.remove(oldest).map_err(|e| store_err(path, e))?;
                                        if let Some(r) = index.rows.remove(&oldest) {
                                            index.event_bytes -= r.bytes;
                                        }
                                        dropped += 1;
                                    }
                                }
                            }
                        }
                        index.event_bytes += len;
                        index.rows.insert(
                            seq,
                            Row {
                                state_of: None,
                                bytes: len,
                                at_ms: now,
                            },
                        );
                    }
                }
                records
                    .insert(seq, bytes.as_slice())
                    .map_err(|e| store_err(path, e))?;
                index.next_seq += 1;
            }
            index.dropped += dropped;
            let mut meta = txn.open_table(META).map_err(|e| store_err(path, e))?;
            meta.insert("next_seq", index.next_seq)
                .map_err(|e| store_err(path, e))?;
            meta.insert("dropped", index.dropped)
                .map_err(|e| store_err(path, e))?;
        }
        txn.commit().map_err(|e| store_err(path, e))?;
        if dropped > 0 {
            tracing::warn!(
                outbox = %path.display(),
                dropped,
                total_dropped = index.dropped,
                policy = ?self.0.config.drop_policy,
                "outbox event cap reached: events dropped"
            );
        }
        Ok(dropped)
    }

    pub(super) fn remove_locked(
        &self,
        index: &mut Index,
        seqs: &[u64],
        dead: Option<&str>,
    ) -> Result<u64, Error> {
        let path = &self.0.path;
        let txn = self.0.db.begin_write().map_err(|e| store_err(path, e))?;
        let mut removed = 0;
        {
            let mut records = txn.open_table(RECORDS).map_err(|e| store_err(path, e))?;
            let mut dead_table = txn.open_table(DEAD).map_err(|e| store_err(path, e))?;
            for &seq in seqs {
                let Some(value) = records.remove(seq).map_err(|e| store_err(path, e))? else {
                    continue;
                };
                removed += 1;
                if let Some(reason) = dead {
                    dead_table
                        .insert(seq, value.value())
                        .map_err(|e| store_err(path, e))?;
                    index.dead += 1;
                    tracing::error!(outbox = %path.display(), seq, reason, "record rejected for good; kept as a dead letter");
                }
                drop(value);
                if let Some(row) = index.rows.remove(&seq) {
                    match row.state_of {
                        Some(device) => {
                            if index.state_seq.get(&device) == Some(&seq) {
                                index.state_seq.remove(&device);
                            }
                        }
                        None => index.event_bytes -= row.bytes,
                    }
                }
            }
        }
        txn.commit().map_err(|e| store_err(path, e))?;
        Ok(removed)
    }

    /// Drops events older than the TTL (one transaction, only when there are some).
    pub(super) fn expire(&self) -> Result<(), Error> {
        let ttl_ms = self.0.config.event_ttl_secs.saturating_mul(1000);
        let cutoff = now_ms().saturating_sub(ttl_ms);
        let mut index = self.lock();
        // Events are appended in time order: stop at the first one still young (states never expire).
        let mut old = Vec::new();
        for (seq, row) in &index.rows {
            if row.state_of.is_some() {
                continue;
            }
            if row.at_ms >= cutoff {
                break;
            }
            old.push(*seq);
        }
        if old.is_empty() {
            return Ok(());
        }
        let n = self.remove_locked(&mut index, &old, None)?;
        index.dropped += n;
        self.persist_dropped(&index)?;
        tracing::warn!(outbox = %self.0.path.display(), dropped = n, "events past their TTL dropped");
        Ok(())
    }

    pub(super) fn persist_dropped(&self, index: &Index) -> Result<(), Error> {
        let path = &self.0.path;
        let txn = self.0.db.begin_write().map_err(|e| store_err(path, e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| store_err(path, e))?;
            meta.insert("dropped", index.dropped)
                .map_err(|e| store_err(path, e))?;
        }
        txn.commit().map_err(|e| store_err(path, e))
    }
}
