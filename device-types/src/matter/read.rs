//! Attribute reads: canonical state → Matter attribute values, and which attributes a change touches.
//!
//! Nullable attributes (CurrentLevel, LocalTemperature, MeasuredValue, LockState, the window
//! covering positions) read `Null` while their state field is unset. Non-nullable ones fall
//! back to the kind's [`DeviceKind::default_state`]. Attributes with no canonical field read
//! their fixed value (see [`super::limits`]); the writable ones among them (Options, OnLevel,
//! OnTime, ...) read their default because writes to them are accepted but not stored.

use super::convert::*;
use super::ids::{self, cluster};
use super::limits;
use super::spec::{cluster_spec, color_feature};
use super::AttrValue::{self, *};
use crate::{ColorMode, DeviceKind, LockState, Shape, State, SystemMode};

/// The value of `attr` of `cluster` on a `kind` endpoint in `state`, or `None` if the kind's
/// [`crate::ClusterSpec`] does not serve it (global attributes are the bridge's business).
///
/// Identify's IdentifyTime reads 0 here: the countdown is bridge-side state (started by the
/// Identify command or a write), so the bridge should serve that attribute itself.
pub fn read_attr(
    shape: impl Into<Shape>,
    state: &State,
    cluster: u32,
    attr: u32,
) -> Option<AttrValue> {
    let shape = shape.into();
    let spec = cluster_spec(shape, cluster)?;
    if !spec.has_attribute(attr) {
        return None;
    }
    let eff = shape.default_state().merged(state);
    match cluster {
        cluster::IDENTIFY => identify(shape.kind, attr),
        cluster::GROUPS => match attr {
            // NameSupport: GroupNames (bit 7), matching the GroupNames feature.
            ids::groups::attr::NAME_SUPPORT => Some(U8(0x80)),
            _ => None,
        },
        cluster::ON_OFF => on_off(&eff, attr),
        cluster::LEVEL_CONTROL => level(state, attr),
        cluster::COLOR_CONTROL => color(spec.feature_map, &eff, attr),
        cluster::BOOLEAN_STATE => match attr {
            ids::boolean_state::attr::STATE_VALUE => Some(Bool(boolean_value(shape, &eff)?)),
            _ => None,
        },
        cluster::OCCUPANCY_SENSING => occupancy(&eff, attr),
        cluster::TEMPERATURE_MEASUREMENT => temperature(state, attr),
        cluster::RELATIVE_HUMIDITY_MEASUREMENT => humidity(state, attr),
        cluster::THERMOSTAT => thermostat(state, &eff, attr),
        cluster::DOOR_LOCK => door_lock(state, attr),
        cluster::WINDOW_COVERING => window_covering(state, attr),
        cluster::SWITCH => super::switch::read(attr),
        // Scenes Management is node state (the scene table), served by the bridge.
        cluster::SCENES_MANAGEMENT => None,
        _ => super::read_more::read(spec, state, &eff, cluster, attr),
    }
}

/// The state field behind Boolean State's StateValue on this shape: `contact`, `leak`, `freeze`
/// or `rain` (at most one applies: two would put Boolean State on the endpoint twice).
pub(crate) fn boolean_field(shape: Shape) -> Option<&'static str> {
    ["contact", "leak", "freeze", "rain"]
        .into_iter()
        .find(|f| shape.fields().contains(f))
}

/// StateValue: the boolean field's value (true = closed contact / water / freezing / rain).
pub(crate) fn boolean_value(shape: Shape, eff: &State) -> Option<bool> {
    Some(match boolean_field(shape)? {
        "contact" => eff.contact.unwrap_or(false),
        "leak" => eff.leak.unwrap_or(false),
        "freeze" => eff.freeze.unwrap_or(false),
        _ => eff.rain.unwrap_or(false),
    })
}

/// Every served (cluster, attribute) whose value differs between `old` and `new`, in spec
/// order: the attributes to report to subscribers after a change.
pub fn changed_attrs(shape: impl Into<Shape>, old: &State, new: &State) -> Vec<(u32, u32)> {
    let shape = shape.into();
    let mut out = Vec::new();
    for spec in shape.clusters() {
        for &attr in spec.attributes {
            if read_attr(shape, old, spec.id, attr) != read_attr(shape, new, spec.id, attr) {
                out.push((spec.id, attr));
            }
        }
    }
    out
}

fn identify(kind: DeviceKind, attr: u32) -> Option<AttrValue> {
    use ids::identify::attr::*;
    match attr {
        IDENTIFY_TIME => Some(U16(0)),
        // IdentifyTypeEnum: LightOutput (1) for lights, None (0) for everything else.
        IDENTIFY_TYPE => Some(U8(match kind {
            // IdentifyTypeEnum AudibleBeep (3) for alarms.
            DeviceKind::SmokeAlarm | DeviceKind::CoAlarm | DeviceKind::SmokeCoAlarm => 3,
            DeviceKind::OnOffLight
            | DeviceKind::DimmableLight
            | DeviceKind::ColorTemperatureLight
            | DeviceKind::ExtendedColorLight => 1,
            _ => 0,
        })),
        _ => None,
    }
}

