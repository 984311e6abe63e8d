//! The outbox's file: loading the index from it, committing what is pending (reopening the file after
//! a failure), reading record bodies, and the stored forms of records and dead letters.

use std::path::Path;
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde_json::Value;

use super::{store_err, Fault, Index, Outbox, Row, Store, Stored};
use crate::model::Record;
use crate::Error;

pub(super) const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
pub(super) const DEAD: TableDefinition<u64, &[u8]> = TableDefinition::new("dead");
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// While the disk refuses writes: at most one reopen/commit attempt per this long.
pub(super) const RETRY_EVERY: Duration = Duration::from_secs(1);

/// The stored form of a record: its JSON plus `queued_ms` (the outbox clock).
pub(super) fn encode(record: &Record, queued_ms: u64) -> Vec<u8> {
    let mut v = serde_json::to_value(record).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("queued_ms".into(), Value::from(queued_ms));
    }
    v.to_string().into_bytes()
}

/// A stored record and its `queued_ms` (absent in files written before it existed).
pub(super) fn decode(bytes: &[u8]) -> Result<(Record, Option<u64>), String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let queued = v.get("queued_ms").and_then(Value::as_u64);
    let record = serde_json::from_value(v).map_err(|e| e.to_string())?;
    Ok((record, queued))
}

/// The stored form of a dead letter: why, when (outbox clock), and the record as it was stored.
pub(super) fn dead_letter(reason: &str, dead_ms: u64, wall_ms: u64, stored: &[u8]) -> Vec<u8> {
    let record: Value = serde_json::from_slice(stored)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(stored).into_owned()));
    serde_json::json!({ "reason": reason, "dead_ms": dead_ms, "at_ms": wall_ms, "record": record })
        .to_string()
        .into_bytes()
}

/// The type of an event (`availability`...), for naming a drop.
pub(super) fn kind_of(record: &Record) -> String {
    match record {
        Record::State { .. } => "state".to_owned(),
        Record::Event { body, .. } => serde_json::to_value(body)
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "event".to_owned()),
    }
}

