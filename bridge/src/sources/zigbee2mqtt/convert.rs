//! Value conversions between Zigbee2MQTT payloads and canonical state, per binding: on/off values,
//! brightness 0..=254 (Matter level 1..=254), mireds (clamped to the kind's range), x/y and hue/
//! saturation colour, setpoints, system mode, lock state, cover position. A state message becomes a
//! patch plus a list of the fields that were unusable (logged by the caller, never fatal); a command
//! patch becomes one `/set` payload.

use std::time::Duration;

use device_types::{AirQuality, AlarmLevel, ColorMode, LockState, State, SystemMode};
use serde_json::{json, Map, Value};

use super::mapping::{Binding, Field, Mapping};
use super::topics::ACCESS_SET;

use super::bindings::truncated;
pub use super::bindings::FieldError;

const MIREDS: (f64, f64) = (153.0, 500.0);

/// The canonical patch a state message carries for this mapping.
pub fn to_state(mapping: &Mapping, payload: &Map<String, Value>) -> (State, Vec<FieldError>) {
    let mut state = State::default();
    let mut errors = Vec::new();
    for b in &mapping.bindings {
        let Some(value) = payload.get(&b.property) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        if let Err(reason) = read(b, value, &mut state) {
            errors.push(FieldError {
                property: b.property.clone(),
                value: truncated(value),
                reason,
            });
        }
    }
    // --- fans (see `fan.rs`): the on/off, mode and speed are read together ---
    errors.extend(super::fan::read(mapping, payload, &mut state));
    // --- end fans ---
    (state, errors)
}

fn number(value: &Value) -> Result<f64, &'static str> {
    value
        .as_f64()
        .filter(|v| v.is_finite())
        .ok_or("not a number")
}

