//! Attribute writes → state patches and stored settings.
//!
//! Writes that map to canonical state: Thermostat OccupiedHeating/CoolingSetpoint (with the
//! deadband rule of the `hvac` module, within the setpoint limits in force) and SystemMode; Fan
//! Control FanMode (with the percent of that mode) and PercentSetting (with the mode of that
//! percent; a written null changes nothing).
//!
//! Writes that are range-checked and **stored as settings** ([`super::settings`]; read back,
//! persisted where the spec makes them non-volatile, and applied): Identify IdentifyTime (the
//! bridge owns the countdown: [`WriteEffect::identify`]), On/Off OnTime, OffWaitTime,
//! StartUpOnOff; Level Control Options, OnOffTransitionTime, OnLevel, StartUpCurrentLevel; Color
//! Control Options, StartUpColorTemperatureMireds; Thermostat Min/Max Heat/Cool SetpointLimit
//! (within the Abs limits, Min ≤ Max, heat limits at least the deadband below the cool ones);
//! Window Covering Mode.
//!
//! Writes that only accept the served value (CONSTRAINT_ERROR otherwise, as the bridged
//! device cannot change it): Thermostat ControlSequenceOfOperation (4, CoolingAndHeating) and
//! Door Lock OperatingMode (0, Normal).

use super::hvac::{write_setpoint, Side};
use super::ids::{cluster, color_control, door_lock, identify, level_control, on_off};
use super::ids::{fan_control, thermostat, window_covering};
use super::settings::{setpoint_limits, Settings};
use super::spec::cluster_spec;
use super::{limits, ArgValue, CommandError};
use crate::{FanMode, Shape, State, SystemMode};

/// What an accepted write does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteEffect {
    /// State to apply through the registry (empty when the write is a setting).
    pub patch: State,
    /// A setting to store: (cluster, attribute, value; `None` = null).
    pub setting: Option<(u32, u32, Option<i64>)>,
    /// Identify: restart the IdentifyTime countdown at this many seconds (0 stops it).
    pub identify: Option<u16>,
}

impl WriteEffect {
    fn patch(patch: State) -> Self {
        WriteEffect {
            patch,
            ..Self::default()
        }
    }
    fn setting(cluster: u32, attr: u32, value: Option<u64>) -> Self {
        WriteEffect {
            setting: Some((cluster, attr, value.map(|v| v as i64))),
            ..Self::default()
        }
    }
    fn signed_setting(cluster: u32, attr: u32, value: i64) -> Self {
        WriteEffect {
            setting: Some((cluster, attr, Some(value))),
            ..Self::default()
        }
    }
}

/// The patch a write of `value` to `attr` of `cluster` makes on a `kind` device in `state`,
/// ignoring stored settings (see [`write_attr_with`] for the full effect).
pub fn write_attr(
    kind: impl Into<Shape>,
    state: &State,
    cluster: u32,
    attr: u32,
    value: &ArgValue,
) -> Result<State, CommandError> {
    write_attr_with(kind, state, &Settings::default(), cluster, attr, value).map(|e| e.patch)
}

