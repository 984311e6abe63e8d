//! `hubbridge bench-mqtt`: measures the cloud path against a real mosquitto started on loopback —
//! sustained state changes per second delivered (PUBACKed) with the durable outbox on, the time to
//! drain N queued events after an outage, and the process RSS during the drain. Writes a report.
//!
//! It runs the real registry, connector host, outbox and MQTT connector in this process (no Matter,
//! no HTTP API): the RSS is that of the cloud path plus the registry.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use connectors::mqtt::MqttConfig;
use connectors::ConnectorConfig;
use device_types::{DeviceKind, State};
use hubbridge::cloud::{self, ConnectorsStatus};
use hubbridge::config::DeviceConfig;
use hubbridge::registry::{Origin, Registry};
use tokio::task::JoinSet;
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
}

struct Broker {
    child: Child,
    conf: PathBuf,
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
            conf,
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

    fn restart(&mut self) -> anyhow::Result<()> {
        self.child = spawn(&self.conf)?;
        self.wait_ready()
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
    let mut broker = Broker::start(&dir, port)?;
    let devices: Vec<DeviceConfig> = (0..args.devices)
        .map(|i| DeviceConfig {
            id: format!("light-{i}"),
            kind: DeviceKind::DimmableLight,
            name: format!("Light {i}"),
            room: None,
            state: None,
        })
        .collect();
    let registry = Registry::open(&dir.join("state"), &devices)?;
    let mqtt: MqttConfig = toml::from_str(&format!(
        "name = \"bench\"\nhost = \"127.0.0.1\"\nport = {port}\nhomeassistant = false\n[retry]\nbackoff_min_ms = 50\nbackoff_max_ms = 200\n"
    ))?;
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

    // 2. Outage: queue `events` events on disk, then restart the broker and time the drain.
    broker.stop();
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
    broker.restart()?;
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
    stop.cancel();
    while tasks.join_next().await.is_some() {}

    let report = format!(
        "# hubbridge bench-mqtt\n\n\
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
         | time to drain {events} queued events after the broker came back | {drain_secs:.2} s ({drain_rate:.0} events/s) |\n\
         | RSS before the drain / peak during the drain | {rss_before_mb:.1} / {max_rss_mb:.1} MiB |\n",
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
