//! The background persistence writer: durable file writes (temp, fsync, rename) happen on one thread of
//! their own, never under the registry lock, on a tokio worker or on the Matter thread.
//!
//! Callers hand over the new content of a file and go on; the writer coalesces what is queued for the
//! same file (the newest content wins, so a burst of changes costs one fsync), writes it with
//! [`persist::write_atomic`], and tells every waiter of that file the outcome. A caller that must know
//! the write is on disk before it goes on (an identity allocated for a new device) uses
//! [`Writer::write_json_blocking`]; one that only needs "soon" uses [`Writer::submit`].
//!
//! For files whose content is derived from a larger in-memory structure (the registry's device state),
//! [`Writer::mark_dirty`] registers a snapshot closure that runs on the writer thread after a short
//! debounce ([`DEBOUNCE`]), so a flood of changes turns into a few writes and the producer only flips
//! a flag.
//!
//! Failures (disk full, I/O errors) never stop the writer: each is logged once per file and cause,
//! counted, and kept as [`WriterHealth::last_error`] until a later write of the same file succeeds.
//! The old file is left untouched by a failed write (that is what `write_atomic` guarantees). A write
//! nobody waits for ([`Writer::submit`], [`Writer::submit_remove`], a dirty snapshot) is tried again
//! every [`RETRY`] until it lands or a newer one for the same file replaces it, so a disk that has room
//! again gets the latest content without another change. A waiter's write is retried only when its
//! caller says that the content stays true after the failure ([`Writer::submit_waiting`] with
//! `retry`); otherwise the caller heard the failure and decides (it may roll back what it wrote).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::persist::{self, PersistError};

/// How long a dirty snapshot waits for more changes before it is written.
pub const DEBOUNCE: Duration = Duration::from_millis(100);
/// How often a failed write nobody waits for is tried again.
pub const RETRY: Duration = Duration::from_secs(1);

type Done = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A snapshot's answer: `Err(Busy)` when what it reads is locked right now (it is asked again a
/// little later; the writer never waits for another lock), `Ok(None)` to skip the write.
type Snapshot = Box<dyn Fn() -> Result<Option<Vec<u8>>, Busy> + Send + Sync>;

/// The snapshot's source is locked; try again later.
#[derive(Debug)]
pub struct Busy;

enum Job {
    /// `bytes: None` removes the file; `retry`: try again after a failure (until a newer write).
    Write {
        path: PathBuf,
        bytes: Option<Vec<u8>>,
        done: Option<Done>,
        retry: bool,
    },
    Dirty {
        path: PathBuf,
    },
    Flush(std::sync::mpsc::Sender<()>),
    Stop,
}

/// What the writer has done, for health reporting.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct WriterHealth {
    /// Files written successfully.
    pub writes: u64,
    /// Writes that failed (each is retried with the next change of that file).
    pub failures: u64,
    /// The latest failure that has not been followed by a successful write of the same file (a
    /// write still being retried).
    pub last_error: Option<String>,
    /// The latest failure of any write, also one whose caller heard it and gave up (an API add
    /// refused with the same message) or one that a later write repaired.
    pub last_failure: Option<String>,
    /// True while the last failure was "no space left on device".
    pub disk_full: bool,
}

struct Shared {
    snapshots: Mutex<HashMap<PathBuf, Arc<Snapshot>>>,
    health: Mutex<WriterHealth>,
    /// Files whose last write failed: the cause (for one log line per file and cause) and the message.
    failing: Mutex<BTreeMap<PathBuf, (String, String)>>,
    /// Snapshot files marked dirty whose Dirty job is queued and not yet taken.
    pending: Mutex<HashSet<PathBuf>>,
}

