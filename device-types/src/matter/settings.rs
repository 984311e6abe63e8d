//! Controller-written configuration attributes of a bridged endpoint ("settings"): StartUpOnOff,
//! OnLevel, Options, transition times, setpoint limits, Window Covering Mode ...
//!
//! They are not device state (a lamp has no place for its OnLevel), but a controller that writes
//! one reads it back and expects it to act, across restarts. [`Settings`] holds them per device,
//! keyed by cluster and attribute; the bridge persists them with the device's last-known state.
//! [`SETTINGS`] lists every attribute stored here with its encoding; a write of one of them
//! ([`super::write_attr`]) yields a [`WriteEffect::setting`], and a read ([`super::read_attr_with`])
//! answers the stored value, else the served default.
//!
//! What they do:
//! - On/Off StartUpOnOff, Level Control StartUpCurrentLevel, Color Control
//!   StartUpColorTemperatureMireds: the state a device the bridge simulates starts in
//!   ([`start_up_patch`]); null (the default) keeps the last-known state.
//! - Level Control / Color Control Options: the ExecuteIfOff bit for commands that carry no override.
//! - Level Control OnLevel: the level an On command goes to.
//! - Level Control OnOffTransitionTime / OnTransitionTime / OffTransitionTime / DefaultMoveRate:
//!   the transition times of commands without their own (passed to the device's source).
//! - Thermostat Min/Max Heat/Cool SetpointLimit: the range setpoint writes and SetpointRaiseLower
//!   are held to (within the absolute limits; Min ≤ Max; the heat/cool limits keep the deadband).
//! - On/Off OnTime / OffWaitTime: the OnWithTimedOff countdowns (run by the bridge).
//! - Level Control / Color Control RemainingTime: a running transition's countdown (run by the
//!   bridge, never stored).
//! - Window Covering Mode: stored and read back.
//! - Window Covering TargetPositionLiftPercent100ths: where an accepted lift command sends the
//!   covering until it gets there or is stopped (set by the bridge, never stored);
//!   OperationalStatus follows from it ([`lift_status`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::{cluster, color_control, level_control, on_off, thermostat, window_covering};
use super::AttrValue;
use crate::{Shape, State};

/// How a setting is encoded on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// uint8 / enum8 / bitmap8.
    U8,
    /// uint16.
    U16,
    /// int16 (temperatures).
    I16,
}

/// One attribute stored as a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingSpec {
    pub cluster: u32,
    pub attr: u32,
    pub name: &'static str,
    pub encoding: Encoding,
    pub nullable: bool,
    /// Stored across restarts (OnTime/OffWaitTime are countdowns and are not).
    pub persistent: bool,
}

const fn spec(
    cluster: u32,
    attr: u32,
    name: &'static str,
    encoding: Encoding,
    nullable: bool,
    persistent: bool,
) -> SettingSpec {
    SettingSpec {
        cluster,
        attr,
        name,
        encoding,
        nullable,
        persistent,
    }
}

