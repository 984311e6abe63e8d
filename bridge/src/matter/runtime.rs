//! Builds the rs-matter stack (Matter object, crash-safe KV store, data model, responder, UDP
//! transport, mDNS) and runs it on the Matter thread until asked to stop.

use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::mpsc;

use anyhow::{anyhow, Context as _};
use embassy_futures::select::{select, select4};
use rs_matter::crypto::{default_crypto, Crypto as _};
use rs_matter::dm::clusters::basic_info::BasicInfoConfig;
use rs_matter::dm::clusters::desc::{self, ClusterHandler as _};
use rs_matter::dm::devices::test::{DAC_PRIVKEY, TEST_DEV_ATT};
use rs_matter::dm::endpoints;
use rs_matter::dm::networks::eth::EthNetwork;
use rs_matter::dm::networks::SysNetifs;
use rs_matter::dm::{Async, Dataver};
use rs_matter::im::{EthInteractionModelState, InteractionModel};
use rs_matter::respond::DefaultResponder;
use rs_matter::sc::pase::MAX_COMM_WINDOW_TIMEOUT_SECS;
use rs_matter::transport::exchange::MatterBuffers;
use rs_matter::utils::select::Coalesce;
use rs_matter::Matter;
use tokio::sync::{oneshot, watch};

use super::commissioning;
use super::handler::{BridgeHandler, Mirror};
use super::kv::SafeKvStore;
use super::node::{BridgeNode, AGGREGATOR_ENDPOINT};
use super::node_identity;
use super::sync::{self, SyncState};
use super::window::WindowPolicy;
use super::PairingStatus;
use crate::config::Config;
use crate::registry::Registry;

/// Everything the Matter thread needs from the config (owned, so it can move to the thread).
pub struct Params {
    identity: NodeIdentity,
    /// The node's id (`main` for `[bridge]`), in its log lines.
    node_id: String,
    port: u16,
    /// The process's DNS-SD responder, shared by every node.
    advertiser: std::sync::Arc<super::mdns::Advertiser>,
    storage_dir: PathBuf,
    test_passcode: bool,
    commissioning_backoff: std::time::Duration,
    /// The registry's devices this node serves.
    scope: crate::nodes::Scope,
    /// A bridge (aggregator, bridged endpoints), or one device served as itself.
    bridged: bool,
}

impl Params {
    pub fn new(config: &Config, node: &crate::nodes::NodeSpec) -> anyhow::Result<Self> {
        Ok(Self {
            identity: NodeIdentity::load(config, node)?,
            node_id: node.id.clone(),
            port: node.port,
            advertiser: super::mdns::Advertiser::shared(&node.interfaces)
                .context("starting mDNS")?,
            storage_dir: node.storage_dir.clone(),
            test_passcode: node.test_passcode,
            commissioning_backoff: std::time::Duration::from_secs(
                config.bridge.commissioning_backoff_secs,
            ),
            scope: node.scope.clone(),
            bridged: node.bridged,
        })
    }
}

/// The strings behind the node's Basic Information cluster, and its mDNS host name.
pub struct NodeIdentity {
    vid: u16,
    pid: u16,
    name: String,
    serial: String,
    unique_id: String,
    host_name: String,
}

impl NodeIdentity {
    /// The configured ids and the node's name with its stored identity (made on first use, see
    /// `node_identity`).
    pub fn load(config: &Config, node: &crate::nodes::NodeSpec) -> anyhow::Result<Self> {
        let dir = &node.storage_dir;
        crate::persist::ensure_dir(dir)?;
        let stored = node_identity::load_or_create(dir, persisted_fabrics(dir) > 0)
            .context("loading the node identity")?;
        Ok(Self {
            vid: config.bridge.vendor_id,
            pid: config.bridge.product_id,
            name: node.name.chars().take(32).collect(),
            serial: stored.serial,
            unique_id: stored.unique_id,
            host_name: stored.host_name,
        })
    }

    pub fn basic_info(&self) -> BasicInfoConfig<'_> {
        BasicInfoConfig {
            vid: self.vid,
            pid: self.pid,
            hw_ver: 1,
            hw_ver_str: "1",
            sw_ver: 1,
            sw_ver_str: env!("CARGO_PKG_VERSION"),
            serial_no: &self.serial,
            unique_id: &self.unique_id,
            manufacturing_date: "20260101",
            product_name: "hubbridge",
            vendor_name: "hubbridge",
            device_name: &self.name,
            ..BasicInfoConfig::new()
        }
    }
}

/// How many fabrics the storage dir holds (rs-matter keeps one blob per fabric under keys 0..256).
pub fn persisted_fabrics(storage_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(storage_dir.join("matter")) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("k_"))
                .and_then(|hex| u16::from_str_radix(hex, 16).ok())
                .is_some_and(|key| key < 0x100)
        })
        .count()
}