/// Builds the index from the file; returns it and the outbox clock the file had reached.
pub(super) fn load(db: &Database, path: &Path) -> Result<(Index, u64), Error> {
    let e = |e: &dyn std::fmt::Display| store_err(path, e);
    let mut index = Index::default();
    let txn = db.begin_read().map_err(|x| e(&x))?;
    let mut clock_ms = 0;
    match txn.open_table(META) {
        Ok(meta) => {
            let get = |k: &str| -> Result<Option<u64>, Error> {
                Ok(meta.get(k).map_err(|x| e(&x))?.map(|v| v.value()))
            };
            index.next_seq = get("next_seq")?.unwrap_or(1);
            index.epoch = get("epoch")?.unwrap_or(0);
            clock_ms = get("clock_ms")?.unwrap_or(0);
            let d = &mut index.drops;
            // `dropped` is the total kept by older versions: what it does not explain was the cap.
            let total = get("dropped")?.unwrap_or(0);
            d.ttl = get("drop_ttl")?.unwrap_or(0);
            d.disk = get("drop_disk")?.unwrap_or(0);
            d.lagged = get("drop_lagged")?.unwrap_or(0);
            d.dead_letters = get("drop_dead")?.unwrap_or(0);
            d.cap =
                get("drop_cap")?.unwrap_or_else(|| total.saturating_sub(d.ttl + d.disk + d.lagged));
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(x) => return Err(e(&x)),
    }
    index.next_seq = index.next_seq.max(1);
    if index.epoch == 0 {
        index.epoch = rand::random_range(1..=u32::MAX as u64);
    }
    match txn.open_table(RECORDS) {
        Ok(records) => {
            for item in records.iter().map_err(|x| e(&x))? {
                let (k, v) = item.map_err(|x| e(&x))?;
                let seq = k.value();
                let bytes = v.value().len() as u64;
                index.next_seq = index.next_seq.max(seq + 1);
                let (state_of, device, kind, queued_ms) = match decode(v.value()) {
                    Ok((record, queued)) => {
                        let state_of = match &record {
                            Record::State { device, .. } => Some(device.clone()),
                            Record::Event { .. } => None,
                        };
                        let device = record.device().to_owned();
                        (
                            state_of,
                            device,
                            kind_of(&record),
                            queued.unwrap_or(clock_ms),
                        )
                    }
                    // Unreadable: an event row, moved to the dead letters when read.
                    Err(_) => (None, String::new(), "unreadable".to_owned(), clock_ms),
                };
                match &state_of {
                    Some(d) => {
                        // Two rows for one device cannot happen; if a file has them, the newer wins.
                        if let Some(old) = index.state_seq.insert(d.clone(), seq) {
                            index.rows.remove(&old);
                        }
                    }
                    None => index.event_bytes += bytes,
                }
                index.rows.insert(
                    seq,
                    Row {
                        state_of,
                        bytes,
                        queued_ms,
                        unwritten: None,
                        device,
                        kind,
                    },
                );
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(x) => return Err(e(&x)),
    }
    match txn.open_table(DEAD) {
        Ok(dead) => {
            let _ = dead.len();
            for item in dead.iter().map_err(|x| e(&x))? {
                let (k, v) = item.map_err(|x| e(&x))?;
                let bytes = v.value().len() as u64;
                let at = serde_json::from_slice::<Value>(v.value())
                    .ok()
                    .and_then(|v| v.get("dead_ms").and_then(Value::as_u64))
                    .unwrap_or(clock_ms);
                index.dead.insert(k.value(), (bytes, at));
                index.dead_bytes += bytes;
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(x) => return Err(e(&x)),
    }
    Ok((index, clock_ms))
}

/// Whether an error chain is "no space left" (ENOSPC, EDQUOT).
pub(super) fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(io.raw_os_error(), Some(28 | 122))
                || io.kind() == std::io::ErrorKind::StorageFull
                || io.kind() == std::io::ErrorKind::QuotaExceeded
            {
                return true;
            }
        }
        cur = err.source();
    }
    let text = e.to_string();
    text.contains("No space left") || text.contains("quota exceeded")
}

impl Outbox {
    /// Commits everything pending in one transaction. On failure the database is closed (redb refuses
    /// every later transaction after an I/O error), the fault is recorded, and what is pending stays in
    /// memory for the next attempt (no sooner than [`RETRY_EVERY`]).
    pub(super) fn flush(&self, st: &mut Store) -> Result<(), Error> {
        if st.pending.is_empty() && st.db.is_some() {
            return Ok(());
        }
        let now = self.0.clock.now();
        if let Some(f) = &st.fault {
            if now < st.next_attempt {
                return Err(store_err(&self.0.path, &f.reason));
            }
        }
        match self.try_commit(st) {
            Ok(()) => {
                for seq in std::mem::take(&mut st.pending.puts) {
                    if let Some(row) = st.index.rows.get_mut(&seq) {
                        if row.unwritten.take().is_some() && row.state_of.is_none() {
                            st.index.memory_event_bytes -= row.bytes;
                        }
                    }
                }
                st.pending = Default::default();
                if let Some(f) = st.fault.take() {
                    tracing::warn!(outbox = %self.0.path.display(), was = %f.reason, "outbox storage recovered: everything held in memory is on disk again");
                    st.resync = true;
                }
                Ok(())
            }
            Err((reason, disk_full)) => {
                st.db = None;
                st.next_attempt = now + RETRY_EVERY;
                let reason = if disk_full {
                    format!("disk full: {reason}")
                } else {
                    format!("I/O error: {reason}")
                };
                if st.fault.as_ref().map(|f| &f.reason) != Some(&reason) {
                    tracing::error!(
                        outbox = %self.0.path.display(),
                        error = %reason,
                        held_in_memory = st.pending.puts.len(),
                        "outbox cannot write: {}; keeping records in memory (states always, events up to memory_max_bytes)",
                        if disk_full { "DISK FULL" } else { "I/O ERROR" }
                    );
                }
                st.fault = Some(Fault { reason, disk_full });
                Err(store_err(&self.0.path, &st.fault.as_ref().unwrap().reason))
            }
        }
    }

    /// (Re)opens if needed and writes every pending change in one transaction.
    fn try_commit(&self, st: &mut Store) -> Result<(), (String, bool)> {
        fn fail(e: impl std::error::Error + 'static) -> (String, bool) {
            (e.to_string(), is_disk_full(&e))
        }
        if st.db.is_none() {
            let db = (self.0.opener)().map_err(|e| {
                let full = e.contains("No space left") || e.contains("quota");
                (e, full)
            })?;
            st.db = Some(db);
        }
        let db = st.db.as_ref().expect("opened above");
        let txn = db.begin_write().map_err(fail)?;
        {
            let index = &st.index;
            let mut records = txn.open_table(RECORDS).map_err(fail)?;
            for seq in &st.pending.puts {
                if let Some(bytes) = index.rows.get(seq).and_then(|r| r.unwritten.as_ref()) {
                    records.insert(*seq, bytes.as_slice()).map_err(fail)?;
                }
            }
            for seq in &st.pending.deletes {
                records.remove(*seq).map_err(fail)?;
            }
            let mut dead = txn.open_table(DEAD).map_err(fail)?;
            for (seq, bytes) in &st.pending.dead_puts {
                dead.insert(*seq, bytes.as_slice()).map_err(fail)?;
            }
            for seq in &st.pending.dead_deletes {
                dead.remove(*seq).map_err(fail)?;
            }
            let mut meta = txn.open_table(META).map_err(fail)?;
            let d = &index.drops;
            for (k, v) in [
                ("next_seq", index.next_seq),
                ("epoch", index.epoch),
                ("clock_ms", self.clock_ms()),
                ("dropped", d.events()),
                ("drop_cap", d.cap),
                ("drop_ttl", d.ttl),
                ("drop_disk", d.disk),
                ("drop_lagged", d.lagged),
                ("drop_dead", d.dead_letters),
            ] {
                meta.insert(k, v).map_err(fail)?;
            }
        }
        txn.commit().map_err(fail)
    }

    /// The records after `after`, from memory or the file.
    pub(super) fn read_locked(
        &self,
        st: &mut Store,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Stored>, Error> {
        let path = &self.0.path;
        let wanted: Vec<u64> = st
            .index
            .rows
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(s, _)| *s)
            .collect();
        let mut out = Vec::with_capacity(wanted.len());
        let mut unreadable = Vec::new();
        let on_disk = wanted.iter().any(|s| st.index.rows[s].unwritten.is_none());
        if on_disk && st.db.is_none() {
            let _ = self.flush(st);
        }
        let txn = match (&st.db, on_disk) {
            (Some(db), true) => Some(db.begin_read().map_err(|e| store_err(path, e))?),
            _ => None,
        };
        let table = match &txn {
            Some(t) => match t.open_table(RECORDS) {
                Ok(t) => Some(t),
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(store_err(path, e)),
            },
            None => None,
        };
        for seq in wanted {
            let bytes = match &st.index.rows[&seq].unwritten {
                Some(b) => b.clone(),
                None => {
                    let Some(table) = &table else {
                        break; // the file is closed: delivery waits for it
                    };
                    match table.get(seq).map_err(|e| store_err(path, e))? {
                        Some(v) => v.value().to_vec(),
                        None => Vec::new(),
                    }
                }
            };
            match decode(&bytes) {
                Ok((record, _)) => out.push(Stored { seq, record }),
                Err(e) => {
                    tracing::error!(outbox = %path.display(), seq, error = %e, "unreadable outbox record; moving it to the dead letters");
                    unreadable.push(seq);
                }
            }
        }
        drop(table);
        drop(txn);
        for seq in unreadable {
            self.remove_locked(st, &[seq], Some("unreadable record"));
        }
        Ok(out)
    }
}
