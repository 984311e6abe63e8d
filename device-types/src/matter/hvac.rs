//! Thermostat setpoint rules shared by SetpointRaiseLower and setpoint writes.
//!
//! Setpoints are handled in Matter units (hundredths of °C). With the AutoMode feature the
//! heating setpoint must stay at least MinSetpointDeadBand (2.0 °C) below the cooling one;
//! when a change would break that, the *other* setpoint is pushed along (Matter 1.4 §4.3.x),
//! and if that one hits its limit the changed one is held back. The served limits
//! (heat 7..=30 °C, cool 16..=32 °C, deadband 2 °C) always leave room for both.

use super::convert::{matter_to_temperature, temperature_to_matter};
use super::ids::thermostat::cmd::SETPOINT_RAISE_LOWER;
use super::settings::SetpointLimits;
use super::{limits, patch, CommandArgs, CommandEffect, CommandError, Fields};
use crate::State;

/// Which setpoint a change was aimed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Heat,
    Cool,
}

/// Current setpoints of `eff` in hundredths (within the absolute limits; a setpoint outside the
/// written limits is left where it is until it is changed).
fn setpoints(eff: &State) -> (i16, i16) {
    let heat = eff
        .heating_setpoint
        .map_or(2000, temperature_to_matter)
        .clamp(limits::ABS_MIN_HEAT, limits::ABS_MAX_HEAT);
    let cool = eff
        .cooling_setpoint
        .map_or(2600, temperature_to_matter)
        .clamp(limits::ABS_MIN_COOL, limits::ABS_MAX_COOL);
    (heat, cool)
}

/// Restores the deadband after `side` was set, moving the other side (then, if that is at its
/// limit, the set side). Both inputs must already be within their own limits.
pub(crate) fn enforce_deadband(
    heat: i16,
    cool: i16,
    side: Side,
    lim: &SetpointLimits,
) -> (i16, i16) {
    let band = limits::DEADBAND_HUNDREDTHS;
    if heat <= cool - band {
        return (heat, cool);
    }
    match side {
        Side::Heat => {
            let cool = (heat + band).min(lim.max_cool);
            (heat.min(cool - band), cool)
        }
        Side::Cool => {
            let heat = (cool - band).max(lim.min_heat);
            (heat, cool.max(heat + band))
        }
    }
}

/// The patch for new setpoints (hundredths), listing only the setpoints that changed from `eff`
/// plus the one that was aimed at.
pub(crate) fn setpoint_patch(eff: &State, heat: i16, cool: i16, aimed: &[Side]) -> State {
    let (old_heat, old_cool) = setpoints(eff);
    let mut out = State::default();
    if heat != old_heat || aimed.contains(&Side::Heat) {
        out.heating_setpoint = Some(matter_to_temperature(heat));
    }
    if cool != old_cool || aimed.contains(&Side::Cool) {
        out.cooling_setpoint = Some(matter_to_temperature(cool));
    }
    out
}

/// A write of OccupiedHeatingSetpoint (`Side::Heat`) or OccupiedCoolingSetpoint to `value`
/// hundredths: CONSTRAINT_ERROR outside the Min/Max limits in force (the written ones, else the
/// absolute ones), otherwise the patch (possibly moving the other setpoint to keep the deadband).
pub(crate) fn write_setpoint(
    eff: &State,
    side: Side,
    value: i64,
    lim: &SetpointLimits,
) -> Result<State, CommandError> {
    let (name, lo, hi) = match side {
        Side::Heat => ("OccupiedHeatingSetpoint", lim.min_heat, lim.max_heat),
        Side::Cool => ("OccupiedCoolingSetpoint", lim.min_cool, lim.max_cool),
    };
    if !(lo as i64..=hi as i64).contains(&value) {
        return Err(CommandError::constraint(
            name,
            value,
            format!("must be {lo}..={hi} (hundredths of °C)"),
        ));
    }
    let (heat, cool) = setpoints(eff);
    let (heat, cool) = match side {
        Side::Heat => enforce_deadband(value as i16, cool, side, lim),
        Side::Cool => enforce_deadband(heat, value as i16, side, lim),
    };
    Ok(setpoint_patch(eff, heat, cool, &[side]))
}

/// Thermostat invoke. SetpointRaiseLower { mode: Heat 0 / Cool 1 / Both 2, amount: i8 tenths
/// of °C } adds the amount to the chosen setpoint(s), clamped to their limits (not an error),
/// then restores the deadband.
pub(crate) fn invoke(
    eff: &State,
    cmd: u32,
    args: &CommandArgs,
    lim: &SetpointLimits,
) -> Result<CommandEffect, CommandError> {
    if cmd != SETPOINT_RAISE_LOWER {
        return Err(CommandError::UnsupportedCommand);
    }
    let f = Fields(args);
    let mode = f.uint(0, "Mode", 0xFF)?;
    let amount = f.int(1, "Amount", i8::MIN as i64, i8::MAX as i64)? as i16 * 10;
    let (heat, cool) = setpoints(eff);
    let raise_heat = |h: i16| (h + amount).clamp(lim.min_heat, lim.max_heat);
    let raise_cool = |c: i16| (c + amount).clamp(lim.min_cool, lim.max_cool);
    let (heat, cool, aimed): (i16, i16, &[Side]) = match mode {
        0 => {
            let (h, c) = enforce_deadband(raise_heat(heat), cool, Side::Heat, lim);
            (h, c, &[Side::Heat])
        }
        1 => {
            let (h, c) = enforce_deadband(heat, raise_cool(cool), Side::Cool, lim);
            (h, c, &[Side::Cool])
        }
        2 => {
            // Moving both keeps their distance unless one hits a limit; then the side that
            // moved toward the other is the one that keeps its value.
            let side = if amount >= 0 { Side::Heat } else { Side::Cool };
            let (h, c) = enforce_deadband(raise_heat(heat), raise_cool(cool), side, lim);
            (h, c, &[Side::Heat, Side::Cool])
        }
        other => {
            return Err(CommandError::constraint(
                "Mode",
                other,
                "must be 0 (Heat), 1 (Cool) or 2 (Both)",
            ))
        }
    };
    Ok(patch(setpoint_patch(eff, heat, cool, aimed)))
}
