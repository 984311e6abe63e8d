//! The MQTT connector against a real mosquitto on loopback (skipped when mosquitto is not installed):
//! records leave the outbox only once PUBACKed, in order; `/set` becomes a command whose answer is
//! published; a broker that goes away leaves the records queued; a record too large for the connection
//! goes to the dead letters (reason named) and the queue behind it flows, also after a restart. The bridge side is an in-process fake
//! (`FakeDevices`, a command loop); the end-to-end tests use the real bridge.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use connectors::mqtt::MqttConfig;
use connectors::{
    ConnectorConfig, DeviceInfo, DeviceSnapshot, DeviceView, Entry, EventBody, HealthHandle,
    Outbox, OutboxConfig, Session, TestClock,
};
use device_types::{DeviceKind, State};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn broker(dir: &std::path::Path) -> Option<(Broker, u16)> {
    broker_with(dir, "")
}

/// A mosquitto with `extra` lines in its config (e.g. `max_packet_size 4096`).
fn broker_with(dir: &std::path::Path, extra: &str) -> Option<(Broker, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("allow_anonymous true\nlistener {port} 127.0.0.1\n{extra}\n"),
    )
    .unwrap();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let b = Broker(child);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((b, port));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

/// A fake of the bridge's device view: one light.
struct FakeDevices;

impl DeviceView for FakeDevices {
    fn devices(&self) -> Vec<DeviceSnapshot> {
        vec![DeviceSnapshot {
            info: DeviceInfo {
                id: "lamp".into(),
                kind: DeviceKind::OnOffLight,
                name: "Lamp".into(),
                room: None,
                unique_id: "0123".into(),
                endpoint: 2,
            },
            state: State {
                on: Some(false),
                ..State::default()
            },
            version: 0,
            reachable: true,
        }]
    }
    fn device(&self, id: &str) -> Option<DeviceSnapshot> {
        self.devices().into_iter().find(|d| d.info.id == id)
    }
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: never happened");
}

