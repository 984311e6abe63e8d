//! Tests of the persistence writer: coalescing, outcomes, failures kept and retried.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn writes_land_and_waiters_hear_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Writer::spawn();
    let path = dir.path().join("a.json");
    writer
        .write_json_blocking(&path, &serde_json::json!({"n": 1}))
        .unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"n\": 1"));
    assert_eq!(writer.health().writes, 1);
    writer.stop();
}

#[test]
fn a_burst_of_dirty_marks_becomes_few_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Writer::spawn();
    let path = dir.path().join("state.json");
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::new(AtomicUsize::new(0));
    {
        let (calls, counter) = (calls.clone(), counter.clone());
        writer.register_snapshot(&path, move || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(Some(
                counter.load(Ordering::SeqCst).to_string().into_bytes(),
            ))
        });
    }
    for i in 1..=1000 {
        counter.store(i, Ordering::SeqCst);
        writer.mark_dirty(&path);
    }
    writer.flush();
    // The newest value is on disk, written by far fewer snapshots than changes.
    writer.mark_dirty(&path);
    writer.flush();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "1000");
    assert!(calls.load(Ordering::SeqCst) < 20, "{calls:?}");
    writer.stop();
}

#[cfg(unix)]
#[test]
fn a_failing_write_keeps_the_old_file_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Writer::spawn();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"").unwrap();
    let bad = blocker.join("x.json");
    let e = writer
        .write_json_blocking(&bad, &serde_json::json!({}))
        .unwrap_err();
    // The error names the path that could not be written.
    assert!(e.to_string().contains("file"), "{e}");
    let health = writer.health();
    assert_eq!(health.failures, 1);
    assert!(health.last_failure.unwrap().contains("file"));
    // Its caller heard it and gave up: nothing is left pending.
    assert_eq!(health.last_error, None);
    // A write nobody waits for stays pending (and retried) until it lands; a good write of
    // another file does not clear it.
    writer.submit(&bad, b"{}".to_vec());
    writer.flush();
    writer
        .write_json_blocking(&dir.path().join("ok.json"), &1)
        .unwrap();
    assert!(writer.health().last_error.unwrap().contains("x.json"));
    std::fs::remove_file(&blocker).unwrap();
    std::thread::sleep(RETRY * 2);
    writer.flush();
    assert_eq!(writer.health().last_error, None);
    assert_eq!(std::fs::read(&bad).unwrap(), b"{}");
    writer.stop();
}