fn on_off(eff: &State, attr: u32) -> Option<AttrValue> {
    use ids::on_off::attr::*;
    match attr {
        ON_OFF => Some(Bool(eff.on.unwrap_or(false))),
        // No scene storage: the global scene is simply the retained state, always "recalled".
        GLOBAL_SCENE_CONTROL => Some(Bool(true)),
        ON_TIME | OFF_WAIT_TIME => Some(U16(0)),
        // Null: restore the previous on/off state at start-up.
        START_UP_ON_OFF => Some(Null),
        _ => None,
    }
}

fn level(state: &State, attr: u32) -> Option<AttrValue> {
    use ids::level_control::attr::*;
    match attr {
        CURRENT_LEVEL => Some(state.brightness.map_or(Null, |b| U8(level_to_matter(b)))),
        REMAINING_TIME | ON_OFF_TRANSITION_TIME => Some(U16(0)),
        MIN_LEVEL => Some(U8(limits::MIN_LEVEL)),
        MAX_LEVEL => Some(U8(limits::MAX_LEVEL)),
        OPTIONS => Some(U8(0)),
        // Null: "on" restores the previous level; null start-up level: the previous level.
        ON_LEVEL | START_UP_CURRENT_LEVEL => Some(Null),
        _ => None,
    }
}

/// Matter ColorModeEnum (= EnhancedColorModeEnum for these three).
pub(crate) fn color_mode_value(mode: ColorMode) -> u8 {
    match mode {
        ColorMode::Hs => 0,
        ColorMode::Xy => 1,
        ColorMode::ColorTemp => 2,
    }
}

fn color(features: u32, eff: &State, attr: u32) -> Option<AttrValue> {
    use ids::color_control::attr::*;
    let mode = if features & (color_feature::HS | color_feature::XY) == 0 {
        ColorMode::ColorTemp
    } else {
        eff.color_mode.unwrap_or(ColorMode::ColorTemp)
    };
    match attr {
        CURRENT_HUE => Some(U8(hue_to_matter(eff.hue.unwrap_or(0)))),
        CURRENT_SATURATION => Some(U8(saturation_to_matter(eff.saturation.unwrap_or(0)))),
        REMAINING_TIME => Some(U16(0)),
        CURRENT_X => Some(U16(xy_to_matter(eff.color_x.unwrap_or(0.0)))),
        CURRENT_Y => Some(U16(xy_to_matter(eff.color_y.unwrap_or(0.0)))),
        COLOR_TEMPERATURE_MIREDS => Some(U16(eff
            .color_temp_mireds
            .unwrap_or(limits::MIN_MIREDS)
            .clamp(limits::MIN_MIREDS, limits::MAX_MIREDS))),
        COLOR_MODE | ENHANCED_COLOR_MODE => Some(U8(color_mode_value(mode))),
        OPTIONS => Some(U8(0)),
        NUMBER_OF_PRIMARIES => Some(U8(0)),
        // ColorCapabilities mirrors the feature bits (HS 0x01, XY 0x08, CT 0x10).
        COLOR_CAPABILITIES => Some(U16(features as u16)),
        COLOR_TEMP_PHYSICAL_MIN_MIREDS | COUPLE_COLOR_TEMP_TO_LEVEL_MIN_MIREDS => {
            Some(U16(limits::MIN_MIREDS))
        }
        COLOR_TEMP_PHYSICAL_MAX_MIREDS => Some(U16(limits::MAX_MIREDS)),
        // Null: keep the previous colour temperature at start-up.
        START_UP_COLOR_TEMPERATURE_MIREDS => Some(Null),
        _ => None,
    }
}

fn occupancy(eff: &State, attr: u32) -> Option<AttrValue> {
    use ids::occupancy_sensing::attr::*;
    match attr {
        OCCUPANCY => Some(U8(u8::from(eff.occupied.unwrap_or(false)))),
        // OccupancySensorTypeEnum PIR (0), OccupancySensorTypeBitmap PIR (bit 0).
        OCCUPANCY_SENSOR_TYPE => Some(U8(0)),
        OCCUPANCY_SENSOR_TYPE_BITMAP => Some(U8(0x01)),
        _ => None,
    }
}

fn temperature(state: &State, attr: u32) -> Option<AttrValue> {
    use ids::measurement::attr::*;
    match attr {
        MEASURED_VALUE => Some(
            state
                .temperature
                .map_or(Null, |t| I16(temperature_to_matter(t))),
        ),
        // The bridged sensor's range is unknown: null is the spec's "not known".
        MIN_MEASURED_VALUE | MAX_MEASURED_VALUE => Some(Null),
        _ => None,
    }
}

