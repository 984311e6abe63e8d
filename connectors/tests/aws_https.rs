//! The AWS IoT `https` transport (the data plane as the delivery driver's transport) against a real
//! moto_server on loopback, the AWS API emulator the end-to-end tests install (skipped when it is not
//! installed: `tests/run.sh` installs it before the Rust tests). Records leave the outbox only after a
//! `2xx`; an event over AWS IoT's 128 KB payload limit goes to the dead letters with a reason naming the
//! device, its size and the limit, and the queue behind it flows; desired state set by a cloud
//! application is applied by the next poll and cleared once applied; a shadow the data plane refuses
//! (404: the thing is not registered) sends its records to the dead letters while the events still flow.
//! The bridge side is an in-process fake (`FakeDevices`, a command loop that applies every command).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iotdataplane as dp;
use connectors::aws_iot::AwsIotConfig;
use connectors::{
    ConnectorConfig, DeviceInfo, DeviceSnapshot, DeviceView, Entry, EventBody, HealthHandle,
    Outbox, OutboxConfig, Session,
};
use device_types::{DeviceKind, State};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Moto {
    child: Child,
    url: String,
    python: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The e2e venv's moto_server (`HB_MOTO_SERVER` overrides), or `None` when it is not installed.
fn moto() -> Option<Moto> {
    let bin = std::env::var_os("HB_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-venv/bin/moto_server")
        });
    if !bin.exists() {
        return None;
    }
    let python = bin.with_file_name("python");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let m = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
        python,
    };
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(m);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

