//! Attribute writes → state patches.
//!
//! Writes that map to canonical state: Thermostat OccupiedHeating/CoolingSetpoint (with the
//! deadband rule of the `hvac` module) and SystemMode.
//!
//! Writes that are range-checked, **accepted and not stored** (empty patch; the attribute keeps
//! reading its served default): Identify IdentifyTime (the bridge owns the identify countdown
//! and should start it itself on such a write), On/Off OnTime, OffWaitTime, StartUpOnOff; Level
//! Control Options, OnOffTransitionTime, OnLevel, StartUpCurrentLevel; Color Control Options,
//! StartUpColorTemperatureMireds; Thermostat Min/Max Heat/Cool SetpointLimit (within the Abs
//! limits); Window Covering Mode. These are configuration the bridged device has no place for;
//! rejecting them would break controllers that write them during setup.
//!
//! Writes that only accept the served value (CONSTRAINT_ERROR otherwise, as the bridged
//! device cannot change it): Thermostat ControlSequenceOfOperation (4, CoolingAndHeating) and
//! Door Lock OperatingMode (0, Normal).

use super::hvac::{write_setpoint, Side};
use super::ids::{cluster, color_control, door_lock, identify, level_control, on_off};
use super::ids::{thermostat, window_covering};
use super::spec::cluster_spec;
use super::{limits, ArgValue, CommandError};
use crate::{DeviceKind, State, SystemMode};

/// The patch a write of `value` to `attr` of `cluster` makes on a `kind` device in `state`.
///
/// `UnsupportedWrite` when the attribute is not served or not writable; `InvalidArgument` for
/// a value of the wrong type (or null for a non-nullable attribute); `ConstraintError` when out
/// of range. An empty patch means "accepted, nothing stored" (see the module doc for which).
pub fn write_attr(
    kind: DeviceKind,
    state: &State,
    cluster: u32,
    attr: u32,
    value: &ArgValue,
) -> Result<State, CommandError> {
    let spec = cluster_spec(kind, cluster).ok_or(CommandError::UnsupportedWrite)?;
    if !spec.is_writable(attr) {
        return Err(CommandError::UnsupportedWrite);
    }
    let eff = kind.default_state().merged(state);
    let accepted = Ok(State::default());
    let v = Value { value };
    match (cluster, attr) {
        (cluster::IDENTIFY, identify::attr::IDENTIFY_TIME) => {
            v.uint("IdentifyTime", 0, u16::MAX as u64).and(accepted)
        }

        (cluster::ON_OFF, on_off::attr::ON_TIME) => v.uint("OnTime", 0, 0xFFFF).and(accepted),
        (cluster::ON_OFF, on_off::attr::OFF_WAIT_TIME) => {
            v.uint("OffWaitTime", 0, 0xFFFF).and(accepted)
        }
        (cluster::ON_OFF, on_off::attr::START_UP_ON_OFF) => {
            v.nullable_uint("StartUpOnOff", 0, 2).and(accepted)
        }

        (cluster::LEVEL_CONTROL, level_control::attr::OPTIONS) => {
            v.bitmap("Options", 0x03).and(accepted)
        }
        (cluster::LEVEL_CONTROL, level_control::attr::ON_OFF_TRANSITION_TIME) => {
            v.uint("OnOffTransitionTime", 0, 0xFFFF).and(accepted)
        }
        (cluster::LEVEL_CONTROL, level_control::attr::ON_LEVEL) => v
            .nullable_uint(
                "OnLevel",
                limits::MIN_LEVEL as u64,
                limits::MAX_LEVEL as u64,
            )
            .and(accepted),
        (cluster::LEVEL_CONTROL, level_control::attr::START_UP_CURRENT_LEVEL) => v
            .nullable_uint("StartUpCurrentLevel", 0, limits::MAX_LEVEL as u64)
            .and(accepted),

        (cluster::COLOR_CONTROL, color_control::attr::OPTIONS) => {
            v.bitmap("Options", 0x01).and(accepted)
        }
        (cluster::COLOR_CONTROL, color_control::attr::START_UP_COLOR_TEMPERATURE_MIREDS) => v
            .nullable_uint("StartUpColorTemperatureMireds", 1, 0xFEFF)
            .and(accepted),

        (cluster::THERMOSTAT, thermostat::attr::OCCUPIED_HEATING_SETPOINT) => {
            write_setpoint(&eff, Side::Heat, v.int("OccupiedHeatingSetpoint")?)
        }
        (cluster::THERMOSTAT, thermostat::attr::OCCUPIED_COOLING_SETPOINT) => {
            write_setpoint(&eff, Side::Cool, v.int("OccupiedCoolingSetpoint")?)
        }
        (cluster::THERMOSTAT, thermostat::attr::MIN_HEAT_SETPOINT_LIMIT)
        | (cluster::THERMOSTAT, thermostat::attr::MAX_HEAT_SETPOINT_LIMIT) => v
            .int_in(
                "HeatSetpointLimit",
                limits::ABS_MIN_HEAT,
                limits::ABS_MAX_HEAT,
            )
            .and(accepted),
        (cluster::THERMOSTAT, thermostat::attr::MIN_COOL_SETPOINT_LIMIT)
        | (cluster::THERMOSTAT, thermostat::attr::MAX_COOL_SETPOINT_LIMIT) => v
            .int_in(
                "CoolSetpointLimit",
                limits::ABS_MIN_COOL,
                limits::ABS_MAX_COOL,
            )
            .and(accepted),
        (cluster::THERMOSTAT, thermostat::attr::CONTROL_SEQUENCE_OF_OPERATION) => v
            .exactly(
                "ControlSequenceOfOperation",
                4,
                "only 4 (CoolingAndHeating) is supported",
            )
            .and(accepted),
        (cluster::THERMOSTAT, thermostat::attr::SYSTEM_MODE) => {
            let mode = match v.uint("SystemMode", 0, 0xFF)? {
                0 => SystemMode::Off,
                1 => SystemMode::Auto,
                3 => SystemMode::Cool,
                4 => SystemMode::Heat,
                other => {
                    return Err(CommandError::constraint(
                        "SystemMode",
                        other,
                        "must be 0 (Off), 1 (Auto), 3 (Cool) or 4 (Heat)",
                    ))
                }
            };
            Ok(State {
                system_mode: Some(mode),
                ..State::default()
            })
        }

        (cluster::DOOR_LOCK, door_lock::attr::OPERATING_MODE) => v
            .exactly(
                "OperatingMode",
                0,
                "only 0 (Normal) can be set on this lock",
            )
            .and(accepted),

        (cluster::WINDOW_COVERING, window_covering::attr::MODE) => {
            v.bitmap("Mode", 0x0F).and(accepted)
        }

        _ => Err(CommandError::UnsupportedWrite),
    }
}

