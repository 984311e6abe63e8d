//! Device kinds: their names, Matter device types, applicable state fields and default states.
//!
//! Device type ids and revisions are those of the Matter 1.6.0 Device Library (the version the node
//! claims), as published in machine-readable form in project-chip/connectedhomeip
//! `data_model/1.6/device_types/*.xml`, falling back to 1.5.1 / 1.5 where the 1.6 file is missing
//! (Extended Color Light, Contact and Temperature Sensor, Door Lock). 1.6.1's Groupcast bumps are
//! not taken: that condition is provisional and rs-matter 0.4.1 serves no Groupcast cluster.

use crate::matter::spec;
use crate::validate::{validate_for_kind, ValidationError};
use crate::{ClusterSpec, ColorMode, LockState, State, SystemMode};

string_enum! {
    /// The kinds of device the hub can bridge. One Matter device type each.
    pub enum DeviceKind for "kind" {
        /// Matter On/Off Light.
        OnOffLight => "on_off_light",
        /// Matter Dimmable Light.
        DimmableLight => "dimmable_light",
        /// Matter Color Temperature Light.
        ColorTemperatureLight => "color_temperature_light",
        /// Matter Extended Color Light (hue/saturation, x/y and colour temperature).
        ExtendedColorLight => "extended_color_light",
        /// Matter On/Off Plug-in Unit.
        OnOffPlugInUnit => "on_off_plug_in_unit",
        /// Matter Contact Sensor.
        ContactSensor => "contact_sensor",
        /// Matter Occupancy Sensor.
        OccupancySensor => "occupancy_sensor",
        /// Matter Temperature Sensor.
        TemperatureSensor => "temperature_sensor",
        /// Matter Humidity Sensor.
        HumiditySensor => "humidity_sensor",
        /// Matter Thermostat (heating, cooling and auto).
        Thermostat => "thermostat",
        /// Matter Door Lock (no credentials).
        DoorLock => "door_lock",
        /// Matter Window Covering (lift only, position aware).
        WindowCovering => "window_covering",
        /// Matter Generic Switch: a momentary button (single, multi and long press events).
        GenericSwitch => "generic_switch",
    }
}

/// A Matter device type as listed in an endpoint's Descriptor DeviceTypeList.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceTypeInfo {
    /// Device type id.
    pub id: u32,
    /// Device type revision.
    pub revision: u16,
    /// Name as written in the Device Library.
    pub name: &'static str,
}

const fn dt(id: u32, revision: u16, name: &'static str) -> DeviceTypeInfo {
    DeviceTypeInfo { id, revision, name }
}

impl DeviceKind {
    /// The Matter device type of the bridged endpoint (see the module doc for the source).
    pub fn device_type(&self) -> DeviceTypeInfo {
        match self {
            DeviceKind::OnOffLight => dt(0x0100, 3, "On/Off Light"),
            // Rev 4 in 1.6 ("added Groupcast condition requirement", provisional).
            DeviceKind::DimmableLight => dt(0x0101, 4, "Dimmable Light"),
            DeviceKind::ColorTemperatureLight => dt(0x010C, 4, "Color Temperature Light"),
            DeviceKind::ExtendedColorLight => dt(0x010D, 4, "Extended Color Light"),
            // Rev 4 in 1.4.2 ("add Mounted On/Off Control as superset"); rev 5 in 1.6 ("added
            // Groupcast condition requirement", provisional).
            DeviceKind::OnOffPlugInUnit => dt(0x010A, 5, "On/Off Plug-in Unit"),
            // Rev 2 since 1.3 ("add Boolean State Configuration as optional cluster").
            DeviceKind::ContactSensor => dt(0x0015, 2, "Contact Sensor"),
            DeviceKind::OccupancySensor => dt(0x0107, 4, "Occupancy Sensor"),
            DeviceKind::TemperatureSensor => dt(0x0302, 3, "Temperature Sensor"),
            DeviceKind::HumiditySensor => dt(0x0307, 3, "Humidity Sensor"),
            DeviceKind::Thermostat => dt(0x0301, 6, "Thermostat"),
            DeviceKind::DoorLock => dt(0x000A, 4, "Door Lock"),
            // Rev 6 in 1.6 (5: conditions on the Closure clusters; 6: Zigbee elements removed).
            DeviceKind::WindowCovering => dt(0x0202, 6, "Window Covering"),
            // Rev 3 since 1.3 (TagList conditions); the 1.6 data model has no newer file.
            DeviceKind::GenericSwitch => dt(0x000F, 3, "Generic Switch"),
        }
    }