/// A client subscribed to `t/#` that hands every message (topic, payload) to the returned channel;
/// keep the client (it also publishes the tests' commands) alive as long as the channel is read.
///
/// The session is persistent and the loop keeps polling after a connection error (rumqttc reconnects on
/// the next poll), so a dropped link on a loaded machine loses no message: mosquitto queues the QoS 1
/// messages for the session meanwhile. (It used to stop at the first error, closing the channel: a CI
/// run failed with `recv() == None` mid-test.) Returns once the subscription is acknowledged.
async fn watch_all(port: u16) -> (AsyncClient, mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let mut opts = MqttOptions::new("watcher", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(10));
    opts.set_clean_session(false);
    let (watcher, mut ev) = AsyncClient::new(opts, 100);
    watcher.subscribe("t/#", QoS::AtLeastOnce).await.unwrap();
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut subscribed_tx = Some(subscribed_tx);
        let mut errors = 0;
        while !seen_tx.is_closed() {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = seen_tx.send((p.topic, p.payload.to_vec()));
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    errors += 1;
                    eprintln!("watcher: {e} (reconnecting)");
                    if errors > 100 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(20), subscribed)
        .await
        .expect("the watcher's subscription acknowledged within 20 s")
        .expect("the watcher's loop ended before its subscription was acknowledged");
    (watcher, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_acked_after_puback_and_set_is_answered() {
    connectors::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let Some((_broker, port)) = broker(dir.path()) else {
        eprintln!("mosquitto not installed: skipped");
        return;
    };
    // A watcher that records everything.
    let (watcher, mut seen) = watch_all(port).await;

    let outbox = Outbox::open(&dir.path().join("o.redb"), OutboxConfig::default()).unwrap();
    for i in 0..50 {
        outbox
            .push(vec![Entry::Event {
                device: "lamp".into(),
                body: EventBody::Other {
                    name: "press".into(),
                    data: serde_json::json!({ "n": i }),
                },
            }])
            .await
            .unwrap();
    }
    let config: MqttConfig = toml::from_str(&format!(
        "name = \"t\"\nhost = \"127.0.0.1\"\nport = {port}\nbase_topic = \"t\"\nhomeassistant = false\n"
    ))
    .unwrap();
    let mut connector = ConnectorConfig::Mqtt(config).build().unwrap();
    let (cmd_tx, mut cmd_rx) = mpsc::channel(16);
    let health = HealthHandle::default();
    let stop = CancellationToken::new();
    let mut session = Session {
        outbox: outbox.clone(),
        commands: cmd_tx,
        devices: Arc::new(FakeDevices),
        health: health.clone(),
        stop: stop.clone(),
    };
    let run = tokio::spawn(async move { connector.run(&mut session).await });
    // The fake bridge applies every command.
    tokio::spawn(async move {
        while let Some(cmd) = cmd_rx.recv().await {
            let _ = cmd.reply.send(Ok(cmd.patch.clone()));
        }
    });

    // The outbox is emptied by the ack commit and the delivered counter moves just after it:
    // wait for both before looking.
    until("all delivered", || {
        outbox.stats().depth == 0 && health.snapshot().delivered >= 50
    })
    .await;
    assert_eq!(health.snapshot().delivered, 50);
    let mut events = Vec::new();
    while events.len() < 50 {
        let (topic, payload) = seen.recv().await.unwrap();
        if topic == "t/bridge/event" {
            let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            events.push(v["data"]["n"].as_u64().unwrap());
        }
    }
    assert_eq!(events, (0..50).collect::<Vec<_>>(), "in order");

    watcher
        .publish("t/lamp/set", QoS::AtLeastOnce, false, r#"{"on": true}"#)
        .await
        .unwrap();
    loop {
        let (topic, payload) = seen.recv().await.unwrap();
        if topic == "t/bridge/response" {
            let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            assert_eq!(v["status"], "ok");
            assert_eq!(v["state"]["on"], true);
            break;
        }
    }
    stop.cancel();
    run.await.unwrap().unwrap();
}

/// A watcher subscribed to `t/bridge/event`: the `data.n` of each event, in arrival order.
async fn event_watcher(port: u16) -> mpsc::UnboundedReceiver<u64> {
    let (watcher, mut seen) = watch_all(port).await;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _keep = watcher;
        while let Some((topic, payload)) = seen.recv().await {
            if topic == "t/bridge/event" {
                let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
                if tx
                    .send(v["data"]["n"].as_u64().unwrap_or(u64::MAX))
                    .is_err()
                {
                    break;
                }
            }
        }
    });
    rx
}

fn press(n: u64, pad: usize) -> Entry {
    Entry::Event {
        device: "lamp".into(),
        body: EventBody::Other {
            name: "press".into(),
            data: serde_json::json!({ "n": n, "pad": "x".repeat(pad) }),
        },
    }
}

/// One connector run until `done` holds, then a clean stop.
async fn run_until(
    config: &MqttConfig,
    outbox: &Outbox,
    health: &HealthHandle,
    what: &str,
    mut done: impl FnMut(&Outbox, &HealthHandle) -> bool,
) {
    let mut connector = ConnectorConfig::Mqtt(config.clone()).build().unwrap();
    let (cmd_tx, _cmd_rx) = mpsc::channel(16);
    let stop = CancellationToken::new();
    let mut session = Session {
        outbox: outbox.clone(),
        commands: cmd_tx,
        devices: Arc::new(FakeDevices),
        health: health.clone(),
        stop: stop.clone(),
    };
    let run = tokio::spawn(async move { connector.run(&mut session).await });
    until(what, || done(outbox, health)).await;
    stop.cancel();
    run.await.unwrap().unwrap();
}

/// MQTT 5 against a broker that announces `max_packet_size 4096`: a 10 KB event is dead-lettered with a
/// reason naming the device, its size and the limit; the events before and after it arrive in order;
/// the connection stays up. After a restart (outbox reopened) the oversized record is not sent again
/// and a new oversized one is dead-lettered the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_record_is_dead_lettered_and_the_queue_flows_across_restarts() {
    connectors::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let Some((_broker, port)) = broker_with(dir.path(), "max_packet_size 4096") else {
        eprintln!("mosquitto not installed: skipped");
        return;
    };
    let mut seen = event_watcher(port).await;
    let path = dir.path().join("o.redb");
    let outbox = Outbox::open(&path, OutboxConfig::default()).unwrap();
    outbox.push(vec![press(0, 10)]).await.unwrap();
    outbox.push(vec![press(1, 10_000)]).await.unwrap();
    for n in 2..10 {
        outbox.push(vec![press(n, 10)]).await.unwrap();
    }
    let config: MqttConfig = toml::from_str(&format!(
        "name = \"t\"\nhost = \"127.0.0.1\"\nport = {port}\nprotocol = \"5\"\nbase_topic = \"t\"\nhomeassistant = false\n"
    ))
    .unwrap();
    let health = HealthHandle::default();
    run_until(&config, &outbox, &health, "queue drained", |o, h| {
        o.stats().depth == 0 && o.stats().dead_letters == 1 && h.snapshot().delivered >= 9
    })
    .await;
    let stats = outbox.stats();
    let reason = stats.last_dead_letter.clone().unwrap();
    assert!(reason.contains("`lamp`"), "{reason}");
    assert!(reason.contains("bytes is over the limit of"), "{reason}");
    assert!(reason.contains("Maximum Packet Size"), "{reason}");
    let h = health.snapshot();
    assert_eq!(
        (h.delivered, h.failures),
        (9, 0),
        "one connection, 9 delivered"
    );
    let mut got = Vec::new();
    while got.len() < 9 {
        got.push(seen.recv().await.unwrap());
    }
    assert_eq!(
        got,
        vec![0, 2, 3, 4, 5, 6, 7, 8, 9],
        "in order, without the oversized one"
    );

    // Restart: a new process opens the same file.
    drop(outbox);
    let outbox = Outbox::open(&path, OutboxConfig::default()).unwrap();
    assert_eq!((outbox.stats().depth, outbox.stats().dead_letters), (0, 1));
    outbox.push(vec![press(10, 50_000)]).await.unwrap();
    outbox.push(vec![press(11, 10)]).await.unwrap();
    let health = HealthHandle::default();
    run_until(&config, &outbox, &health, "second run drained", |o, h| {
        o.stats().depth == 0 && o.stats().dead_letters == 2 && h.snapshot().delivered >= 1
    })
    .await;
    assert_eq!(health.snapshot().delivered, 1);
    assert_eq!(seen.recv().await.unwrap(), 11);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(seen.try_recv().is_err(), "nothing else was published");
}

