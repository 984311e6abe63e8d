//! Home Assistant MQTT discovery: one retained config message per device under
//! `<prefix>/<component>/<node>/<device>/config`, with a unique id and device info, pointing at the
//! connector's state, command and availability topics. An empty retained message removes it.

use device_types::DeviceKind;
use serde_json::{json, Map, Value};

use super::topics::Topics;
use crate::model::DeviceInfo;

/// Every component a device can be published as (removal clears them all).
pub const COMPONENTS: &[&str] = &[
    "light",
    "switch",
    "binary_sensor",
    "sensor",
    "climate",
    "lock",
    "cover",
    "event",
    "fan",
];

pub fn component(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::OnOffLight
        | DeviceKind::DimmableLight
        | DeviceKind::ColorTemperatureLight
        | DeviceKind::ExtendedColorLight => "light",
        DeviceKind::OnOffPlugInUnit => "switch",
        DeviceKind::ContactSensor | DeviceKind::OccupancySensor => "binary_sensor",
        DeviceKind::TemperatureSensor | DeviceKind::HumiditySensor => "sensor",
        DeviceKind::Thermostat => "climate",
        DeviceKind::DoorLock => "lock",
        DeviceKind::WindowCovering => "cover",
        DeviceKind::GenericSwitch => "event",
        DeviceKind::DimmablePlugInUnit => "light",
        DeviceKind::LightSensor
        | DeviceKind::PressureSensor
        | DeviceKind::FlowSensor
        | DeviceKind::AirQualitySensor => "sensor",
        DeviceKind::WaterLeakDetector
        | DeviceKind::WaterFreezeDetector
        | DeviceKind::RainSensor
        | DeviceKind::SmokeAlarm
        | DeviceKind::CoAlarm
        | DeviceKind::SmokeCoAlarm => "binary_sensor",
        DeviceKind::Fan => "fan",
        // A container: never published (the connector skips it; its parts are devices of
        // their own), named only so the match stays total.
        DeviceKind::BridgedNode => "sensor",
    }
}

/// `<prefix>/<component>/<node>/<device>/config`.
/// A part's id (`remote:b1`) has a `:` that Home Assistant's object ids refuse: the device segment
/// is written with [`node_id`]'s replacement.
pub fn config_topic(prefix: &str, component: &str, node: &str, device: &str) -> String {
    let device = node_id(device);
    format!("{prefix}/{component}/{node}/{device}/config")
}