/// Handle to the writer thread; clone it freely.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread.
    pub fn spawn() -> Writer {
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            snapshots: Mutex::new(HashMap::new()),
            health: Mutex::new(WriterHealth::default()),
            failing: Mutex::new(BTreeMap::new()),
            pending: Mutex::new(HashSet::new()),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("persist".into())
            .spawn(move || run(rx, worker))
            .expect("spawning the persistence writer thread");
        Writer {
            tx,
            shared,
            thread: Arc::new(Mutex::new(Some(thread))),
        }
    }

    /// Queues `bytes` as the new content of `path`; returns at once.
    pub fn submit(&self, path: &Path, bytes: Vec<u8>) {
        self.send(Job::Write {
            path: path.to_owned(),
            bytes: Some(bytes),
            done: None,
            retry: true,
        });
    }

    /// Queues the removal of `path` (ordered with the writes of the same file); returns at once.
    pub fn submit_remove(&self, path: &Path) {
        self.send(Job::Write {
            path: path.to_owned(),
            bytes: None,
            done: None,
            retry: true,
        });
    }

    /// Queues `bytes` for `path` and returns a receiver of the outcome, so a caller can queue under a
    /// lock (keeping the order of writes) and wait after releasing it. With `retry` a failed write is
    /// also tried again in the background (for content that stays true in memory after the failure).
    pub fn submit_waiting(&self, path: &Path, bytes: Vec<u8>, retry: bool) -> Pending {
        let (tx, rx) = mpsc::channel();
        self.send(Job::Write {
            path: path.to_owned(),
            bytes: Some(bytes),
            done: Some(Box::new(move |r| {
                let _ = tx.send(r);
            })),
            retry,
        });
        Pending {
            path: path.to_owned(),
            rx,
        }
    }

    /// Queues `value` as pretty JSON for `path` and waits on the calling thread until it is on disk
    /// (or says why not); not for async code.
    pub fn write_json_blocking<T: Serialize>(
        &self,
        path: &Path,
        value: &T,
    ) -> Result<(), PersistError> {
        let bytes = json_bytes(path, value)?;
        self.submit_waiting(path, bytes, false).wait()
    }

    /// Registers how to produce the content of `path` when it is marked dirty. `snapshot` runs on the
    /// writer thread; returning `None` skips the write.
    pub fn register_snapshot(
        &self,
        path: &Path,
        snapshot: impl Fn() -> Result<Option<Vec<u8>>, Busy> + Send + Sync + 'static,
    ) {
        lock(&self.shared.snapshots).insert(path.to_owned(), Arc::new(Box::new(snapshot)));
    }

    /// Says that the content of a registered snapshot file changed; cheap, never blocks on I/O.
    pub fn mark_dirty(&self, path: &Path) {
        // Coalesce on the sender side too: one queued Dirty per file and burst is enough.
        if lock(&self.shared.pending).insert(path.to_owned()) {
            self.send(Job::Dirty {
                path: path.to_owned(),
            });
        }
    }

    /// Blocks until everything queued so far is written (or failed).
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        self.send(Job::Flush(tx));
        let _ = rx.recv_timeout(Duration::from_secs(30));
    }

    /// Flushes and stops the thread.
    pub fn stop(&self) {
        self.flush();
        self.send(Job::Stop);
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }

    /// What the writer has done so far.
    pub fn health(&self) -> WriterHealth {
        lock(&self.shared.health).clone()
    }

    fn send(&self, job: Job) {
        if self.tx.send(job).is_err() {
            tracing::error!("the persistence writer has stopped; a write was not queued");
        }
    }
}

/// The outcome of a write queued with [`Writer::submit_waiting`].
#[must_use = "a pending write says whether it landed"]
pub struct Pending {
    path: PathBuf,
    // A std channel, so that waiting also works on a thread inside a tokio runtime.
    rx: mpsc::Receiver<Result<(), String>>,
}

impl Pending {
    /// An outcome that is already known: written.
    pub fn done(path: &Path) -> Pending {
        let (tx, rx) = mpsc::channel();
        let _ = tx.send(Ok(()));
        Pending {
            path: path.to_owned(),
            rx,
        }
    }

    /// Blocks the calling thread until the write is on disk or failed; not for async code.
    pub fn wait(self) -> Result<(), PersistError> {
        match self.rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(PersistError::Write {
                path: self.path,
                reason,
            }),
            Err(_) => Err(PersistError::Write {
                reason: format!(
                    "cannot write {}: the persistence writer stopped",
                    self.path.display()
                ),
                path: self.path,
            }),
        }
    }
}

