//! The outbox's changes to its index: append a batch (coalescing state, enforcing the event cap and,
//! while the disk refuses writes, the memory budget), delete acknowledged or dead-lettered rows (the
//! dead letters capped), expire old events. Each queues the same change for the file
//! ([`super::Pending`]); committing is [`Outbox::flush`]'s job.

use super::store::{dead_letter, encode, kind_of};
use super::{DropNote, DropPolicy, Index, Outbox, Row, Store, RECENT_DROPS};
use crate::model::{Entry, Record};
use crate::Error;

impl Outbox {
    pub(super) fn push_locked(&self, st: &mut Store, entries: Vec<Entry>) -> Result<u64, Error> {
        let cap = self.0.config.event_max_bytes;
        let memory_cap = self.0.config.memory_max_bytes;
        let now = self.clock_ms();
        let wall = self.0.clock.wall_ms();
        let faulty = st.fault.is_some();
        let mut dropped = 0u64;
        for entry in entries {
            let seq = st.index.next_seq;
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
                    at_ms: wall,
                },
                Entry::Event { device, body } => Record::Event {
                    id: format!("{:08x}-{seq}", st.index.epoch),
                    device,
                    body,
                    at_ms: wall,
                },
            };
            let bytes = encode(&record, now);
            let len = bytes.len() as u64;
            let kind = kind_of(&record);
            match &record {
                Record::State { device, .. } => {
                    if let Some(old) = st.index.state_seq.remove(device) {
                        self.forget(st, old);
                    }
                    st.index.state_seq.insert(device.clone(), seq);
                }
                Record::Event { id, device, .. } => {
                    let note = |cause| DropNote {
                        id: id.clone(),
                        device: device.clone(),
                        kind: kind.clone(),
                        cause,
                    };
                    if faulty && st.index.memory_event_bytes + len > memory_cap {
                        // The disk refuses writes and the memory budget is spent.
                        st.index.drops.disk += 1;
                        noted(&mut st.index, note("disk"), &self.0.path);
                        dropped += 1;
                        st.index.next_seq += 1;
                        continue;
                    }
                    if st.index.event_bytes + len > cap {
                        let refuse =
                            len > cap || self.0.config.drop_policy == DropPolicy::RefuseNew;
                        if refuse {
                            st.index.drops.cap += 1;
                            noted(&mut st.index, note("cap"), &self.0.path);
                            dropped += 1;
                            st.index.next_seq += 1;
                            continue;
                        }
                        while st.index.event_bytes + len > cap {
                            let Some(oldest) = st
                                .index
                                .rows
                                .iter()
                                .find(|(_, r)| r.state_of.is_none())
                                .map(|(s, _)| *s)
                            else {
                                break;
                            };
                            if let Some(n) = self.forget(st, oldest) {
                                st.index.drops.cap += 1;
                                noted(&mut st.index, n.with_cause("cap"), &self.0.path);
                                dropped += 1;
                            }
                        }
                    }
                    st.index.event_bytes += len;
                    st.index.memory_event_bytes += len;
                }
            }
            st.index.rows.insert(
                seq,
                Row {
                    state_of: match &record {
                        Record::State { device, .. } => Some(device.clone()),
                        Record::Event { .. } => None,
                    },
                    bytes: len,
                    queued_ms: now,
                    unwritten: Some(bytes),
                    device: record.device().to_owned(),
                    kind,
                },
            );
            st.pending.puts.insert(seq);
            st.index.next_seq += 1;
        }
        st.pending.meta = true;
        if dropped > 0 {
            tracing::warn!(
                outbox = %self.0.path.display(),
                dropped,
                total_dropped = st.index.drops.events(),
                policy = ?self.0.config.drop_policy,
                "outbox events dropped"
            );
        }
        Ok(dropped)
    }

    /// Removes a row from the index and queues its deletion; returns a note naming it (events only).
    fn forget(&self, st: &mut Store, seq: u64) -> Option<DropNote> {
        let row = st.index.rows.remove(&seq)?;
        if row.unwritten.is_some() {
            st.pending.puts.remove(&seq);
            if row.state_of.is_none() {
                st.index.memory_event_bytes -= row.bytes;
            }
        } else {
            st.pending.deletes.insert(seq);
        }
        match row.state_of {
            Some(device) => {
                if st.index.state_seq.get(&device) == Some(&seq) {
                    st.index.state_seq.remove(&device);
                }
                None
            }
            None => {
                st.index.event_bytes -= row.bytes;
                Some(DropNote {
                    id: format!("{:08x}-{seq}", st.index.epoch),
                    device: row.device,
                    kind: row.kind,
                    cause: "",
                })
            }
        }
    }

    /// Deletes acknowledged rows or (with `dead`) moves them to the dead letters; returns how many
    /// were still there.
    pub(super) fn remove_locked(&self, st: &mut Store, seqs: &[u64], dead: Option<&str>) -> u64 {
        let mut removed = 0;
        for &seq in seqs {
            let Some(row) = st.index.rows.get(&seq) else {
                continue;
            };
            let stored = match dead {
                Some(_) => row.unwritten.clone().or_else(|| self.read_one(st, seq)),
                None => None,
            };
            if dead.is_none() {
                let waited = self.clock_ms().saturating_sub(row.queued_ms);
                self.0.latency.observe(waited);
            }
            self.forget(st, seq);
            removed += 1;
            if let Some(reason) = dead {
                let scope = self.0.path.to_string_lossy();
                if let Some(suppressed) = crate::log_limit::allow(&scope, line!()) {
                    tracing::error!(outbox = %self.0.path.display(), seq, reason, suppressed, "record rejected for good; kept as a dead letter");
                }
                let now = self.clock_ms();
                let bytes = dead_letter(
                    reason,
                    now,
                    self.0.clock.wall_ms(),
                    stored.as_deref().unwrap_or(b"null"),
                );
                st.index.dead_bytes += bytes.len() as u64;
                st.index.dead.insert(seq, (bytes.len() as u64, now));
                st.index.last_dead = Some(reason.to_owned());
                st.pending.dead_deletes.remove(&seq);
                st.pending.dead_puts.insert(seq, bytes);
            }
        }
        if dead.is_some() {
            self.cap_dead_letters(st);
        }
        st.pending.meta |= removed > 0;
        removed
    }

    /// Drops the oldest dead letters beyond the count, byte and age caps (counted).
    pub(super) fn cap_dead_letters(&self, st: &mut Store) {
        let c = &self.0.config;
        let cutoff = self
            .clock_ms()
            .saturating_sub(c.dead_letter_max_age_secs.saturating_mul(1000));
        loop {
            let index = &st.index;
            let Some((&seq, &(bytes, at))) = index.dead.first_key_value() else {
                break;
            };
            let over = index.dead.len() as u64 > c.dead_letter_max_count
                || index.dead_bytes > c.dead_letter_max_bytes
                || at < cutoff;
            if !over {
                break;
            }
            st.index.dead.remove(&seq);
            st.index.dead_bytes -= bytes;
            st.index.drops.dead_letters += 1;
            if st.pending.dead_puts.remove(&seq).is_none() {
                st.pending.dead_deletes.insert(seq);
            }
            st.pending.meta = true;
            let scope = self.0.path.to_string_lossy();
            if let Some(suppressed) = crate::log_limit::allow(&scope, line!()) {
                tracing::warn!(outbox = %self.0.path.display(), seq, suppressed, "dead letter dropped (dead-letter cap)");
            }
        }
    }

    /// Drops events older than the TTL (outbox clock; states never expire) and old dead letters.
    pub(super) fn expire_locked(&self, st: &mut Store) {
        let ttl_ms = self.0.config.event_ttl_secs.saturating_mul(1000);
        let cutoff = self.clock_ms().saturating_sub(ttl_ms);
        // Events are appended in clock order: stop at the first one still young.
        let old: Vec<u64> = st
            .index
            .rows
            .iter()
            .filter(|(_, r)| r.state_of.is_none())
            .take_while(|(_, r)| r.queued_ms < cutoff)
            .map(|(s, _)| *s)
            .collect();
        if !old.is_empty() {
            for seq in &old {
                if let Some(n) = self.forget(st, *seq) {
                    st.index.drops.ttl += 1;
                    noted(&mut st.index, n.with_cause("ttl"), &self.0.path);
                }
            }
            st.pending.meta = true;
            tracing::warn!(outbox = %self.0.path.display(), dropped = old.len(), "events past their TTL dropped");
        }
        self.cap_dead_letters(st);
    }

    /// One row's stored form from the file (for a dead letter), if the file can be read.
    fn read_one(&self, st: &Store, seq: u64) -> Option<Vec<u8>> {
        use redb::ReadableDatabase;
        let txn = st.db.as_ref()?.begin_read().ok()?;
        let table = txn.open_table(super::store::RECORDS).ok()?;
        let v = table.get(seq).ok()??;
        Some(v.value().to_vec())
    }
}

impl DropNote {
    fn with_cause(mut self, cause: &'static str) -> DropNote {
        self.cause = cause;
        self
    }
}

/// Records a drop by name (log line, recent list).
fn noted(index: &mut Index, note: DropNote, path: &std::path::Path) {
    tracing::warn!(outbox = %path.display(), id = %note.id, device = %note.device, kind = %note.kind, cause = note.cause, "event dropped");
    if index.recent.len() == RECENT_DROPS {
        index.recent.pop_front();
    }
    index.recent.push_back(note);
}
