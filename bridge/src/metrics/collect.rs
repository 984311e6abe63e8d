//! The one collector behind `GET /metrics`: reads every figure at scrape time and hands it to
//! `prometheus-client`'s encoder (names, labels, escaping and the text format are the crate's).

use std::time::{Instant, SystemTime};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, NoLabelSet};
use prometheus_client::metrics::MetricType;
use tokio::sync::watch;

use crate::certs::Certificates;
use crate::cloud::ConnectorsStatus;
use crate::matter::PairingStatus;
use crate::registry::Registry;

type Labels = Vec<(&'static str, String)>;

pub(super) struct Bridge {
    pub registry: Registry,
    pub connectors: ConnectorsStatus,
    pub certificates: Certificates,
    /// Every Matter node (id, pairing), main first: the per-node figures carry `node="<id>"`.
    pub nodes: Vec<(String, watch::Receiver<PairingStatus>)>,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("metrics::Bridge")
    }
}

/// Writes one metric family.
struct Out<'a, 'b>(&'a mut DescriptorEncoder<'b>);

impl Out<'_, '_> {
    fn gauges<V: EncodeGaugeValue>(
        &mut self,
        name: &str,
        help: &str,
        rows: impl IntoIterator<Item = (Labels, V)>,
    ) -> std::fmt::Result {
        let mut family = self
            .0
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (labels, v) in rows {
            family.encode_family(&labels)?.encode_gauge(&v)?;
        }
        Ok(())
    }

    fn gauge<V: EncodeGaugeValue>(&mut self, name: &str, help: &str, v: V) -> std::fmt::Result {
        self.0
            .encode_descriptor(name, help, None, MetricType::Gauge)?
            .encode_gauge(&v)
    }

    /// A counter family; `name` without `_total` (the encoder adds it).
    fn counters(
        &mut self,
        name: &str,
        help: &str,
        rows: impl IntoIterator<Item = (Labels, u64)>,
    ) -> std::fmt::Result {
        let mut family = self
            .0
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        for (labels, v) in rows {
            family
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(&v, None)?;
        }
        Ok(())
    }
}

fn label(key: &'static str, value: impl Into<String>) -> Labels {
    vec![(key, value.into())]
}

impl Collector for Bridge {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let mut out = Out(&mut encoder);
        out.gauges(
            "hubbridge_build_info",
            "Always 1; the version of the running hubbridge",
            [(label("version", env!("CARGO_PKG_VERSION")), 1u32)],
        )?;
        self.devices(&mut out)?;
        self.matter(&mut out)?;
        self.connectors(&mut out)?;
        self.certificates(&mut out)?;
        process(&mut out)
    }
}

impl Bridge {
    fn devices(&self, out: &mut Out) -> std::fmt::Result {
        let counts = self.registry.counts_by_source();
        out.gauges(
            "hubbridge_devices",
            "Devices in the registry (parts count as devices), by source",
            counts
                .iter()
                .map(|(s, total, _)| (label("source", s.clone()), *total as u64)),
        )?;
        out.gauges(
            "hubbridge_devices_reachable",
            "Devices their source reports reachable, by source",
            counts
                .iter()
                .map(|(s, _, reachable)| (label("source", s.clone()), *reachable as u64)),
        )?;
        let c = self.registry.metrics();
        out.counters(
            "hubbridge_registry_changes",
            "State changes accepted by the registry, by origin (a source's confirmation is local)",
            c.changes()
                .into_iter()
                .map(|(origin, n)| (label("origin", origin), n)),
        )?;
        out.counters(
            "hubbridge_registry_commands",
            "Commands the registry handed to a device's source, by origin (matter, api, cloud:<connector>)",
            c.commands()
                .into_iter()
                .map(|(origin, n)| (label("origin", origin), n)),
        )?;
        out.gauges(
            "hubbridge_source_connected",
            "1 while a device source is connected to its broker (Zigbee2MQTT), else 0",
            c.sources()
                .into_iter()
                .map(|(s, up)| (label("source", s), u32::from(up))),
        )
    }

