//! Matter events raised by state changes, and their payload fields.
//!
//! An event is raised only for a real transition: the field must be set in both the old and
//! the new state and differ (an unknown → known first report is not a change).

use super::ids::{
    boolean_state, cluster, door_lock, electrical_energy, occupancy_sensing, smoke_co_alarm,
};
use super::AttrValue;
use crate::{AlarmLevel, Capability, DeviceKind, LockState, Shape, State};

/// The (cluster, event id) pairs to emit for the change `old` → `new`:
/// Boolean State StateChange when `contact` / `leak` / `freeze` / `rain` flips, the Smoke CO
/// Alarm events (see `smoke_co_events`), Electrical Energy Measurement CumulativeEnergyMeasured
/// when `energy` changes, Occupancy Sensing OccupancyChanged when
/// `occupied` flips, Door Lock LockOperation (Lock/Unlock) when `lock_state` becomes locked or
/// unlocked, Door Lock DoorLockAlarm (LockJammed) when it becomes `not_fully_locked`.
pub fn events_for_change(shape: impl Into<Shape>, old: &State, new: &State) -> Vec<(u32, u32)> {
    let shape = shape.into();
    let kind = shape.kind;
    let mut out = Vec::new();
    let boolean_flipped = match super::read::boolean_field(shape) {
        Some("contact") => flipped(old.contact, new.contact),
        Some("leak") => flipped(old.leak, new.leak),
        Some("freeze") => flipped(old.freeze, new.freeze),
        Some(_) => flipped(old.rain, new.rain),
        None => false,
    };
    if boolean_flipped {
        out.push((cluster::BOOLEAN_STATE, boolean_state::event::STATE_CHANGE));
    }
    if let Some(spec) = shape.cluster_spec(cluster::SMOKE_CO_ALARM) {
        out.extend(smoke_co_events(spec.feature_map, old, new));
    }
    if shape.has(Capability::Electrical) && flipped(old.energy, new.energy) {
        out.push((
            cluster::ELECTRICAL_ENERGY_MEASUREMENT,
            electrical_energy::event::CUMULATIVE_ENERGY_MEASURED,
        ));
    }
    match kind {
        DeviceKind::OccupancySensor if flipped(old.occupied, new.occupied) => {
            out.push((
                cluster::OCCUPANCY_SENSING,
                occupancy_sensing::event::OCCUPANCY_CHANGED,
            ));
        }
        DeviceKind::DoorLock if flipped(old.lock_state, new.lock_state) => {
            let event = match new.lock_state {
                Some(LockState::NotFullyLocked) => door_lock::event::DOOR_LOCK_ALARM,
                _ => door_lock::event::LOCK_OPERATION,
            };
            out.push((cluster::DOOR_LOCK, event));
        }
        _ => {}
    }
    out
}

fn flipped<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}

/// Smoke CO Alarm events of a change: SmokeAlarm / COAlarm when that level rises above normal or
/// changes while alarming, LowBattery when the battery alert rises, HardwareFault when a fault
/// appears, SelfTestComplete when a test ends, and AllClear when the last alarm (smoke, CO) goes
/// back to normal.
fn smoke_co_events(features: u32, old: &State, new: &State) -> Vec<(u32, u32)> {
    use super::spec::smoke_co_feature::{CO, SMOKE};
    use smoke_co_alarm::event as ev;
    let alarming = |l: Option<AlarmLevel>| l.is_some_and(|l| l != AlarmLevel::Normal);
    let raised = |a: Option<AlarmLevel>, b: Option<AlarmLevel>| flipped(a, b) && alarming(b);
    let c = cluster::SMOKE_CO_ALARM;
    let mut out = Vec::new();
    if features & SMOKE != 0 && raised(old.smoke, new.smoke) {
        out.push((c, ev::SMOKE_ALARM));
    }
    if features & CO != 0 && raised(old.co, new.co) {
        out.push((c, ev::CO_ALARM));
    }
    if raised(old.battery_alert, new.battery_alert) {
        out.push((c, ev::LOW_BATTERY));
    }
    if old.hardware_fault == Some(false) && new.hardware_fault == Some(true) {
        out.push((c, ev::HARDWARE_FAULT));
    }
    if old.test_in_progress == Some(true) && new.test_in_progress == Some(false) {
        out.push((c, ev::SELF_TEST_COMPLETE));
    }
    let was =
        (features & SMOKE != 0 && alarming(old.smoke)) || (features & CO != 0 && alarming(old.co));
    let is = (features & SMOKE != 0 && alarming(new.smoke.or(old.smoke)))
        || (features & CO != 0 && alarming(new.co.or(old.co)));
    if was && !is {
        out.push((c, ev::ALL_CLEAR));
    }
    out
}

