//! Fabric management for the local API and the web page: list the node's fabrics (controllers), remove
//! one, open a commissioning window so another controller can pair.
//!
//! The Matter thread is `!Send` and never blocks, so the rest of the program asks through a channel
//! ([`MatterAdmin`], cloneable and `Send`) and gets its answer on a oneshot; the sync loop serves the
//! requests between its other work ([`serve`]).
//!
//! Removing a fabric does what rs-matter's RemoveFabric command does through the public API: the
//! fabric leaves the table (its sessions then fail every access check, so its controller can no longer
//! read or control anything), its persisted blob is deleted, the Leave event is emitted, fabric-scoped
//! state (scenes, groups, bindings) is dropped. The mDNS responder retires the fabric's operational name
//! at its next refresh (within 30 s: rs-matter keeps the prompt "services changed" signal crate-private).
//!
//! "Pair another controller" opens the window with the bridge's setup code: rs-matter 0.4.1 keeps its
//! PASE state private, and the only way it offers to open an *enhanced* window (a fresh passcode as a
//! PAKE verifier) is the AdministratorCommissioning command sent by an administrator of a fabric over
//! CASE. The window therefore is a basic one; it closes when its time is up or a controller pairs.

use std::num::NonZeroU8;
use std::time::{Duration, Instant};

use rs_matter::dm::{AttrChangeNotifier, HandlerContext};
use rs_matter::fabric::FabricPersist;
use rs_matter::sc::pase::{
    CommWindowState, MAX_COMM_WINDOW_TIMEOUT_SECS, MIN_COMM_WINDOW_TIMEOUT_SECS,
};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use super::PairingStatus;

/// Node Operational Credentials, the cluster whose Fabrics / CommissionedFabrics attributes change.
const NOC_CLUSTER: u32 = 0x003E;
/// How many requests may wait for the Matter thread.
const QUEUE: usize = 16;
/// How long a caller waits for the Matter thread's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// One fabric the node belongs to: a controller (ecosystem) that paired it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FabricInfo {
    /// The node's local index of the fabric (what `DELETE /api/fabrics/{index}` takes).
    pub fabric_index: u8,
    /// The vendor id of the controller that commissioned it (0xFFF1..0xFFF4 are test vendors).
    pub vendor_id: u16,
    /// The label the controller gave its fabric (often empty).
    pub label: String,
    /// The bridge's node id on that fabric.
    pub node_id: u64,
    /// The fabric id.
    pub fabric_id: u64,
    /// The controller's ecosystem when hubbridge knows the vendor id ("Apple Home", ...).
    pub vendor_name: Option<&'static str>,
    /// Most bridged devices that controller is known to handle (see `controllers`), if known.
    pub device_limit: Option<usize>,
}

/// The commissioning window as the API reports it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct WindowInfo {
    pub open: bool,
    /// Always `"basic"` (see the module doc): the code is the bridge's setup code.
    pub kind: &'static str,
    pub manual_code: String,
    pub qr_payload: String,
    /// Seconds until the window closes by itself (0 when closed).
    pub seconds_left: u64,
}

/// Why a fabric request failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no fabric with index {0} (GET /api/fabrics lists them)")]
    NoSuchFabric(u8),
    #[error("timeout_secs = {0}: must be between {MIN_COMM_WINDOW_TIMEOUT_SECS} and {MAX_COMM_WINDOW_TIMEOUT_SECS}")]
    BadTimeout(u64),
    #[error("the Matter node is not running")]
    Unavailable,
    #[error("the Matter node did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the Matter node refused: {0}")]
    Matter(String),
}

/// A request to the Matter thread.
pub enum AdminRequest {
    Fabrics(oneshot::Sender<Vec<FabricInfo>>),
    Remove {
        index: u8,
        reply: oneshot::Sender<Result<FabricInfo, AdminError>>,
    },
    OpenWindow {
        timeout_secs: u16,
        reply: oneshot::Sender<Result<WindowInfo, AdminError>>,
    },
    Window(oneshot::Sender<WindowInfo>),
}

/// The `Send` side: what the API holds.
#[derive(Clone, Debug)]
pub struct MatterAdmin {
    tx: mpsc::Sender<AdminRequest>,
}

/// A new channel: the handle for tokio, the receiver for the Matter thread.
pub fn channel() -> (MatterAdmin, mpsc::Receiver<AdminRequest>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (MatterAdmin { tx }, rx)
}

impl MatterAdmin {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> AdminRequest,
    ) -> Result<T, AdminError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| AdminError::Unavailable)?;
        match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(AdminError::Unavailable),
            Err(_) => Err(AdminError::Timeout(ANSWER_TIMEOUT)),
        }
    }

    /// The node's fabrics, by index.
    pub async fn fabrics(&self) -> Result<Vec<FabricInfo>, AdminError> {
        self.ask(AdminRequest::Fabrics).await
    }

    /// Removes fabric `index`; answers what was removed.
    pub async fn remove(&self, index: u8) -> Result<FabricInfo, AdminError> {
        self.ask(|reply| AdminRequest::Remove { index, reply })
            .await?
    }

    /// Opens the commissioning window for `timeout_secs` (or reports the one already open).
    pub async fn open_window(&self, timeout_secs: u64) -> Result<WindowInfo, AdminError> {
        let secs = u16::try_from(timeout_secs)
            .ok()
            .filter(|s| (MIN_COMM_WINDOW_TIMEOUT_SECS..=MAX_COMM_WINDOW_TIMEOUT_SECS).contains(s))
            .ok_or(AdminError::BadTimeout(timeout_secs))?;
        self.ask(|reply| AdminRequest::OpenWindow {
            timeout_secs: secs,
            reply,
        })
        .await?
    }

    /// The commissioning window now.
    pub async fn window(&self) -> Result<WindowInfo, AdminError> {
        self.ask(AdminRequest::Window).await
    }
}