    fn matter(&self, out: &mut Out) -> std::fmt::Result {
        let node = |id: &str| label("node", id);
        let pairing: Vec<(&str, u64, u32)> = self
            .nodes
            .iter()
            .map(|(id, p)| {
                let p = p.borrow();
                (
                    id.as_str(),
                    p.fabrics as u64,
                    u32::from(p.commissioning_window_open),
                )
            })
            .collect();
        out.gauges(
            "hubbridge_matter_fabrics",
            "Controllers (fabrics) each Matter node is paired with",
            pairing.iter().map(|(id, fabrics, _)| (node(id), *fabrics)),
        )?;
        out.gauges(
            "hubbridge_matter_commissioning_window_open",
            "1 while the node's commissioning window is open",
            pairing.iter().map(|(id, _, window)| (node(id), *window)),
        )?;
        let c = self.registry.metrics();
        let m = &c.matter;
        // Figure i is node i's: the nodes are numbered in config order, main first, as here.
        let per_node: Vec<(&str, super::counters::ImFigures)> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.as_str(), m.node(i)))
            .collect();
        let now = Instant::now();
        let counted: Vec<(&str, super::counters::NodeCounts)> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.as_str(), m.counted(i, now)))
            .collect();
        out.gauges(
            "hubbridge_matter_sessions",
            "Secured sessions (CASE, PASE) that sent the node a message in the last 5 minutes, by node",
            counted.iter().map(|(id, c)| (node(id), c.sessions)),
        )?;
        out.gauges(
            "hubbridge_matter_subscriptions",
            "Subscriptions established now, by node",
            per_node.iter().map(|(id, f)| (node(id), f.subscriptions)),
        )?;
        out.counters(
            "hubbridge_matter_subscriptions_established",
            "Subscriptions accepted since start, by node",
            per_node
                .iter()
                .map(|(id, f)| (node(id), f.subscriptions_established)),
        )?;
        out.counters(
            "hubbridge_matter_invokes",
            "Commands controllers sent to bridged endpoints, by node and result",
            counted.iter().flat_map(|(id, c)| {
                c.invokes.iter().map(|(r, n)| {
                    let mut l = node(id);
                    l.push(("result", r.label().to_owned()));
                    (l, *n)
                })
            }),
        )?;
        out.counters(
            "hubbridge_matter_attribute_reports",
            "Attribute changes handed to rs-matter to report to subscribers, by node",
            counted
                .iter()
                .map(|(id, c)| (node(id), c.attribute_changes)),
        )?;
        out.counters(
            "hubbridge_matter_events",
            "Matter events emitted to subscribers (Switch presses, StateChange, LockOperation, ...), by node",
            counted.iter().map(|(id, c)| (node(id), c.events)),
        )?;
        out.gauges(
            "hubbridge_matter_changes_waiting",
            "Attribute changes held back until rs-matter's reporter caught up (its table of \
             changes holds 16 paths; more would make every subscription report everything), by node",
            per_node.iter().map(|(id, f)| (node(id), f.changes_waiting)),
        )?;
        out.counters(
            "hubbridge_matter_changes_deferred",
            "Attribute changes that waited for a later reporting round since start, by node",
            per_node
                .iter()
                .map(|(id, f)| (node(id), f.changes_deferred)),
        )?;
        out.counters(
            "hubbridge_matter_im_messages_sent",
            "Interaction Model messages sent (reports, responses), rs-matter's count, by node",
            per_node.iter().map(|(id, f)| (node(id), f.im_sent)),
        )?;
        out.counters(
            "hubbridge_matter_im_messages_received",
            "Interaction Model messages received, rs-matter's count, by node",
            per_node.iter().map(|(id, f)| (node(id), f.im_received)),
        )
    }

    fn connectors(&self, out: &mut Out) -> std::fmt::Result {
        let reports = self.connectors.report();
        let who = |name: &str| label("connector", name);
        out.gauges(
            "hubbridge_connector_connected",
            "1 while a cloud connector is connected, else 0",
            reports.iter().map(|c| {
                let mut l = who(&c.name);
                l.push(("type", c.kind.to_owned()));
                (l, u32::from(c.health.connected))
            }),
        )?;
        out.gauges(
            "hubbridge_connector_outbox_depth",
            "Records in the connector's outbox waiting for the cloud's acknowledgement",
            reports.iter().map(|c| (who(&c.name), c.outbox.depth)),
        )?;
        out.gauges(
            "hubbridge_connector_outbox_oldest_age_seconds",
            "Age of the oldest waiting record (0 when the outbox is empty)",
            reports.iter().map(|c| {
                let ms = c.outbox.oldest_age_ms.unwrap_or(0);
                (who(&c.name), ms as f64 / 1000.0)
            }),
        )?;
        out.gauges(
            "hubbridge_connector_outbox_event_bytes",
            "Bytes of events queued in the outbox",
            reports.iter().map(|c| (who(&c.name), c.outbox.event_bytes)),
        )?;
        out.gauges(
            "hubbridge_connector_outbox_disk_full",
            "1 while the outbox's disk refuses writes for want of space",
            reports
                .iter()
                .map(|c| (who(&c.name), u32::from(c.outbox.disk_full))),
        )?;
        out.counters(
            "hubbridge_connector_outbox_drops",
            "Events dropped, by cause (cap, ttl, disk, lagged; dead_letters: dead letters dropped by their caps)",
            reports.iter().flat_map(|c| {
                let d = &c.outbox.drops;
                [
                    ("cap", d.cap),
                    ("ttl", d.ttl),
                    ("disk", d.disk),
                    ("lagged", d.lagged),
                    ("dead_letters", d.dead_letters),
                ]
                .map(|(cause, n)| {
                    let mut l = who(&c.name);
                    l.push(("cause", cause.to_owned()));
                    (l, n)
                })
            }),
        )?;
        out.gauges(
            "hubbridge_connector_dead_letters",
            "Records the cloud rejected for good, kept in the dead-letter table",
            reports
                .iter()
                .map(|c| (who(&c.name), c.outbox.dead_letters)),
        )?;
        out.counters(
            "hubbridge_connector_delivered",
            "Records the cloud acknowledged since start",
            reports.iter().map(|c| (who(&c.name), c.health.delivered)),
        )?;
        out.counters(
            "hubbridge_connector_sent_bytes",
            "Bytes handed to the cloud since start (MQTT topic + payload, HTTPS body)",
            reports.iter().map(|c| (who(&c.name), c.health.bytes_sent)),
        )?;
        out.counters(
            "hubbridge_connector_failures",
            "Connection runs that ended in an error",
            reports.iter().map(|c| (who(&c.name), c.health.failures)),
        )?;
        out.counters(
            "hubbridge_connector_commands",
            "Commands received from the cloud, by result (applied, refused)",
            reports.iter().flat_map(|c| {
                let refused = c.health.commands_refused;
                let applied = c.health.commands.saturating_sub(refused);
                [("applied", applied), ("refused", refused)].map(|(r, n)| {
                    let mut l = who(&c.name);
                    l.push(("result", r.to_owned()));
                    (l, n)
                })
            }),
        )?;
        let mut family = out.0.encode_descriptor(
            "hubbridge_connector_delivery_latency_seconds",
            "From a record entering the outbox to the cloud's acknowledgement (outages included)",
            None,
            MetricType::Histogram,
        )?;
        for (name, l) in self.connectors.latencies() {
            family
                .encode_family(&who(&name))?
                .encode_histogram::<NoLabelSet>(l.sum_seconds, l.count, &l.buckets, None)?;
        }
        Ok(())
    }

    fn certificates(&self, out: &mut Out) -> std::fmt::Result {
        let now = SystemTime::now();
        out.gauges(
            "hubbridge_certificate_expiry_seconds",
            "Seconds until the certificate's notAfter (negative once expired), as of this scrape",
            self.certificates.report().into_iter().filter_map(|c| {
                let left = c.seconds_left(now)?;
                let labels = vec![
                    ("path", c.path.clone()),
                    ("subject", c.subject.clone().unwrap_or_default()),
                    ("used_by", c.used_by.join(", ")),
                ];
                Some((labels, left))
            }),
        )
    }
}

fn process(out: &mut Out) -> std::fmt::Result {
    if let Some(rss) = super::process::resident_bytes() {
        out.gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            rss,
        )?;
    }
    if let Some(fds) = super::process::open_fds() {
        out.gauge("process_open_fds", "Open file descriptors", fds)?;
    }
    if let Some(max) = super::process::max_fds() {
        out.gauge(
            "process_max_fds",
            "Limit on open file descriptors (RLIMIT_NOFILE)",
            max,
        )?;
    }
    Ok(())
}