/// Pretty JSON with a trailing newline, as every state file is written.
pub fn json_bytes<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, PersistError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|error| PersistError::Encode {
        path: path.to_owned(),
        error,
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
struct Batch {
    writes: Vec<(PathBuf, Option<Vec<u8>>)>,
    done: HashMap<PathBuf, Vec<Done>>,
    dirty: Vec<PathBuf>,
    /// Paths whose newest write must not be retried after a failure.
    no_retry: HashSet<PathBuf>,
    flushes: Vec<std::sync::mpsc::Sender<()>>,
    stop: bool,
}

impl Batch {
    fn add(&mut self, job: Job) {
        match job {
            Job::Write {
                path,
                bytes,
                done,
                retry,
            } => {
                if retry {
                    self.no_retry.remove(&path);
                } else {
                    self.no_retry.insert(path.clone());
                }
                if let Some(slot) = self.writes.iter_mut().find(|(p, _)| *p == path) {
                    slot.1 = bytes;
                } else {
                    self.writes.push((path.clone(), bytes));
                }
                if let Some(done) = done {
                    self.done.entry(path).or_default().push(done);
                }
            }
            Job::Dirty { path } => {
                if !self.dirty.contains(&path) {
                    self.dirty.push(path);
                }
            }
            Job::Flush(tx) => self.flushes.push(tx),
            Job::Stop => self.stop = true,
        }
    }
}

fn run(rx: mpsc::Receiver<Job>, shared: Arc<Shared>) {
    let mut retry: Vec<PathBuf> = Vec::new();
    // Failed writes nobody waits for: the content to try again (None: a removal), and when.
    let mut failed: BTreeMap<PathBuf, Option<Vec<u8>>> = BTreeMap::new();
    let mut retry_failed_at: Option<Instant> = None;
    loop {
        let wait = match (retry.is_empty(), retry_failed_at) {
            (true, None) => None,
            (false, None) => Some(DEBOUNCE),
            (busy, Some(at)) => {
                let left = at.saturating_duration_since(Instant::now());
                Some(if busy { left } else { left.min(DEBOUNCE) })
            }
        };
        let first = match wait {
            None => match rx.recv() {
                Ok(job) => Some(job),
                Err(_) => break,
            },
            Some(wait) => match rx.recv_timeout(wait) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
        };
        let mut batch = Batch::default();
        for path in retry.drain(..) {
            batch.add(Job::Dirty { path });
        }
        if retry_failed_at.is_some_and(|at| at <= Instant::now()) {
            retry_failed_at = None;
            let snapshots = lock(&shared.snapshots);
            for (path, bytes) in std::mem::take(&mut failed) {
                if snapshots.contains_key(&path) {
                    // A snapshot file: take a fresh snapshot rather than the one that failed.
                    batch.add(Job::Dirty { path });
                } else {
                    batch.add(Job::Write {
                        path,
                        bytes,
                        done: None,
                        retry: true,
                    });
                }
            }
        }
        if let Some(first) = first {
            batch.add(first);
        }
        if !batch.dirty.is_empty() && batch.flushes.is_empty() && !batch.stop {
            // Let a burst of changes settle into one write.
            let until = Instant::now() + DEBOUNCE;
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match rx.recv_timeout(left) {
                    Ok(job) => {
                        let urgent = matches!(job, Job::Flush(_) | Job::Stop);
                        batch.add(job);
                        if urgent {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        while let Ok(job) = rx.try_recv() {
            batch.add(job);
        }
        if !batch.dirty.is_empty() {
            {
                let mut pending = lock(&shared.pending);
                for path in &batch.dirty {
                    pending.remove(path);
                }
            }
            let snapshots = lock(&shared.snapshots).clone();
            for path in std::mem::take(&mut batch.dirty) {
                let Some(snapshot) = snapshots.get(&path) else {
                    continue;
                };
                match snapshot() {
                    Ok(Some(bytes)) => {
                        if let Some(slot) = batch.writes.iter_mut().find(|(p, _)| *p == path) {
                            slot.1 = Some(bytes);
                        } else {
                            batch.writes.push((path, Some(bytes)));
                        }
                    }
                    Ok(None) => {}
                    Err(Busy) => retry.push(path),
                }
            }
        }
        for (path, bytes) in std::mem::take(&mut batch.writes) {
            // A newer write of this file replaces a failed older one.
            failed.remove(&path);
            let result = match &bytes {
                Some(bytes) => persist::write_atomic(&path, bytes),
                None => persist::remove_durable(&path),
            };
            let retried = !batch.no_retry.contains(&path);
            record(&shared, &path, &result, retried);
            let waiters = batch.done.remove(&path).unwrap_or_default();
            if result.is_err() && retried {
                failed.insert(path.clone(), bytes);
                retry_failed_at.get_or_insert_with(|| Instant::now() + RETRY);
            }
            let outcome = result.map_err(|e| e.to_string());
            for done in waiters {
                done(outcome.clone());
            }
        }
        for tx in batch.flushes {
            let _ = tx.send(());
        }
        if batch.stop {
            break;
        }
    }
}

/// Counts and logs an outcome; a failed write that is `retried` stays in `last_error` until the file
/// is written (one that is not retried was answered to its caller, and the file on disk is still
/// what the caller now believes).
fn record(shared: &Shared, path: &Path, result: &Result<(), PersistError>, retried: bool) {
    let mut failing = lock(&shared.failing);
    let mut health = lock(&shared.health);
    match result {
        Ok(()) => {
            health.writes += 1;
            if failing.remove(path).is_some() {
                tracing::info!(file = %path.display(), "persistence recovered: file written again");
            }
        }
        Err(e) => {
            health.failures += 1;
            let full = is_disk_full(e);
            let text = e.to_string();
            let message = if full {
                format!("disk full: cannot write {} ({e})", path.display())
            } else if text.contains(&path.display().to_string()) {
                text
            } else {
                format!("cannot write {}: {text}", path.display())
            };
            // One log line per file and cause, not one per attempt (each attempt has its own temp file).
            let cause = cause_of(e);
            if failing.get(path).map(|(c, _)| c) != Some(&cause) {
                tracing::error!(file = %path.display(), disk_full = full, error = %e, retried, "cannot persist; the previous content of the file is kept");
            }
            health.last_failure = Some(message.clone());
            if retried {
                failing.insert(path.to_owned(), (cause, message));
            }
        }
    }
    health.last_error = failing.values().next_back().map(|(_, m)| m.clone());
    health.disk_full = failing.values().any(|(_, m)| m.starts_with("disk full"));
}

/// What went wrong, without the names of temp files: the step and the OS error.
fn cause_of(e: &PersistError) -> String {
    match e {
        PersistError::Io { op, error, .. } => format!("{op}: {:?}", error.kind()),
        other => other.to_string(),
    }
}

fn is_disk_full(e: &PersistError) -> bool {
    match e {
        PersistError::Io { error, .. } => {
            error.raw_os_error() == Some(28) || error.kind() == std::io::ErrorKind::StorageFull
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