/// What a write of `value` to `attr` of `cluster` does on a `kind` device in `state` with its
/// stored `settings`.
///
/// `UnsupportedWrite` when the attribute is not served or not writable; `InvalidArgument` for
/// a value of the wrong type (or null for a non-nullable attribute); `ConstraintError` when out
/// of range.
pub fn write_attr_with(
    shape: impl Into<Shape>,
    state: &State,
    settings: &Settings,
    cluster: u32,
    attr: u32,
    value: &ArgValue,
) -> Result<WriteEffect, CommandError> {
    let shape = shape.into();
    let spec = cluster_spec(shape, cluster).ok_or(CommandError::UnsupportedWrite)?;
    if !spec.is_writable(attr) {
        return Err(CommandError::UnsupportedWrite);
    }
    let eff = shape.default_state().merged(state);
    let lim = setpoint_limits(settings);
    let v = Value { value };
    let store = |value: u64| Ok(WriteEffect::setting(cluster, attr, Some(value)));
    let store_nullable = |value: Option<u64>| Ok(WriteEffect::setting(cluster, attr, value));
    match (cluster, attr) {
        (cluster::IDENTIFY, identify::attr::IDENTIFY_TIME) => {
            let secs = v.uint("IdentifyTime", 0, u16::MAX as u64)? as u16;
            Ok(WriteEffect {
                identify: Some(secs),
                ..WriteEffect::default()
            })
        }

        (cluster::ON_OFF, on_off::attr::ON_TIME) => store(v.uint("OnTime", 0, 0xFFFF)?),
        (cluster::ON_OFF, on_off::attr::OFF_WAIT_TIME) => {
            store(v.uint("OffWaitTime", 0, 0xFFFF)?)
        }
        (cluster::ON_OFF, on_off::attr::START_UP_ON_OFF) => {
            store_nullable(v.nullable_uint("StartUpOnOff", 0, 2)?)
        }

        (cluster::LEVEL_CONTROL, level_control::attr::OPTIONS) => store(v.bitmap("Options", 0x03)?),
        (cluster::LEVEL_CONTROL, level_control::attr::ON_OFF_TRANSITION_TIME) => {
            store(v.uint("OnOffTransitionTime", 0, 0xFFFF)?)
        }
        (cluster::LEVEL_CONTROL, level_control::attr::ON_LEVEL) => {
            store_nullable(v.nullable_uint(
                "OnLevel",
                limits::MIN_LEVEL as u64,
                limits::MAX_LEVEL as u64,
            )?)
        }
        (cluster::LEVEL_CONTROL, level_control::attr::START_UP_CURRENT_LEVEL) => {
            store_nullable(v.nullable_uint("StartUpCurrentLevel", 0, limits::MAX_LEVEL as u64)?)
        }

        (cluster::COLOR_CONTROL, color_control::attr::OPTIONS) => store(v.bitmap("Options", 0x01)?),
        (cluster::COLOR_CONTROL, color_control::attr::START_UP_COLOR_TEMPERATURE_MIREDS) => {
            store_nullable(v.nullable_uint(
                "StartUpColorTemperatureMireds",
                limits::MIN_MIREDS as u64,
                limits::MAX_MIREDS as u64,
            )?)
        }

        (cluster::THERMOSTAT, thermostat::attr::OCCUPIED_HEATING_SETPOINT) => {
            write_setpoint(&eff, Side::Heat, v.int("OccupiedHeatingSetpoint")?, &lim)
                .map(WriteEffect::patch)
        }
        (cluster::THERMOSTAT, thermostat::attr::OCCUPIED_COOLING_SETPOINT) => {
            write_setpoint(&eff, Side::Cool, v.int("OccupiedCoolingSetpoint")?, &lim)
                .map(WriteEffect::patch)
        }
        (cluster::THERMOSTAT, a @ thermostat::attr::MIN_HEAT_SETPOINT_LIMIT)
        | (cluster::THERMOSTAT, a @ thermostat::attr::MAX_HEAT_SETPOINT_LIMIT)
        | (cluster::THERMOSTAT, a @ thermostat::attr::MIN_COOL_SETPOINT_LIMIT)
        | (cluster::THERMOSTAT, a @ thermostat::attr::MAX_COOL_SETPOINT_LIMIT) => {
            write_limit(&v, a, lim).map(|value| WriteEffect::signed_setting(cluster, a, value))
        }
        (cluster::THERMOSTAT, thermostat::attr::CONTROL_SEQUENCE_OF_OPERATION) => v
            .exactly(
                "ControlSequenceOfOperation",
                4,
                "only 4 (CoolingAndHeating) is supported",
            )
            .map(|_| WriteEffect::default()),
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
            Ok(WriteEffect::patch(State {
                system_mode: Some(mode),
                ..State::default()
            }))
        }

        (cluster::DOOR_LOCK, door_lock::attr::OPERATING_MODE) => v
            .exactly(
                "OperatingMode",
                0,
                "only 0 (Normal) can be set on this lock",
            )
            .map(|_| WriteEffect::default()),

        (cluster::WINDOW_COVERING, window_covering::attr::MODE) => store(v.bitmap("Mode", 0x0F)?),

        (cluster::FAN_CONTROL, fan_control::attr::FAN_MODE) => {
            let mode = match v.uint("FanMode", 0, 0xFF)? {
                0 => FanMode::Off,
                1 => FanMode::Low,
                2 => FanMode::Medium,
                // On: the server runs the fan at High.
                3 | 4 => FanMode::High,
                5 if spec.feature_map & fan_control::FEATURE_AUTO != 0 => FanMode::Auto,
                5 => {
                    return Err(CommandError::constraint(
                        "FanMode",
                        5,
                        "this fan has no Auto mode (FanModeSequence OffLowMedHigh)",
                    ))
                }
                other => {
                    return Err(CommandError::constraint(
                        "FanMode",
                        other,
                        "must be 0 (Off), 1 (Low), 2 (Medium), 3 (High), 4 (On) or 5 (Auto)",
                    ))
                }
            };
            Ok(WriteEffect::patch(fan_mode_patch(mode)))
        }
        (cluster::FAN_CONTROL, fan_control::attr::PERCENT_SETTING) => {
            // A written null changes nothing (the spec: "the attribute value SHALL NOT change").
            match v.nullable_uint("PercentSetting", 0, 100)? {
                None => Ok(WriteEffect::default()),
                Some(p) => Ok(WriteEffect::patch(fan_percent_patch(p as u8))),
            }
        }

        _ => Err(CommandError::UnsupportedWrite),
    }
}

