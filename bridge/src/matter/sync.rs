//! The Matter thread's side of the data path: follows the registry's change broadcast, keeps the
//! mirror and the node's endpoints in step (PartsList and ConfigurationVersion included), turns
//! local changes into subscription reports and events, rolls back targets a device never confirmed,
//! and publishes pairing status.

use embassy_futures::select::{select3, Either3};
use std::time::Instant;

use embassy_time::{Duration, Timer};
use rs_matter::dm::clusters::decl::bridged_device_basic_information as bdbi;
use rs_matter::dm::{AttrChangeNotifier, HandlerContext};
use rs_matter::error::Error;
use rs_matter::im::ImStats as _;
use rs_matter::sc::pase::{CommWindowState, MAX_COMM_WINDOW_TIMEOUT_SECS};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};

use super::admin::{AdminRequest, AdminState};
use super::handler::{BridgeHandler, MirrorDevice};
use super::node::{bdbi_attr, AGGREGATOR_ENDPOINT, BRIDGED_INFO, DESCRIPTOR, PARTS_LIST};
use super::window::{Decision, WindowPolicy};
use super::PairingStatus;
use crate::registry::{Change, Device};

const DOOR_LOCK: u32 = 0x0101;

/// What the sync loop needs besides the handler: the change stream and where to publish status.
pub struct SyncState {
    pub changes: broadcast::Receiver<Change>,
    pub pairing: watch::Sender<PairingStatus>,
    /// When the commissioning window may be reopened after rs-matter revoked it.
    pub window: WindowPolicy,
    /// Fabric requests from the local API (`None` once every sender is gone).
    pub admin: Option<mpsc::Receiver<AdminRequest>>,
    /// What answering them needs to remember (when the window closes).
    pub admin_state: AdminState,
}

/// Load the registry's devices into the node and the mirror (before serving starts).
pub fn populate(handler: &BridgeHandler<'_>, devices: &[Device]) {
    let endpoints: std::collections::HashMap<&str, u16> = devices
        .iter()
        .map(|d| (d.id.as_str(), d.endpoint))
        .collect();
    let mut mirror = handler.mirror.devices.borrow_mut();
    for d in devices {
        match d.parent.as_deref().and_then(|p| endpoints.get(p)) {
            Some(parent) => handler
                .node
                .add_part(d.endpoint, d.shape().own(), *parent, d.tag),
            None => handler.node.add(d.endpoint, d.shape().own()),
        };
        mirror.insert(d.endpoint, Box::new(MirrorDevice::from_device(d)));
        add_facets(handler, &mut mirror, d);
    }
}

/// Serves each `with` kind of `device` on its child endpoint (under the device's own), with a
/// mirror entry of its own that follows the device's state.
fn add_facets(
    handler: &BridgeHandler<'_>,
    mirror: &mut std::collections::HashMap<u16, Box<MirrorDevice>>,
    device: &Device,
) {
    let Some(own) = mirror.get(&device.endpoint) else {
        return;
    };
    for (endpoint, entry) in MirrorDevice::facets_of(device, own) {
        if handler
            .node
            .add_part(endpoint, entry.shape, device.endpoint, None)
        {
            mirror.insert(endpoint, Box::new(entry));
        }
    }
}

/// The endpoints a device is served on: its own, then its facets'.
fn served(handler: &BridgeHandler<'_>, endpoint: u16) -> Vec<u16> {
    served_in(&handler.mirror.devices.borrow(), endpoint)
}

fn served_in(
    mirror: &std::collections::HashMap<u16, Box<MirrorDevice>>,
    endpoint: u16,
) -> Vec<u16> {
    let facets = mirror
        .get(&endpoint)
        .map(|d| d.facets.clone())
        .unwrap_or_default();
    std::iter::once(endpoint).chain(facets).collect()
}

/// Adds a device's endpoint: a part under its parent's endpoint, else a bridged endpoint.
/// Returns the parent's endpoint for a part (whose PartsList changed).
fn add_endpoint(handler: &BridgeHandler<'_>, device: &Device) -> Option<Option<u16>> {
    let Some(parent) = &device.parent else {
        return handler
            .node
            .add(device.endpoint, device.shape().own())
            .then_some(None);
    };
    let parent_ep = handler
        .mirror
        .devices
        .borrow()
        .iter()
        .find(|(_, d)| &d.id == parent)
        .map(|(ep, _)| *ep)
        .or_else(|| handler.registry.get(parent).map(|d| d.endpoint));
    let Some(parent_ep) = parent_ep else {
        tracing::warn!(device = %device.id, %parent, "part whose device is gone; not served");
        return None;
    };
    handler
        .node
        .add_part(device.endpoint, device.shape().own(), parent_ep, device.tag)
        .then_some(Some(parent_ep))
}

