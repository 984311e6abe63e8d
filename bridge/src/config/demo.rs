//! The built-in demo configuration: one device of every kind, with friendly names and rooms, drifting sensors.

use std::path::PathBuf;

use device_types::DeviceKind;

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
];

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
            .map(|&(id, kind, name, room)| DeviceConfig {
                id: id.to_owned(),
                kind,
                name: name.to_owned(),
                room: Some(room.to_owned()),
                state: None,
            })
            .collect(),
        connectors: Vec::new(),
        sources: Vec::new(),
    }
}
