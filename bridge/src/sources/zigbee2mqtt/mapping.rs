//! From a device's `definition.exposes` to a device kind and the bindings between Zigbee2MQTT
//! properties and canonical state fields. Features are matched by `property` (never by `name`), units
//! are read from `unit`, contact's inverted `value_on` is respected.
//!
//! The most specific function becomes the device's kind (light, switch, lock, climate, cover, then
//! contact, occupancy, leak, rain, smoke, CO, temperature, humidity, illuminance, air quality,
//! pressure, flow, and last `action`: a remote or button becomes a generic switch whose actions are
//! device events, see `action.rs`); the other functions join the same endpoint through `with` where
//! they fit (another sensor kind; `battery` / `battery_low` → battery; power, energy, voltage,
//! current → electrical; co2, pm25, pm10, voc, formaldehyd → the concentrations, with an air quality
//! sensor). Units are converted (pressure kPa/hPa, energy Wh/kWh, voltage mV/V, current mA/A,
//! formaldehyde mg/m³); what has no place on the shape, or that nothing serves yet, is listed as
//! unmapped —
//! never silently dropped.

use device_types::{DeviceKind, Shape, With};
use serde_json::Value;

use super::topics::{Expose, ACCESS_SET};

pub use super::bindings::{Binding, Field, Mapping};

/// Exposes that are not device functions (not counted as unmapped).
pub fn is_housekeeping(property: &str) -> bool {
    matches!(
        property,
        "linkquality" | "update" | "update_available" | "identify" | "effect"
    )
}

/// A function found in the exposes: a kind candidate and its bindings.
struct Function {
    kind: DeviceKind,
    rank: u8,
    /// As a `with` entry: the kind's name and/or the capabilities it needs.
    adds: &'static [&'static str],
    bindings: Vec<Binding>,
    /// The expose properties it consumed.
    consumed: Vec<String>,
}

/// Maps a device's exposes. `None` when nothing maps onto a kind.
pub fn map(exposes: &[Expose]) -> Option<Mapping> {
    map_inner(exposes, false)
}

/// The mapping of a composed device's own exposes (those without an endpoint, see `parts.rs`)
/// when they have no function of their own: a `bridged_node` container with what fits on it
/// (battery, mains, a meter of the whole device); the rest is unmapped.
pub fn map_container(exposes: &[Expose]) -> Mapping {
    map_inner(exposes, true).unwrap_or(Mapping {
        kind: DeviceKind::BridgedNode,
        with: With::NONE,
        bindings: Vec::new(),
        unmapped: Vec::new(),
    })
}

fn map_inner(exposes: &[Expose], container: bool) -> Option<Mapping> {
    let mut functions: Vec<Function> = Vec::new();
    let mut all: Vec<String> = Vec::new();
    let has = |p: &str| exposes.iter().any(|e| e.property.as_deref() == Some(p));
    // On a battery device without a meter, `voltage` is the battery's, not a mains measurement.
    let battery_voltage = has("battery") && !(has("power") || has("current") || has("energy"));
    for e in exposes {
        let label = expose_label(e);
        if !label.is_empty() && !all.contains(&label) {
            all.push(label.clone());
        }
        if battery_voltage && e.property.as_deref() == Some("voltage") {
            continue;
        }
        if let Some(f) = function_of(e) {
            functions.push(f);
        }
    }
    let primary = if container {
        Function {
            kind: DeviceKind::BridgedNode,
            rank: 0,
            adds: &[],
            bindings: Vec::new(),
            consumed: Vec::new(),
        }
    } else {
        // Most specific first; among equals, the first in expose order.
        let best = functions
            .iter()
            .enumerate()
            .min_by_key(|(i, f)| (f.rank, *i))
            .map(|(i, _)| i)?;
        let primary = functions.swap_remove(best);
        if primary.rank >= CAPABILITY_RANK {
            // Only a battery or a meter: no function of its own to bridge.
            return None;
        }
        primary
    };
    let kind = primary.kind;
    let mut with = With::NONE;
    let mut bindings = primary.bindings;
    let mut consumed = primary.consumed;
    // The other functions join the endpoint through `with` where they fit (no overlapping
    // clusters or fields); concentrations bring an air quality sensor with them.
    functions.sort_by_key(|f| f.rank);
    let mut names: Vec<&'static str> = Vec::new();
    for f in functions {
        let mut tried = names.clone();
        for n in f.adds.iter().filter(|n| **n != kind.as_str()) {
            if !tried.contains(n) {
                tried.push(n);
            }
        }
        // Two exposes for one canonical field (`occupancy` and `presence`, `battery_low` and
        // `battery_state`): the first (most specific) keeps it, the other stays unmapped.
        let taken = |b: &Binding| {
            b.field
                .fields()
                .iter()
                .any(|x| bindings.iter().any(|o| o.field.fields().contains(x)))
        };
        if f.bindings.iter().any(taken) {
            continue;
        }
        if let Ok(shape) = Shape::parse(kind, &tried) {
            names = tried;
            with = shape.with;
            bindings.extend(f.bindings);
            consumed.extend(f.consumed);
        }
    }
    // A fan advertises Auto only when it has a mode that runs itself.
    if super::fan::has_auto(&bindings) {
        if let Ok(shape) = Shape::new(kind, with.and(device_types::Capability::FanAuto)) {
            with = shape.with;
        }
    }
    let unmapped = all
        .into_iter()
        .filter(|p| !consumed.contains(p) && !is_housekeeping(p))
        .collect();
    Some(Mapping {
        kind,
        with,
        bindings,
        unmapped,
    })
}

