//! The types a mapping is made of — [`Mapping`], its [`Binding`]s and their [`Field`]s — and
//! [`FieldError`], an unusable property of a state message. Shared by `mapping` (which builds
//! them), `convert`, `fan` and `enums` (which read and write through them).

use device_types::{DeviceKind, With};
use serde_json::Value;

use super::topics::ACCESS_GET;

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
    /// `system_mode` and the modes the device has (a command for another one is refused).
    SystemMode {
        values: Vec<String>,
    },
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
    /// A number into the named canonical field, multiplied by `scale` (the unit conversion:
    /// kPa → hPa ×10, Wh → kWh ×0.001, mV → V ×0.001, mA → A ×0.001, mg/m³ → µg/m³ ×1000).
    Number {
        field: &'static str,
        scale: f64,
    },
    /// A boolean into the named canonical field (`leak`, `rain`, `battery_low`, ...).
    Flag {
        field: &'static str,
    },
    /// A boolean alarm (`smoke`, `carbon_monoxide`) into an alarm level: true = critical.
    Alarm {
        field: &'static str,
    },
    /// Zigbee2MQTT's `air_quality` enum (excellent, good, moderate, poor, unhealthy, hazardous).
    AirQuality,
    // --- fans (see `fan.rs`) ---
    /// A fan's on/off feature (`fan_state`, or `state`): its on and off values.
    FanState {
        on: Value,
        off: Value,
    },
    /// A fan's `fan_mode` enum and its values (named modes and/or numbered levels).
    FanMode {
        values: Vec<String>,
    },
    /// A fan's numeric speed, `min..=max`.
    FanSpeed {
        min: f64,
        max: f64,
    },
    // --- end fans ---
    // --- enum-valued generic exposes (see `enum_flag`) ---
    /// An enum read as a boolean canonical field (`occupied`, `battery_low`, `smoke` as an alarm
    /// level): values in `on` mean true, values in `off` false, any other value is unusable.
    EnumFlag {
        field: &'static str,
        on: Vec<String>,
        off: Vec<String>,
    },
    // --- end enum-valued generic exposes ---
}

impl Field {
    /// The canonical fields a binding writes.
    pub fn fields(&self) -> &[&'static str] {
        use Field::*;
        match self {
            On { .. } => &["on"],
            Brightness { .. } => &["brightness"],
            ColorTemp => &["color_temp_mireds"],
            ColorXy => &["color_x", "color_y"],
            ColorHs => &["hue", "saturation"],
            ColorMode => &["color_mode"],
            Contact => &["contact"],
            Occupied => &["occupied"],
            Temperature => &["temperature"],
            Humidity => &["humidity"],
            HeatingSetpoint => &["heating_setpoint"],
            CoolingSetpoint => &["cooling_setpoint"],
            SystemMode { .. } => &["system_mode"],
            LockState | LockCommand { .. } => &["lock_state"],
            Position => &["position"],
            // Presses are events, no state field.
            Action { .. } => &[],
            Number { field, .. } | Flag { field } | Alarm { field } | EnumFlag { field, .. } => {
                std::slice::from_ref(field)
            }
            AirQuality => &["air_quality"],
            FanState { .. } | FanMode { .. } | FanSpeed { .. } => &["fan_mode", "fan_percent"],
        }
    }
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
    /// Other kinds and capabilities the device has on the same endpoint.
    pub with: With,
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

/// One property of a state message that could not be used.
#[derive(Debug, PartialEq)]
pub struct FieldError {
    pub property: String,
    pub value: String,
    pub reason: &'static str,
}

/// A value as logged: its JSON, cut at 80 bytes.
pub fn truncated(value: &Value) -> String {
    let mut s = value.to_string();
    if s.len() > 80 {
        let mut end = 80;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}
