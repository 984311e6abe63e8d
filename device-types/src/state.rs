//! The canonical device state: one struct of optional fields shared by every kind, and its enums.
//!
//! A `State` is used both as a full state and as a patch (only the fields that change). `None`
//! means "absent / unknown", never "clear this field": [`State::merged`] keeps the old value.
//! Units are the ones people use (percent, °C, degrees); the Matter encodings live in
//! [`crate::matter`].

use serde::{Deserialize, Serialize};

string_enum! {
    /// Which colour representation a colour light is currently showing (Matter ColorMode).
    pub enum ColorMode for "color_mode" {
        /// Colour temperature (`color_temp_mireds`); Matter ColorMode 2.
        ColorTemp => "color_temp",
        /// Hue and saturation; Matter ColorMode 0.
        Hs => "hs",
        /// CIE 1931 x/y; Matter ColorMode 1.
        Xy => "xy",
    }
}

string_enum! {
    /// Thermostat operating mode (the subset of Matter SystemModeEnum this crate serves).
    pub enum SystemMode for "system_mode" {
        /// Matter SystemMode 0.
        Off => "off",
        /// Matter SystemMode 4.
        Heat => "heat",
        /// Matter SystemMode 3.
        Cool => "cool",
        /// Heat or cool to stay between the two setpoints; Matter SystemMode 1 (AutoMode feature).
        Auto => "auto",
    }
}

string_enum! {
    /// Door lock bolt state (Matter LockStateEnum without Unlatched).
    pub enum LockState for "lock_state" {
        /// Matter LockState 1.
        Locked => "locked",
        /// Matter LockState 2.
        Unlocked => "unlocked",
        /// Neither fully locked nor unlocked, e.g. jammed; Matter LockState 0.
        NotFullyLocked => "not_fully_locked",
    }
}

string_enum! {
    /// Smoke CO Alarm AlarmStateEnum: smoke, CO and battery alert levels.
    pub enum AlarmLevel for "alarm_level" {
        /// Matter AlarmState 0.
        Normal => "normal",
        /// Matter AlarmState 1.
        Warning => "warning",
        /// Matter AlarmState 2.
        Critical => "critical",
    }
}

string_enum! {
    /// Air Quality AirQualityEnum (without Unknown, which is an unset `air_quality`).
    pub enum AirQuality for "air_quality" {
        /// Matter AirQuality 1.
        Good => "good",
        /// Matter AirQuality 2.
        Fair => "fair",
        /// Matter AirQuality 3.
        Moderate => "moderate",
        /// Matter AirQuality 4.
        Poor => "poor",
        /// Matter AirQuality 5.
        VeryPoor => "very_poor",
        /// Matter AirQuality 6.
        ExtremelyPoor => "extremely_poor",
    }
}

string_enum! {
    /// Fan Control FanModeEnum (without Smart).
    pub enum FanMode for "fan_mode" {
        /// Matter FanMode 0.
        Off => "off",
        /// Matter FanMode 1.
        Low => "low",
        /// Matter FanMode 2.
        Medium => "medium",
        /// Matter FanMode 3.
        High => "high",
        /// Matter FanMode 4 (the server shows it as High, as the spec asks).
        On => "on",
        /// Matter FanMode 5.
        Auto => "auto",
    }
}