pub async fn run(handler: &BridgeHandler<'_>, ctx: impl HandlerContext) -> Result<(), Error> {
    let Some(mut state) = handler.sync.borrow_mut().take() else {
        // `run` is called once per data model; a second call has nothing to drive.
        return core::future::pending().await;
    };
    publish_status(
        &ctx,
        &state.pairing,
        &mut state.window,
        &mut state.admin_state,
    );
    let mut last_status = Instant::now();
    let mut subscriptions_seen = established_subscriptions(&ctx);
    let mut replays: Vec<Instant> = Vec::new();
    let mut timers = super::timers::TickState::default();
    let mut last_tick = Instant::now();
    loop {
        let pending = std::mem::take(&mut *handler.pending_events.borrow_mut());
        for p in pending {
            emit_state_events(
                handler, &ctx, p.endpoint, p.shape, &p.old, &p.new, &p.origin,
            );
        }
        super::switch::emit_due(handler, &ctx);
        // Countdowns run on time even while changes stream in.
        let now = Instant::now();
        if now - last_tick >= std::time::Duration::from_millis(100) {
            super::timers::tick(handler, &ctx, now - last_tick, &mut timers);
            last_tick = now;
        }
        // Changes that waited for the reporter to catch up (see `pacer`).
        if handler.pacer.round_open() {
            handler.pacer.pump(&ctx, || super::pacer::in_flight(&ctx));
        }
        // Wake up for the next Switch event if it is due before the next tick, and soon while
        // changes wait in the pacer.
        let tick = if handler.pacer.has_queued() {
            super::pacer::PUMP_EVERY
        } else {
            TICK
        };
        let wait = handler
            .switches
            .next_due()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .map_or(tick, |d| {
                tick.min(Duration::from_micros(d.as_micros() as u64))
            });
        let admin_rx = &mut state.admin;
        let admin_next = async {
            match admin_rx.as_mut() {
                Some(rx) => rx.recv().await,
                None => core::future::pending().await,
            }
        };
        let next = select3(state.changes.recv(), admin_next, Timer::after(wait)).await;
        match next {
            Either3::Second(Some(request)) => {
                super::admin::serve(&ctx, &state.pairing, &mut state.admin_state, request)
            }
            Either3::Second(None) => state.admin = None,
            Either3::First(Ok(change)) => apply(handler, &ctx, change),
            Either3::First(Err(RecvError::Lagged(missed))) => {
                tracing::warn!(missed, "Matter mirror fell behind the registry; resyncing");
                resync(handler, &ctx);
            }
            Either3::First(Err(RecvError::Closed)) => {
                // The registry is gone: the process is shutting down. Keep serving until stopped.
                core::future::pending::<()>().await;
            }
            Either3::Third(()) => {
                handler.roll_back_unconfirmed(&ctx);
                if last_status.elapsed() >= STATUS_EVERY {
                    last_status = Instant::now();
                    publish_status(
                        &ctx,
                        &state.pairing,
                        &mut state.window,
                        &mut state.admin_state,
                    );
                    publish_figures(handler, &ctx);
                }
                let established = established_subscriptions(&ctx);
                if established != subscriptions_seen {
                    subscriptions_seen = established;
                    let now = Instant::now();
                    replays.extend(REPLAY_AFTER.iter().map(|d| now + *d));
                }
                let now = Instant::now();
                if replays.iter().any(|t| *t <= now) {
                    replays.retain(|t| *t > now);
                    replay_recent(handler, &ctx);
                }
            }
        }
    }
}

/// How often the loop runs the countdowns (OnTime is in tenths of a second) and looks at
/// subscriptions.
const TICK: Duration = Duration::from_millis(100);
/// How often the pairing status and the figures are published.
const STATUS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// When to replay recent changes after a new subscription shows up.
const REPLAY_AFTER: [std::time::Duration; 2] = [
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(5),
];

