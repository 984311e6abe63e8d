//! Matter events raised by state changes, and their payload fields.
//!
//! An event is raised only for a real transition: the field must be set in both the old and
//! the new state and differ (an unknown → known first report is not a change).

use super::ids::{boolean_state, cluster, door_lock, occupancy_sensing};
use super::AttrValue;
use crate::{DeviceKind, LockState, State};

/// The (cluster, event id) pairs to emit for the change `old` → `new`:
/// Boolean State StateChange when `contact` flips, Occupancy Sensing OccupancyChanged when
/// `occupied` flips, Door Lock LockOperation (Lock/Unlock) when `lock_state` becomes locked or
/// unlocked, Door Lock DoorLockAlarm (LockJammed) when it becomes `not_fully_locked`.
pub fn events_for_change(kind: DeviceKind, old: &State, new: &State) -> Vec<(u32, u32)> {
    fn flipped<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
        matches!((a, b), (Some(a), Some(b)) if a != b)
    }
    let mut out = Vec::new();
    match kind {
        DeviceKind::ContactSensor if flipped(old.contact, new.contact) => {
            out.push((cluster::BOOLEAN_STATE, boolean_state::event::STATE_CHANGE));
        }
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

/// The payload of `event` of `cluster`, describing `state` (the state after the change), as
/// (context tag, value) pairs; `None` for an event this crate does not describe.
///
/// - StateChange: `{0: stateValue}`.
/// - OccupancyChanged: `{0: occupancy bitmap}`.
/// - LockOperation: `{0: lockOperationType (Lock 0 / Unlock 1), 1: operationSource, 2: userIndex
///   null, 3: fabricIndex null, 4: sourceNode null}`. operationSource is Unspecified (0); a
///   bridge that knows the change came from a Matter controller should put Remote (7, see
///   [`super::ids::door_lock::operation_source`]) and that controller's fabric index and node id.
/// - DoorLockAlarm: `{0: alarmCode LockJammed (0)}`.
/// - LockOperationError: `None` (this crate never raises it: commands cannot fail here).
pub fn event_fields(
    kind: DeviceKind,
    state: &State,
    cluster: u32,
    event: u32,
) -> Option<Vec<(u8, AttrValue)>> {
    let eff = kind.default_state().merged(state);
    match (cluster, event) {
        (cluster::BOOLEAN_STATE, boolean_state::event::STATE_CHANGE) => {
            Some(vec![(0, AttrValue::Bool(eff.contact?))])
        }
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
