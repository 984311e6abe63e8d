//! Device kinds: their names, Matter device types, applicable state fields and default states.
//!
//! Device type ids and revisions are those of the Matter 1.6.0 Device Library (the version the node
//! claims), as published in machine-readable form in project-chip/connectedhomeip
//! `data_model/1.6/device_types/*.xml`, falling back to 1.5.1 / 1.5 where the 1.6 file is missing
//! (Extended Color Light, Contact and Temperature Sensor, Door Lock). 1.6.1's Groupcast bumps are
//! not taken: that condition is provisional and rs-matter 0.4.1 serves no Groupcast cluster.

use crate::matter::spec;
use crate::validate::{validate_for_shape, ValidationError};
use crate::{
    AirQuality, AlarmLevel, ClusterSpec, ColorMode, FanMode, LockState, Shape, State, SystemMode,
};

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
        /// Matter Dimmable Plug-in Unit.
        DimmablePlugInUnit => "dimmable_plug_in_unit",
        /// Matter Light Sensor (Illuminance Measurement).
        LightSensor => "light_sensor",
        /// Matter Pressure Sensor.
        PressureSensor => "pressure_sensor",
        /// Matter Flow Sensor.
        FlowSensor => "flow_sensor",
        /// Matter Water Leak Detector (Boolean State).
        WaterLeakDetector => "water_leak_detector",
        /// Matter Water Freeze Detector (Boolean State).
        WaterFreezeDetector => "water_freeze_detector",
        /// Matter Rain Sensor (Boolean State).
        RainSensor => "rain_sensor",
        /// Matter Smoke CO Alarm with the Smoke Alarm feature only.
        SmokeAlarm => "smoke_alarm",
        /// Matter Smoke CO Alarm with the CO Alarm feature only.
        CoAlarm => "co_alarm",
        /// Matter Smoke CO Alarm with both features.
        SmokeCoAlarm => "smoke_co_alarm",
        /// Matter Air Quality Sensor (Air Quality cluster; concentrations through `with`).
        AirQualitySensor => "air_quality_sensor",
        /// Matter Fan (Fan Control: modes off/low/medium/high/auto and percent).
        Fan => "fan",
        /// Matter Bridged Node only: a container with no application cluster of its own (a
        /// two-gang switch, a remote), whose functions are its `parts` (see `parts.rs`).
        BridgedNode => "bridged_node",
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
            // Revisions of the kinds below as the project's conformance facts (tests/e2e/hbe2e/spec_facts.py) say.
            DeviceKind::DimmablePlugInUnit => dt(0x010B, 6, "Dimmable Plug-In Unit"),
            DeviceKind::LightSensor => dt(0x0106, 4, "Light Sensor"),
            DeviceKind::PressureSensor => dt(0x0305, 3, "Pressure Sensor"),
            DeviceKind::FlowSensor => dt(0x0306, 3, "Flow Sensor"),
            DeviceKind::WaterLeakDetector => dt(0x0043, 2, "Water Leak Detector"),
            DeviceKind::WaterFreezeDetector => dt(0x0041, 2, "Water Freeze Detector"),
            DeviceKind::RainSensor => dt(0x0044, 2, "Rain Sensor"),
            DeviceKind::SmokeAlarm | DeviceKind::CoAlarm | DeviceKind::SmokeCoAlarm => {
                dt(0x0076, 2, "Smoke CO Alarm")
            }
            DeviceKind::AirQualitySensor => dt(0x002C, 1, "Air Quality Sensor"),
            DeviceKind::Fan => dt(0x002B, 5, "Fan"),
            // Rev 3 in 1.6 (Ecosystem Information, FabricSynchronizedNode: neither applies).
            DeviceKind::BridgedNode => dt(0x0013, 3, "Bridged Node"),
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
            DeviceKind::DimmablePlugInUnit => &["on", "brightness"],
            DeviceKind::LightSensor => &["illuminance"],
            DeviceKind::PressureSensor => &["pressure"],
            DeviceKind::FlowSensor => &["flow"],
            DeviceKind::WaterLeakDetector => &["leak"],
            DeviceKind::WaterFreezeDetector => &["freeze"],
            DeviceKind::RainSensor => &["rain"],
            DeviceKind::SmokeAlarm => &[
                "smoke",
                "battery_alert",
                "test_in_progress",
                "hardware_fault",
            ],
            DeviceKind::CoAlarm => &["co", "battery_alert", "test_in_progress", "hardware_fault"],
            DeviceKind::SmokeCoAlarm => &[
                "smoke",
                "co",
                "battery_alert",
                "test_in_progress",
                "hardware_fault",
            ],
            DeviceKind::AirQualitySensor => &["air_quality"],
            DeviceKind::Fan => &["fan_mode", "fan_percent"],
            // A container: its parts carry the state.
            DeviceKind::BridgedNode => &[],
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
            DeviceKind::DimmablePlugInUnit => dimmable,
            DeviceKind::LightSensor => State {
                illuminance: Some(100.0),
                ..State::default()
            },
            DeviceKind::PressureSensor => State {
                pressure: Some(1013.0),
                ..State::default()
            },
            DeviceKind::FlowSensor => State {
                flow: Some(0.0),
                ..State::default()
            },
            DeviceKind::WaterLeakDetector => State {
                leak: Some(false),
                ..State::default()
            },
            DeviceKind::WaterFreezeDetector => State {
                freeze: Some(false),
                ..State::default()
            },
            DeviceKind::RainSensor => State {
                rain: Some(false),
                ..State::default()
            },
            DeviceKind::SmokeAlarm | DeviceKind::CoAlarm | DeviceKind::SmokeCoAlarm => {
                let has = |f: &str| self.fields().contains(&f);
                State {
                    smoke: has("smoke").then_some(AlarmLevel::Normal),
                    co: has("co").then_some(AlarmLevel::Normal),
                    battery_alert: Some(AlarmLevel::Normal),
                    test_in_progress: Some(false),
                    hardware_fault: Some(false),
                    ..State::default()
                }
            }
            DeviceKind::AirQualitySensor => State {
                air_quality: Some(AirQuality::Good),
                ..State::default()
            },
            DeviceKind::Fan => State {
                fan_mode: Some(FanMode::Off),
                fan_percent: Some(0),
                ..State::default()
            },
            DeviceKind::BridgedNode => State::default(),
        }
    }

    /// Checks `state` (full state or patch) for this kind: every set field applies to the kind,
    /// is within range and finite, and the cross-field rules hold (colour-temperature lights
    /// only have mode `color_temp`; thermostat heating setpoint at least 2.0 °C below cooling
    /// when both are present — validate the merged state to enforce that on a patch).
    pub fn validate(&self, state: &State) -> Result<(), ValidationError> {
        validate_for_shape(Shape::from(*self), state)
    }
}