fn read(b: &Binding, value: &Value, state: &mut State) -> Result<(), &'static str> {
    match &b.field {
        Field::On { on, off } => {
            if value == on {
                state.on = Some(true);
            } else if value == off {
                state.on = Some(false);
            } else {
                return Err("neither the on nor the off value");
            }
        }
        Field::Brightness { max } => {
            let v = number(value)?;
            if v < 0.0 || v > max.max(254.0) {
                return Err("out of range 0..=254");
            }
            let scaled = if *max > 0.0 && *max != 254.0 {
                v * 254.0 / max
            } else {
                v
            };
            state.brightness = Some(scaled.round().clamp(1.0, 254.0) as u8);
        }
        Field::ColorTemp => {
            let v = number(value)?;
            if !(1.0..=1000.0).contains(&v) {
                return Err("out of range 1..=1000 mireds");
            }
            state.color_temp_mireds = Some(v.round().clamp(MIREDS.0, MIREDS.1) as u16);
        }
        Field::ColorXy => {
            let obj = value.as_object().ok_or("not an object")?;
            let (Some(x), Some(y)) = (obj.get("x"), obj.get("y")) else {
                // A colour message in hue/saturation only: nothing for x/y.
                return Ok(());
            };
            let (x, y) = (number(x)?, number(y)?);
            let max = 65279.0 / 65536.0;
            if !(0.0..=1.0).contains(&x) || !(0.0..=1.0).contains(&y) {
                return Err("x or y out of range 0..=1");
            }
            state.color_x = Some(x.min(max));
            state.color_y = Some(y.min(max));
        }
        Field::ColorHs => {
            let obj = value.as_object().ok_or("not an object")?;
            let hue = obj.get("hue").or_else(|| obj.get("h"));
            let sat = obj.get("saturation").or_else(|| obj.get("s"));
            let (Some(h), Some(s)) = (hue, sat) else {
                return Ok(());
            };
            let (h, s) = (number(h)?, number(s)?);
            if !(0.0..=360.0).contains(&h) || !(0.0..=100.0).contains(&s) {
                return Err("hue or saturation out of range");
            }
            state.hue = Some(h.round() as u16);
            state.saturation = Some(s.round() as u8);
        }
        Field::ColorMode => {
            state.color_mode = Some(match value.as_str().ok_or("not a string")? {
                "xy" => ColorMode::Xy,
                "hs" => ColorMode::Hs,
                "color_temp" => ColorMode::ColorTemp,
                _ => return Err("not xy, hs or color_temp"),
            });
        }
        Field::Contact => state.contact = Some(value.as_bool().ok_or("not a boolean")?),
        Field::Occupied => state.occupied = Some(value.as_bool().ok_or("not a boolean")?),
        Field::Temperature => {
            let v = number(value)?;
            if !(-273.15..=327.67).contains(&v) {
                return Err("out of range -273.15..=327.67 °C");
            }
            state.temperature = Some(v);
        }
        Field::Humidity => {
            let v = number(value)?;
            if !(0.0..=100.0).contains(&v) {
                return Err("out of range 0..=100 %");
            }
            state.humidity = Some(v);
        }
        Field::HeatingSetpoint => state.heating_setpoint = Some(number(value)?.clamp(7.0, 30.0)),
        Field::CoolingSetpoint => state.cooling_setpoint = Some(number(value)?.clamp(16.0, 32.0)),
        Field::SystemMode { .. } => {
            state.system_mode = Some(match value.as_str().ok_or("not a string")? {
                "off" => SystemMode::Off,
                "heat" => SystemMode::Heat,
                "cool" => SystemMode::Cool,
                "auto" => SystemMode::Auto,
                _ => return Err("not off, heat, cool or auto"),
            });
        }
        Field::LockState => {
            state.lock_state = Some(match value.as_str().ok_or("not a string")? {
                "locked" => LockState::Locked,
                "unlocked" => LockState::Unlocked,
                "not_fully_locked" => LockState::NotFullyLocked,
                _ => return Err("not locked, unlocked or not_fully_locked"),
            });
        }
        Field::LockCommand { lock, unlock } => {
            // Only when the device has no lock_state: its `state` is then what we know.
            if state.lock_state.is_none() {
                if value == lock {
                    state.lock_state = Some(LockState::Locked);
                } else if value == unlock {
                    state.lock_state = Some(LockState::Unlocked);
                } else {
                    return Err("neither the lock nor the unlock value");
                }
            }
        }
        Field::Position => {
            let v = number(value)?;
            if !(0.0..=100.0).contains(&v) {
                return Err("out of range 0..=100 %");
            }
            state.position = Some(v.round() as u8);
        }
        // Not state: see `to_event`.
        Field::Action { .. } => {}
        Field::Number { field, scale } => set_number(state, field, number(value)? * scale)?,
        Field::Flag { field } => {
            let v = value.as_bool().ok_or("not a boolean")?;
            match *field {
                "leak" => state.leak = Some(v),
                "rain" => state.rain = Some(v),
                "freeze" => state.freeze = Some(v),
                _ => state.battery_low = Some(v),
            }
        }
        Field::Alarm { field } => {
            let v = value.as_bool().ok_or("not a boolean")?;
            let level = Some(if v {
                AlarmLevel::Critical
            } else {
                AlarmLevel::Normal
            });
            match *field {
                "smoke" => state.smoke = level,
                _ => state.co = level,
            }
        }
        Field::EnumFlag { field, on, off } => {
            let v = value.as_str().ok_or("not a string")?;
            let flag = if on.iter().any(|x| x == v) {
                true
            } else if off.iter().any(|x| x == v) {
                false
            } else {
                return Err("a value that says neither yes nor no");
            };
            match *field {
                "occupied" => state.occupied = Some(flag),
                "smoke" => {
                    state.smoke = Some(if flag {
                        AlarmLevel::Critical
                    } else {
                        AlarmLevel::Normal
                    })
                }
                _ => state.battery_low = Some(flag),
            }
        }
        // Read together in `fan::read`.
        Field::FanState { .. } | Field::FanMode { .. } | Field::FanSpeed { .. } => {}
        Field::AirQuality => {
            state.air_quality = Some(match value.as_str().ok_or("not a string")? {
                "excellent" => AirQuality::Good,
                "good" => AirQuality::Fair,
                "moderate" => AirQuality::Moderate,
                "poor" => AirQuality::Poor,
                "unhealthy" => AirQuality::VeryPoor,
                "hazardous" => AirQuality::ExtremelyPoor,
                _ => return Err("not an air quality level"),
            })
        }
    }
    Ok(())
}

