//! Outbox behaviour: coalescing, order, acks, caps and policies, TTL, reopen, and durability across
//! `kill -9` (a child process writes, the test kills it, then checks every committed batch is there).

use device_types::State;

use super::*;
use crate::model::EventBody;

fn config() -> OutboxConfig {
    OutboxConfig::default()
}

fn state(device: &str, on: bool, version: u64) -> Entry {
    Entry::State {
        device: device.to_owned(),
        state: State {
            on: Some(on),
            ..State::default()
        },
        version,
        origin: "api".to_owned(),
    }
}

fn event(device: &str, reachable: bool) -> Entry {
    Entry::Event {
        device: device.to_owned(),
        body: EventBody::Availability { reachable },
    }
}

#[test]
fn state_is_coalesced_events_are_ordered_and_acks_delete() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("o.redb"), config()).unwrap();
    ob.push_blocking(vec![state("a", true, 1), event("a", false)])
        .unwrap();
    ob.push_blocking(vec![
        state("a", false, 2),
        event("a", true),
        state("b", true, 3),
    ])
    .unwrap();
    let all = ob.read_after_blocking(0, 100).unwrap();
    let kinds: Vec<String> = all
        .iter()
        .map(|s| match &s.record {
            Record::State {
                device, version, ..
            } => format!("{device}@{version}"),
            Record::Event { body, .. } => format!("{body:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Availability { reachable: false }",
            "a@2",
            "Availability { reachable: true }",
            "b@3"
        ]
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let stats = ob.stats();
    assert_eq!(
        (stats.depth, stats.pending_states, stats.pending_events),
        (4, 2, 2)
    );

    // Acking a coalesced-away seq is a no-op; acking the rest empties the outbox.
    assert_eq!(ob.ack_blocking(&[1]).unwrap(), 0);
    let seqs: Vec<u64> = all.iter().map(|s| s.seq).collect();
    assert_eq!(ob.ack_blocking(&seqs).unwrap(), 4);
    assert_eq!(ob.stats().depth, 0);
    assert!(ob.read_after_blocking(0, 100).unwrap().is_empty());
}

#[test]
fn survives_reopen_with_stable_ids_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.redb");
    let ids = {
        let ob = Outbox::open(&path, config()).unwrap();
        ob.push_blocking(vec![
            event("a", false),
            event("a", true),
            state("a", true, 9),
        ])
        .unwrap();
        ob.read_after_blocking(0, 10).unwrap()
    };
    let ob = Outbox::open(&path, config()).unwrap();
    assert_eq!(ob.read_after_blocking(0, 10).unwrap(), ids);
    ob.push_blocking(vec![event("a", false)]).unwrap();
    let again = ob.read_after_blocking(0, 10).unwrap();
    assert!(again.last().unwrap().seq > ids.last().unwrap().seq);
    assert_eq!(ob.stats().pending_states, 1);
}

fn big_config(policy: DropPolicy) -> OutboxConfig {
    OutboxConfig {
        event_max_bytes: 4096,
        drop_policy: policy,
        ..OutboxConfig::default()
    }
}

fn event_ids(ob: &Outbox) -> Vec<u64> {
    ob.read_after_blocking(0, 10_000)
        .unwrap()
        .into_iter()
        .filter(|s| matches!(s.record, Record::Event { .. }))
        .map(|s| s.seq)
        .collect()
}

#[test]
fn drop_oldest_keeps_the_newest_events_and_never_drops_state() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(
        &dir.path().join("o.redb"),
        big_config(DropPolicy::DropOldest),
    )
    .unwrap();
    ob.push_blocking(vec![state("s", true, 1)]).unwrap();
    for i in 0..200 {
        ob.push_blocking(vec![event("a", i % 2 == 0)]).unwrap();
    }
    let stats = ob.stats();
    assert!(stats.event_bytes <= 4096, "{stats:?}");
    assert!(stats.dropped_events > 0);
    assert_eq!(stats.pending_states, 1);
    let ids = event_ids(&ob);
    assert_eq!(*ids.last().unwrap(), 201, "the newest event is kept");
    assert_eq!(ids.len() as u64 + stats.dropped_events, 200);
}

#[test]
fn refuse_new_keeps_the_oldest_events() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(
        &dir.path().join("o.redb"),
        big_config(DropPolicy::RefuseNew),
    )
    .unwrap();
    for i in 0..200 {
        ob.push_blocking(vec![event("a", i % 2 == 0)]).unwrap();
    }
    let ids = event_ids(&ob);
    assert_eq!(ids[0], 1, "the oldest event is kept");
    assert_eq!(ids.len() as u64 + ob.stats().dropped_events, 200);
}

#[test]
fn events_past_their_ttl_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.redb");
    let ob = Outbox::open(&path, config()).unwrap();
    ob.push_blocking(vec![event("a", false), state("a", true, 1)])
        .unwrap();
    drop(ob);
    // Reopen with a TTL the stored event has already outlived.
    let ob = Outbox::open(
        &path,
        OutboxConfig {
            event_ttl_secs: 1,
            ..config()
        },
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let left = ob.read_after_blocking(0, 10).unwrap();
    assert_eq!(left.len(), 1);
    assert!(matches!(left[0].record, Record::State { .. }));
    assert_eq!(ob.stats().dropped_events, 1);
}

/// Child side of the kill -9 test: pushes batches forever, printing each committed batch number.
#[test]
#[ignore = "run by kill_9_loses_nothing_committed as a child process"]
fn child_writer() {
    use std::io::Write;
    let Some(path) = std::env::var_os("HB_OUTBOX_CHILD") else {
        return;
    };
    let ob = Outbox::open(Path::new(&path), config()).unwrap();
    let mut out = std::io::stdout();
    for batch in 0u64.. {
        let entries = (0..50)
            .map(|i| Entry::Event {
                device: format!("d{batch}"),
                body: EventBody::Other {
                    name: "press".to_owned(),
                    data: serde_json::json!({ "batch": batch, "i": i }),
                },
            })
            .collect();
        ob.push_blocking(entries).unwrap();
        writeln!(out, "committed {batch}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_loses_nothing_committed() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "outbox::tests::child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HB_OUTBOX_CHILD", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut committed = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            committed = Some(n.parse::<u64>().unwrap());
            if committed == Some(30) {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let committed = committed.expect("the child committed nothing");
    let ob = Outbox::open(&path, config()).unwrap();
    let records = ob.read_after_blocking(0, 1_000_000).unwrap();
    let mut batches = std::collections::BTreeMap::<u64, usize>::new();
    for s in &records {
        if let Record::Event {
            body: EventBody::Other { data, .. },
            ..
        } = &s.record
        {
            *batches.entry(data["batch"].as_u64().unwrap()).or_default() += 1;
        }
    }
    for b in 0..=committed {
        assert_eq!(
            batches.get(&b),
            Some(&50),
            "batch {b} incomplete after kill -9"
        );
    }
    // A batch is all or nothing.
    assert!(batches.values().all(|&n| n == 50));
}
