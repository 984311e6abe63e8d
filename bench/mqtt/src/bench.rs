//! The cloud-path benchmark (`hubbridge-bench-mqtt`): measures against a real mosquitto (loopback) —
//! sustained state changes per second delivered (PUBACKed) with the durable outbox on, the time to
//! drain N queued events after an outage, and the process RSS during the drain. Writes a report
//! (Markdown, and JSON with `--json`).
//!
//! It runs the real registry, connector host, outbox and MQTT connector in this process (no Matter,
//! no HTTP API): the RSS is that of the cloud path plus the registry (and the verifier's id list).
//! The outage is a cut link: the connector reaches mosquitto through a relay in this process that
//! is switched off and on, while a verifying subscriber stays connected to mosquitto directly and
//! counts every event id it receives, so "none lost" is checked at the far end, not assumed from
//! PUBACKs.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use connectors::mqtt::MqttConfig;
use connectors::ConnectorConfig;
use device_types::{DeviceKind, State};
use hubbridge::cloud::{self, ConnectorsStatus};
use hubbridge::config::DeviceConfig;
use hubbridge::registry::{Origin, Registry};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Number of simulated devices.
    #[arg(long, default_value_t = 200)]
    pub devices: usize,
    /// Seconds of sustained state changes.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Events queued during the outage.
    #[arg(long, default_value_t = 100_000)]
    pub events: usize,
    /// Where to write the report (Markdown).
    #[arg(long, default_value = "bench/mqtt-report.md")]
    pub report: PathBuf,
    /// Also write the figures as JSON here (read by `cargo xtask bench`).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

struct Broker {
    child: Child,
    port: u16,
}

impl Broker {
    fn start(dir: &std::path::Path, port: u16) -> anyhow::Result<Broker> {
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "allow_anonymous true\npersistence false\nmax_queued_messages 0\nlog_type error\nlistener {port} 127.0.0.1\n"
            ),
        )?;
        let mut b = Broker {
            child: spawn(&conf)?,
            port,
        };
        b.wait_ready()?;
        Ok(b)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("mosquitto exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        bail!("mosquitto did not listen on 127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hub's link to the broker: a TCP relay on loopback that can be cut (open connections reset,
/// new ones closed at once) and restored, while the broker itself stays up.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Relay {
    async fn start(target: u16) -> anyhow::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the link is down
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns2.lock().unwrap().push(task.abort_handle());
            }
        })
        .abort_handle();
        Ok(Relay {
            port,
            up,
            conns,
            accept,
        })
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.down();
        self.accept.abort();
    }
}

/// A subscriber connected to mosquitto directly (not through the relay) that records the sequence
/// part of every event id it receives (`<epoch>-<seq>`), into memory allocated up front.
struct Verifier {
    ids: Arc<Mutex<Vec<u64>>>,
    received: Arc<AtomicUsize>,
    task: AbortHandle,
}