/// How an expose is named in the unmapped list and the coverage figures: its property, else its
/// name, else its type (a specific expose with features lists as `type` or `type_<endpoint>`).
pub fn expose_label(e: &Expose) -> String {
    if !e.features.is_empty() {
        return match &e.endpoint {
            Some(ep) => format!("{}_{ep}", e.kind),
            None => e.kind.clone(),
        };
    }
    e.property
        .clone()
        .or_else(|| e.name.clone())
        .unwrap_or_else(|| e.kind.clone())
}

fn binding(e: &Expose, field: Field) -> Option<Binding> {
    Some(Binding {
        property: e.property.clone()?,
        field,
        access: e.access,
    })
}

/// The feature of a specific expose whose property, with the expose's endpoint suffix removed, is `base`.
fn feature<'a>(parent: &'a Expose, base: &str) -> Option<&'a Expose> {
    parent.features.iter().find(|f| {
        let Some(p) = f.property.as_deref() else {
            return false;
        };
        match &parent.endpoint {
            Some(ep) => p == base || p.strip_suffix(&format!("_{ep}")) == Some(base),
            None => p == base,
        }
    })
}

fn function_of(e: &Expose) -> Option<Function> {
    let mut bindings = Vec::new();
    let (kind, rank) = match e.kind.as_str() {
        "light" => {
            let state = feature(e, "state")?;
            bindings.push(on_binding(state)?);
            let mut kind = DeviceKind::OnOffLight;
            if let Some(b) = feature(e, "brightness") {
                let max = b.value_max.unwrap_or(254.0);
                bindings.extend(binding(b, Field::Brightness { max }));
                kind = DeviceKind::DimmableLight;
            }
            let ct = feature(e, "color_temp");
            let colours: Vec<&Expose> = e
                .features
                .iter()
                .filter(|f| f.kind == "composite" && f.features.len() >= 2)
                .filter(|f| {
                    f.property
                        .as_deref()
                        .is_some_and(|p| p == "color" || p.starts_with("color_"))
                })
                .collect();
            let has = |f: &Expose, a: &str, b: &str| {
                f.features.iter().any(|x| x.property.as_deref() == Some(a))
                    && f.features.iter().any(|x| x.property.as_deref() == Some(b))
            };
            let xy = colours.iter().find(|f| has(f, "x", "y"));
            let hs = colours.iter().find(|f| has(f, "hue", "saturation"));
            if let Some(ct) = ct {
                bindings.extend(binding(ct, Field::ColorTemp));
                if kind == DeviceKind::DimmableLight {
                    kind = DeviceKind::ColorTemperatureLight;
                }
            }
            if let Some(f) = xy {
                bindings.extend(binding(f, Field::ColorXy));
            }
            if let Some(f) = hs {
                bindings.extend(binding(f, Field::ColorHs));
            }
            if (xy.is_some() || hs.is_some()) && kind != DeviceKind::OnOffLight {
                kind = DeviceKind::ExtendedColorLight;
            }
            if kind == DeviceKind::ColorTemperatureLight || kind == DeviceKind::ExtendedColorLight {
                let mode = match &e.endpoint {
                    Some(ep) => format!("color_mode_{ep}"),
                    None => "color_mode".to_owned(),
                };
                bindings.push(Binding {
                    property: mode,
                    field: Field::ColorMode,
                    access: 1,
                });
            }
            if kind == DeviceKind::OnOffLight {
                // An on/off light that only has colour cannot be shown as one in Matter: keep on/off.
                bindings.retain(|b| matches!(b.field, Field::On { .. }));
            }
            (kind, 0)
        }
        "switch" => {
            bindings.push(on_binding(feature(e, "state")?)?);
            (DeviceKind::OnOffPlugInUnit, 1)
        }
        "lock" => {
            let state = feature(e, "state")?;
            let (lock, unlock) = (state.value_on.clone()?, state.value_off.clone()?);
            bindings.extend(binding(state, Field::LockCommand { lock, unlock }));
            if let Some(ls) = feature(e, "lock_state") {
                bindings.extend(binding(ls, Field::LockState));
            }
            (DeviceKind::DoorLock, 1)
        }
        "climate" => {
            let local = feature(e, "local_temperature")?;
            bindings.extend(binding(local, Field::Temperature));
            let heat = feature(e, "occupied_heating_setpoint")
                .or_else(|| feature(e, "current_heating_setpoint"));
            bindings.extend(heat.and_then(|h| binding(h, Field::HeatingSetpoint)));
            bindings.extend(
                feature(e, "occupied_cooling_setpoint")
                    .and_then(|c| binding(c, Field::CoolingSetpoint)),
            );
            bindings.extend(feature(e, "system_mode").and_then(|m| {
                let values = m
                    .values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                binding(m, Field::SystemMode { values })
            }));
            if bindings.len() < 2 {
                return None;
            }
            (DeviceKind::Thermostat, 1)
        }
        // --- fans (see `fan.rs`) ---
        "fan" => {
            bindings = super::fan::bindings(|base| feature(e, base))?;
            (DeviceKind::Fan, 1)
        }
        // --- end fans ---
        "cover" => {
            let position = feature(e, "position")?;
            if position.access & ACCESS_SET == 0 {
                return None;
            }
            bindings.extend(binding(position, Field::Position));
            (DeviceKind::WindowCovering, 1)
        }
        "binary" => {
            let property = e.property.as_deref()?;
            match property {
                "contact" => {
                    bindings.extend(binding(e, Field::Contact));
                    (DeviceKind::ContactSensor, 2)
                }
                "occupancy" | "presence" => {
                    bindings.extend(binding(e, Field::Occupied));
                    (DeviceKind::OccupancySensor, 2)
                }
                "water_leak" => flag(e, &mut bindings, "leak", DeviceKind::WaterLeakDetector, 2),
                "rain" => flag(e, &mut bindings, "rain", DeviceKind::RainSensor, 2),
                "smoke" => {
                    bindings.extend(binding(e, Field::Alarm { field: "smoke" }));
                    (DeviceKind::SmokeAlarm, 2)
                }
                "carbon_monoxide" => {
                    bindings.extend(binding(e, Field::Alarm { field: "co" }));
                    (DeviceKind::CoAlarm, 2)
                }
                "battery_low" => {
                    bindings.extend(binding(
                        e,
                        Field::Flag {
                            field: "battery_low",
                        },
                    ));
                    return capability(e, bindings, &["battery"]);
                }
                _ => return None,
            }
        }
        "numeric" => {
            let property = e.property.as_deref()?;
            match property {
                "temperature" if e.unit.as_deref().is_none_or(|u| u == "°C") => {
                    bindings.extend(binding(e, Field::Temperature));
                    (DeviceKind::TemperatureSensor, 3)
                }
                "humidity" => {
                    bindings.extend(binding(e, Field::Humidity));
                    (DeviceKind::HumiditySensor, 4)
                }
                // The room temperature an air conditioner without a `climate` expose measures
                // (Tuya ACs): a temperature sensor, as it is; a thermostat's own is
                // `local_temperature` and this one then stays unmapped (one temperature per endpoint).
                "current_temperature" if e.unit.as_deref() == Some("°C") => {
                    bindings.extend(binding(e, Field::Temperature));
                    (DeviceKind::TemperatureSensor, 3)
                }
                _ => return numeric(e, bindings),
            }
        }
        // A device whose only function is its buttons is a generic switch (any other function
        // wins, and the action is then listed as unmapped).
        "enum" if e.property.as_deref() == Some("action") => {
            let values = e
                .values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            bindings.extend(binding(e, Field::Action { values }));
            (DeviceKind::GenericSwitch, 8)
        }
        "enum" if e.property.as_deref() == Some("air_quality") => {
            bindings.extend(binding(e, Field::AirQuality));
            (DeviceKind::AirQualitySensor, 5)
        }
        // --- enum-valued generic exposes ---
        "enum" => {
            let (b, kind) = super::enums::enum_flag(e)?;
            bindings.push(b);
            match kind {
                Some(k) => k,
                None => return capability(e, bindings, &["battery"]),
            }
        }
        // --- end enum-valued generic exposes ---
        _ => return None,
    };
    let mut consumed = vec![expose_label(e)];
    if !e.features.is_empty() {
        // A specific expose is mapped as a whole when its main feature is.
        consumed.extend(e.features.iter().filter_map(|f| f.property.clone()));
    }
    Some(Function {
        kind,
        rank,
        adds: kind_name(kind),
        bindings,
        consumed,
    })
}

