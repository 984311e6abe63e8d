//! Tests of device kinds (names, device types, fields, defaults) and of State's merge/diff/serde.

use crate::{ColorMode, DeviceKind, LockState, State, SystemMode};

#[test]
fn kind_names_round_trip_through_display_fromstr_and_serde() {
    let expected = [
        "on_off_light",
        "dimmable_light",
        "color_temperature_light",
        "extended_color_light",
        "on_off_plug_in_unit",
        "contact_sensor",
        "occupancy_sensor",
        "temperature_sensor",
        "humidity_sensor",
        "thermostat",
        "door_lock",
        "window_covering",
        "generic_switch",
        "dimmable_plug_in_unit",
        "light_sensor",
        "pressure_sensor",
        "flow_sensor",
        "water_leak_detector",
        "water_freeze_detector",
        "rain_sensor",
        "smoke_alarm",
        "co_alarm",
        "smoke_co_alarm",
        "air_quality_sensor",
        "fan",
        "bridged_node",
    ];
    assert_eq!(DeviceKind::ALL.len(), expected.len());
    for (kind, name) in DeviceKind::ALL.iter().zip(expected) {
        assert_eq!(kind.as_str(), name);
        assert_eq!(kind.to_string(), name);
        assert_eq!(name.parse::<DeviceKind>().unwrap(), *kind);
        assert_eq!(serde_json::to_string(kind).unwrap(), format!("\"{name}\""));
        let back: DeviceKind = serde_json::from_str(&format!("\"{name}\"")).unwrap();
        assert_eq!(back, *kind);
    }
}

#[test]
fn unknown_kind_error_lists_the_valid_kinds() {
    let err = "toaster".parse::<DeviceKind>().unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.field, "kind");
    assert!(msg.contains("toaster"), "{msg}");
    for kind in DeviceKind::ALL {
        assert!(msg.contains(kind.as_str()), "{msg} lacks {kind}");
    }
}

#[test]
/// Matter 1.6.0 Device Library revisions (data_model/1.6, 1.5.1 where 1.6 has no file).
fn device_types_match_the_device_library() {
    let ids: Vec<(u32, u16)> = DeviceKind::ALL
        .iter()
        .map(|k| (k.device_type().id, k.device_type().revision))
        .collect();
    assert_eq!(
        ids,
        [
            (0x0100, 3),
            (0x0101, 4),
            (0x010C, 4),
            (0x010D, 4),
            (0x010A, 5),
            (0x0015, 2),
            (0x0107, 4),
            (0x0302, 3),
            (0x0307, 3),
            (0x0301, 6),
            (0x000A, 4),
            (0x0202, 6),
            (0x000F, 3),
            (0x010B, 6),
            (0x0106, 4),
            (0x0305, 3),
            (0x0306, 3),
            (0x0043, 2),
            (0x0041, 2),
            (0x0044, 2),
            (0x0076, 2),
            (0x0076, 2),
            (0x0076, 2),
            (0x002C, 1),
            (0x002B, 5),
            (0x0013, 3),
        ]
    );
}

#[test]
fn every_default_state_validates_and_sets_exactly_the_kinds_fields() {
    for kind in DeviceKind::ALL {
        let d = kind.default_state();
        kind.validate(&d)
            .unwrap_or_else(|e| panic!("{kind} default invalid: {e}"));
        assert_eq!(d.present_fields(), kind.fields(), "{kind}");
    }
}

#[test]
fn fields_are_known_state_fields() {
    for kind in DeviceKind::ALL {
        for f in kind.fields() {
            assert!(State::FIELD_NAMES.contains(f), "{kind}: {f}");
        }
    }
}

#[test]
fn merged_overrides_only_the_fields_the_patch_sets() {
    let base = DeviceKind::ExtendedColorLight.default_state();
    let patch = State {
        on: Some(true),
        hue: Some(120),
        ..State::default()
    };
    let m = base.merged(&patch);
    assert_eq!(m.on, Some(true));
    assert_eq!(m.hue, Some(120));
    assert_eq!(m.brightness, base.brightness);
    assert_eq!(m.color_x, base.color_x);
    assert_eq!(base.merged(&State::default()), base);
}

