//! Tests of the Zigbee2MQTT mapping and value conversions, on exposes shaped as Zigbee2MQTT
//! serialises them (the e2e tests use the real definitions of zigbee-herdsman-converters).

use std::time::Duration;

use device_types::{ColorMode, DeviceKind, LockState, State};
use serde_json::{json, Value};

use super::convert::{to_set, to_state};
use super::mapping::map;
use super::topics::Expose;

fn exposes(v: Value) -> Vec<Expose> {
    serde_json::from_value(v).unwrap()
}

fn colour_bulb() -> Vec<Expose> {
    exposes(json!([
        {"type": "light", "features": [
            {"type": "binary", "name": "state", "property": "state", "access": 7,
             "value_on": "ON", "value_off": "OFF", "value_toggle": "TOGGLE"},
            {"type": "numeric", "name": "brightness", "property": "brightness", "access": 7,
             "value_min": 0, "value_max": 254},
            {"type": "numeric", "name": "color_temp", "property": "color_temp", "access": 7,
             "unit": "mired", "value_min": 150, "value_max": 500},
            {"type": "composite", "name": "color_xy", "property": "color", "access": 7, "features": [
                {"type": "numeric", "name": "x", "property": "x", "access": 7},
                {"type": "numeric", "name": "y", "property": "y", "access": 7}]},
            {"type": "composite", "name": "color_hs", "property": "color", "access": 7, "features": [
                {"type": "numeric", "name": "hue", "property": "hue", "access": 7},
                {"type": "numeric", "name": "saturation", "property": "saturation", "access": 7}]}
        ]},
        {"type": "enum", "name": "effect", "property": "effect", "access": 2, "values": ["blink"]},
        {"type": "enum", "name": "power_on_behavior", "property": "power_on_behavior", "access": 7,
         "values": ["off", "on"]},
        {"type": "numeric", "name": "linkquality", "property": "linkquality", "access": 1}
    ]))
}

#[test]
fn a_colour_bulb_is_an_extended_colour_light_and_lists_what_is_left() {
    let m = map(&colour_bulb()).unwrap();
    assert_eq!(m.kind, DeviceKind::ExtendedColorLight);
    assert_eq!(m.unmapped, vec!["power_on_behavior".to_owned()]);
    assert_eq!(
        m.gettable(),
        vec!["state", "brightness", "color_temp", "color"]
    );
}

#[test]
fn state_reports_convert_and_bad_fields_are_named_not_fatal() {
    let m = map(&colour_bulb()).unwrap();
    let payload = json!({"state": "ON", "brightness": 0, "color_temp": 120,
        "color": {"x": 0.3, "y": 0.4, "hue": 200, "saturation": 50}, "color_mode": "xy",
        "linkquality": 90});
    let (state, errors) = to_state(&m, payload.as_object().unwrap());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(state.on, Some(true));
    assert_eq!(state.brightness, Some(1), "Matter level never goes below 1");
    assert_eq!(
        state.color_temp_mireds,
        Some(153),
        "clamped to the Matter range"
    );
    assert_eq!((state.color_x, state.color_y), (Some(0.3), Some(0.4)));
    assert_eq!((state.hue, state.saturation), (Some(200), Some(50)));
    assert_eq!(state.color_mode, Some(ColorMode::Xy));

    let bad = json!({"state": "MAYBE", "brightness": "high", "color_temp": 300});
    let (state, errors) = to_state(&m, bad.as_object().unwrap());
    assert_eq!(state.color_temp_mireds, Some(300));
    assert_eq!(state.on, None);
    let named: Vec<&str> = errors.iter().map(|e| e.property.as_str()).collect();
    assert_eq!(named, ["state", "brightness"]);
}

#[test]
fn commands_become_one_set_payload_with_the_transition() {
    let m = map(&colour_bulb()).unwrap();
    let patch = State {
        on: Some(true),
        brightness: Some(100),
        hue: Some(120),
        saturation: Some(80),
        ..State::default()
    };
    let (payload, missing) = to_set(&m, &patch, Some(Duration::from_millis(1500)));
    assert!(missing.is_empty());
    assert_eq!(
        Value::Object(payload),
        json!({"state": "ON", "brightness": 100, "color": {"hue": 120, "saturation": 80},
               "transition": 1.5})
    );
    let (payload, missing) = to_set(
        &m,
        &State {
            position: Some(3),
            ..State::default()
        },
        None,
    );
    assert!(payload.is_empty());
    assert_eq!(missing, ["position"]);
}