impl Verifier {
    async fn start(port: u16, topic: &str, capacity: usize) -> anyhow::Result<Verifier> {
        let mut opts = MqttOptions::new("bench-verifier", "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(30));
        opts.set_inflight(1000);
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        client.subscribe(topic, QoS::AtLeastOnce).await?;
        // Touched now, so its pages count in the RSS before the drain, not during it.
        let ids = Arc::new(Mutex::new(Vec::with_capacity(capacity)));
        ids.lock().unwrap().resize(capacity, u64::MAX);
        ids.lock().unwrap().clear();
        let received = Arc::new(AtomicUsize::new(0));
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        let (ids2, received2) = (ids.clone(), received.clone());
        let task = tokio::spawn(async move {
            let _client = client; // keeps the request channel open
            let mut subscribed_tx = Some(subscribed_tx);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(tx) = subscribed_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let seq = serde_json::from_slice::<serde_json::Value>(&p.payload)
                            .ok()
                            .and_then(|v| {
                                v.get("id")?
                                    .as_str()?
                                    .rsplit_once('-')?
                                    .1
                                    .parse::<u64>()
                                    .ok()
                            });
                        if let Some(seq) = seq {
                            ids2.lock().unwrap().push(seq);
                        }
                        received2.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        })
        .abort_handle();
        tokio::time::timeout(Duration::from_secs(20), subscribed)
            .await
            .context("the verifying subscriber got no SUBACK")??;
        Ok(Verifier {
            ids,
            received,
            task,
        })
    }

    /// (distinct event ids, messages received).
    fn counts(&self) -> (usize, usize) {
        let mut ids = self.ids.lock().unwrap().clone();
        ids.sort_unstable();
        ids.dedup();
        (ids.len(), self.received.load(Ordering::SeqCst))
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(conf: &std::path::Path) -> anyhow::Result<Child> {
    Command::new("mosquitto")
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start mosquitto (apt-get install mosquitto)")
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn wait_for(
    status: &ConnectorsStatus,
    what: &str,
    timeout: Duration,
    check: impl Fn(&cloud::ConnectorReport) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if check(&status.report()[0]) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{what}: not reached within {timeout:?}: {:?}",
                status.report()[0]
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    connectors::tls::install_crypto_provider();
    let dir = tempfile_dir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _broker = Broker::start(&dir, port)?;
    let relay = Relay::start(port).await?;
    let devices: Vec<DeviceConfig> = (0..args.devices)
        .map(|i| DeviceConfig {
            with: Default::default(),
            id: format!("light-{i}"),
            kind: DeviceKind::DimmableLight,
            name: format!("Light {i}"),
            room: None,
            state: None,
            parts: Vec::new(),
        })
        .collect();
    let registry = Registry::open(&dir.join("state"), &devices)?;
    let mqtt: MqttConfig = toml::from_str(&format!(
        "name = \"bench\"\nhost = \"127.0.0.1\"\nport = {}\nhomeassistant = false\n[retry]\nbackoff_min_ms = 50\nbackoff_max_ms = 200\n",
        relay.port
    ))?;
    let events_topic = format!("{}/bridge/event", mqtt.base_topic);
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let status = cloud::start(
        &[ConnectorConfig::Mqtt(mqtt)],
        &dir.join("state"),
        &registry,
        &stop,
        &mut tasks,
    )?;
    wait_for(&status, "connected", Duration::from_secs(20), |c| {
        c.health.connected
    })
    .await?;

    // 1. Sustained state changes, closed loop: keep at most `window` records waiting.
    let window = 20_000;
    let start = Instant::now();
    let delivered0 = status.report()[0].health.delivered;
    let mut applied = 0u64;
    let mut i = 0usize;
    while start.elapsed() < Duration::from_secs(args.seconds) {
        if status.report()[0].outbox.depth > window {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        for _ in 0..500 {
            let patch = State {
                brightness: Some((i % 254 + 1) as u8),
                ..State::default()
            };
            registry.apply(
                &format!("light-{}", i % args.devices),
                &patch,
                Origin::Local,
            )?;
            applied += 1;
            i += 1;
        }
        tokio::task::yield_now().await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let delivered = status.report()[0].health.delivered - delivered0;
    let missed = status.report()[0].outbox.dropped_events;
    wait_for(&status, "sustained drain", Duration::from_secs(120), |c| {
        c.outbox.depth == 0
    })
    .await?;

    // 1b. Every change delivered (none coalesced): one change per device, wait until all are PUBACKed.
    let start = Instant::now();
    let mut lossless = 0u64;
    while start.elapsed() < Duration::from_secs(args.seconds) {
        for d in 0..args.devices {
            let patch = State {
                brightness: Some((i % 254 + 1) as u8),
                ..State::default()
            };
            registry.apply(&format!("light-{d}"), &patch, Origin::Local)?;
            i += 1;
        }
        lossless += args.devices as u64;
        wait_for(&status, "burst delivered", Duration::from_secs(60), |c| {
            c.outbox.depth == 0
        })
        .await?;
    }
    let lossless_rate = lossless as f64 / start.elapsed().as_secs_f64();
    let sustained_rss = rss_kib();

    // 2. Outage: cut the link, queue `events` events on disk, restore the link and time the drain;
    // the verifier, connected to mosquitto directly throughout, counts what arrives.
    let verifier = Verifier::start(port, &events_topic, args.events + 1024).await?;
    relay.down();
    wait_for(&status, "disconnected", Duration::from_secs(30), |c| {
        !c.health.connected
    })
    .await?;
    let queue_start = Instant::now();
    let mut queued = 0usize;
    while queued < args.events {
        let batch = (args.events - queued).min(2000);
        for k in 0..batch {
            let n = queued + k;
            registry.set_reachable(
                &format!("light-{}", n % args.devices),
                n / args.devices % 2 == 1,
            )?;
        }
        queued += batch;
        let target = queued as u64;
        wait_for(&status, "events committed", Duration::from_secs(120), |c| {
            c.outbox.pending_events >= target
        })
        .await?;
    }
    let queue_secs = queue_start.elapsed().as_secs_f64();
    let before = status.report()[0].clone();
    let disk = std::fs::metadata(dir.join("state/outbox/bench.redb"))?.len();
    let rss_before = rss_kib();
    relay.restore();
    let drain_start = Instant::now();
    let mut max_rss = rss_before;
    loop {
        max_rss = max_rss.max(rss_kib());
        let c = &status.report()[0];
        if c.outbox.depth == 0 {
            break;
        }
        if drain_start.elapsed() > Duration::from_secs(600) {
            bail!("drain did not finish in 600 s: {c:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain_secs = drain_start.elapsed().as_secs_f64();
    // Everything is PUBACKed; give the broker's deliveries to the verifier a moment to land.
    let settle = Instant::now();
    while verifier.counts().0 < args.events && settle.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (distinct, received) = verifier.counts();
    let lost = args.events.saturating_sub(distinct);
    let duplicates = received.saturating_sub(distinct);
    stop.cancel();
    while tasks.join_next().await.is_some() {}

    let report = format!(
        "# hubbridge-bench-mqtt\n\n\
         mosquitto {mq} on 127.0.0.1, QoS 1, MQTT 3.1.1, plain TCP; durable outbox (redb, fsync per commit) on;\n\
         {devices} dimmable lights; registry, connector host, outbox and MQTT connector in one process (no Matter).\n\
         Machine: {cpus} CPUs.\n\n\
         | measure | value |\n|---|---|\n\
         | state changes applied (registry) | {applied} in {elapsed:.1} s = {applied_rate:.0}/s |\n\
         | state records delivered to mosquitto (PUBACKed) | {delivered} = {delivered_rate:.0}/s (the rest coalesced: only the latest state per device is kept) |\n\
         | changes the feed missed in that flood (broadcast overflow; every device's state re-queued, so the final state is still delivered; counted in dropped_events) | {missed} |\n\
         | state changes delivered one by one (bursts of one change per device, each burst fully PUBACKed before the next) | {lossless_rate:.0}/s |\n\
         | RSS after the sustained phase | {sustained_rss_mb:.1} MiB |\n\
         | events queued during the outage | {events} in {queue_secs:.1} s ({queue_rate:.0}/s committed to disk) |\n\
         | outbox file size with {events} events queued | {disk_mb:.1} MiB ({event_bytes_mb:.1} MiB of records) |\n\
         | time to drain {events} queued events after the link came back | {drain_secs:.2} s ({drain_rate:.0} events/s) |\n\
         | RSS before the drain / peak during the drain | {rss_before_mb:.1} / {max_rss_mb:.1} MiB |\n\
         | events received by a subscriber connected to mosquitto throughout (distinct ids / messages) | {distinct} / {received} |\n\
         | events lost | {lost} |\n",
        mq = mosquitto_version(),
        devices = args.devices,
        cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        applied_rate = applied as f64 / elapsed,
        delivered_rate = delivered as f64 / elapsed,
        sustained_rss_mb = sustained_rss as f64 / 1024.0,
        events = args.events,
        queue_rate = args.events as f64 / queue_secs,
        disk_mb = disk as f64 / 1048576.0,
        event_bytes_mb = before.outbox.event_bytes as f64 / 1048576.0,
        drain_rate = args.events as f64 / drain_secs,
        rss_before_mb = rss_before as f64 / 1024.0,
        max_rss_mb = max_rss as f64 / 1024.0,
    );
    if let Some(parent) = args.report.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.report, &report)
        .with_context(|| format!("cannot write {}", args.report.display()))?;
    if let Some(path) = &args.json {
        let mib = |kib: u64| kib as f64 / 1024.0;
        let figures = serde_json::json!({
            "mosquitto": mosquitto_version(),
            "devices": args.devices,
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "flood_applied_per_s": applied as f64 / elapsed,
            "flood_delivered_per_s": delivered as f64 / elapsed,
            "flood_missed": missed,
            "state_changes_per_s": lossless_rate,
            "rss_sustained_mib": mib(sustained_rss),
            "events": args.events,
            "queue_events_per_s": args.events as f64 / queue_secs,
            "outbox_file_mib": disk as f64 / 1048576.0,
            "drain_s": drain_secs,
            "drain_events_per_s": args.events as f64 / drain_secs,
            "rss_before_drain_mib": mib(rss_before),
            "rss_peak_drain_mib": mib(max_rss),
            "received_distinct": distinct,
            "received_messages": received,
            "lost": lost,
            "duplicates": duplicates,
        });
        std::fs::write(path, serde_json::to_string_pretty(&figures)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    print!("{report}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn mosquitto_version() -> String {
    Command::new("mosquitto")
        .arg("-h")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .and_then(|l| {
                    l.split_whitespace()
                        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                })
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("hubbridge-bench-mqtt-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