/// The Matter thread's body.
pub fn run(
    params: Params,
    registry: Registry,
    pairing: watch::Sender<PairingStatus>,
    stop: oneshot::Receiver<()>,
    ready: mpsc::Sender<anyhow::Result<()>>,
    admin: tokio::sync::mpsc::Receiver<super::admin::AdminRequest>,
) -> anyhow::Result<()> {
    let result = run_inner(params, registry, pairing, stop, &ready, admin);
    if let Err(e) = &result {
        // If start-up failed, the spawner is still waiting for this.
        let _ = ready.send(Err(anyhow!("{e:#}")));
        tracing::error!(error = %format!("{e:#}"), "Matter node stopped");
    }
    result
}

fn run_inner(
    params: Params,
    registry: Registry,
    pairing: watch::Sender<PairingStatus>,
    stop: oneshot::Receiver<()>,
    ready: &mpsc::Sender<anyhow::Result<()>>,
    admin: tokio::sync::mpsc::Receiver<super::admin::AdminRequest>,
) -> anyhow::Result<()> {
    let secrets = commissioning::load_or_create(&params.storage_dir, params.test_passcode)
        .context("loading commissioning data")?;
    let dev_det = params.identity.basic_info();
    let matter = Matter::new(&dev_det, secrets.comm_data(), &TEST_DEV_ATT, params.port);

    // Writes go to the persistence writer thread; this thread never waits for an fsync.
    let store = SafeKvStore::new(&params.storage_dir).with_writer(registry.writer().clone());
    let blobs = store.verify_all()?;
    tracing::debug!(blobs, "Matter state verified");
    let kv = matter.kv(store);
    matter.startup(&kv).map_err(|e| {
        anyhow!(
            "loading Matter state from {}: {e:?}",
            params.storage_dir.join("matter").display()
        )
    })?;

    let crypto = default_crypto(rand::rng(), DAC_PRIVKEY);
    let mut rand = crypto.rand().map_err(|e| anyhow!("crypto RNG: {e:?}"))?;

    let buffers: MatterBuffers = MatterBuffers::new();
    let im_state: EthInteractionModelState =
        EthInteractionModelState::new(EthNetwork::new_default());

    // Subscribe before listing, so nothing that happens in between is missed.
    let changes = registry.subscribe();
    let devices = params.scope.filter(registry.list());
    let node = if params.bridged {
        BridgeNode::new()
    } else {
        BridgeNode::standalone()
    };
    let mirror = Mirror::default();
    let scene_table = super::scenes::SceneTable::new();
    let handler = BridgeHandler::new(
        &node,
        &mirror,
        registry.clone(),
        SyncState {
            changes,
            pairing,
            window: WindowPolicy::new(
                params.commissioning_backoff,
                std::time::Duration::from_secs(u64::from(MAX_COMM_WINDOW_TIMEOUT_SECS)),
            ),
            admin: Some(admin),
            admin_state: {
                let mut admin = super::admin::AdminState::default();
                if !matter.has_fabrics() {
                    // Opened below, before serving starts.
                    admin.opened(
                        std::time::Instant::now(),
                        std::time::Duration::from_secs(u64::from(MAX_COMM_WINDOW_TIMEOUT_SECS)),
                    );
                }
                admin
            },
        },
        &scene_table,
    )
    .with_scope(params.scope.clone());
    sync::populate(&handler, &devices);
    tracing::info!(node = %params.node_id, devices = devices.len(), "bridged devices loaded");

    let data_model = (
        &node,
        endpoints::EthSysHandlerBuilder::new()
            .netif_diag(&SysNetifs)
            .build(rand)
            .chain(
                |e, c| e == AGGREGATOR_ENDPOINT && c == desc::DescHandler::CLUSTER.id,
                Async(desc::DescHandler::new_aggregator(Dataver::new_rand(&mut rand)).adapt()),
            )
            .chain(|e, _| e > AGGREGATOR_ENDPOINT, &handler),
    );

    let im = InteractionModel::new(&matter, &crypto, &buffers, data_model, &kv, &im_state);
    futures_lite::future::block_on(im.startup())
        .map_err(|e| anyhow!("starting the data model: {e:?}"))?;
    bump_if_shape_changed(
        &params.storage_dir,
        registry.writer(),
        &node,
        &devices,
        || {
            im.bump_configuration_version()
                .map_err(|e| anyhow!("bumping ConfigurationVersion: {e:?}"))
        },
    )?;
    // The start-up listing has served its purpose (the mirror holds what Matter needs).
    drop(devices);

    let socket =
        async_io::Async::<UdpSocket>::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, params.port)))
            .with_context(|| format!("binding Matter UDP port {}", params.port))?;
    let host_name = params.identity.host_name.clone();

    if !matter.has_fabrics() {
        im.open_basic_comm_window(MAX_COMM_WINDOW_TIMEOUT_SECS)
            .map_err(|e| anyhow!("opening the commissioning window: {e:?}"))?;
    }
    tracing::info!(node = %params.node_id, port = params.port, interfaces = ?params.advertiser.interfaces(), host = %host_name, commissioned = matter.has_fabrics(), "Matter node up");
    let _ = ready.send(Ok(()));

    let responder = DefaultResponder::new(&im);
    let mut respond = pin!(responder.run::<8, 8>());
    let mut im_job = pin!(im.run());
    // rs-matter reads through the transport guard (see `guard`); it sends and joins directly.
    let guarded = super::guard::GuardedSocket::new(&socket, super::guard::Limits::default())
        .counting(registry.metrics().clone(), params.scope.index());
    let mut transport = pin!(matter.run(&crypto, &socket, guarded, &socket));
    let mut mdns = pin!(super::mdns::watch(
        &matter,
        &params.advertiser,
        &params.node_id,
        &host_name
    ));
    let mut stop = pin!(stop);

    let all = select4(&mut transport, &mut mdns, &mut respond, &mut im_job).coalesce();
    let outcome = futures_lite::future::block_on(select(all, &mut stop));
    match outcome {
        embassy_futures::select::Either::First(Err(e)) => {
            Err(anyhow!("Matter stack failed: {e:?}"))
        }
        embassy_futures::select::Either::First(Ok(())) => Ok(()),
        embassy_futures::select::Either::Second(_) => {
            tracing::info!("Matter node stopped");
            Ok(())
        }
    }
}