/// Canonical state of one device (or a patch to it). Which fields apply depends on the
/// [`crate::DeviceKind`]; see [`crate::DeviceKind::fields`] and [`crate::DeviceKind::validate`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Lights and plugs: switched on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<bool>,
    /// Dimmable lights: Matter CurrentLevel, 1..=254.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brightness: Option<u8>,
    /// Colour-temperature and extended colour lights: mireds, 153..=500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_temp_mireds: Option<u16>,
    /// Extended colour lights: hue in degrees, 0..=360.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hue: Option<u16>,
    /// Extended colour lights: saturation in percent, 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturation: Option<u8>,
    /// Extended colour lights: CIE x, 0.0..=65279/65536 (the largest value Matter can encode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_x: Option<f64>,
    /// Extended colour lights: CIE y, 0.0..=65279/65536.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_y: Option<f64>,
    /// Colour lights: which of the colour fields is in effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_mode: Option<ColorMode>,
    /// Contact sensors: `true` = closed (in contact), `false` = open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<bool>,
    /// Occupancy sensors: someone is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupied: Option<bool>,
    /// Temperature sensors (MeasuredValue) and thermostats (LocalTemperature): °C, -273.15..=327.67.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Humidity sensors: %RH, 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub humidity: Option<f64>,
    /// Thermostats: occupied heating setpoint, °C, 7..=30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heating_setpoint: Option<f64>,
    /// Thermostats: occupied cooling setpoint, °C, 16..=32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooling_setpoint: Option<f64>,
    /// Thermostats: operating mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_mode: Option<SystemMode>,
    /// Door locks: bolt state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_state: Option<LockState>,
    /// Window coverings: percent OPEN, 0..=100 (100 = fully open). Matter counts percent closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u8>,
    /// Light sensors: illuminance in lux, 0..=3500000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illuminance: Option<f64>,
    /// Pressure sensors: hPa (= Matter 0.1 kPa), 0..=32767.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<f64>,
    /// Flow sensors: m³/h, 0..=6553.4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<f64>,
    /// Water leak detectors: water detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leak: Option<bool>,
    /// Water freeze detectors: freezing detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<bool>,
    /// Rain sensors: rain detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rain: Option<bool>,
    /// Smoke alarms: smoke alarm level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke: Option<AlarmLevel>,
    /// CO alarms: carbon monoxide alarm level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub co: Option<AlarmLevel>,
    /// Smoke / CO alarms: battery alert level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_alert: Option<AlarmLevel>,
    /// Smoke / CO alarms: a self-test is running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_in_progress: Option<bool>,
    /// Smoke / CO alarms: the device reports a hardware fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_fault: Option<bool>,
    /// Air quality sensors: the overall air quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub air_quality: Option<AirQuality>,
    /// Fans: the fan mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan_mode: Option<FanMode>,
    /// Fans: speed in percent, 0..=100 (0 = off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan_percent: Option<u8>,
    /// `battery` capability: charge in percent, 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery: Option<u8>,
    /// `battery` capability: the battery is low (needs replacing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_low: Option<bool>,
    /// `electrical` capability: active power, W (-1e9..=1e9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// `electrical` capability: imported energy, kWh (0..=1e9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<f64>,
    /// `electrical` capability: RMS voltage, V (-1e6..=1e6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voltage: Option<f64>,
    /// `electrical` capability: RMS current, A (-1e6..=1e6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<f64>,
    /// `co2` capability: CO2 concentration, ppm (0..=100000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub co2: Option<f64>,
    /// `pm25` capability: PM2.5 concentration, µg/m³ (0..=100000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pm25: Option<f64>,
    /// `pm10` capability: PM10 concentration, µg/m³ (0..=100000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pm10: Option<f64>,
    /// `tvoc` capability: total volatile organic compounds, ppb (0..=100000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tvoc: Option<f64>,
    /// `formaldehyde` capability: formaldehyde concentration, µg/m³ (0..=100000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formaldehyde: Option<f64>,
}

/// Generates the per-field operations so that adding a field is one line here plus the struct.
macro_rules! field_ops {
    ($($field:ident),+ $(,)?) => {
        impl State {
            /// Every JSON field name, in declaration order.
            pub const FIELD_NAMES: &'static [&'static str] = &[$(stringify!($field)),+];

            /// `self` with every field that `patch` sets replaced by the patch's value.
            pub fn merged(&self, patch: &State) -> State {
                State { $($field: patch.$field.or(self.$field)),+ }
            }

            /// True when no field is set.
            pub fn is_empty(&self) -> bool {
                true $(&& self.$field.is_none())+
            }

            /// The fields that `other` sets to a value different from `self`'s, with `other`'s
            /// values: the patch that turns `self` into `self.merged(other)`. Fields `other` leaves
            /// unset are never in the result.
            pub fn diff(&self, other: &State) -> State {
                let mut out = State::default();
                $(
                    if other.$field.is_some() && other.$field != self.$field {
                        out.$field = other.$field;
                    }
                )+
                out
            }

            /// Names of the fields that are set, in declaration order.
            pub fn present_fields(&self) -> Vec<&'static str> {
                let mut names = Vec::new();
                $(
                    if self.$field.is_some() {
                        names.push(stringify!($field));
                    }
                )+
                names
            }

            /// The value of field `name` rendered for messages, or `None` if unset or unknown.
            pub fn field_value(&self, name: &str) -> Option<String> {
                match name {
                    $(stringify!($field) => self.$field.map(|v| v.to_string()),)+
                    _ => None,
                }
            }
        }
    };
}

field_ops!(
    on,
    brightness,
    color_temp_mireds,
    hue,
    saturation,
    color_x,
    color_y,
    color_mode,
    contact,
    occupied,
    temperature,
    humidity,
    heating_setpoint,
    cooling_setpoint,
    system_mode,
    lock_state,
    position,
    illuminance,
    pressure,
    flow,
    leak,
    freeze,
    rain,
    smoke,
    co,
    battery_alert,
    test_in_progress,
    hardware_fault,
    air_quality,
    fan_mode,
    fan_percent,
    battery,
    battery_low,
    power,
    energy,
    voltage,
    current,
    co2,
    pm25,
    pm10,
    tvoc,
    formaldehyde,
);

impl State {
    /// Compact JSON with unset fields omitted.
    pub fn to_json(&self) -> String {
        // Serialising plain options of numbers, bools and unit enums cannot fail; non-finite
        // floats become `null`, which `from_json` reads back as unset.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}