/// A written setpoint limit: within the absolute limits, Min ≤ Max on its side, and with the
/// AutoMode deadband between the heat and the cool limits (Min/MaxHeat ≤ Min/MaxCool − deadband).
fn write_limit(
    v: &Value<'_>,
    attr: u32,
    lim: super::settings::SetpointLimits,
) -> Result<i64, CommandError> {
    use thermostat::attr::*;
    let band = limits::DEADBAND_HUNDREDTHS;
    let (name, lo, hi) = match attr {
        MIN_HEAT_SETPOINT_LIMIT => (
            "MinHeatSetpointLimit",
            limits::ABS_MIN_HEAT,
            lim.max_heat.min(lim.min_cool - band),
        ),
        MAX_HEAT_SETPOINT_LIMIT => (
            "MaxHeatSetpointLimit",
            lim.min_heat,
            limits::ABS_MAX_HEAT.min(lim.max_cool - band),
        ),
        MIN_COOL_SETPOINT_LIMIT => (
            "MinCoolSetpointLimit",
            limits::ABS_MIN_COOL.max(lim.min_heat + band),
            lim.max_cool,
        ),
        _ => (
            "MaxCoolSetpointLimit",
            lim.min_cool.max(lim.max_heat + band),
            limits::ABS_MAX_COOL,
        ),
    };
    v.int_in(name, lo, hi)
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

/// The percent a fan mode runs at (Low 33, Medium 66, High 100, Off 0); Auto keeps the percent.
pub(crate) fn fan_mode_patch(mode: FanMode) -> State {
    let percent = match mode {
        FanMode::Off => Some(0),
        FanMode::Low => Some(33),
        FanMode::Medium => Some(66),
        FanMode::High | FanMode::On => Some(100),
        FanMode::Auto => None,
    };
    State {
        fan_mode: Some(if mode == FanMode::On {
            FanMode::High
        } else {
            mode
        }),
        fan_percent: percent,
        ..State::default()
    }
}

/// A written PercentSetting: 0 is Off, 1..=33 Low, 34..=66 Medium, 67..=100 High (the spec has
/// the server move FanMode to the mode of the speed).
pub(crate) fn fan_percent_patch(percent: u8) -> State {
    let mode = match percent {
        0 => FanMode::Off,
        1..=33 => FanMode::Low,
        34..=66 => FanMode::Medium,
        _ => FanMode::High,
    };
    State {
        fan_mode: Some(mode),
        fan_percent: Some(percent),
        ..State::default()
    }
}