#[test]
fn diff_lists_the_fields_of_other_that_differ() {
    let a = State {
        on: Some(true),
        brightness: Some(100),
        ..State::default()
    };
    let b = State {
        on: Some(true),
        brightness: Some(200),
        temperature: Some(21.5),
        ..State::default()
    };
    let d = a.diff(&b);
    assert_eq!(
        d,
        State {
            brightness: Some(200),
            temperature: Some(21.5),
            ..State::default()
        }
    );
    assert!(a.diff(&a).is_empty());
    assert_eq!(a.merged(&d), a.merged(&b));
    // A field other leaves unset is not a difference.
    assert!(b.diff(&State::default()).is_empty());
}

#[test]
fn is_empty_only_for_no_fields() {
    assert!(State::default().is_empty());
    assert!(!State {
        position: Some(0),
        ..State::default()
    }
    .is_empty());
}

#[test]
fn serde_skips_unset_fields_and_uses_snake_case_enums() {
    let s = State {
        on: Some(true),
        color_mode: Some(ColorMode::ColorTemp),
        system_mode: Some(SystemMode::Auto),
        lock_state: Some(LockState::NotFullyLocked),
        ..State::default()
    };
    let json = s.to_json();
    assert_eq!(
        json,
        r#"{"on":true,"color_mode":"color_temp","system_mode":"auto","lock_state":"not_fully_locked"}"#
    );
    assert_eq!(State::from_json(&json).unwrap(), s);
    let derived: State = serde_json::from_str(&json).unwrap();
    assert_eq!(derived, s);
    assert!(serde_json::from_str::<State>(r#"{"bogus":1}"#).is_err());
}

#[test]
fn from_json_reads_every_field() {
    let json = r#"{"on":true,"brightness":128,"color_temp_mireds":250,"hue":180,"saturation":50,
        "color_x":0.3,"color_y":0.4,"color_mode":"hs","contact":false,"occupied":true,
        "temperature":-5.25,"humidity":40,"heating_setpoint":19.5,"cooling_setpoint":24,
        "system_mode":"cool","lock_state":"unlocked","position":30,"illuminance":250.5,
        "pressure":1013,"flow":1.5,"leak":true,"freeze":false,"rain":true,"smoke":"warning",
        "co":"critical","battery_alert":"normal","test_in_progress":false,"hardware_fault":false,
        "air_quality":"very_poor","fan_mode":"auto","fan_percent":40,"battery":87,
        "battery_low":false,"power":12.5,"energy":3.25,"voltage":230,"current":0.05,"co2":600,
        "pm25":12,"pm10":20,"tvoc":150,"formaldehyde":8}"#;
    let s = State::from_json(json).unwrap();
    assert_eq!(s.present_fields(), State::FIELD_NAMES);
    assert_eq!(s.humidity, Some(40.0));
    assert_eq!(s.temperature, Some(-5.25));
    assert_eq!(s.system_mode, Some(SystemMode::Cool));
    // Integers written as floats with no fraction are accepted; null means unset.
    let t = State::from_json(r#"{"brightness":50.0,"on":null}"#).unwrap();
    assert_eq!(t.brightness, Some(50));
    assert_eq!(t.on, None);
}

#[test]
fn enum_fromstr_errors_name_the_field() {
    let e = "turbo".parse::<SystemMode>().unwrap_err();
    assert_eq!(e.field, "system_mode");
    assert!(e.reason.contains("off, heat, cool, auto"), "{e}");
    let e = "ajar".parse::<LockState>().unwrap_err();
    assert_eq!(e.field, "lock_state");
    let e = "rgb".parse::<ColorMode>().unwrap_err();
    assert_eq!(e.field, "color_mode");
}
