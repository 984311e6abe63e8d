//! Tests that bad state is rejected with an error naming the field and the value.

use crate::{ColorMode, DeviceKind, State, ValidationError};

fn assert_names(err: &ValidationError, field: &str, value: &str) {
    let msg = err.to_string();
    assert_eq!(err.field, field, "{msg}");
    assert!(err.value.contains(value), "{msg}");
    assert!(msg.contains(&format!("`{field}`")), "{msg}");
    assert!(msg.contains(value), "{msg}");
}

#[test]
fn brightness_300_from_json_is_rejected_with_the_range() {
    let err = State::from_json(r#"{"brightness": 300}"#).unwrap_err();
    assert_names(&err, "brightness", "300");
    assert_eq!(
        err.to_string(),
        "invalid value 300 for field `brightness`: must be 1..=254"
    );
}

#[test]
fn brightness_out_of_range_from_rust_is_rejected() {
    for bad in [0u8, 255] {
        let s = State {
            brightness: Some(bad),
            ..State::default()
        };
        let err = DeviceKind::DimmableLight.validate(&s).unwrap_err();
        assert_names(&err, "brightness", &bad.to_string());
    }
}

#[test]
fn unknown_mode_is_rejected() {
    let err = State::from_json(r#"{"system_mode": "turbo"}"#).unwrap_err();
    assert_names(&err, "system_mode", "turbo");
    assert!(err.reason.contains("off, heat, cool, auto"), "{err}");
    let err = State::from_json(r#"{"color_mode": 2}"#).unwrap_err();
    assert_names(&err, "color_mode", "2");
    assert!(err.reason.contains("color_temp, hs, xy"), "{err}");
}

#[test]
fn non_finite_numbers_are_rejected() {
    for (bad, text) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        let s = State {
            temperature: Some(bad),
            ..State::default()
        };
        let err = DeviceKind::TemperatureSensor.validate(&s).unwrap_err();
        assert_names(&err, "temperature", text);
    }
    let s = State {
        humidity: Some(f64::NAN),
        ..State::default()
    };
    assert_names(
        &DeviceKind::HumiditySensor.validate(&s).unwrap_err(),
        "humidity",
        "NaN",
    );
}

#[test]
fn out_of_range_floats_are_rejected() {
    let cases = [
        (
            DeviceKind::TemperatureSensor,
            r#"{"temperature": -300}"#,
            "temperature",
            "-300",
        ),
        (
            DeviceKind::HumiditySensor,
            r#"{"humidity": 100.5}"#,
            "humidity",
            "100.5",
        ),
        (
            DeviceKind::Thermostat,
            r#"{"heating_setpoint": 31}"#,
            "heating_setpoint",
            "31",
        ),
        (
            DeviceKind::Thermostat,
            r#"{"cooling_setpoint": 15}"#,
            "cooling_setpoint",
            "15",
        ),
        (
            DeviceKind::ExtendedColorLight,
            r#"{"color_x": 0.997}"#,
            "color_x",
            "0.997",
        ),
        (
            DeviceKind::ExtendedColorLight,
            r#"{"color_y": -0.1}"#,
            "color_y",
            "-0.1",
        ),
    ];
    for (kind, json, field, value) in cases {
        assert_names(&State::from_json(json).unwrap_err(), field, value);
        // The same value built in Rust fails validate too.
        let s: State = serde_json::from_str(json).unwrap();
        assert_names(&kind.validate(&s).unwrap_err(), field, value);
    }
}

#[test]
fn field_not_applicable_to_the_kind_is_rejected() {
    let s = State::from_json(r#"{"brightness": 128}"#).unwrap();
    let err = DeviceKind::ContactSensor.validate(&s).unwrap_err();
    assert_names(&err, "brightness", "128");
    assert!(err.reason.contains("contact_sensor"), "{err}");
    assert!(err.reason.contains("contact"), "{err}");

    let hs = State {
        hue: Some(10),
        ..State::default()
    };
    assert_names(
        &DeviceKind::ColorTemperatureLight.validate(&hs).unwrap_err(),
        "hue",
        "10",
    );
}

#[test]
fn color_temperature_light_only_has_color_temp_mode() {
    let s = State {
        color_mode: Some(ColorMode::Xy),
        ..State::default()
    };
    assert_names(
        &DeviceKind::ColorTemperatureLight.validate(&s).unwrap_err(),
        "color_mode",
        "xy",
    );
    assert!(DeviceKind::ExtendedColorLight.validate(&s).is_ok());
}

#[test]
fn json_of_the_wrong_type_is_rejected() {
    let cases = [
        (r#"{"on": "yes"}"#, "on", "\"yes\""),
        (r#"{"brightness": "high"}"#, "brightness", "\"high\""),
        (r#"{"brightness": 12.5}"#, "brightness", "12.5"),
        (r#"{"temperature": "warm"}"#, "temperature", "\"warm\""),
        (r#"{"position": -1}"#, "position", "-1"),
        (r#"{"hue": 361}"#, "hue", "361"),
    ];
    for (json, field, value) in cases {
        assert_names(&State::from_json(json).unwrap_err(), field, value);
    }
}

#[test]
fn unknown_field_is_rejected_by_name() {
    let err = State::from_json(r#"{"on": true, "colour": "red"}"#).unwrap_err();
    assert_names(&err, "colour", "red");
    assert!(err.reason.contains("unknown field"), "{err}");
}

#[test]
fn non_object_and_broken_json_are_rejected() {
    let err = State::from_json("[1,2]").unwrap_err();
    assert_eq!(err.field, "$");
    let err = State::from_json("{\"on\": tru").unwrap_err();
    assert_eq!(err.field, "$");
    assert!(err.reason.contains("not valid JSON"), "{err}");
}

#[test]
fn thermostat_setpoints_must_keep_the_deadband() {
    let ok = State {
        heating_setpoint: Some(22.0),
        cooling_setpoint: Some(24.0),
        ..State::default()
    };
    assert!(DeviceKind::Thermostat.validate(&ok).is_ok());
    let bad = State {
        heating_setpoint: Some(22.5),
        cooling_setpoint: Some(24.0),
        ..State::default()
    };
    let err = DeviceKind::Thermostat.validate(&bad).unwrap_err();
    assert_names(&err, "heating_setpoint", "22.5");
    assert!(err.reason.contains("2 °C"), "{err}");
}

#[test]
fn valid_patches_pass() {
    let p = State::from_json(r#"{"on": true, "brightness": 1}"#).unwrap();
    assert!(DeviceKind::DimmableLight.validate(&p).is_ok());
    assert!(DeviceKind::ExtendedColorLight.validate(&p).is_ok());
    assert!(DeviceKind::OnOffLight.validate(&p).is_err());
    assert!(DeviceKind::Thermostat.validate(&State::default()).is_ok());
}
