//! The countdowns a Matter node runs itself: On/Off's OnTime and OffWaitTime (OnWithTimedOff),
//! Identify's IdentifyTime and the RemainingTime of a running level or colour transition, ticked by
//! the sync loop on the Matter thread.
//!
//! On/Off with the Lighting feature (Matter 1.6 §1.5.7): OnWithTimedOff turns the light on for OnTime
//! tenths of a second (the longer of the running and the requested time), then off, after which
//! OffWaitTime counts down and guards the light against OnWithTimedOff with AcceptOnlyWhenOn; a
//! command while off and guarded only shortens the guard. On clears the guard when OnTime is 0; Off
//! clears OnTime. OnTime 0xFFFF never counts down. The values live in the mirror's settings (they
//! are countdowns, not persisted); subscribers hear them once a second and when they reach 0 (the Q
//! quality of the 1.6 attributes), and the light's own off goes through the same path as a
//! controller's Off.

use std::time::{Duration, Instant};

use device_types::matter::ids::{cluster, on_off};
use device_types::matter::{CommandArgs, Settings};
use device_types::State;
use rs_matter::dm::AttrChangeNotifier;

use super::handler::BridgeHandler;

const IDENTIFY: u32 = 0x0003;
const IDENTIFY_TIME: u32 = 0x0000;
/// The RemainingTime attributes of Level Control and Color Control.
const REMAINING_TIMES: [(u32, u32); 2] = [
    (
        cluster::LEVEL_CONTROL,
        device_types::matter::ids::level_control::attr::REMAINING_TIME,
    ),
    (
        cluster::COLOR_CONTROL,
        device_types::matter::ids::color_control::attr::REMAINING_TIME,
    ),
];
/// OnTime that never counts down.
const FOREVER: u16 = 0xFFFF;

/// What a command on the On/Off cluster does to the countdowns, before its own effect is applied.
/// Returns the state change OnWithTimedOff asks for (`None` = leave the light as it is).
pub fn on_off_command(
    settings: &mut Settings,
    cmd: u32,
    args: &CommandArgs,
    is_on: bool,
) -> Option<bool> {
    use on_off::cmd::*;
    let on_time = settings.value_or(cluster::ON_OFF, on_off::attr::ON_TIME, 0) as u16;
    let off_wait = settings.value_or(cluster::ON_OFF, on_off::attr::OFF_WAIT_TIME, 0) as u16;
    let mut set = |attr, v: u16| settings.set(cluster::ON_OFF, attr, Some(i64::from(v)));
    match cmd {
        ON_WITH_TIMED_OFF => {
            let control = args.uint(0).unwrap_or(0);
            let req_on = args.uint(1).unwrap_or(0).min(0xFFFF) as u16;
            let req_off = args.uint(2).unwrap_or(0).min(0xFFFF) as u16;
            if control & 0x1 != 0 && !is_on {
                return None;
            }
            if off_wait > 0 && !is_on {
                set(on_off::attr::OFF_WAIT_TIME, off_wait.min(req_off));
                return None;
            }
            set(on_off::attr::ON_TIME, on_time.max(req_on));
            set(on_off::attr::OFF_WAIT_TIME, req_off);
            Some(true)
        }
        ON | ON_WITH_RECALL_GLOBAL_SCENE => {
            if on_time == 0 {
                set(on_off::attr::OFF_WAIT_TIME, 0);
            }
            None
        }
        OFF | OFF_WITH_EFFECT => {
            set(on_off::attr::ON_TIME, 0);
            None
        }
        TOGGLE => {
            if is_on {
                set(on_off::attr::ON_TIME, 0);
            } else if on_time == 0 {
                set(on_off::attr::OFF_WAIT_TIME, 0);
            }
            None
        }
        _ => None,
    }
}

/// One tick of the countdowns, `elapsed` since the last one. Turns lights off whose OnTime ran out.
pub fn tick(
    handler: &BridgeHandler<'_>,
    notify: &dyn AttrChangeNotifier,
    elapsed: Duration,
    state: &mut TickState,
) {
    state.carry += elapsed;
    let tenths = (state.carry.as_millis() / 100) as u16;
    if tenths == 0 {
        return;
    }
    state.carry -= Duration::from_millis(u64::from(tenths) * 100);
    let now = Instant::now();
    let mut reports: Vec<(u16, u32, u32)> = Vec::new();
    let mut turn_off: Vec<(u16, String)> = Vec::new();
    {
        let mut devices = handler.mirror.devices.borrow_mut();
        for (&endpoint, dev) in devices.iter_mut() {
            // Identify: report once a second while it runs, and when it ends.
            if let Some(until) = dev.identify_until {
                let left = until.saturating_duration_since(now).as_secs();
                if until <= now {
                    dev.identify_until = None;
                    reports.push((endpoint, IDENTIFY, IDENTIFY_TIME));
                } else if left
                    != state
                        .last_identify
                        .get(&endpoint)
                        .copied()
                        .unwrap_or(u64::MAX)
                {
                    reports.push((endpoint, IDENTIFY, IDENTIFY_TIME));
                }
                state.last_identify.insert(endpoint, left);
            }
            // RemainingTime of a running transition: reported when a whole second passes and at 0.
            // Only the clusters this endpoint serves (a facet's entry carries the device's
            // settings, of which only its own kind's apply).
            for (c, a) in REMAINING_TIMES {
                if dev.shape.cluster_spec(c).is_none() {
                    continue;
                }
                let left = dev.settings.get(c, a).flatten().unwrap_or(0);
                if left > 0 {
                    let next = left.saturating_sub(i64::from(tenths)).max(0);
                    dev.settings.set(c, a, Some(next));
                    if next == 0 || next / 10 != left / 10 {
                        reports.push((endpoint, c, a));
                    }
                }
            }
            if dev.shape.cluster_spec(cluster::ON_OFF).is_none() {
                continue;
            }
            let is_on = dev.state.on.unwrap_or(false);
            // While on, OnTime runs (0xFFFF never does); while off, OffWaitTime does.
            let (attr, skip) = if is_on {
                (on_off::attr::ON_TIME, FOREVER)
            } else {
                (on_off::attr::OFF_WAIT_TIME, 0)
            };
            let Some(left) = dev
                .settings
                .get(cluster::ON_OFF, attr)
                .flatten()
                .map(|v| v as u16)
                .filter(|v| *v > 0 && *v != skip)
            else {
                continue;
            };
            let next = left.saturating_sub(tenths);
            dev.settings
                .set(cluster::ON_OFF, attr, Some(i64::from(next)));
            if next == 0 || next / 10 != left / 10 {
                reports.push((endpoint, cluster::ON_OFF, attr));
            }
            if is_on && next == 0 {
                turn_off.push((endpoint, dev.id.clone()));
            }
        }
    }
    for (endpoint, cluster, attr) in reports {
        handler.notify(notify, endpoint, cluster, attr);
    }
    for (endpoint, id) in turn_off {
        tracing::info!(device = %id, endpoint, "OnTime elapsed: turning off");
        let patch = State {
            on: Some(false),
            ..State::default()
        };
        handler.command_now(endpoint, &id, &patch);
    }
}

/// Bookkeeping between ticks.
#[derive(Default)]
pub struct TickState {
    carry: Duration,
    last_identify: std::collections::HashMap<u16, u64>,
}