/// Typed checks of a written value.
struct Value<'a> {
    value: &'a ArgValue,
}

impl Value<'_> {
    fn raw_uint(&self) -> Option<u64> {
        match self.value {
            ArgValue::UInt(v) => Some(*v),
            ArgValue::Int(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    fn wrong_type(&self, name: &str, expected: &str) -> CommandError {
        CommandError::invalid(name, format!("{:?}", self.value), expected)
    }

    /// An unsigned value within `lo..=hi`.
    fn uint(&self, name: &str, lo: u64, hi: u64) -> Result<u64, CommandError> {
        let v = self
            .raw_uint()
            .ok_or_else(|| self.wrong_type(name, "must be an unsigned integer"))?;
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(CommandError::constraint(
                name,
                v,
                format!("must be {lo}..={hi}"),
            ))
        }
    }

    /// Null, or an unsigned value within `lo..=hi`.
    fn nullable_uint(&self, name: &str, lo: u64, hi: u64) -> Result<Option<u64>, CommandError> {
        match self.value {
            ArgValue::Null => Ok(None),
            _ => self.uint(name, lo, hi).map(Some),
        }
    }

    /// A bitmap with only the bits of `allowed` set.
    fn bitmap(&self, name: &str, allowed: u64) -> Result<u64, CommandError> {
        let v = self.uint(name, 0, 0xFF)?;
        if v & !allowed != 0 {
            return Err(CommandError::constraint(
                name,
                v,
                format!("only bits {allowed:#04x} may be set"),
            ));
        }
        Ok(v)
    }

    /// A signed 16-bit value.
    fn int(&self, name: &str) -> Result<i64, CommandError> {
        let v = match self.value {
            ArgValue::Int(v) => Some(*v),
            ArgValue::UInt(v) => i64::try_from(*v).ok(),
            _ => None,
        }
        .ok_or_else(|| self.wrong_type(name, "must be a signed integer"))?;
        if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
            Ok(v)
        } else {
            Err(self.wrong_type(name, "must fit in int16"))
        }
    }

    /// A signed 16-bit value within `lo..=hi`.
    fn int_in(&self, name: &str, lo: i16, hi: i16) -> Result<i64, CommandError> {
        let v = self.int(name)?;
        if (lo as i64..=hi as i64).contains(&v) {
            Ok(v)
        } else {
            Err(CommandError::constraint(
                name,
                v,
                format!("must be {lo}..={hi}"),
            ))
        }
    }

    /// An enum value that must equal `only`.
    fn exactly(&self, name: &str, only: u64, reason: &str) -> Result<u64, CommandError> {
        let v = self.uint(name, 0, 0xFF)?;
        if v == only {
            Ok(v)
        } else {
            Err(CommandError::constraint(name, v, reason))
        }
    }
}
