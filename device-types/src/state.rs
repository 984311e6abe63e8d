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
);

impl State {
    /// Compact JSON with unset fields omitted.
    pub fn to_json(&self) -> String {
        // Serialising plain options of numbers, bools and unit enums cannot fail; non-finite
        // floats become `null`, which `from_json` reads back as unset.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}
