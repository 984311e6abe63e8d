//! The built-in demo configuration: one device of every kind, with friendly names and rooms, drifting
//! sensors, plus composed devices (a multi-sensor, a metering plug) and batteries where real ones have them.

use std::path::PathBuf;

use device_types::{DeviceKind, PartSpec, Position, Tag, With};

use super::{ApiConfig, BridgeConfig, Config, DeviceConfig, VirtualConfig};

/// (id, kind, name, room) of every demo device; one per kind.
const DEVICES: &[(&str, DeviceKind, &str, &str)] = &[
    ("hall-light", DeviceKind::OnOffLight, "Hall light", "Hall"),
    (
        "kitchen-light",
        DeviceKind::DimmableLight,
        "Kitchen light",
        "Kitchen",
    ),
    (
        "desk-lamp",
        DeviceKind::ColorTemperatureLight,
        "Desk lamp",
        "Office",
    ),
    (
        "living-strip",
        DeviceKind::ExtendedColorLight,
        "Living room strip",
        "Living room",
    ),
    (
        "coffee-plug",
        DeviceKind::OnOffPlugInUnit,
        "Coffee machine",
        "Kitchen",
    ),
    (
        "front-door-contact",
        DeviceKind::ContactSensor,
        "Front door",
        "Hall",
    ),
    (
        "hall-motion",
        DeviceKind::OccupancySensor,
        "Hall motion",
        "Hall",
    ),
    (
        "bedroom-temperature",
        DeviceKind::TemperatureSensor,
        "Bedroom temperature",
        "Bedroom",
    ),
    (
        "bathroom-humidity",
        DeviceKind::HumiditySensor,
        "Bathroom humidity",
        "Bathroom",
    ),
    (
        "living-thermostat",
        DeviceKind::Thermostat,
        "Living room thermostat",
        "Living room",
    ),
    (
        "front-door-lock",
        DeviceKind::DoorLock,
        "Front door lock",
        "Hall",
    ),
    (
        "bedroom-blind",
        DeviceKind::WindowCovering,
        "Bedroom blind",
        "Bedroom",
    ),
    (
        "hall-button",
        DeviceKind::GenericSwitch,
        "Hall button",
        "Hall",
    ),
    (
        "desk-dimmer",
        DeviceKind::DimmablePlugInUnit,
        "Desk dimmer",
        "Office",
    ),
    (
        "garden-light",
        DeviceKind::LightSensor,
        "Garden light level",
        "Garden",
    ),
    (
        "hall-barometer",
        DeviceKind::PressureSensor,
        "Hall barometer",
        "Hall",
    ),
    (
        "garden-water-flow",
        DeviceKind::FlowSensor,
        "Garden water flow",
        "Garden",
    ),
    (
        "kitchen-leak",
        DeviceKind::WaterLeakDetector,
        "Kitchen leak",
        "Kitchen",
    ),
    (
        "garden-freeze",
        DeviceKind::WaterFreezeDetector,
        "Garden pipe frost",
        "Garden",
    ),
    (
        "garden-rain",
        DeviceKind::RainSensor,
        "Garden rain",
        "Garden",
    ),
    (
        "hall-smoke",
        DeviceKind::SmokeAlarm,
        "Hall smoke alarm",
        "Hall",
    ),
    (
        "garage-co",
        DeviceKind::CoAlarm,
        "Garage CO alarm",
        "Garage",
    ),
    (
        "kitchen-smoke-co",
        DeviceKind::SmokeCoAlarm,
        "Kitchen smoke and CO",
        "Kitchen",
    ),
    (
        "living-air",
        DeviceKind::AirQualitySensor,
        "Living room air",
        "Living room",
    ),
    ("bedroom-fan", DeviceKind::Fan, "Bedroom fan", "Bedroom"),
];

/// Demo devices with functions added through `with`: (id, kind, with, name, room).
const COMPOSED: &[(&str, DeviceKind, &[&str], &str, &str)] = &[
    (
        "office-multisensor",
        DeviceKind::TemperatureSensor,
        &["humidity_sensor", "pressure_sensor", "battery"],
        "Office multi-sensor",
        "Office",
    ),
    (
        "washer-plug",
        DeviceKind::OnOffPlugInUnit,
        &["electrical"],
        "Washing machine plug",
        "Utility room",
    ),
];

/// `with` entries of single-kind demo devices: the alarms and the leak sensor run on batteries,
/// the air quality sensor measures every concentration, the fan has Auto.
fn with_of(id: &str) -> &'static [&'static str] {
    match id {
        "kitchen-leak" | "hall-smoke" | "garage-co" => &["battery"],
        "kitchen-smoke-co" => &["mains"],
        "living-air" => &["co2", "pm25", "pm10", "tvoc", "formaldehyde"],
        // The simulated fan can run itself.
        "bedroom-fan" => &["fan_auto"],
        _ => &[],
    }
}

/// The demo's composed devices with child endpoints: a two-gang wall switch (two On/Off Light
/// parts, tagged left and right) and a four-button remote on a battery (four Generic Switch
/// parts, tagged 1..4).
fn with_parts() -> Vec<DeviceConfig> {
    let part = |id: &str, kind, tag| PartSpec {
        id: id.to_owned(),
        kind,
        with: With::NONE,
        name: None,
        tag: Some(tag),
        state: None,
        parts: None,
    };
    vec![
        DeviceConfig {
            id: "hall-switch".to_owned(),
            kind: DeviceKind::BridgedNode,
            with: With::NONE,
            name: "Hall two-gang switch".to_owned(),
            room: Some("Hall".to_owned()),
            state: None,
            parts: vec![
                part(
                    "left",
                    DeviceKind::OnOffLight,
                    Tag::Position(Position::Left),
                ),
                part(
                    "right",
                    DeviceKind::OnOffLight,
                    Tag::Position(Position::Right),
                ),
            ],
        },
        DeviceConfig {
            id: "living-remote".to_owned(),
            kind: DeviceKind::BridgedNode,
            with: with(&["battery"]),
            name: "Living room remote".to_owned(),
            room: Some("Living room".to_owned()),
            state: None,
            parts: (1..=4u8)
                .map(|n| part(&format!("b{n}"), DeviceKind::GenericSwitch, Tag::Number(n)))
                .collect(),
        },
    ]
}

fn with(entries: &[&str]) -> With {
    // The demo's entries are fixed and checked by the config tests.
    With::parse(entries).unwrap_or_default()
}

pub(super) fn demo() -> Config {
    Config {
        bridge: BridgeConfig {
            name: "hubbridge demo".to_owned(),
            storage_dir: PathBuf::from("./hubbridge-data"),
            ..BridgeConfig::default()
        },
        api: ApiConfig::default(),
        virtual_: VirtualConfig {
            drift: true,
            ..VirtualConfig::default()
        },
        devices: DEVICES
            .iter()
            .map(|&(id, kind, name, room)| (id, kind, with_of(id), name, room))
            .chain(COMPOSED.iter().copied())
            .map(|(id, kind, entries, name, room)| DeviceConfig {
                with: with(entries),
                id: id.to_owned(),
                kind,
                name: name.to_owned(),
                room: Some(room.to_owned()),
                state: None,
                parts: Vec::new(),
            })
            .chain(with_parts())
            .collect(),
        connectors: Vec::new(),
        sources: Vec::new(),
        nodes: Vec::new(),
    }
}