/// Every attribute kept as a setting.
pub const SETTINGS: &[SettingSpec] = &[
    spec(
        cluster::LEVEL_CONTROL,
        level_control::attr::REMAINING_TIME,
        "RemainingTime",
        Encoding::U16,
        false,
        false,
    ),
    spec(
        cluster::COLOR_CONTROL,
        color_control::attr::REMAINING_TIME,
        "RemainingTime",
        Encoding::U16,
        false,
        false,
    ),
    spec(
        cluster::ON_OFF,
        on_off::attr::ON_TIME,
        "OnTime",
        Encoding::U16,
        false,
        false,
    ),
    spec(
        cluster::ON_OFF,
        on_off::attr::OFF_WAIT_TIME,
        "OffWaitTime",
        Encoding::U16,
        false,
        false,
    ),
    spec(
        cluster::ON_OFF,
        on_off::attr::START_UP_ON_OFF,
        "StartUpOnOff",
        Encoding::U8,
        true,
        true,
    ),
    spec(
        cluster::LEVEL_CONTROL,
        level_control::attr::OPTIONS,
        "Options",
        Encoding::U8,
        false,
        true,
    ),
    spec(
        cluster::LEVEL_CONTROL,
        level_control::attr::ON_OFF_TRANSITION_TIME,
        "OnOffTransitionTime",
        Encoding::U16,
        false,
        true,
    ),
    spec(
        cluster::LEVEL_CONTROL,
        level_control::attr::ON_LEVEL,
        "OnLevel",
        Encoding::U8,
        true,
        true,
    ),
    spec(
        cluster::LEVEL_CONTROL,
        level_control::attr::START_UP_CURRENT_LEVEL,
        "StartUpCurrentLevel",
        Encoding::U8,
        true,
        true,
    ),
    spec(
        cluster::COLOR_CONTROL,
        color_control::attr::OPTIONS,
        "Options",
        Encoding::U8,
        false,
        true,
    ),
    spec(
        cluster::COLOR_CONTROL,
        color_control::attr::START_UP_COLOR_TEMPERATURE_MIREDS,
        "StartUpColorTemperatureMireds",
        Encoding::U16,
        true,
        true,
    ),
    spec(
        cluster::THERMOSTAT,
        thermostat::attr::MIN_HEAT_SETPOINT_LIMIT,
        "MinHeatSetpointLimit",
        Encoding::I16,
        false,
        true,
    ),
    spec(
        cluster::THERMOSTAT,
        thermostat::attr::MAX_HEAT_SETPOINT_LIMIT,
        "MaxHeatSetpointLimit",
        Encoding::I16,
        false,
        true,
    ),
    spec(
        cluster::THERMOSTAT,
        thermostat::attr::MIN_COOL_SETPOINT_LIMIT,
        "MinCoolSetpointLimit",
        Encoding::I16,
        false,
        true,
    ),
    spec(
        cluster::THERMOSTAT,
        thermostat::attr::MAX_COOL_SETPOINT_LIMIT,
        "MaxCoolSetpointLimit",
        Encoding::I16,
        false,
        true,
    ),
    spec(
        cluster::WINDOW_COVERING,
        window_covering::attr::MODE,
        "Mode",
        Encoding::U8,
        false,
        true,
    ),
    spec(
        cluster::WINDOW_COVERING,
        window_covering::attr::TARGET_POSITION_LIFT_PERCENT_100THS,
        "TargetPositionLiftPercent100ths",
        Encoding::U16,
        true,
        false,
    ),
];

/// Window Covering OperationalStatus (MovementStatus: 0 stopped, 1 opening, 2 closing, in the
/// Global bits 0–1 and the Lift bits 2–3): the covering moves while a lift target is set that its
/// position has not reached.
pub fn lift_status(state: &State, settings: &Settings) -> u8 {
    let target = settings
        .get(
            cluster::WINDOW_COVERING,
            window_covering::attr::TARGET_POSITION_LIFT_PERCENT_100THS,
        )
        .flatten();
    let current = state
        .position
        .map(super::convert::position_to_percent100ths);
    let movement = match (target, current) {
        // Percent100ths count closed: a larger target closes.
        (Some(t), Some(c)) if t > i64::from(c) => 2,
        (Some(t), Some(c)) if t < i64::from(c) => 1,
        _ => 0,
    };
    movement | movement << 2
}

/// The setting spec of (`cluster`, `attr`), if that attribute is stored as a setting.
pub fn setting_spec(cluster: u32, attr: u32) -> Option<&'static SettingSpec> {
    SETTINGS
        .iter()
        .find(|s| s.cluster == cluster && s.attr == attr)
}

fn key(cluster: u32, attr: u32) -> String {
    format!("{cluster:04x}/{attr:04x}")
}