/// What the Matter thread remembers between requests.
#[derive(Debug, Default)]
pub struct AdminState {
    /// When the window this module (or the sync loop) opened closes by itself.
    window_until: Option<Instant>,
}

impl AdminState {
    /// The sync loop opened the window for `timeout` at `now`.
    pub fn opened(&mut self, now: Instant, timeout: Duration) {
        self.window_until = Some(now + timeout);
    }
}

/// Answers one request on the Matter thread.
pub fn serve(
    ctx: &impl HandlerContext,
    pairing: &watch::Sender<PairingStatus>,
    state: &mut AdminState,
    request: AdminRequest,
) {
    match request {
        AdminRequest::Fabrics(reply) => {
            let _ = reply.send(fabrics(ctx));
        }
        AdminRequest::Remove { index, reply } => {
            let _ = reply.send(remove(ctx, index));
        }
        AdminRequest::OpenWindow {
            timeout_secs,
            reply,
        } => {
            let _ = reply.send(open_window(ctx, pairing, state, timeout_secs));
        }
        AdminRequest::Window(reply) => {
            let _ = reply.send(window(ctx, pairing, state));
        }
    }
}

fn fabrics(ctx: &impl HandlerContext) -> Vec<FabricInfo> {
    ctx.matter().with_state(|s| {
        let mut list: Vec<FabricInfo> = s
            .fabrics
            .iter()
            .map(|f| FabricInfo {
                fabric_index: f.fab_idx().get(),
                vendor_id: f.vendor_id(),
                label: f.label().to_owned(),
                node_id: f.node_id(),
                fabric_id: f.fabric_id(),
                vendor_name: super::controllers::ecosystem(f.vendor_id()).map(|e| e.name),
                device_limit: super::controllers::ecosystem(f.vendor_id())
                    .and_then(|e| e.max_bridged),
            })
            .collect();
        list.sort_by_key(|f| f.fabric_index);
        list
    })
}

fn remove(ctx: &impl HandlerContext, index: u8) -> Result<FabricInfo, AdminError> {
    let idx = NonZeroU8::new(index).ok_or(AdminError::NoSuchFabric(index))?;
    let info = fabrics(ctx)
        .into_iter()
        .find(|f| f.fabric_index == index)
        .ok_or(AdminError::NoSuchFabric(index))?;
    ctx.matter()
        .with_state(|s| s.fabrics.remove(idx))
        .map_err(|_| AdminError::NoSuchFabric(index))?;
    // The persisted blob goes through the crash-safe store (the writer thread does the fsync).
    let mut persist = FabricPersist::new(ctx.kv());
    if let Err(e) = persist.remove(idx).and_then(|()| persist.run()) {
        tracing::error!(fabric_index = index, error = ?e, "fabric removed in memory but its stored copy could not be deleted");
    }
    if let Err(e) = rs_matter::dm::clusters::decl::basic_information::Leave::emit_for(ctx, 0, |e| {
        e.fabric_index(index)?.end()
    }) {
        tracing::warn!(error = ?e, "cannot emit the Leave event");
    }
    // Scenes, groups and bindings of that fabric go too (handlers' lifecycle hooks).
    ctx.notify_fabric_removed(idx);
    ctx.notify_cluster_changed(0, NOC_CLUSTER);
    tracing::info!(
        fabric_index = index,
        vendor_id = info.vendor_id,
        "fabric removed through the local API"
    );
    Ok(info)
}

fn window(
    ctx: &impl HandlerContext,
    pairing: &watch::Sender<PairingStatus>,
    state: &mut AdminState,
) -> WindowInfo {
    let open = matches!(
        ctx.matter().comm_window_state(),
        CommWindowState::Open { .. }
    );
    if !open {
        state.window_until = None;
    }
    let status = pairing.borrow();
    let now = Instant::now();
    WindowInfo {
        open,
        kind: "basic",
        manual_code: status.manual_code.clone(),
        qr_payload: status.qr_payload.clone(),
        seconds_left: state
            .window_until
            .filter(|_| open)
            .map_or(0, |t| t.saturating_duration_since(now).as_secs()),
    }
}

fn open_window(
    ctx: &impl HandlerContext,
    pairing: &watch::Sender<PairingStatus>,
    state: &mut AdminState,
    timeout_secs: u16,
) -> Result<WindowInfo, AdminError> {
    let current = window(ctx, pairing, state);
    if current.open {
        return Ok(current);
    }
    ctx.matter()
        .open_basic_comm_window(timeout_secs, ctx.crypto(), ctx as &dyn AttrChangeNotifier)
        .map_err(|e| AdminError::Matter(format!("{e:?}")))?;
    state.opened(Instant::now(), Duration::from_secs(u64::from(timeout_secs)));
    pairing.send_modify(|s| s.commissioning_window_open = true);
    tracing::info!(
        timeout_secs,
        "commissioning window opened through the local API"
    );
    Ok(window(ctx, pairing, state))
}
