//! The Matter node (rs-matter): endpoint 0 root, endpoint 1 aggregator and one endpoint per
//! bridged device. rs-matter is `!Send`, so the node runs on its own thread
//! (`futures_lite::block_on`) and talks to the rest of the program only through the registry
//! (sync calls, change broadcast) and a watch channel of pairing status. Every `rs_matter`
//! import lives under this module.
//!
//! # Layout
//! - `runtime.rs`: builds the stack and runs transport, responder, data model and mDNS.
//! - `node.rs`: the dynamic endpoint set and per-kind cluster metadata.
//! - `handler.rs`: reads, writes and commands on bridged endpoints.
//! - `sync.rs`: registry changes → mirror, reports, events, PartsList; pairing status.
//! - `mdns.rs`: DNS-SD advertising with mdns-sd.
//! - `commissioning.rs`: passcode/discriminator, manual code and QR payload.
//! - `node_identity.rs`: serial number, UniqueID and mDNS host name, random per installation.
//! - `kv.rs`: crash-safe persistence of rs-matter's state.
//! - `scenes.rs`: Scenes Management on lights and plugs (rs-matter's handler, the bridge's capture/recall).
//! - `switch.rs`: generic switches' press → Switch event sequences, played out over time.
//! - `timers.rs`: the node's own countdowns (OnTime/OffWaitTime, IdentifyTime).
//! - `tlv.rs`: value conversions.
//! - `admin.rs`: fabric list/removal and the commissioning window, asked for by the API over a channel.
//! - `window.rs`: when the commissioning window is reopened, and the backoff after a revocation.

mod admin;
mod commissioning;
pub mod controllers;
mod guard;
mod handler;
mod kv;
mod lift;
mod mdns;
mod node;
mod node_identity;
mod pacer;
mod parts;
#[cfg(test)]
mod proptests;
mod runtime;
mod scenes;
mod switch;
mod sync;
mod timers;
mod tlv;
mod transition;
mod window;

use std::thread::JoinHandle;

use anyhow::Context as _;
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use crate::config::Config;
use crate::registry::Registry;

pub use admin::{AdminError, FabricInfo, MatterAdmin, WindowInfo};
pub use commissioning::{qr_svg, render_qr, TEST_DISCRIMINATOR, TEST_PASSCODE};

/// What a user needs to pair the bridge, and whether it is paired.
#[derive(Clone, Debug, Serialize, Default, PartialEq, Eq)]
pub struct PairingStatus {
    pub qr_payload: String,
    pub manual_code: String,
    pub commissioned: bool,
    pub fabrics: usize,
    pub commissioning_window_open: bool,
    /// Each fabric's index and the vendor id of the controller that made it.
    pub controllers: Vec<controllers::Paired>,
}

impl PairingStatus {
    /// Human-readable pairing info, as printed at start and by `hubbridge pairing`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.commissioned {
            out.push_str(&format!("Paired with {} fabric(s).\n", self.fabrics));
        } else {
            out.push_str("Not paired yet.\n");
        }
        if !self.qr_payload.is_empty() {
            out.push_str(&format!("QR code payload: {}\n", self.qr_payload));
        }
        if !self.manual_code.is_empty() {
            out.push_str(&format!("Manual pairing code: {}\n", self.manual_code));
        }
        out.push_str(if self.commissioning_window_open {
            "Commissioning window: open\n"
        } else {
            "Commissioning window: closed\n"
        });
        out
    }
}

/// The running Matter node.
pub struct MatterHandle {
    pairing: watch::Receiver<PairingStatus>,
    admin: MatterAdmin,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl MatterHandle {
    /// Pairing status, updated as fabrics come and go.
    pub fn pairing(&self) -> watch::Receiver<PairingStatus> {
        self.pairing.clone()
    }

    /// Fabric management (list, remove, open the commissioning window), served by the Matter thread.
    pub fn admin(&self) -> MatterAdmin {
        self.admin.clone()
    }

    /// Stops the node (mDNS goodbyes included); blocks until the Matter thread has stopped.
    pub fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => anyhow::bail!("the Matter thread panicked"),
            None => Ok(()),
        }
    }

    /// True once the Matter thread has exited (which only happens on error or shutdown).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

/// The pairing info of the main (`[bridge]`) node, loading (or creating) its persisted
/// commissioning secrets.
pub fn pairing_info(config: &Config) -> anyhow::Result<PairingStatus> {
    node_pairing_info(config, &crate::nodes::NodeSpec::main(config))
}

/// The pairing info of `node`, loading (or creating) its persisted commissioning secrets.
pub fn node_pairing_info(
    config: &Config,
    node: &crate::nodes::NodeSpec,
) -> anyhow::Result<PairingStatus> {
    let secrets = commissioning::load_or_create(&node.storage_dir, node.test_passcode)
        .context("loading commissioning data")?;
    let identity = runtime::NodeIdentity::load(config, node)?;
    let dev_det = identity.basic_info();
    let fabrics = runtime::persisted_fabrics(&node.storage_dir);
    Ok(PairingStatus {
        qr_payload: secrets.qr_payload(&dev_det),
        manual_code: secrets.manual_code(),
        commissioned: fabrics > 0,
        fabrics,
        // The node opens the window at start while it has no fabric.
        commissioning_window_open: fabrics == 0,
        // Only the running node reads its fabrics' vendor ids.
        controllers: Vec::new(),
    })
}

/// Starts the main node serving every device (a config without `[[nodes]]`, and tests).
pub fn spawn(config: &Config, registry: Registry) -> anyhow::Result<MatterHandle> {
    spawn_node(config, &crate::nodes::NodeSpec::main(config), registry)
}

/// Starts one Matter node on its own thread. Returns once the stack is up (persisted state
/// loaded, UDP port bound), or with the error that stopped it.
pub fn spawn_node(
    config: &Config,
    node: &crate::nodes::NodeSpec,
    registry: Registry,
) -> anyhow::Result<MatterHandle> {
    let status = node_pairing_info(config, node)?;
    let (pairing_tx, pairing_rx) = watch::channel(status);
    let (stop_tx, stop_rx) = oneshot::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let params = runtime::Params::new(config, node)?;
    let (admin, admin_rx) = admin::channel();
    let name = if node.id == crate::config::MAIN_NODE {
        "matter".to_owned()
    } else {
        format!("matter-{}", node.id)
    };
    let thread = std::thread::Builder::new()
        .name(name)
        .stack_size(8 * 1024 * 1024)
        .spawn(move || runtime::run(params, registry, pairing_tx, stop_rx, ready_tx, admin_rx))
        .context("starting the Matter thread")?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(MatterHandle {
            pairing: pairing_rx,
            admin,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => match thread.join() {
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => anyhow::bail!("the Matter thread stopped during start-up"),
            Err(_) => anyhow::bail!("the Matter thread panicked during start-up"),
        },
    }
}