/// rs-matter's subscription and message counts, for the metrics (a few atomic stores).
fn publish_figures(handler: &BridgeHandler<'_>, ctx: &impl HandlerContext) {
    let load = ctx.im_stats().device_load(None);
    let (waiting, deferred) = handler.pacer.figures();
    handler.registry.metrics().matter.publish(
        handler.scope.index(),
        crate::metrics::ImFigures {
            subscriptions: load.current_subscriptions.into(),
            subscriptions_established: load.total_subscriptions_established.into(),
            im_sent: load.total_im_messages_sent.into(),
            im_received: load.total_im_messages_received.into(),
            changes_waiting: waiting as u64,
            changes_deferred: deferred,
        },
    );
}

fn established_subscriptions(ctx: &impl HandlerContext) -> u32 {
    ctx.im_stats()
        .device_load(None)
        .total_subscriptions_established
}

/// Re-notify what changed in the last few seconds.
///
/// rs-matter 0.4.1 forgets a change that is recorded while a new subscription is being primed:
/// its reporter purges the changed-attribute table against the subscriptions in the table, and
/// the one being primed is not in it yet. The subscriber then never hears of that change. A
/// controller subscribes, a sensor ticks in the same millisecond, and the tile is stale until
/// the next change. Re-notifying recent changes shortly after each new subscription closes that
/// gap at the cost of a duplicate report of an unchanged value.
fn replay_recent(handler: &BridgeHandler<'_>, ctx: &impl HandlerContext) {
    let now = Instant::now();
    let paths: std::collections::BTreeSet<(u16, u32, u32)> = handler
        .recent
        .borrow()
        .iter()
        .filter(|(t, ..)| now.duration_since(*t) <= super::handler::RECENT_WINDOW)
        .map(|(_, e, c, a)| (*e, *c, *a))
        .collect();
    if !paths.is_empty() {
        tracing::debug!(
            paths = paths.len(),
            "replaying recent changes for a new subscription"
        );
    }
    for (endpoint, cluster, attr) in paths {
        if endpoint <= AGGREGATOR_ENDPOINT || handler.node.contains(endpoint) {
            handler
                .pacer
                .notify(ctx, super::pacer::Path::Attr(endpoint, cluster, attr));
        }
    }
}

fn notify_parts_list(handler: &BridgeHandler<'_>, ctx: &impl HandlerContext) {
    handler.notify(ctx, 0, DESCRIPTOR, PARTS_LIST);
    handler.notify(ctx, AGGREGATOR_ENDPOINT, DESCRIPTOR, PARTS_LIST);
}

fn bump_configuration_version(ctx: &impl HandlerContext) {
    match ctx
        .matter()
        .bump_configuration_version(ctx.kv(), ctx as &dyn AttrChangeNotifier)
    {
        Ok(v) => tracing::info!(configuration_version = v, "bridged device set changed"),
        Err(e) => tracing::error!(error = ?e, "cannot bump ConfigurationVersion"),
    }
}

