//! From a device's `definition.exposes` to a device kind and the bindings between Zigbee2MQTT
//! properties and canonical state fields. Features are matched by `property` (never by `name`), units
//! are read from `unit`, contact's inverted `value_on` is respected.
//!
//! The most specific function becomes the device's kind (light, switch, lock, climate, cover, then
//! contact, occupancy, temperature, humidity, and last `action`: a remote or button becomes a
//! generic switch whose actions are device events, see `action.rs`); what else the device exposes that has no place on
//! that kind, or that no kind serves yet, is listed as unmapped — never silently dropped.

use device_types::DeviceKind;
use serde_json::Value;

use super::topics::{Expose, ACCESS_GET, ACCESS_SET};

/// Which canonical field a Zigbee2MQTT property feeds, and how.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// `state` of a light or switch; the values that mean on and off.
    On {
        on: Value,
        off: Value,
    },
    /// 0..=`max` (254 for lights).
    Brightness {
        max: f64,
    },
    /// Mireds.
    ColorTemp,
    /// `color` composite with `x`, `y`.
    ColorXy,
    /// `color` composite with `hue`, `saturation`.
    ColorHs,
    /// `color_mode` (`xy`, `hs`, `color_temp`).
    ColorMode,
    /// Contact: the payload's boolean is `true` when closed, as the canonical field.
    Contact,
    Occupied,
    /// °C.
    Temperature,
    /// %RH.
    Humidity,
    HeatingSetpoint,
    CoolingSetpoint,
    SystemMode,
    /// `lock_state` enum (`locked`, `unlocked`, `not_fully_locked`).
    LockState,
    /// A lock's `state` binary (`LOCK` / `UNLOCK`): how commands are sent.
    LockCommand {
        lock: Value,
        unlock: Value,
    },
    /// Cover position, percent open.
    Position,
    /// `action`: button gestures, published once per press; they become device events, not
    /// state. The enum's values, for telling a press from its separately reported release.
    Action {
        values: Vec<String>,
    },
}

/// One Zigbee2MQTT property bound to a canonical field.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub property: String,
    pub field: Field,
    pub access: u8,
}

/// A device's mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    pub kind: DeviceKind,
    pub bindings: Vec<Binding>,
    /// Expose properties (or names) that no binding uses, in expose order.
    pub unmapped: Vec<String>,
}

impl Mapping {
    /// The binding of a canonical field, if the device has it.
    pub fn binding(&self, pred: impl Fn(&Field) -> bool) -> Option<&Binding> {
        self.bindings.iter().find(|b| pred(&b.field))
    }

    /// Properties worth a `/get` (readable, and in this mapping).
    pub fn gettable(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for b in &self.bindings {
            if b.access & ACCESS_GET != 0 && !out.contains(&b.property.as_str()) {
                out.push(&b.property);
            }
        }
        out
    }
}

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
    bindings: Vec<Binding>,
    /// The expose properties it consumed.
    consumed: Vec<String>,
}

/// Maps a device's exposes. `None` when nothing maps onto a kind.
pub fn map(exposes: &[Expose]) -> Option<Mapping> {
    let mut functions: Vec<Function> = Vec::new();
    let mut all: Vec<String> = Vec::new();
    for e in exposes {
        let label = expose_label(e);
        if !label.is_empty() && !all.contains(&label) {
            all.push(label.clone());
        }
        if let Some(f) = function_of(e) {
            functions.push(f);
        }
    }
    // Most specific first; among equals, the first in expose order.
    let best = functions
        .iter()
        .enumerate()
        .min_by_key(|(i, f)| (f.rank, *i))
        .map(|(i, _)| i)?;
    let primary = functions.swap_remove(best);
    let unmapped = all
        .into_iter()
        .filter(|p| !primary.consumed.contains(p) && !is_housekeeping(p))
        .collect();
    Some(Mapping {
        kind: primary.kind,
        bindings: primary.bindings,
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
            bindings.extend(feature(e, "system_mode").and_then(|m| binding(m, Field::SystemMode)));
            if bindings.len() < 2 {
                return None;
            }
            (DeviceKind::Thermostat, 1)
        }
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
                _ => return None,
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
            (DeviceKind::GenericSwitch, 9)
        }
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
        bindings,
        consumed,
    })
}

fn on_binding(state: &Expose) -> Option<Binding> {
    let on = state.value_on.clone().unwrap_or(Value::from("ON"));
    let off = state.value_off.clone().unwrap_or(Value::from("OFF"));
    binding(state, Field::On { on, off })
}
