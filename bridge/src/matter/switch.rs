//! Generic switches on the Matter thread: a device event (a press) becomes the Switch cluster's
//! event sequence from `device_types::matter::switch`, played out over time so that
//! CurrentPosition really is 1 while the button is "pressed" and 0 after, and subscribers see the
//! events in order with rs-matter's event numbers, Info priority and timestamps.
//!
//! Presses of one switch queue behind each other (a press reported while the previous sequence is
//! still playing starts when it ends). A `release` that follows no `hold` raises nothing.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use device_types::matter::ids::cluster;
use device_types::matter::switch::{self as sw, SwitchStep};
use device_types::{DeviceEvent, Press};
use rs_matter::dm::HandlerContext;
use rs_matter::im::EventPriority;

use super::handler::BridgeHandler;

/// Per-endpoint queues of Switch events still to emit, and each switch's CurrentPosition.
#[derive(Default)]
pub struct Switches {
    queues: RefCell<HashMap<u16, VecDeque<(Instant, SwitchStep)>>>,
    positions: RefCell<HashMap<u16, u8>>,
}

impl Switches {
    /// CurrentPosition of the switch on `endpoint` (0 at rest).
    pub fn position(&self, endpoint: u16) -> u8 {
        self.positions
            .borrow()
            .get(&endpoint)
            .copied()
            .unwrap_or(sw::RELEASED)
    }

    /// The position the switch will have once its queue has played out.
    fn final_position(&self, endpoint: u16) -> u8 {
        self.queues
            .borrow()
            .get(&endpoint)
            .and_then(|q| q.back().map(|(_, s)| s.position))
            .unwrap_or_else(|| self.position(endpoint))
    }

    /// Queue the Matter events of `event` on the switch at `endpoint`.
    pub fn queue(&self, endpoint: u16, event: &DeviceEvent, now: Instant) {
        let DeviceEvent::Press { press, button } = event;
        if *press == Press::Release && self.final_position(endpoint) != sw::PRESSED {
            tracing::debug!(endpoint, "release without a hold: no Switch event");
            return;
        }
        if button.is_some() {
            // One Switch per device until multi-button remotes get one endpoint per button.
            tracing::debug!(endpoint, button = ?button, "button press mapped onto the device's one switch");
        }
        let mut queues = self.queues.borrow_mut();
        let queue = queues.entry(endpoint).or_default();
        let mut at = queue.back().map(|(t, _)| *t).unwrap_or(now).max(now);
        for step in sw::press_sequence(*press, sw::MULTI_PRESS_MAX) {
            at += Duration::from_millis(u64::from(step.after_ms));
            queue.push_back((at, step));
        }
    }

    /// Forget a removed endpoint.
    pub fn remove(&self, endpoint: u16) {
        self.queues.borrow_mut().remove(&endpoint);
        self.positions.borrow_mut().remove(&endpoint);
    }

    /// The steps due at `now`, in order, per endpoint.
    fn take_due(&self, now: Instant) -> Vec<(u16, SwitchStep)> {
        let mut out = Vec::new();
        let mut queues = self.queues.borrow_mut();
        for (endpoint, queue) in queues.iter_mut() {
            while queue.front().is_some_and(|(t, _)| *t <= now) {
                if let Some((_, step)) = queue.pop_front() {
                    out.push((*endpoint, step));
                }
            }
        }
        queues.retain(|_, q| !q.is_empty());
        out
    }

    /// When the next queued step is due, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.queues
            .borrow()
            .values()
            .filter_map(|q| q.front().map(|(t, _)| *t))
            .min()
    }
}

/// Emit every Switch event that is due, updating and reporting CurrentPosition.
pub fn emit_due(handler: &BridgeHandler<'_>, ctx: &impl HandlerContext) {
    for (endpoint, step) in handler.switches.take_due(Instant::now()) {
        if !handler.node.contains(endpoint) {
            continue;
        }
        let old = handler.switches.position(endpoint);
        if old != step.position {
            handler
                .switches
                .positions
                .borrow_mut()
                .insert(endpoint, step.position);
            handler.notify(ctx, endpoint, cluster::SWITCH, sw::attr::CURRENT_POSITION);
        }
        match super::tlv::emit_event(
            ctx,
            endpoint,
            cluster::SWITCH,
            step.event,
            EventPriority::Info,
            &step.fields,
        ) {
            Ok(()) => {
                handler
                    .registry
                    .metrics()
                    .matter
                    .event_emitted(handler.scope.index());
                tracing::debug!(endpoint, event = step.event, "Switch event emitted")
            }
            Err(e) => {
                tracing::warn!(endpoint, event = step.event, error = ?e, "cannot emit Switch event")
            }
        }
    }
}