/// The `with` entry naming a kind.
fn kind_name(kind: DeviceKind) -> &'static [&'static str] {
    DeviceKind::ALL
        .iter()
        .position(|k| *k == kind)
        .map(|i| std::slice::from_ref(&KIND_NAMES[i]))
        .unwrap_or(&[])
}

/// Every kind's name, in `DeviceKind::ALL` order (borrowable as a one-entry slice).
static KIND_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| DeviceKind::ALL.iter().map(|k| k.as_str()).collect());

fn flag(
    e: &Expose,
    bindings: &mut Vec<Binding>,
    field: &'static str,
    kind: DeviceKind,
    rank: u8,
) -> (DeviceKind, u8) {
    bindings.extend(binding(e, Field::Flag { field }));
    (kind, rank)
}

/// A function that can only be a `with` capability (battery, electrical, concentrations): it
/// never becomes the device's kind on its own (rank 9, after every kind), except that
/// concentrations make an air quality sensor.
fn capability(
    e: &Expose,
    bindings: Vec<Binding>,
    adds: &'static [&'static str],
) -> Option<Function> {
    if bindings.is_empty() {
        return None;
    }
    let air = adds.contains(&"air_quality_sensor");
    Some(Function {
        kind: if air {
            DeviceKind::AirQualitySensor
        } else {
            // Placeholder kind for ranking only: a capability alone maps to nothing.
            DeviceKind::OnOffPlugInUnit
        },
        rank: if air { 6 } else { CAPABILITY_RANK },
        adds,
        bindings,
        consumed: vec![expose_label(e)],
    })
}