fn apply(handler: &BridgeHandler<'_>, ctx: &impl HandlerContext, change: Change) {
    match change {
        Change::State {
            endpoint,
            new,
            version,
            origin,
            ..
        } => {
            tracing::debug!(endpoint, version, %origin, "state change from the registry");
            // The device's own endpoint and each facet's: every one reports its own clusters
            // (and shares the one state).
            let new = std::rc::Rc::new(*new);
            for ep in served(handler, endpoint) {
                if let Some((kind, old)) = handler.update_state(ctx, ep, &new, version) {
                    emit_state_events(handler, ctx, ep, kind, &old, &new, &origin);
                }
            }
        }
        Change::Added(device) => {
            if !handler.serves(&device) {
                // Another node's device.
                return;
            }
            let endpoint = device.endpoint;
            if let Some(parent) = add_endpoint(handler, &device) {
                {
                    let mut mirror = handler.mirror.devices.borrow_mut();
                    mirror.insert(endpoint, Box::new(MirrorDevice::from_device(&device)));
                    add_facets(handler, &mut mirror, &device);
                }
                tracing::info!(device = %device.id, endpoint, kind = %device.shape(), facets = ?device.facets, parent_endpoint = ?parent, "bridged device added");
                for ep in served(handler, endpoint) {
                    handler.pacer.notify(ctx, super::pacer::Path::Endpoint(ep));
                }
                notify_parts_list(handler, ctx);
                if !device.facets.is_empty() {
                    handler.notify(ctx, endpoint, DESCRIPTOR, PARTS_LIST);
                }
                if let Some(parent) = parent {
                    handler.notify(ctx, parent, DESCRIPTOR, PARTS_LIST);
                }
                bump_configuration_version(ctx);
            }
        }
        Change::Removed { device, endpoint } => {
            let parent = handler.node.tree().parent_of(endpoint);
            let eps = served(handler, endpoint);
            if handler.node.remove(endpoint) {
                if let Some(parent) = parent {
                    handler.notify(ctx, parent, DESCRIPTOR, PARTS_LIST);
                }
                // The device's own endpoint is gone already; its facets' go with it.
                for ep in &eps[1..] {
                    handler.node.remove(*ep);
                }
                for ep in eps {
                    handler.mirror.devices.borrow_mut().remove(&ep);
                    handler.switches.remove(ep);
                }
                tracing::info!(device = %device, endpoint, "bridged device removed");
                notify_parts_list(handler, ctx);
                bump_configuration_version(ctx);
            }
        }
        Change::Reachable {
            endpoint,
            reachable,
            ..
        } => {
            let changed = {
                let mut mirror = handler.mirror.devices.borrow_mut();
                let mut changed = false;
                for ep in served_in(&mirror, endpoint) {
                    if let Some(dev) = mirror.get_mut(&ep) {
                        changed |= ep == endpoint && dev.reachable != reachable;
                        dev.reachable = reachable;
                    }
                }
                changed
            };
            // A part has no Bridged Device Basic Information: its parent's Reachable speaks for it.
            if changed && handler.node.cluster(endpoint, BRIDGED_INFO).is_some() {
                handler.notify(ctx, endpoint, BRIDGED_INFO, bdbi_attr::REACHABLE);
                if let Err(e) = bdbi::ReachableChanged::emit_for(ctx, endpoint, |b| {
                    b.reachable_new_value(reachable)?.end()
                }) {
                    tracing::warn!(endpoint, error = ?e, "cannot emit ReachableChanged");
                }
            }
        }
        Change::Renamed { endpoint, name, .. } => {
            if let Some(dev) = handler.mirror.devices.borrow_mut().get_mut(&endpoint) {
                dev.name = name;
            }
            // A part has no NodeLabel (no Bridged Device Basic Information).
            if handler.node.cluster(endpoint, BRIDGED_INFO).is_some() {
                handler.notify(ctx, endpoint, BRIDGED_INFO, bdbi_attr::NODE_LABEL);
            }
        }
        Change::Label {
            endpoint, label, ..
        } => {
            if let Some(dev) = handler.mirror.devices.borrow_mut().get_mut(&endpoint) {
                dev.label = label;
            }
            handler.notify(ctx, endpoint, BRIDGED_INFO, bdbi_attr::NODE_LABEL);
        }
        Change::Event {
            endpoint,
            event,
            origin,
            ..
        } => {
            tracing::debug!(endpoint, event = %event.to_json(), %origin, "device event from the registry");
            // A button is served where the Switch cluster is: the device's own endpoint, or
            // the facet of its `generic_switch` kind.
            let switch = served(handler, endpoint).into_iter().find(|ep| {
                handler
                    .node
                    .cluster(*ep, device_types::matter::ids::cluster::SWITCH)
                    .is_some()
            });
            if let Some(ep) = switch.or(handler.node.contains(endpoint).then_some(endpoint)) {
                handler.switches.queue(ep, &event, Instant::now());
                super::switch::emit_due(handler, ctx);
            }
        }
    }
}

/// Events a state change implies, as device-types lists them (Boolean State StateChange,
/// Occupancy Sensing OccupancyChanged, Door Lock LockOperation / DoorLockAlarm, and whatever a
/// kind adds), with their payload from `device_types::matter::event_fields`. A lock operation
/// names where it came from: Remote for a Matter controller, Proprietary Remote for a cloud,
/// Unspecified for the device itself or the local API.
fn emit_state_events(
    handler: &BridgeHandler<'_>,
    ctx: &impl HandlerContext,
    endpoint: u16,
    shape: device_types::Shape,
    old: &device_types::State,
    new: &device_types::State,
    origin: &crate::registry::Origin,
) {
    use crate::registry::Origin;
    use device_types::matter::ids::door_lock;
    use device_types::matter::AttrValue;
    use rs_matter::im::EventPriority;
    for (cluster, event) in device_types::matter::events_for_change(shape, old, new) {
        let Some(mut fields) = device_types::matter::event_fields(shape, new, cluster, event)
        else {
            tracing::debug!(
                endpoint,
                cluster,
                event,
                "event without a payload description"
            );
            continue;
        };
        let priority = if device_types::matter::is_critical_event(cluster, event) {
            EventPriority::Critical
        } else {
            EventPriority::Info
        };
        if cluster == DOOR_LOCK && event == door_lock::event::LOCK_OPERATION {
            let source = match origin {
                Origin::Matter => door_lock::operation_source::REMOTE,
                Origin::Cloud(_) => door_lock::operation_source::PROPRIETARY_REMOTE,
                _ => door_lock::operation_source::UNSPECIFIED,
            };
            if let Some(f) = fields.iter_mut().find(|(tag, _)| *tag == 1) {
                f.1 = AttrValue::U8(source);
            }
        }
        match super::tlv::emit_event(ctx, endpoint, cluster, event, priority, &fields) {
            Ok(()) => {
                handler
                    .registry
                    .metrics()
                    .matter
                    .event_emitted(handler.scope.index());
                tracing::debug!(endpoint, cluster, event, "event emitted")
            }
            Err(e) => tracing::warn!(endpoint, cluster, event, error = ?e, "cannot emit event"),
        }
    }
}