#[test]
fn sensors_locks_and_inverted_contact() {
    let m = map(&exposes(json!([
        {"type": "binary", "name": "contact", "property": "contact", "access": 1,
         "value_on": false, "value_off": true},
        {"type": "numeric", "name": "battery", "property": "battery", "access": 1, "unit": "%"},
    ])))
    .unwrap();
    assert_eq!(m.kind, DeviceKind::ContactSensor);
    // The battery joins the same endpoint as a capability.
    assert_eq!(m.with.names(), ["battery"]);
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
    let (state, _) = to_state(&m, json!({"contact": true}).as_object().unwrap());
    assert_eq!(
        state.contact,
        Some(true),
        "true means closed, as the canonical field"
    );

    let m = map(&exposes(json!([
        {"type": "numeric", "name": "temperature", "property": "temperature", "access": 1, "unit": "°C"},
        {"type": "numeric", "name": "humidity", "property": "humidity", "access": 1, "unit": "%"},
        {"type": "numeric", "name": "pressure", "property": "pressure", "access": 1, "unit": "hPa"},
    ])))
    .unwrap();
    assert_eq!(m.kind, DeviceKind::TemperatureSensor);
    assert_eq!(m.with.names(), ["humidity_sensor", "pressure_sensor"]);
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);

    let lock = map(&exposes(json!([{"type": "lock", "features": [
        {"type": "binary", "name": "state", "property": "state", "access": 3,
         "value_on": "LOCK", "value_off": "UNLOCK"},
        {"type": "enum", "name": "lock_state", "property": "lock_state", "access": 1,
         "values": ["not_fully_locked", "locked", "unlocked"]}]}])))
    .unwrap();
    assert_eq!(lock.kind, DeviceKind::DoorLock);
    let (payload, _) = to_set(
        &lock,
        &State {
            lock_state: Some(LockState::Unlocked),
            ..State::default()
        },
        None,
    );
    assert_eq!(Value::Object(payload), json!({"state": "UNLOCK"}));
    let (state, _) = to_state(
        &lock,
        json!({"state": "LOCK", "lock_state": "not_fully_locked"})
            .as_object()
            .unwrap(),
    );
    assert_eq!(state.lock_state, Some(LockState::NotFullyLocked));

    assert!(map(&exposes(json!([
        {"type": "numeric", "name": "linkquality", "property": "linkquality", "access": 1}
    ])))
    .is_none());
}