fn parse_key(key: &str) -> Option<(u32, u32)> {
    let (c, a) = key.split_once('/')?;
    Some((
        u32::from_str_radix(c, 16).ok()?,
        u32::from_str_radix(a, 16).ok()?,
    ))
}

/// The settings of one device: `"<cluster hex>/<attribute hex>"` → value (`null` = the attribute
/// was written null). Absent = never written (the served default applies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Settings(BTreeMap<String, Option<i64>>);

/// Why a stored settings map was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("setting {key:?}: {reason}")]
pub struct SettingsError {
    pub key: String,
    pub reason: String,
}

impl Settings {
    /// The stored value: `None` = never written, `Some(None)` = written null.
    pub fn get(&self, cluster: u32, attr: u32) -> Option<Option<i64>> {
        self.0.get(&key(cluster, attr)).copied()
    }

    /// Stores a value (already range-checked by the write).
    pub fn set(&mut self, cluster: u32, attr: u32, value: Option<i64>) {
        self.0.insert(key(cluster, attr), value);
    }

    /// Forgets a value (the default applies again).
    pub fn clear(&mut self, cluster: u32, attr: u32) {
        self.0.remove(&key(cluster, attr));
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stored, non-null value, else `default`.
    pub fn value_or(&self, cluster: u32, attr: u32, default: i64) -> i64 {
        self.get(cluster, attr).flatten().unwrap_or(default)
    }

    /// Only the settings that survive a restart.
    pub fn persistent(&self) -> Settings {
        Settings(
            self.0
                .iter()
                .filter(|(k, _)| {
                    parse_key(k)
                        .and_then(|(c, a)| setting_spec(c, a))
                        .is_some_and(|s| s.persistent)
                })
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        )
    }

    /// Checks a stored map against `kind`: every key a setting of a cluster the kind serves, every
    /// value encodable. Used on what is read from disk.
    pub fn check(&self, kind: impl Into<Shape>) -> Result<(), SettingsError> {
        let kind = kind.into();
        for (k, v) in &self.0 {
            let err = |reason: &str| SettingsError {
                key: k.clone(),
                reason: reason.to_owned(),
            };
            let (c, a) = parse_key(k).ok_or_else(|| err("not a <cluster>/<attribute> hex key"))?;
            let spec = setting_spec(c, a).ok_or_else(|| err("not a stored setting"))?;
            if super::cluster_spec(kind, c).is_none_or(|cs| !cs.has_attribute(a)) {
                return Err(err(&format!("{kind} does not serve this attribute")));
            }
            match v {
                None if !spec.nullable => return Err(err("may not be null")),
                Some(v) if !fits(spec.encoding, *v) => return Err(err("value out of range")),
                _ => {}
            }
        }
        Ok(())
    }
}

fn fits(encoding: Encoding, v: i64) -> bool {
    match encoding {
        Encoding::U8 => (0..=0xFF).contains(&v),
        Encoding::U16 => (0..=0xFFFF).contains(&v),
        Encoding::I16 => (i16::MIN as i64..=i16::MAX as i64).contains(&v),
    }
}

/// The value a read of a stored setting answers, if one is stored.
pub fn read_setting(settings: &Settings, cluster: u32, attr: u32) -> Option<AttrValue> {
    let spec = setting_spec(cluster, attr)?;
    Some(match settings.get(cluster, attr)? {
        None => AttrValue::Null,
        Some(v) => match spec.encoding {
            Encoding::U8 => AttrValue::U8(v as u8),
            Encoding::U16 => AttrValue::U16(v as u16),
            Encoding::I16 => AttrValue::I16(v as i16),
        },
    })
}

/// The Options attribute of `cluster` (Level Control or Color Control), 0 when never written.
pub fn options(settings: &Settings, cluster: u32) -> u8 {
    let attr = match cluster {
        cluster::LEVEL_CONTROL => level_control::attr::OPTIONS,
        cluster::COLOR_CONTROL => color_control::attr::OPTIONS,
        _ => return 0,
    };
    settings.value_or(cluster, attr, 0) as u8
}

/// The state a simulated device starts in after a restart, from its last-known `state` and the
/// StartUp* settings: StartUpOnOff 0 off, 1 on, 2 toggle, null keep; StartUpCurrentLevel 0 the
/// minimum, 1..=254 that level, null keep; StartUpColorTemperatureMireds a value in the served
/// range, null keep. Only fields the kind has are touched.
pub fn start_up_patch(kind: impl Into<Shape>, state: &State, settings: &Settings) -> State {
    let kind = kind.into();
    let has = |f: &str| kind.fields().contains(&f);
    let mut patch = State::default();
    if has("on") {
        match settings.get(cluster::ON_OFF, on_off::attr::START_UP_ON_OFF) {
            Some(Some(0)) => patch.on = Some(false),
            Some(Some(1)) => patch.on = Some(true),
            Some(Some(2)) => patch.on = Some(!state.on.unwrap_or(false)),
            _ => {}
        }
    }
    if has("brightness") {
        if let Some(Some(level)) = settings.get(
            cluster::LEVEL_CONTROL,
            level_control::attr::START_UP_CURRENT_LEVEL,
        ) {
            let level = if level == 0 {
                super::limits::MIN_LEVEL
            } else {
                (level as u8).clamp(super::limits::MIN_LEVEL, super::limits::MAX_LEVEL)
            };
            patch.brightness = Some(level);
        }
    }
    if has("color_temp_mireds") {
        if let Some(Some(mireds)) = settings.get(
            cluster::COLOR_CONTROL,
            color_control::attr::START_UP_COLOR_TEMPERATURE_MIREDS,
        ) {
            patch.color_temp_mireds =
                Some((mireds as u16).clamp(super::limits::MIN_MIREDS, super::limits::MAX_MIREDS));
            patch.color_mode = Some(crate::ColorMode::ColorTemp);
        }
    }
    state.diff(&patch)
}

/// The setpoint limits in force (hundredths of °C): the written ones, else the absolute ones.
pub fn setpoint_limits(settings: &Settings) -> SetpointLimits {
    use super::limits::*;
    use thermostat::attr::*;
    let get =
        |attr, default: i16| settings.value_or(cluster::THERMOSTAT, attr, default as i64) as i16;
    SetpointLimits {
        min_heat: get(MIN_HEAT_SETPOINT_LIMIT, ABS_MIN_HEAT),
        max_heat: get(MAX_HEAT_SETPOINT_LIMIT, ABS_MAX_HEAT),
        min_cool: get(MIN_COOL_SETPOINT_LIMIT, ABS_MIN_COOL),
        max_cool: get(MAX_COOL_SETPOINT_LIMIT, ABS_MAX_COOL),
    }
}

/// Thermostat setpoint limits in hundredths of °C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetpointLimits {
    pub min_heat: i16,
    pub max_heat: i16,
    pub min_cool: i16,
    pub max_cool: i16,
}

impl Default for SetpointLimits {
    fn default() -> Self {
        setpoint_limits(&Settings::default())
    }
}

/// A read of `attr` of `cluster` on a `kind` device: the stored setting if there is one, else
/// [`super::read_attr`] (the served default or the value derived from state).
pub fn read_attr_with(
    kind: impl Into<Shape>,
    state: &State,
    settings: &Settings,
    cluster: u32,
    attr: u32,
) -> Option<AttrValue> {
    let served = super::read_attr(kind, state, cluster, attr)?;
    if (cluster, attr)
        == (
            cluster::WINDOW_COVERING,
            window_covering::attr::OPERATIONAL_STATUS,
        )
    {
        return Some(AttrValue::U8(lift_status(state, settings)));
    }
    Some(read_setting(settings, cluster, attr).unwrap_or(served))
}