/// Stores a converted number in its canonical field, range-checked by device-types (a battery of
/// 120 % or a negative energy is refused, not clamped).
fn set_number(state: &mut State, field: &str, v: f64) -> Result<(), &'static str> {
    let mut patch = State::default();
    match field {
        "illuminance" => patch.illuminance = Some(v),
        "pressure" => patch.pressure = Some(v.round()),
        "flow" => patch.flow = Some(v),
        "battery" => {
            if !(0.0..=100.0).contains(&v) {
                return Err("out of range 0..=100 %");
            }
            patch.battery = Some(v.round() as u8);
        }
        "power" => patch.power = Some(v),
        "energy" => patch.energy = Some(v),
        "voltage" => patch.voltage = Some(v),
        "current" => patch.current = Some(v),
        "co2" => patch.co2 = Some(v),
        "pm25" => patch.pm25 = Some(v),
        "pm10" => patch.pm10 = Some(v),
        "tvoc" => patch.tvoc = Some(v),
        _ => patch.formaldehyde = Some(v),
    }
    if patch.to_json() == "{}" {
        return Err("not a finite number");
    }
    State::from_json(&patch.to_json()).map_err(|_| "out of range")?;
    *state = state.merged(&patch);
    Ok(())
}

/// The device event a state message's `action` carries (`Ok(None)`: no action, an empty one, or
/// an initial press whose release follows separately).
pub fn to_event(
    mapping: &Mapping,
    payload: &Map<String, Value>,
) -> Result<Option<device_types::DeviceEvent>, FieldError> {
    let Some(b) = mapping.binding(|f| matches!(f, Field::Action { .. })) else {
        return Ok(None);
    };
    let Field::Action { values } = &b.field else {
        return Ok(None);
    };
    match payload.get(&b.property) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(super::action::event_for(s, values)),
        Some(other) => Err(FieldError {
            property: b.property.clone(),
            value: truncated(other),
            reason: "not a string",
        }),
    }
}

/// The `/set` payload that stops the movement of `fields` (Matter Level Stop, Color StopMoveStep,
/// Window Covering StopMotion): `brightness_move` / `color_temp_move` / `hue_move` /
/// `saturation_move` `"stop"` for lights, `state: "STOP"` for covers — for the bindings the device
/// has.
pub fn stop_payload(mapping: &Mapping, fields: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    let has = |pred: fn(&Field) -> bool| mapping.binding(pred).is_some();
    let stop = json!("stop");
    for field in fields {
        match *field {
            "brightness" if has(|f| matches!(f, Field::Brightness { .. })) => {
                out.insert("brightness_move".into(), stop.clone());
            }
            "color_temp_mireds" if has(|f| matches!(f, Field::ColorTemp)) => {
                out.insert("color_temp_move".into(), stop.clone());
            }
            "hue" if has(|f| matches!(f, Field::ColorHs)) => {
                out.insert("hue_move".into(), stop.clone());
            }
            "saturation" if has(|f| matches!(f, Field::ColorHs)) => {
                out.insert("saturation_move".into(), stop.clone());
            }
            "position" if has(|f| matches!(f, Field::Position)) => {
                out.insert("state".into(), json!("STOP"));
            }
            _ => {}
        }
    }
    out
}