#[test]
fn generic_exposes_become_kinds_and_capabilities_with_their_units() {
    // A multi-sensor with pressure in kPa and a battery.
    let m = map(&exposes(json!([
        {"type": "numeric", "property": "temperature", "access": 1, "unit": "°C"},
        {"type": "numeric", "property": "humidity", "access": 1, "unit": "%"},
        {"type": "numeric", "property": "pressure", "access": 1, "unit": "kPa"},
        {"type": "numeric", "property": "battery", "access": 1, "unit": "%"},
        {"type": "binary", "property": "battery_low", "access": 1, "value_on": true, "value_off": false},
    ])))
    .unwrap();
    let shape = device_types::Shape::new(m.kind, m.with).unwrap();
    assert_eq!(
        shape.to_string(),
        "temperature_sensor with [humidity_sensor, pressure_sensor, battery]"
    );
    let (state, errors) = to_state(
        &m,
        json!({"temperature": 21.5, "pressure": 101.3, "battery": 87, "battery_low": false})
            .as_object()
            .unwrap(),
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        (state.pressure, state.battery, state.battery_low),
        (Some(1013.0), Some(87), Some(false))
    );
    let (_, errors) = to_state(&m, json!({"battery": 140}).as_object().unwrap());
    assert_eq!(errors[0].property, "battery");

    // A metering plug: power W, energy kWh, voltage V, current mA.
    let m = map(&exposes(json!([
        {"type": "switch", "features": [{"type": "binary", "name": "state", "property": "state",
         "access": 7, "value_on": "ON", "value_off": "OFF"}]},
        {"type": "numeric", "property": "power", "access": 5, "unit": "W"},
        {"type": "numeric", "property": "energy", "access": 5, "unit": "kWh"},
        {"type": "numeric", "property": "voltage", "access": 5, "unit": "V"},
        {"type": "numeric", "property": "current", "access": 5, "unit": "mA"},
    ])))
    .unwrap();
    assert_eq!(m.kind, DeviceKind::OnOffPlugInUnit);
    assert_eq!(m.with.names(), ["electrical"]);
    let (state, _) = to_state(
        &m,
        json!({"power": 60.5, "energy": 1.25, "voltage": 231, "current": 262})
            .as_object()
            .unwrap(),
    );
    assert_eq!(state.current, Some(0.262));
    assert_eq!(state.power, Some(60.5));

    // Leak, smoke, CO; an air quality sensor from its concentrations alone.
    let m = map(&exposes(json!([
        {"type": "binary", "property": "water_leak", "access": 1, "value_on": true, "value_off": false},
    ])))
    .unwrap();
    assert_eq!(m.kind, DeviceKind::WaterLeakDetector);
    let (state, _) = to_state(&m, json!({"water_leak": true}).as_object().unwrap());
    assert_eq!(state.leak, Some(true));
    let m = map(&exposes(json!([
        {"type": "binary", "property": "smoke", "access": 1, "value_on": true, "value_off": false},
    ])))
    .unwrap();
    let (state, _) = to_state(&m, json!({"smoke": true}).as_object().unwrap());
    assert_eq!(state.smoke, Some(device_types::AlarmLevel::Critical));
    let m = map(&exposes(json!([
        {"type": "numeric", "property": "co2", "access": 1, "unit": "ppm"},
        {"type": "numeric", "property": "voc", "access": 1, "unit": "ppb"},
        {"type": "numeric", "property": "formaldehyd", "access": 1, "unit": "mg/m³"},
        {"type": "numeric", "property": "illuminance_lux", "access": 1, "unit": "lx"},
    ])))
    .unwrap();
    // The light sensor is the more specific kind; the concentrations bring the air quality sensor.
    assert_eq!(m.kind, DeviceKind::LightSensor);
    assert_eq!(
        m.with.names(),
        ["air_quality_sensor", "co2", "tvoc", "formaldehyde"]
    );
    let (state, _) = to_state(
        &m,
        json!({"formaldehyd": 0.02, "co2": 700})
            .as_object()
            .unwrap(),
    );
    assert_eq!(state.formaldehyde, Some(20.0));
    // Only a battery: nothing to bridge.
    assert!(map(&exposes(json!([
        {"type": "numeric", "property": "battery", "access": 1, "unit": "%"},
    ])))
    .is_none());
}

#[test]
fn a_stop_becomes_the_move_stops_of_the_bindings_the_device_has() {
    let m = map(&colour_bulb()).unwrap();
    let payload = super::convert::stop_payload(&m, &["brightness", "position"]);
    assert_eq!(Value::Object(payload), json!({"brightness_move": "stop"}));
    let payload = super::convert::stop_payload(
        &m,
        &[
            "color_temp_mireds",
            "hue",
            "saturation",
            "color_x",
            "color_y",
        ],
    );
    let keys: Vec<&String> = payload.keys().collect();
    assert!(keys.contains(&&"hue_move".to_string()), "{payload:?}");
    assert!(
        keys.contains(&&"saturation_move".to_string()),
        "{payload:?}"
    );
}