/// The node id: the client id with everything outside `[a-zA-Z0-9_-]` replaced.
pub fn node_id(client_id: &str) -> String {
    client_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The discovery config of one device.
pub fn config(info: &DeviceInfo, topics: &Topics, node: &str) -> Value {
    let state = topics.state(&info.id);
    let set = format!("{state}/set");
    let mut c = Map::new();
    let mut put = |k: &str, v: Value| {
        c.insert(k.to_owned(), v);
    };
    put("name", Value::Null); // the entity is the device itself
    put("unique_id", json!(format!("{}_{}", node, info.unique_id)));
    put("object_id", json!(node_id(&info.id)));
    put("state_topic", json!(state));
    put(
        "availability",
        json!([
            {"topic": topics.bridge_state()},
            {"topic": topics.availability(&info.id)}
        ]),
    );
    put("availability_mode", json!("all"));
    let mut device = json!({
        "identifiers": [format!("hubbridge_{}", info.unique_id)],
        "name": info.name,
        "manufacturer": "hubbridge",
        "model": info.kind.device_type().name,
        "via_device": node,
    });
    if let Some(room) = &info.room {
        device["suggested_area"] = json!(room);
    }
    put("device", device);
    match info.kind {
        DeviceKind::OnOffLight
        | DeviceKind::DimmableLight
        | DeviceKind::DimmablePlugInUnit
        | DeviceKind::ColorTemperatureLight
        | DeviceKind::ExtendedColorLight => {
            put("command_topic", json!(set));
            put(
                "state_value_template",
                json!("{{ 'ON' if value_json.on else 'OFF' }}"),
            );
            put("payload_on", json!("{\"on\": true}"));
            put("payload_off", json!("{\"on\": false}"));
            if info.kind != DeviceKind::OnOffLight {
                put("brightness_state_topic", json!(state));
                put(
                    "brightness_value_template",
                    json!("{{ value_json.brightness }}"),
                );
                put("brightness_command_topic", json!(set));
                put(
                    "brightness_command_template",
                    json!("{\"brightness\": {{ value }}}"),
                );
                put("brightness_scale", json!(254));
            }
            if matches!(
                info.kind,
                DeviceKind::ColorTemperatureLight | DeviceKind::ExtendedColorLight
            ) {
                put("color_temp_state_topic", json!(state));
                put(
                    "color_temp_value_template",
                    json!("{{ value_json.color_temp_mireds }}"),
                );
                put("color_temp_command_topic", json!(set));
                put(
                    "color_temp_command_template",
                    json!("{\"color_temp_mireds\": {{ value }}}"),
                );
                put("min_mireds", json!(153));
                put("max_mireds", json!(500));
            }
        }
        DeviceKind::OnOffPlugInUnit => {
            put("command_topic", json!(set));
            put(
                "value_template",
                json!("{{ 'ON' if value_json.on else 'OFF' }}"),
            );
            put("payload_on", json!("{\"on\": true}"));
            put("payload_off", json!("{\"on\": false}"));
            put("state_on", json!("ON"));
            put("state_off", json!("OFF"));
        }
        DeviceKind::ContactSensor => {
            put("device_class", json!("door"));
            // contact = true means closed; HA's door sensor is ON when open.
            put(
                "value_template",
                json!("{{ 'OFF' if value_json.contact else 'ON' }}"),
            );
        }
        DeviceKind::OccupancySensor => {
            put("device_class", json!("occupancy"));
            put(
                "value_template",
                json!("{{ 'ON' if value_json.occupied else 'OFF' }}"),
            );
        }
        DeviceKind::TemperatureSensor => {
            put("device_class", json!("temperature"));
            put("unit_of_measurement", json!("°C"));
            put("state_class", json!("measurement"));
            put("value_template", json!("{{ value_json.temperature }}"));
        }
        DeviceKind::HumiditySensor => {
            put("device_class", json!("humidity"));
            put("unit_of_measurement", json!("%"));
            put("state_class", json!("measurement"));
            put("value_template", json!("{{ value_json.humidity }}"));
        }
        DeviceKind::Thermostat => {
            put("current_temperature_topic", json!(state));
            put(
                "current_temperature_template",
                json!("{{ value_json.temperature }}"),
            );
            put("mode_state_topic", json!(state));
            put("mode_state_template", json!("{{ value_json.system_mode }}"));
            put("mode_command_topic", json!(set));
            put(
                "mode_command_template",
                json!("{\"system_mode\": \"{{ value }}\"}"),
            );
            put("modes", json!(["off", "heat", "cool", "auto"]));
            put("temperature_state_topic", json!(state));
            put(
                "temperature_state_template",
                json!("{{ value_json.heating_setpoint }}"),
            );
            put("temperature_command_topic", json!(set));
            put(
                "temperature_command_template",
                json!("{\"heating_setpoint\": {{ value }}}"),
            );
            put("min_temp", json!(7));
            put("max_temp", json!(30));
            put("temperature_unit", json!("C"));
        }
        DeviceKind::DoorLock => {
            put("command_topic", json!(set));
            put("value_template", json!("{{ value_json.lock_state }}"));
            put("state_locked", json!("locked"));
            put("state_unlocked", json!("unlocked"));
            put("payload_lock", json!("{\"lock_state\": \"locked\"}"));
            put("payload_unlock", json!("{\"lock_state\": \"unlocked\"}"));
        }
        DeviceKind::WindowCovering => {
            put("command_topic", json!(set));
            put("position_topic", json!(state));
            put("position_template", json!("{{ value_json.position }}"));
            put("set_position_topic", json!(set));
            put(
                "set_position_template",
                json!("{\"position\": {{ position }}}"),
            );
            put("payload_open", json!("{\"position\": 100}"));
            put("payload_close", json!("{\"position\": 0}"));
            put("payload_stop", Value::Null);
        }
        DeviceKind::GenericSwitch => {
            // Presses travel on the connector's event topic, shared by every device: the
            // template keeps this device's presses and renders nothing (ignored) for the rest.
            put("state_topic", json!(topics.event()));
            put("device_class", json!("button"));
            put(
                "event_types",
                json!([
                    "single",
                    "double",
                    "triple",
                    "quadruple",
                    "long",
                    "hold",
                    "release"
                ]),
            );
            put(
                "value_template",
                json!(format!(
                    "{{% if value_json.device == '{}' and value_json.type == 'press' %}}{{{{ {{'event_type': value_json.press | string}} | tojson }}}}{{% endif %}}",
                    info.id.replace('\'', "")
                )),
            );
        }
        DeviceKind::LightSensor => measurement(&mut put, "illuminance", "lx", "illuminance"),
        DeviceKind::PressureSensor => measurement(&mut put, "pressure", "hPa", "pressure"),
        DeviceKind::FlowSensor => measurement(&mut put, "volume_flow_rate", "m³/h", "flow"),
        DeviceKind::AirQualitySensor => {
            put("device_class", json!("enum"));
            put("value_template", json!("{{ value_json.air_quality }}"));
        }
        DeviceKind::WaterLeakDetector => binary(&mut put, "moisture", "leak"),
        DeviceKind::WaterFreezeDetector => binary(&mut put, "cold", "freeze"),
        DeviceKind::RainSensor => binary(&mut put, "moisture", "rain"),
        DeviceKind::SmokeAlarm | DeviceKind::SmokeCoAlarm => {
            put("device_class", json!("smoke"));
            put(
                "value_template",
                json!("{{ 'OFF' if value_json.smoke == 'normal' else 'ON' }}"),
            );
        }
        DeviceKind::CoAlarm => {
            put("device_class", json!("carbon_monoxide"));
            put(
                "value_template",
                json!("{{ 'OFF' if value_json.co == 'normal' else 'ON' }}"),
            );
        }
        DeviceKind::Fan => {
            put("command_topic", json!(set));
            put(
                "state_value_template",
                json!("{{ 'OFF' if value_json.fan_mode == 'off' else 'ON' }}"),
            );
            put("payload_on", json!("{\"fan_mode\": \"on\"}"));
            put("payload_off", json!("{\"fan_mode\": \"off\"}"));
            put("percentage_state_topic", json!(state));
            put(
                "percentage_value_template",
                json!("{{ value_json.fan_percent }}"),
            );
            put("percentage_command_topic", json!(set));
            put(
                "percentage_command_template",
                json!("{\"fan_percent\": {{ value }}}"),
            );
        }
        // Never published (see `component`).
        DeviceKind::BridgedNode => {}
    }
    Value::Object(c)
}

fn measurement(put: &mut impl FnMut(&str, Value), class: &str, unit: &str, field: &str) {
    put("device_class", json!(class));
    put("unit_of_measurement", json!(unit));
    put("state_class", json!("measurement"));
    put(
        "value_template",
        json!(format!("{{{{ value_json.{field} }}}}")),
    );
}

fn binary(put: &mut impl FnMut(&str, Value), class: &str, field: &str) {
    put("device_class", json!(class));
    put(
        "value_template",
        json!(format!("{{{{ 'ON' if value_json.{field} else 'OFF' }}}}")),
    );
}