/// The `/set` payload for a command patch (fields the mapping has no settable binding for —
/// absent, or read-only in Zigbee2MQTT's access bits — are left out and returned by name, so the
/// caller can refuse or log them).
pub fn to_set(
    mapping: &Mapping,
    patch: &State,
    transition: Option<Duration>,
) -> (Map<String, Value>, Vec<&'static str>) {
    let mut out = Map::new();
    let mut missing = Vec::new();
    let prop = |pred: fn(&Field) -> bool| settable(mapping, pred).map(|b| b.property.clone());
    if let Some(on) = patch.on {
        match settable(mapping, |f| matches!(f, Field::On { .. })) {
            Some(Binding {
                property,
                field: Field::On { on: v_on, off },
                ..
            }) => {
                out.insert(
                    property.clone(),
                    if on { v_on.clone() } else { off.clone() },
                );
            }
            _ => missing.push("on"),
        }
    }
    if let Some(level) = patch.brightness {
        match settable(mapping, |f| matches!(f, Field::Brightness { .. })) {
            Some(Binding {
                property,
                field: Field::Brightness { max },
                ..
            }) => {
                let v = if *max > 0.0 && *max != 254.0 {
                    (f64::from(level) * max / 254.0).round()
                } else {
                    f64::from(level)
                };
                out.insert(property.clone(), json!(v as u64));
            }
            _ => missing.push("brightness"),
        }
    }
    if let Some(m) = patch.color_temp_mireds {
        match prop(|f| matches!(f, Field::ColorTemp)) {
            Some(p) => {
                out.insert(p, json!(m));
            }
            None => missing.push("color_temp_mireds"),
        }
    }
    if patch.hue.is_some() || patch.saturation.is_some() {
        match prop(|f| matches!(f, Field::ColorHs)) {
            Some(p) => {
                let mut c = Map::new();
                if let Some(h) = patch.hue {
                    c.insert("hue".into(), json!(h));
                }
                if let Some(s) = patch.saturation {
                    c.insert("saturation".into(), json!(s));
                }
                out.insert(p, Value::Object(c));
            }
            None => missing.push("hue"),
        }
    }
    if let (Some(x), Some(y)) = (patch.color_x, patch.color_y) {
        match prop(|f| matches!(f, Field::ColorXy)) {
            Some(p) => {
                let r = |v: f64| (v * 10_000.0).round() / 10_000.0;
                out.insert(p, json!({ "x": r(x), "y": r(y) }));
            }
            None => missing.push("color_x"),
        }
    }
    for (value, pred, name) in [
        (
            patch.heating_setpoint,
            (|f: &Field| matches!(f, Field::HeatingSetpoint)) as fn(&Field) -> bool,
            "heating_setpoint",
        ),
        (
            patch.cooling_setpoint,
            |f: &Field| matches!(f, Field::CoolingSetpoint),
            "cooling_setpoint",
        ),
    ] {
        if let Some(v) = value {
            match prop(pred) {
                Some(p) => {
                    out.insert(p, json!(v));
                }
                None => missing.push(name),
            }
        }
    }
    if let Some(mode) = patch.system_mode {
        // Only a mode the device lists (a TRV without `cool` is not sent one).
        match settable(mapping, |f| matches!(f, Field::SystemMode { .. })) {
            Some(Binding {
                property,
                field: Field::SystemMode { values },
                ..
            }) if values.is_empty() || values.iter().any(|v| v == mode.as_str()) => {
                out.insert(property.clone(), json!(mode.as_str()));
            }
            _ => missing.push("system_mode"),
        }
    }
    if let Some(lock) = patch.lock_state {
        match settable(mapping, |f| matches!(f, Field::LockCommand { .. })) {
            Some(Binding {
                property,
                field: Field::LockCommand { lock: l, unlock: u },
                ..
            }) if lock != LockState::NotFullyLocked => {
                let v = if lock == LockState::Locked { l } else { u };
                out.insert(property.clone(), v.clone());
            }
            _ => missing.push("lock_state"),
        }
    }
    if let Some(p) = patch.position {
        match prop(|f| matches!(f, Field::Position)) {
            Some(prop) => {
                out.insert(prop, json!(p));
            }
            None => missing.push("position"),
        }
    }
    // --- fans (see `fan.rs`) ---
    super::fan::to_set(mapping, patch, &mut out, &mut missing);
    // --- end fans ---
    if let (Some(t), false) = (transition, out.is_empty()) {
        out.insert("transition".into(), json!(t.as_secs_f64()));
    }
    (out, missing)
}

/// The binding of a canonical field if the device takes it in `/set` (access bit 2): a property
/// Zigbee2MQTT only reports is not a way to command the device.
fn settable(mapping: &Mapping, pred: impl Fn(&Field) -> bool) -> Option<&Binding> {
    mapping
        .bindings
        .iter()
        .find(|b| b.access & ACCESS_SET != 0 && pred(&b.field))
}