impl Moto {
    /// Registers a thing (moto's data plane refuses shadows of unknown things, as AWS does).
    fn create_thing(&self, thing: &str) {
        let script = format!(
            "import boto3\nboto3.client('iot', region_name='eu-west-1', endpoint_url='{}', \
             aws_access_key_id='testing', aws_secret_access_key='testing').create_thing(thingName='{thing}')\n",
            self.url
        );
        let out = Command::new(&self.python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A data-plane client of our own, to look at and change shadows as a cloud application does.
    async fn client(&self) -> dp::Client {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let conf = dp::Config::builder()
            .http_client(http)
            .behavior_version(dp::config::BehaviorVersion::latest())
            .region(dp::config::Region::new("eu-west-1"))
            .credentials_provider(dp::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .endpoint_url(&self.url)
            .build();
        dp::Client::from_conf(conf)
    }
}

async fn shadow(client: &dp::Client, thing: &str, name: &str) -> Option<serde_json::Value> {
    let out = client
        .get_thing_shadow()
        .thing_name(thing)
        .shadow_name(name)
        .send()
        .await
        .ok()?;
    serde_json::from_slice(out.payload()?.as_ref()).ok()
}

/// A fake of the bridge's device view: one light, off.
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

fn press(n: u64, pad: usize) -> Entry {
    Entry::Event {
        device: "lamp".into(),
        body: EventBody::Other {
            name: "press".into(),
            data: serde_json::json!({ "n": n, "pad": "x".repeat(pad) }),
        },
    }
}

fn lamp(on: bool) -> Entry {
    Entry::State {
        device: "lamp".into(),
        state: State {
            on: Some(on),
            ..State::default()
        },
        version: 1,
        origin: "local".into(),
    }
}

fn config(m: &Moto, thing: &str) -> AwsIotConfig {
    // The connector's credentials come from the standard AWS chain: here, the environment.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    toml::from_str(&format!(
        "name = \"aws\"\nthing_name = \"{thing}\"\ntransport = \"https\"\ndata_endpoint = \"{}\"\n\
         region = \"eu-west-1\"\npoll_interval_secs = 1\nmax_inflight = 4\n",
        m.url
    ))
    .unwrap()
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..3000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: never happened");
}

type Run = tokio::task::JoinHandle<Result<(), connectors::Error>>;

/// Starts the connector; the fake bridge applies every command and reports its patch on the channel.
fn start(
    config: AwsIotConfig,
    outbox: &Outbox,
    health: &HealthHandle,
) -> (CancellationToken, Run, mpsc::UnboundedReceiver<State>) {
    let mut connector = ConnectorConfig::AwsIot(config).build().unwrap();
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<connectors::Command>(16);
    let (applied_tx, applied) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(cmd) = cmd_rx.recv().await {
            let _ = applied_tx.send(cmd.patch.clone());
            let _ = cmd.reply.send(Ok(cmd.patch.clone()));
        }
    });
    let stop = CancellationToken::new();
    let mut session = Session {
        outbox: outbox.clone(),
        commands: cmd_tx,
        devices: Arc::new(FakeDevices),
        health: health.clone(),
        stop: stop.clone(),
    };
    let run = tokio::spawn(async move { connector.run(&mut session).await });
    (stop, run, applied)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_acks_on_2xx_dead_letters_an_oversized_event_applies_and_clears_desired() {
    connectors::tls::install_crypto_provider();
    let Some(m) = moto() else {
        eprintln!("moto_server not installed (tests/e2e/install.sh): skipped");
        return;
    };
    m.create_thing("hub");
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(&dir.path().join("o.redb"), OutboxConfig::default()).unwrap();
    outbox.push(vec![press(0, 10)]).await.unwrap();
    outbox.push(vec![press(1, 200_000)]).await.unwrap();
    outbox.push(vec![lamp(true)]).await.unwrap();
    for n in 2..8 {
        outbox.push(vec![press(n, 10)]).await.unwrap();
    }
    let health = HealthHandle::default();
    let (stop, run, mut applied) = start(config(&m, "hub"), &outbox, &health);
    until("queue drained", || {
        let o = outbox.stats();
        o.depth == 0 && o.dead_letters == 1 && health.snapshot().delivered >= 8
    })
    .await;
    let reason = outbox.stats().last_dead_letter.clone().unwrap();
    assert!(reason.contains("`lamp`"), "{reason}");
    assert!(
        reason.contains("bytes is over the limit of 131072"),
        "{reason}"
    );
    assert!(reason.contains("128 KB"), "{reason}");
    let h = health.snapshot();
    assert_eq!((h.delivered, h.failures), (8, 0), "one run, 8 delivered");

    // The shadow holds the reported state (the queued record, then the reconciliation's current state).
    let client = m.client().await;
    let doc = shadow(&client, "hub", "lamp")
        .await
        .expect("the shadow exists");
    assert_eq!(
        doc["state"]["reported"]["on"],
        serde_json::json!(false),
        "{doc}"
    );

    // A cloud application asks for on: the next poll applies it, reports it and clears desired.
    tokio::time::sleep(Duration::from_millis(1100)).await; // whole-second timestamps: newer than the local change
    client
        .update_thing_shadow()
        .thing_name("hub")
        .shadow_name("lamp")
        .payload(aws_smithy_types::Blob::new(
            r#"{"state":{"desired":{"on":true}}}"#,
        ))
        .send()
        .await
        .unwrap();
    let patch = tokio::time::timeout(Duration::from_secs(20), applied.recv())
        .await
        .expect("desired applied within 20 s (polls every second)")
        .unwrap();
    assert_eq!(patch.on, Some(true));
    let mut doc = serde_json::Value::Null;
    for _ in 0..100 {
        doc = shadow(&client, "hub", "lamp").await.unwrap();
        if doc["state"]["reported"]["on"] == serde_json::json!(true)
            && doc["state"]["desired"]
                .get("on")
                .is_none_or(|v| v.is_null())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        doc["state"]["reported"]["on"],
        serde_json::json!(true),
        "{doc}"
    );
    assert!(
        doc["state"]["desired"]
            .get("on")
            .is_none_or(|v| v.is_null()),
        "applied desired cleared: {doc}"
    );
    // Applied once, not at every poll.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(applied.try_recv().is_err(), "desired applied again");
    assert_eq!(health.snapshot().failures, 0);
    stop.cancel();
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_the_data_plane_refuses_is_dead_lettered_and_events_still_flow() {
    connectors::tls::install_crypto_provider();
    let Some(m) = moto() else {
        eprintln!("moto_server not installed (tests/e2e/install.sh): skipped");
        return;
    };
    // No thing registered: AWS (and moto) answer 404 to every shadow update of it.
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(&dir.path().join("o.redb"), OutboxConfig::default()).unwrap();
    outbox.push(vec![press(0, 10)]).await.unwrap();
    outbox.push(vec![lamp(true)]).await.unwrap();
    outbox.push(vec![press(1, 10)]).await.unwrap();
    let health = HealthHandle::default();
    let (stop, run, _applied) = start(config(&m, "unregistered"), &outbox, &health);
    until("queue drained", || {
        let o = outbox.stats();
        o.depth == 0 && o.dead_letters == 1 && health.snapshot().delivered >= 2
    })
    .await;
    let reason = outbox.stats().last_dead_letter.clone().unwrap();
    assert!(reason.contains("404"), "{reason}");
    let h = health.snapshot();
    assert!(h.connected, "{h:?}");
    assert_eq!((h.delivered, h.failures), (2, 0));
    stop.cancel();
    run.await.unwrap().unwrap();
}