    /// The server clusters of the bridged endpoint, sorted by id, except Descriptor (0x001D) and
    /// Bridged Device Basic Information (0x0039), which the bridge adds to every endpoint.
    pub fn clusters(&self) -> &'static [ClusterSpec] {
        spec::clusters_for(*self)
    }

    /// The JSON state fields that apply to this kind, in [`State`] declaration order.
    pub fn fields(&self) -> &'static [&'static str] {
        const LIGHT_CT: &[&str] = &["on", "brightness", "color_temp_mireds", "color_mode"];
        const LIGHT_EXT: &[&str] = &[
            "on",
            "brightness",
            "color_temp_mireds",
            "hue",
            "saturation",
            "color_x",
            "color_y",
            "color_mode",
        ];
        match self {
            DeviceKind::OnOffLight | DeviceKind::OnOffPlugInUnit => &["on"],
            DeviceKind::DimmableLight => &["on", "brightness"],
            DeviceKind::ColorTemperatureLight => LIGHT_CT,
            DeviceKind::ExtendedColorLight => LIGHT_EXT,
            DeviceKind::ContactSensor => &["contact"],
            DeviceKind::OccupancySensor => &["occupied"],
            DeviceKind::TemperatureSensor => &["temperature"],
            DeviceKind::HumiditySensor => &["humidity"],
            DeviceKind::Thermostat => &[
                "temperature",
                "heating_setpoint",
                "cooling_setpoint",
                "system_mode",
            ],
            DeviceKind::DoorLock => &["lock_state"],
            DeviceKind::WindowCovering => &["position"],
            // A button has no state: its presses are events (see `DeviceEvent`).
            DeviceKind::GenericSwitch => &[],
        }
    }

    /// A plausible starting state with every applicable field set: lights off at full
    /// brightness and 370 mireds (~2700 K), sensors at 20 °C / 50 %RH / closed / unoccupied,
    /// thermostat off with 20 °C heating and 26 °C cooling setpoints (the Matter defaults),
    /// lock locked, covering fully open.
    pub fn default_state(&self) -> State {
        let light = State {
            on: Some(false),
            ..State::default()
        };
        let dimmable = State {
            brightness: Some(crate::matter::limits::MAX_LEVEL),
            ..light.clone()
        };
        let ct = State {
            color_temp_mireds: Some(370),
            color_mode: Some(ColorMode::ColorTemp),
            ..dimmable.clone()
        };
        match self {
            DeviceKind::OnOffLight | DeviceKind::OnOffPlugInUnit => light,
            DeviceKind::DimmableLight => dimmable,
            DeviceKind::ColorTemperatureLight => ct,
            DeviceKind::ExtendedColorLight => State {
                hue: Some(0),
                saturation: Some(0),
                // D65 white point.
                color_x: Some(0.3127),
                color_y: Some(0.3290),
                ..ct
            },
            DeviceKind::ContactSensor => State {
                contact: Some(true),
                ..State::default()
            },
            DeviceKind::OccupancySensor => State {
                occupied: Some(false),
                ..State::default()
            },
            DeviceKind::TemperatureSensor => State {
                temperature: Some(20.0),
                ..State::default()
            },
            DeviceKind::HumiditySensor => State {
                humidity: Some(50.0),
                ..State::default()
            },
            DeviceKind::Thermostat => State {
                temperature: Some(20.0),
                heating_setpoint: Some(20.0),
                cooling_setpoint: Some(26.0),
                system_mode: Some(SystemMode::Off),
                ..State::default()
            },
            DeviceKind::DoorLock => State {
                lock_state: Some(LockState::Locked),
                ..State::default()
            },
            DeviceKind::WindowCovering => State {
                position: Some(100),
                ..State::default()
            },
            DeviceKind::GenericSwitch => State::default(),
        }
    }

    /// Checks `state` (full state or patch) for this kind: every set field applies to the kind,
    /// is within range and finite, and the cross-field rules hold (colour-temperature lights
    /// only have mode `color_temp`; thermostat heating setpoint at least 2.0 °C below cooling
    /// when both are present — validate the merged state to enforce that on a patch).
    pub fn validate(&self, state: &State) -> Result<(), ValidationError> {
        validate_for_kind(*self, state)
    }
}