#[test]
fn a_property_zigbee2mqtt_only_reports_is_not_commanded() {
    // A TRV whose system_mode is reported but not settable (access 1), its setpoint settable.
    let m = map(&exposes(json!([
        {"type": "climate", "features": [
            {"type": "numeric", "name": "local_temperature", "property": "local_temperature",
             "access": 5, "unit": "°C"},
            {"type": "numeric", "name": "current_heating_setpoint",
             "property": "current_heating_setpoint", "access": 7, "unit": "°C"},
            {"type": "enum", "name": "system_mode", "property": "system_mode", "access": 1,
             "values": ["heat"]}]}
    ])))
    .unwrap();
    assert_eq!(m.kind, DeviceKind::Thermostat);
    let patch = State {
        heating_setpoint: Some(21.5),
        system_mode: Some(device_types::SystemMode::Off),
        ..State::default()
    };
    let (out, missing) = to_set(&m, &patch, None);
    assert_eq!(
        Value::Object(out),
        json!({"current_heating_setpoint": 21.5})
    );
    assert_eq!(missing, vec!["system_mode"]);
    let (state, _) = to_state(&m, json!({"system_mode": "heat"}).as_object().unwrap());
    assert_eq!(
        state.system_mode,
        Some(device_types::SystemMode::Heat),
        "still read"
    );
}

#[test]
fn enum_valued_presence_battery_and_smoke_map_and_one_field_has_one_expose() {
    // A radar with a presence binary and a presence_state enum, its battery as a level enum.
    let m = map(&exposes(json!([
        {"type": "binary", "name": "presence", "property": "presence", "access": 1,
         "value_on": true, "value_off": false},
        {"type": "enum", "name": "presence_state", "property": "presence_state", "access": 1,
         "values": ["none", "presence", "small_movement"]},
        {"type": "enum", "name": "battery_state", "property": "battery_state", "access": 1,
         "values": ["low", "medium", "high"]}
    ])))
    .unwrap();
    assert_eq!(m.kind, DeviceKind::OccupancySensor);
    assert_eq!(
        m.unmapped,
        vec!["presence_state".to_owned()],
        "occupied is presence's"
    );
    let (s, errors) = to_state(
        &m,
        json!({"presence": true, "battery_state": "low"})
            .as_object()
            .unwrap(),
    );
    assert!(errors.is_empty());
    assert_eq!((s.occupied, s.battery_low), (Some(true), Some(true)));

    // A smoke detector that reports an enum; its self test is not an alarm level.
    let m = map(&exposes(json!([
        {"type": "enum", "name": "smoke_state", "property": "smoke_state", "access": 1,
         "values": ["alarm", "normal", "detecting", "unknown"]}
    ])))
    .unwrap();
    assert_eq!(m.kind, DeviceKind::SmokeAlarm);
    let (s, _) = to_state(&m, json!({"smoke_state": "alarm"}).as_object().unwrap());
    assert_eq!(s.smoke, Some(device_types::AlarmLevel::Critical));
    let (s, errors) = to_state(&m, json!({"smoke_state": "detecting"}).as_object().unwrap());
    assert_eq!((s.smoke, errors.len()), (None, 1));

    // Two switch exposes write one `on`: the second is not silently merged into the first.
    let m = map(&exposes(json!([
        {"type": "switch", "endpoint": "l1", "features": [
            {"type": "binary", "name": "state", "property": "state_l1", "access": 7,
             "value_on": "ON", "value_off": "OFF", "endpoint": "l1"}]},
        {"type": "switch", "endpoint": "l2", "features": [
            {"type": "binary", "name": "state", "property": "state_l2", "access": 7,
             "value_on": "ON", "value_off": "OFF", "endpoint": "l2"}]}
    ])))
    .unwrap();
    assert_eq!(m.bindings.len(), 1);
    assert_eq!(m.unmapped, vec!["switch_l2".to_owned()]);
}

#[test]
fn a_system_mode_the_thermostat_lacks_is_refused() {
    let m = map(&exposes(json!([
        {"type": "climate", "features": [
            {"type": "numeric", "name": "local_temperature", "property": "local_temperature",
             "access": 5, "unit": "°C"},
            {"type": "enum", "name": "system_mode", "property": "system_mode", "access": 7,
             "values": ["off", "auto", "heat"]}]}
    ])))
    .unwrap();
    let mode = |mode| State {
        system_mode: Some(mode),
        ..State::default()
    };
    let (out, missing) = to_set(&m, &mode(device_types::SystemMode::Heat), None);
    assert_eq!(
        (Value::Object(out), missing),
        (json!({"system_mode": "heat"}), vec![])
    );
    let (out, missing) = to_set(&m, &mode(device_types::SystemMode::Cool), None);
    assert_eq!(
        (Value::Object(out), missing),
        (json!({}), vec!["system_mode"])
    );
}