/// The connector's clock is a [`TestClock`] (outbox TTL, command expiry, record ages all read it). Its wall
/// clock jumps +5 years, later −1 day, as on a hub without a hardware clock at NTP sync: every queued event is
/// still delivered (none dropped by the 1 h TTL) and a fresh `/set` is applied, not refused as expired (the fake
/// bridge refuses a command past `expires_at` exactly as the bridge's host does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_clock_jumps_drop_no_event_and_refuse_no_command() {
    connectors::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let Some((_broker, port)) = broker(dir.path()) else {
        eprintln!("mosquitto not installed: skipped");
        return;
    };
    let (watcher, mut seen) = watch_all(port).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let clock = TestClock::new();
    let config = OutboxConfig {
        event_ttl_secs: 3600,
        ..OutboxConfig::default()
    };
    let outbox =
        Outbox::open_with(&dir.path().join("o.redb"), config, clock.clone(), None).unwrap();
    for n in 0..5 {
        outbox.push(vec![press(n, 0)]).await.unwrap();
    }
    clock.jump_wall(5 * 365 * 24 * 3600 * 1000);

    let config: MqttConfig = toml::from_str(&format!(
        "name = \"t\"\nhost = \"127.0.0.1\"\nport = {port}\nbase_topic = \"t\"\nhomeassistant = false\n"
    ))
    .unwrap();
    let mut connector = ConnectorConfig::Mqtt(config).build().unwrap();
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<connectors::Command>(16);
    let health = HealthHandle::default();
    let stop = CancellationToken::new();
    let mut session = Session {
        outbox: outbox.clone(),
        commands: cmd_tx,
        devices: Arc::new(FakeDevices),
        health: health.clone(),
        stop: stop.clone(),
    };
    let run = tokio::spawn(async move { connector.run(&mut session).await });
    let bridge_clock = clock.clone();
    tokio::spawn(async move {
        while let Some(cmd) = cmd_rx.recv().await {
            let now = connectors::Clock::now(&*bridge_clock);
            let answer = match now.checked_duration_since(cmd.expires_at) {
                Some(late) => Err(connectors::CommandError::Expired {
                    late_ms: late.as_millis() as u64,
                }),
                None => Ok(cmd.patch.clone()),
            };
            let _ = cmd.reply.send(answer);
        }
    });

    let mut next = 0;
    for (round, jump) in [(0, 0), (1, -24 * 3600 * 1000)] {
        clock.jump_wall(jump);
        if round == 1 {
            for n in 5..10 {
                outbox.push(vec![press(n, 0)]).await.unwrap();
            }
        }
        let want = 5 * (round + 1);
        until("events delivered", || {
            outbox.stats().depth == 0 && health.snapshot().delivered >= want
        })
        .await;
        assert_eq!(outbox.stats().dropped_events, 0, "nothing expired");
        while next < want {
            let (topic, payload) = seen.recv().await.unwrap();
            if topic == "t/bridge/event" {
                let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
                assert_eq!(v["data"]["n"].as_u64(), Some(next), "in order");
                next += 1;
            }
        }
        watcher
            .publish("t/lamp/set", QoS::AtLeastOnce, false, r#"{"on": true}"#)
            .await
            .unwrap();
        loop {
            let (topic, payload) = seen.recv().await.unwrap();
            if topic == "t/bridge/response" {
                let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
                assert_eq!(v["status"], "ok", "round {round}: {v}");
                break;
            }
        }
    }
    assert_eq!(health.snapshot().commands_refused, 0);
    stop.cancel();
    run.await.unwrap().unwrap();
}