/// The rank of a function that is only a capability (never the device's kind).
const CAPABILITY_RANK: u8 = 9;

/// The generic numeric exposes besides temperature and humidity, with their units.
fn numeric(e: &Expose, mut bindings: Vec<Binding>) -> Option<Function> {
    let unit = e.unit.as_deref().unwrap_or("");
    let mut num = |field: &'static str, scale: f64| {
        bindings.extend(binding(e, Field::Number { field, scale }));
    };
    let property = e.property.as_deref()?;
    let (kind, rank) = match (property, unit) {
        ("illuminance_lux", _) | ("illuminance", "lx") => {
            num("illuminance", 1.0);
            (DeviceKind::LightSensor, 5)
        }
        ("pressure", "hPa" | "mbar") => {
            num("pressure", 1.0);
            (DeviceKind::PressureSensor, 6)
        }
        ("pressure", "kPa") => {
            num("pressure", 10.0);
            (DeviceKind::PressureSensor, 6)
        }
        ("flow", "m³/h") => {
            num("flow", 1.0);
            (DeviceKind::FlowSensor, 6)
        }
        ("battery", "%") => {
            num("battery", 1.0);
            return capability(e, bindings, &["battery"]);
        }
        ("power", "W") => {
            num("power", 1.0);
            return capability(e, bindings, &["electrical"]);
        }
        ("energy", "kWh") | ("energy", "Wh") => {
            num("energy", if unit == "Wh" { 0.001 } else { 1.0 });
            return capability(e, bindings, &["electrical"]);
        }
        ("voltage", "V" | "mV") if e.access & ACCESS_SET == 0 => {
            num("voltage", if unit == "mV" { 0.001 } else { 1.0 });
            return capability(e, bindings, &["electrical"]);
        }
        ("current", "A" | "mA") => {
            num("current", if unit == "mA" { 0.001 } else { 1.0 });
            return capability(e, bindings, &["electrical"]);
        }
        ("co2", "ppm") => {
            num("co2", 1.0);
            return capability(e, bindings, &["air_quality_sensor", "co2"]);
        }
        ("pm25", "µg/m³") => {
            num("pm25", 1.0);
            return capability(e, bindings, &["air_quality_sensor", "pm25"]);
        }
        ("pm10", "µg/m³") => {
            num("pm10", 1.0);
            return capability(e, bindings, &["air_quality_sensor", "pm10"]);
        }
        ("voc", "ppb") => {
            num("tvoc", 1.0);
            return capability(e, bindings, &["air_quality_sensor", "tvoc"]);
        }
        ("formaldehyd" | "formaldehyde", "mg/m³") => {
            num("formaldehyde", 1000.0);
            return capability(e, bindings, &["air_quality_sensor", "formaldehyde"]);
        }
        ("formaldehyd" | "formaldehyde", "µg/m³") => {
            num("formaldehyde", 1.0);
            return capability(e, bindings, &["air_quality_sensor", "formaldehyde"]);
        }
        _ => return None,
    };
    Some(Function {
        kind,
        rank,
        adds: kind_name(kind),
        bindings,
        consumed: vec![expose_label(e)],
    })
}

fn on_binding(state: &Expose) -> Option<Binding> {
    let on = state.value_on.clone().unwrap_or(Value::from("ON"));
    let off = state.value_off.clone().unwrap_or(Value::from("OFF"));
    binding(state, Field::On { on, off })
}