/// File holding a fingerprint of what the node served when it last started.
const SHAPE_FILE: &str = "node-shape";

/// Bumps ConfigurationVersion when what the node serves differs from what it served at the last
/// start (a device added, removed, renamed or of another kind in the config file, a part's tag or
/// parent changed; a cluster
/// revision or feature changed by an upgrade), so controllers re-read the node instead of trusting
/// their cache. Runtime adds and removes bump it where they happen (`sync.rs`).
fn bump_if_shape_changed(
    storage_dir: &Path,
    writer: &crate::writer::Writer,
    node: &BridgeNode,
    devices: &[crate::registry::Device],
    bump: impl FnOnce() -> anyhow::Result<u32>,
) -> anyhow::Result<()> {
    use rs_matter::dm::Metadata as _;
    let mut text = String::new();
    node.access(|n| {
        for ep in n.endpoints.iter() {
            text.push_str(&format!("ep {}:", ep.id));
            for dt in ep.device_types.iter() {
                text.push_str(&format!(" dt {:#x}/{}", dt.dtype, dt.drev));
            }
            // A part's TagList and its parent (PartsList) are part of the composition too.
            for t in ep.semantic_tags.iter() {
                text.push_str(&format!(" tag {:#x}/{}", t.namespace_id, t.tag));
            }
            if let Some(parent) = node.tree().parent_of(ep.id) {
                text.push_str(&format!(" under {parent}"));
            }
            for c in ep.clusters.iter() {
                text.push_str(&format!(
                    " c {:#x}/{}/{:#x}",
                    c.id, c.revision, c.feature_map
                ));
                for a in c.attributes.iter() {
                    text.push_str(&format!(",{:#x}", a.id));
                }
                for cmd in c.commands.iter() {
                    text.push_str(&format!(";{:#x}", cmd.id));
                }
            }
            text.push('\n');
        }
    });
    for d in devices {
        text.push_str(&format!(
            "dev {} {} {} {:?}\n",
            d.endpoint,
            d.id,
            d.shape(),
            d.name
        ));
    }
    let fingerprint = format!("{:016x}\n", super::node_identity::fnv1a(text.as_bytes()));
    let path = storage_dir.join(SHAPE_FILE);
    let previous = std::fs::read_to_string(&path).ok();
    if previous.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    if previous.is_some() {
        let version = bump()?;
        tracing::info!(
            configuration_version = version,
            "the served node changed since the last start"
        );
    }
    // Off this thread: a lost fingerprint only means one more bump at the next start.
    writer.submit(&path, fingerprint.into_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use device_types::{DeviceKind, Position, Shape, Tag};

    fn node_with_part(tag: Tag) -> BridgeNode {
        let node = BridgeNode::new();
        node.add(2, DeviceKind::BridgedNode);
        node.add_part(3, Shape::from(DeviceKind::OnOffLight), 2, Some(tag));
        node
    }

    #[test]
    fn a_parts_new_tag_bumps_configuration_version_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let bumps = std::cell::Cell::new(0);
        let bump = || {
            bumps.set(bumps.get() + 1);
            Ok(bumps.get())
        };
        // The fingerprint is written by the persistence writer: flush before the next start reads it.
        let writer = crate::writer::Writer::spawn();
        let start = |node: &BridgeNode| {
            bump_if_shape_changed(dir.path(), &writer, node, &[], bump).unwrap();
            writer.flush();
        };
        let left = node_with_part(Tag::Position(Position::Left));
        start(&left);
        let first = bumps.get();
        start(&left);
        assert_eq!(bumps.get(), first, "same composition: no bump");
        let right = node_with_part(Tag::Position(Position::Right));
        start(&right);
        assert_eq!(bumps.get(), first + 1, "a new TagList is a new composition");
    }
}
