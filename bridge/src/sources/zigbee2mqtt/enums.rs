//! Enum-valued generic exposes with a true Matter home in an existing canonical field (radar
//! presence states, battery level enums, smoke state): each becomes a [`Field::EnumFlag`] binding.

use device_types::DeviceKind;

use super::bindings::{Binding, Field};
use super::topics::Expose;

/// Enums with a true Matter home in an existing field:
/// - `presence_state`, `motion_state`, `human_motion_state` (radar presence sensors: `none` and
///   something else) → occupancy (`occupied`: anything but `none`), rank of an occupancy sensor;
/// - `battery_state` / `battery_level` `low` / `medium` / `middle` / `high` (`USB`: powered, not
///   low) → `battery_low` (Power Source BatChargeLevel), a battery capability;
/// - `smoke_state` `alarm` / `normal` (or `none`) → the smoke alarm level; `detecting` (self
///   test) and `unknown` are unusable values, logged.
///
/// Returns the binding and the kind it makes the device with its rank, or `None` for the kind when
/// it is only the battery capability.
pub(super) fn enum_flag(e: &Expose) -> Option<(Binding, Option<(DeviceKind, u8)>)> {
    let values: Vec<String> = e
        .values
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let split = |is_on: &dyn Fn(&str) -> bool, known: &dyn Fn(&str) -> bool| {
        let on: Vec<String> = values.iter().filter(|v| is_on(v)).cloned().collect();
        let off: Vec<String> = values
            .iter()
            .filter(|v| !is_on(v) && known(v))
            .cloned()
            .collect();
        (on, off)
    };
    let property = e.property.as_deref()?;
    let (field, kind, (on, off)) = match property {
        "presence_state" | "motion_state" | "human_motion_state" => (
            "occupied",
            Some((DeviceKind::OccupancySensor, 2)),
            split(&|v| !v.eq_ignore_ascii_case("none"), &|_| true),
        ),
        "battery_state" | "battery_level" if values.iter().any(|v| v == "low") => (
            "battery_low",
            None,
            split(&|v| v == "low", &|v| {
                matches!(v, "medium" | "middle" | "high" | "USB")
            }),
        ),
        "smoke_state" if values.iter().any(|v| v == "alarm") => (
            "smoke",
            Some((DeviceKind::SmokeAlarm, 2)),
            split(&|v| v == "alarm", &|v| matches!(v, "normal" | "none")),
        ),
        _ => return None,
    };
    if on.is_empty() || off.is_empty() {
        return None;
    }
    let binding = Binding {
        property: e.property.clone()?,
        field: Field::EnumFlag { field, on, off },
        access: e.access,
    };
    Some((binding, kind))
}