fn humidity(state: &State, attr: u32) -> Option<AttrValue> {
    use ids::measurement::attr::*;
    match attr {
        MEASURED_VALUE => Some(state.humidity.map_or(Null, |h| U16(humidity_to_matter(h)))),
        MIN_MEASURED_VALUE => Some(U16(0)),
        MAX_MEASURED_VALUE => Some(U16(limits::MAX_HUMIDITY)),
        _ => None,
    }
}

/// Matter SystemModeEnum value.
pub(crate) fn system_mode_value(mode: SystemMode) -> u8 {
    match mode {
        SystemMode::Off => 0,
        SystemMode::Auto => 1,
        SystemMode::Cool => 3,
        SystemMode::Heat => 4,
    }
}

fn thermostat(state: &State, eff: &State, attr: u32) -> Option<AttrValue> {
    use ids::thermostat::attr::*;
    let temp = |c: Option<f64>| I16(temperature_to_matter(c.unwrap_or(0.0)));
    match attr {
        LOCAL_TEMPERATURE => Some(
            state
                .temperature
                .map_or(Null, |t| I16(temperature_to_matter(t))),
        ),
        ABS_MIN_HEAT_SETPOINT_LIMIT | MIN_HEAT_SETPOINT_LIMIT => Some(I16(limits::ABS_MIN_HEAT)),
        ABS_MAX_HEAT_SETPOINT_LIMIT | MAX_HEAT_SETPOINT_LIMIT => Some(I16(limits::ABS_MAX_HEAT)),
        ABS_MIN_COOL_SETPOINT_LIMIT | MIN_COOL_SETPOINT_LIMIT => Some(I16(limits::ABS_MIN_COOL)),
        ABS_MAX_COOL_SETPOINT_LIMIT | MAX_COOL_SETPOINT_LIMIT => Some(I16(limits::ABS_MAX_COOL)),
        OCCUPIED_COOLING_SETPOINT => Some(temp(eff.cooling_setpoint)),
        OCCUPIED_HEATING_SETPOINT => Some(temp(eff.heating_setpoint)),
        MIN_SETPOINT_DEAD_BAND => Some(I8(limits::DEADBAND_TENTHS)),
        // ControlSequenceOfOperationEnum CoolingAndHeating.
        CONTROL_SEQUENCE_OF_OPERATION => Some(U8(4)),
        SYSTEM_MODE => Some(U8(system_mode_value(
            eff.system_mode.unwrap_or(SystemMode::Off),
        ))),
        _ => None,
    }
}

/// Matter LockStateEnum value.
pub(crate) fn lock_state_value(s: LockState) -> u8 {
    match s {
        LockState::NotFullyLocked => 0,
        LockState::Locked => 1,
        LockState::Unlocked => 2,
    }
}

fn door_lock(state: &State, attr: u32) -> Option<AttrValue> {
    use ids::door_lock::attr::*;
    match attr {
        LOCK_STATE => Some(state.lock_state.map_or(Null, |s| U8(lock_state_value(s)))),
        // LockTypeEnum DeadBolt.
        LOCK_TYPE => Some(U8(0)),
        ACTUATOR_ENABLED => Some(Bool(true)),
        // OperatingModeEnum Normal.
        OPERATING_MODE => Some(U8(0)),
        // A 0 bit means "supported": Normal (bit 0) and NoRemoteLockUnlock (bit 3) — the two the
        // spec makes mandatory — with the reserved bits 5..=15 set as the spec requires.
        SUPPORTED_OPERATING_MODES => Some(U16(0xFFF6)),
        _ => None,
    }
}

fn window_covering(state: &State, attr: u32) -> Option<AttrValue> {
    use ids::window_covering::attr::*;
    let pos100 = || {
        state
            .position
            .map_or(Null, |p| U16(position_to_percent100ths(p)))
    };
    match attr {
        // Type RollerShade; EndProductType RollerShade.
        TYPE | END_PRODUCT_TYPE => Some(U8(0)),
        // ConfigStatus: Operational (bit 0) | LiftPositionAware (bit 3).
        CONFIG_STATUS => Some(U8(0x09)),
        CURRENT_POSITION_LIFT_PERCENTAGE => Some(
            state
                .position
                .map_or(Null, |p| U8(position_to_percent_closed(p))),
        ),
        // Stopped unless a lift target is running (see `settings::lift_status`).
        OPERATIONAL_STATUS => Some(U8(0)),
        TARGET_POSITION_LIFT_PERCENT_100THS | CURRENT_POSITION_LIFT_PERCENT_100THS => {
            Some(pos100())
        }
        MODE => Some(U8(0)),
        _ => None,
    }
}