/// Re-read everything from the registry after missing broadcasts.
fn resync(handler: &BridgeHandler<'_>, ctx: &impl HandlerContext) {
    let devices = handler.scope.filter(handler.registry.list());
    let live: std::collections::HashSet<u16> = devices
        .iter()
        .flat_map(|d| std::iter::once(d.endpoint).chain(d.facets.iter().map(|f| f.endpoint)))
        .collect();
    let gone: Vec<(String, u16)> = handler
        .mirror
        .devices
        .borrow()
        .iter()
        .filter(|(ep, _)| !live.contains(ep))
        .map(|(ep, d)| (d.id.clone(), *ep))
        .collect();
    for (device, endpoint) in gone {
        apply(handler, ctx, Change::Removed { device, endpoint });
    }
    for d in devices {
        if !handler.node.contains(d.endpoint) {
            apply(handler, ctx, Change::Added(Box::new(d)));
            continue;
        }
        let state = std::rc::Rc::new(d.state.clone());
        for ep in served(handler, d.endpoint) {
            handler.update_state(ctx, ep, &state, d.version);
        }
        apply(
            handler,
            ctx,
            Change::Reachable {
                device: d.id.clone(),
                endpoint: d.endpoint,
                reachable: d.reachable,
            },
        );
    }
}

/// Publish commissioning status, and keep the node commissionable while it has no fabric — except
/// during the backoff after rs-matter revoked the window for too many failed passcode attempts.
fn publish_status(
    ctx: &impl HandlerContext,
    tx: &watch::Sender<PairingStatus>,
    policy: &mut WindowPolicy,
    admin: &mut AdminState,
) {
    let matter = ctx.matter();
    let controllers: Vec<super::controllers::Paired> = matter.with_state(|s| {
        s.fabrics
            .iter()
            .map(|f| super::controllers::Paired {
                fabric_index: f.fab_idx().get(),
                vendor_id: f.vendor_id(),
            })
            .collect()
    });
    let fabrics = controllers.len();
    let mut window_open = matches!(matter.comm_window_state(), CommWindowState::Open { .. });
    let now = Instant::now();
    match policy.decide(now, fabrics, window_open) {
        Decision::Nothing | Decision::StayClosed(_) => {}
        Decision::Revoked(backoff) => tracing::warn!(
            backoff_secs = backoff.as_secs(),
            "commissioning window revoked after too many failed passcode attempts (someone may be \
             guessing the code); it stays closed for the backoff, then reopens"
        ),
        Decision::Open => match matter.open_basic_comm_window(
            MAX_COMM_WINDOW_TIMEOUT_SECS,
            ctx.crypto(),
            ctx as &dyn AttrChangeNotifier,
        ) {
            Ok(()) => {
                policy.opened(now);
                admin.opened(
                    now,
                    std::time::Duration::from_secs(u64::from(MAX_COMM_WINDOW_TIMEOUT_SECS)),
                );
                window_open = true;
                tracing::info!("no fabric: commissioning window (re)opened");
            }
            Err(e) => tracing::error!(error = ?e, "cannot open the commissioning window"),
        },
    }
    tx.send_if_modified(|s| {
        let new = (fabrics > 0, fabrics, window_open);
        if (s.commissioned, s.fabrics, s.commissioning_window_open) == new
            && s.controllers == controllers
        {
            return false;
        }
        s.commissioned = new.0;
        s.fabrics = new.1;
        s.commissioning_window_open = new.2;
        s.controllers = controllers;
        tracing::info!(
            fabrics,
            commissioning_window_open = window_open,
            "pairing status"
        );
        true
    });
}
