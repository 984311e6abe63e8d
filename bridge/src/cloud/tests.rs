//! The host without a broker: a connector whose broker is unreachable reports it in its health and is
//! retried, while every registry change lands in its outbox on disk, in order — and the registry never
//! waits for it.

use std::time::Duration;

use connectors::mqtt::MqttConfig;
use connectors::{ConnectorConfig, EventBody, Outbox, OutboxConfig, Record};
use device_types::{DeviceKind, State};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::DeviceConfig;
use crate::registry::Origin;

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: never happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_broker_changes_queue_on_disk_in_order_and_health_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(
        dir.path(),
        &[DeviceConfig {
            with: Default::default(),
            id: "lamp".into(),
            kind: DeviceKind::DimmableLight,
            name: "Lamp".into(),
            room: None,
            state: None,
            parts: Vec::new(),
        }],
    )
    .unwrap();
    // Port 1 on loopback: nobody listens, the connection is refused at once.
    let mqtt: MqttConfig = toml::from_str(
        "name = \"dead\"\nhost = \"127.0.0.1\"\nport = 1\n[retry]\nbackoff_min_ms = 10\nbackoff_max_ms = 50\n",
    )
    .unwrap();
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let status = start(
        &[ConnectorConfig::Mqtt(mqtt)],
        dir.path(),
        &registry,
        &stop,
        &mut tasks,
    )
    .unwrap();

    for level in [10, 20, 30] {
        let patch = State {
            brightness: Some(level),
            ..State::default()
        };
        registry.apply("lamp", &patch, Origin::Api).unwrap();
    }
    registry.set_reachable("lamp", false).unwrap();
    registry.set_reachable("lamp", true).unwrap();

    until("queued", || status.report()[0].outbox.depth == 3).await;
    until("retried", || status.report()[0].health.failures >= 2).await;
    let report = &status.report()[0];
    assert!(!report.health.connected);
    let error = report.health.last_error.clone().unwrap();
    assert!(error.contains("refused"), "{error}");
    assert_eq!(report.outbox.pending_states, 1, "state is coalesced");
    assert_eq!(report.outbox.pending_events, 2);

    stop.cancel();
    while tasks.join_next().await.is_some() {}
    drop(status); // the last handle on the outbox file

    // What a restarted bridge finds on disk.
    let outbox = Outbox::open(
        &dir.path().join(OUTBOX_DIR).join("dead.redb"),
        OutboxConfig::default(),
    )
    .unwrap();
    let records: Vec<Record> = outbox
        .read_after_blocking(0, 10)
        .unwrap()
        .into_iter()
        .map(|s| s.record)
        .collect();
    assert!(matches!(
        &records[0],
        Record::State { device, state, origin, .. }
            if device == "lamp" && state.brightness == Some(30) && origin == "api"
    ));
    let availability: Vec<_> = records[1..]
        .iter()
        .map(|r| match r {
            Record::Event {
                body: EventBody::Availability { reachable },
                ..
            } => *reachable,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(availability, [false, true]);
}
