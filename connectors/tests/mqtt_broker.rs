//! The MQTT connector against a real mosquitto on loopback (skipped when mosquitto is not installed):
//! records leave the outbox only once PUBACKed, in order; `/set` becomes a command whose answer is
//! published; a broker that goes away leaves the records queued. The bridge side is an in-process fake
//! (`FakeDevices`, a command loop); the end-to-end tests use the real bridge.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use connectors::mqtt::MqttConfig;
use connectors::{
    ConnectorConfig, DeviceInfo, DeviceSnapshot, DeviceView, Entry, EventBody, HealthHandle,
    Outbox, OutboxConfig, Session,
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("allow_anonymous true\nlistener {port} 127.0.0.1\n"),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_acked_after_puback_and_set_is_answered() {
    connectors::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let Some((_broker, port)) = broker(dir.path()) else {
        eprintln!("mosquitto not installed: skipped");
        return;
    };
    // A watcher that records everything.
    let mut opts = MqttOptions::new("watcher", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(10));
    let (watcher, mut ev) = AsyncClient::new(opts, 100);
    watcher.subscribe("t/#", QoS::AtLeastOnce).await.unwrap();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(e) = ev.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = e {
                let _ = seen_tx.send((p.topic, p.payload.to_vec()));
            }
        }
    });

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