/// The payload of `event` of `cluster`, describing `state` (the state after the change), as
/// (context tag, value) pairs; `None` for an event this crate does not describe.
///
/// - StateChange: `{0: stateValue}`.
/// - SmokeAlarm / COAlarm / LowBattery: `{0: alarmSeverityLevel}`; the other Smoke CO Alarm
///   events have no fields.
/// - CumulativeEnergyMeasured: `{0: energyImported {0: energy mWh}}`.
/// - OccupancyChanged: `{0: occupancy bitmap}`.
/// - LockOperation: `{0: lockOperationType (Lock 0 / Unlock 1), 1: operationSource, 2: userIndex
///   null, 3: fabricIndex null, 4: sourceNode null}`. operationSource is Unspecified (0); a
///   bridge that knows the change came from a Matter controller should put Remote (7, see
///   [`super::ids::door_lock::operation_source`]) and that controller's fabric index and node id.
/// - DoorLockAlarm: `{0: alarmCode LockJammed (0)}`.
/// - LockOperationError: `None` (this crate never raises it: commands cannot fail here).
pub fn event_fields(
    shape: impl Into<Shape>,
    state: &State,
    cluster: u32,
    event: u32,
) -> Option<Vec<(u8, AttrValue)>> {
    let shape = shape.into();
    let eff = shape.default_state().merged(state);
    let level = |l: Option<AlarmLevel>| {
        AttrValue::U8(super::read_more::alarm_value(
            l.unwrap_or(AlarmLevel::Normal),
        ))
    };
    match (cluster, event) {
        (cluster::BOOLEAN_STATE, boolean_state::event::STATE_CHANGE) => Some(vec![(
            0,
            AttrValue::Bool(super::read::boolean_value(shape, &eff)?),
        )]),
        (cluster::SMOKE_CO_ALARM, smoke_co_alarm::event::SMOKE_ALARM) => {
            Some(vec![(0, level(eff.smoke))])
        }
        (cluster::SMOKE_CO_ALARM, smoke_co_alarm::event::CO_ALARM) => {
            Some(vec![(0, level(eff.co))])
        }
        (cluster::SMOKE_CO_ALARM, smoke_co_alarm::event::LOW_BATTERY) => {
            Some(vec![(0, level(eff.battery_alert))])
        }
        (cluster::SMOKE_CO_ALARM, _) => Some(Vec::new()),
        (
            cluster::ELECTRICAL_ENERGY_MEASUREMENT,
            electrical_energy::event::CUMULATIVE_ENERGY_MEASURED,
        ) => Some(vec![(0, super::read_more::energy_struct(eff.energy?))]),
        (cluster::OCCUPANCY_SENSING, occupancy_sensing::event::OCCUPANCY_CHANGED) => {
            Some(vec![(0, AttrValue::U8(u8::from(eff.occupied?)))])
        }
        (cluster::DOOR_LOCK, door_lock::event::LOCK_OPERATION) => {
            let op = match state.lock_state? {
                LockState::Locked => 0,
                LockState::Unlocked => 1,
                LockState::NotFullyLocked => return None,
            };
            Some(vec![
                (0, AttrValue::U8(op)),
                (1, AttrValue::U8(door_lock::operation_source::UNSPECIFIED)),
                (2, AttrValue::Null),
                (3, AttrValue::Null),
                (4, AttrValue::Null),
            ])
        }
        (cluster::DOOR_LOCK, door_lock::event::DOOR_LOCK_ALARM) => {
            // Raised for NotFullyLocked; the alarm code is LockJammed.
            Some(vec![(0, AttrValue::U8(0))])
        }
        _ => None,
    }
}

/// Events the spec gives priority Critical (the rest are Info): Smoke CO Alarm SmokeAlarm and
/// COAlarm, Door Lock DoorLockAlarm and LockOperationError.
pub fn is_critical_event(cluster: u32, event: u32) -> bool {
    match cluster {
        cluster::SMOKE_CO_ALARM => {
            event == smoke_co_alarm::event::SMOKE_ALARM || event == smoke_co_alarm::event::CO_ALARM
        }
        cluster::DOOR_LOCK => {
            event == door_lock::event::DOOR_LOCK_ALARM
                || event == door_lock::event::LOCK_OPERATION_ERROR
        }
        _ => false,
    }
}
