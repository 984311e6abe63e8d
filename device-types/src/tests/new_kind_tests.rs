//! Tests of the sensor, alarm and fan kinds: ranges, Matter encodings, events, fan writes.

use crate::matter::ids::{self, cluster};
use crate::matter::{
    event_fields, events_for_change, is_critical_event, read_attr, write_attr, ArgValue, AttrValue,
    CommandError,
};
use crate::{AirQuality, AlarmLevel, DeviceKind, FanMode, State};

fn mv() -> u32 {
    ids::measurement::attr::MEASURED_VALUE
}

#[test]
fn illuminance_is_served_as_ten_thousand_log10_lux_plus_one() {
    let k = DeviceKind::LightSensor;
    let read = |lux: f64| {
        let s = State {
            illuminance: Some(lux),
            ..State::default()
        };
        read_attr(k, &s, cluster::ILLUMINANCE_MEASUREMENT, mv())
    };
    assert_eq!(read(1.0), Some(AttrValue::U16(1)));
    assert_eq!(read(10.0), Some(AttrValue::U16(10001)));
    assert_eq!(read(1000.0), Some(AttrValue::U16(30001)));
    // 0 lux: "too low to be measured".
    assert_eq!(read(0.0), Some(AttrValue::U16(0)));
    assert_eq!(
        read_attr(k, &State::default(), cluster::ILLUMINANCE_MEASUREMENT, mv()),
        Some(AttrValue::Null)
    );
    // Round trip within the encoding's resolution.
    let back = crate::matter::matter_to_lux(crate::matter::lux_to_matter(523.0));
    assert!((back - 523.0).abs() < 0.2, "{back}");
    let err = k
        .validate(&State {
            illuminance: Some(4.0e6),
            ..State::default()
        })
        .unwrap_err();
    assert_eq!(err.field, "illuminance");
    assert_eq!(err.value, "4000000");
}

#[test]
fn pressure_hpa_and_flow_tenths_are_encoded_and_range_checked() {
    let p = State {
        pressure: Some(1013.4),
        ..State::default()
    };
    assert_eq!(
        read_attr(
            DeviceKind::PressureSensor,
            &p,
            cluster::PRESSURE_MEASUREMENT,
            mv()
        ),
        Some(AttrValue::I16(1013))
    );
    let f = State {
        flow: Some(12.34),
        ..State::default()
    };
    assert_eq!(
        read_attr(DeviceKind::FlowSensor, &f, cluster::FLOW_MEASUREMENT, mv()),
        Some(AttrValue::U16(123))
    );
    let err = State::from_json(r#"{"flow": 7000}"#).unwrap_err();
    assert_eq!((err.field.as_str(), err.value.as_str()), ("flow", "7000"));
    let err = State::from_json(r#"{"pressure": -1}"#).unwrap_err();
    assert_eq!(err.field, "pressure");
    // Fields of one sensor do not apply to another.
    let err = DeviceKind::PressureSensor.validate(&f).unwrap_err();
    assert_eq!(err.field, "flow");
}

#[test]
fn leak_freeze_and_rain_are_boolean_state_with_state_change_events() {
    for (kind, set) in [
        (
            DeviceKind::WaterLeakDetector,
            (|s: &mut State, v| s.leak = Some(v)) as fn(&mut State, bool),
        ),
        (DeviceKind::WaterFreezeDetector, |s: &mut State, v| {
            s.freeze = Some(v)
        }),
        (DeviceKind::RainSensor, |s: &mut State, v| s.rain = Some(v)),
    ] {
        let old = kind.default_state();
        let mut new = old.clone();
        set(&mut new, true);
        assert_eq!(
            read_attr(kind, &new, cluster::BOOLEAN_STATE, 0),
            Some(AttrValue::Bool(true)),
            "{kind}"
        );
        assert_eq!(
            read_attr(kind, &old, cluster::BOOLEAN_STATE, 0),
            Some(AttrValue::Bool(false))
        );
        let events = events_for_change(kind, &old, &new);
        assert_eq!(events, vec![(cluster::BOOLEAN_STATE, 0)], "{kind}");
        assert_eq!(
            event_fields(kind, &new, cluster::BOOLEAN_STATE, 0),
            Some(vec![(0, AttrValue::Bool(true))])
        );
        assert!(events_for_change(kind, &new, &new).is_empty());
    }
}

#[test]
fn smoke_co_alarm_features_attributes_and_expressed_state() {
    use ids::smoke_co_alarm::attr::*;
    let c = cluster::SMOKE_CO_ALARM;
    let smoke = DeviceKind::SmokeAlarm;
    assert_eq!(smoke.clusters()[1].feature_map, 0x1);
    assert_eq!(DeviceKind::CoAlarm.clusters()[1].feature_map, 0x2);
    assert_eq!(DeviceKind::SmokeCoAlarm.clusters()[1].feature_map, 0x3);
    let s = smoke.default_state();
    assert_eq!(
        read_attr(smoke, &s, c, EXPRESSED_STATE),
        Some(AttrValue::U8(0))
    );
    assert_eq!(
        read_attr(smoke, &s, c, CO_STATE),
        None,
        "CO state needs the CO feature"
    );
    let alarm = State {
        smoke: Some(AlarmLevel::Critical),
        ..s.clone()
    };
    assert_eq!(
        read_attr(smoke, &alarm, c, SMOKE_STATE),
        Some(AttrValue::U8(2))
    );
    assert_eq!(
        read_attr(smoke, &alarm, c, EXPRESSED_STATE),
        Some(AttrValue::U8(1))
    );
    let both = DeviceKind::SmokeCoAlarm;
    let co = State {
        co: Some(AlarmLevel::Warning),
        ..both.default_state()
    };
    assert_eq!(
        read_attr(both, &co, c, EXPRESSED_STATE),
        Some(AttrValue::U8(2))
    );
    let testing = State {
        test_in_progress: Some(true),
        ..both.default_state()
    };
    assert_eq!(
        read_attr(both, &testing, c, EXPRESSED_STATE),
        Some(AttrValue::U8(4))
    );
    let battery = State {
        battery_alert: Some(AlarmLevel::Warning),
        ..both.default_state()
    };
    assert_eq!(
        read_attr(both, &battery, c, EXPRESSED_STATE),
        Some(AttrValue::U8(3))
    );
    let err = DeviceKind::CoAlarm
        .validate(&State {
            smoke: Some(AlarmLevel::Normal),
            ..State::default()
        })
        .unwrap_err();
    assert_eq!(err.field, "smoke");
    let err = State::from_json(r#"{"smoke": "fire"}"#).unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.value.as_str()),
        ("smoke", "\"fire\"")
    );
}

#[test]
fn smoke_alarm_events_follow_the_alarm_level() {
    use ids::smoke_co_alarm::event::*;
    let c = cluster::SMOKE_CO_ALARM;
    let k = DeviceKind::SmokeCoAlarm;
    let normal = k.default_state();
    let alarm = State {
        smoke: Some(AlarmLevel::Critical),
        ..normal.clone()
    };
    assert_eq!(
        events_for_change(k, &normal, &alarm),
        vec![(c, SMOKE_ALARM)]
    );
    assert_eq!(
        event_fields(k, &alarm, c, SMOKE_ALARM),
        Some(vec![(0, AttrValue::U8(2))])
    );
    assert!(is_critical_event(c, SMOKE_ALARM) && is_critical_event(c, CO_ALARM));
    assert!(!is_critical_event(c, ALL_CLEAR));
    assert_eq!(events_for_change(k, &alarm, &normal), vec![(c, ALL_CLEAR)]);
    let co = State {
        co: Some(AlarmLevel::Warning),
        ..normal.clone()
    };
    assert_eq!(events_for_change(k, &normal, &co), vec![(c, CO_ALARM)]);
    let low = State {
        battery_alert: Some(AlarmLevel::Warning),
        ..normal.clone()
    };
    assert_eq!(events_for_change(k, &normal, &low), vec![(c, LOW_BATTERY)]);
    let test = State {
        test_in_progress: Some(true),
        ..normal.clone()
    };
    assert!(events_for_change(k, &normal, &test).is_empty());
    assert_eq!(
        events_for_change(k, &test, &normal),
        vec![(c, SELF_TEST_COMPLETE)]
    );
    // A CO-only alarm raises no SmokeAlarm (it has no smoke field at all).
    let k = DeviceKind::CoAlarm;
    let n = k.default_state();
    let a = State {
        co: Some(AlarmLevel::Critical),
        ..n.clone()
    };
    assert_eq!(events_for_change(k, &n, &a), vec![(c, CO_ALARM)]);
}

#[test]
fn air_quality_levels_are_the_matter_enum() {
    let k = DeviceKind::AirQualitySensor;
    let c = cluster::AIR_QUALITY;
    let spec = k.clusters().iter().find(|s| s.id == c).unwrap();
    assert_eq!(spec.feature_map, 0xF);
    for (q, v) in [
        (AirQuality::Good, 1),
        (AirQuality::Fair, 2),
        (AirQuality::Moderate, 3),
        (AirQuality::Poor, 4),
        (AirQuality::VeryPoor, 5),
        (AirQuality::ExtremelyPoor, 6),
    ] {
        let s = State {
            air_quality: Some(q),
            ..State::default()
        };
        assert_eq!(read_attr(k, &s, c, 0), Some(AttrValue::U8(v)));
    }
    assert_eq!(
        read_attr(k, &State::default(), c, 0),
        Some(AttrValue::U8(0))
    );
}

#[test]
fn fan_mode_and_percent_writes_move_each_other() {
    use ids::fan_control::attr::*;
    let k = crate::Shape::parse(DeviceKind::Fan, &["fan_auto"]).unwrap();
    let c = cluster::FAN_CONTROL;
    let s = k.default_state();
    let w = |attr, v: ArgValue| write_attr(k, &s, c, attr, &v);
    let p = w(PERCENT_SETTING, ArgValue::UInt(50)).unwrap();
    assert_eq!(
        (p.fan_mode, p.fan_percent),
        (Some(FanMode::Medium), Some(50))
    );
    let p = w(PERCENT_SETTING, ArgValue::UInt(0)).unwrap();
    assert_eq!(p.fan_mode, Some(FanMode::Off));
    // A written null changes nothing.
    assert!(w(PERCENT_SETTING, ArgValue::Null).unwrap().is_empty());
    assert!(matches!(
        w(PERCENT_SETTING, ArgValue::UInt(101)),
        Err(CommandError::ConstraintError { .. })
    ));
    let p = w(FAN_MODE, ArgValue::UInt(3)).unwrap();
    assert_eq!(
        (p.fan_mode, p.fan_percent),
        (Some(FanMode::High), Some(100))
    );
    // On is served as High.
    let p = w(FAN_MODE, ArgValue::UInt(4)).unwrap();
    assert_eq!(p.fan_mode, Some(FanMode::High));
    let p = w(FAN_MODE, ArgValue::UInt(5)).unwrap();
    assert_eq!((p.fan_mode, p.fan_percent), (Some(FanMode::Auto), None));
    assert!(matches!(
        w(FAN_MODE, ArgValue::UInt(6)),
        Err(CommandError::ConstraintError { .. })
    ));
    // Reads: Auto shows a null PercentSetting; FanModeSequence OffLowMedHighAuto.
    let auto = State {
        fan_mode: Some(FanMode::Auto),
        fan_percent: Some(40),
        ..State::default()
    };
    assert_eq!(
        read_attr(k, &auto, c, PERCENT_SETTING),
        Some(AttrValue::Null)
    );
    assert_eq!(
        read_attr(k, &auto, c, PERCENT_CURRENT),
        Some(AttrValue::U8(40))
    );
    assert_eq!(read_attr(k, &auto, c, FAN_MODE), Some(AttrValue::U8(5)));
    assert_eq!(
        read_attr(k, &auto, c, FAN_MODE_SEQUENCE),
        Some(AttrValue::U8(2))
    );
    let err = k
        .validate(&State {
            fan_percent: Some(120),
            ..State::default()
        })
        .unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.value.as_str()),
        ("fan_percent", "120")
    );
}

#[test]
fn dimmable_plug_serves_level_control() {
    let k = DeviceKind::DimmablePlugInUnit;
    let ids: Vec<u32> = k.clusters().iter().map(|c| c.id).collect();
    assert_eq!(ids, [0x0003, 0x0004, 0x0006, 0x0008, 0x0062]);
    let s = State {
        on: Some(true),
        brightness: Some(100),
        ..State::default()
    };
    assert_eq!(
        read_attr(k, &s, cluster::LEVEL_CONTROL, 0),
        Some(AttrValue::U8(100))
    );
}

#[test]
fn a_fan_advertises_auto_only_with_fan_auto() {
    use ids::fan_control::attr::*;
    let plain = DeviceKind::Fan;
    let auto = crate::Shape::parse(DeviceKind::Fan, &["fan_auto"]).unwrap();
    let c = cluster::FAN_CONTROL;
    let s = plain.default_state();
    // FeatureMap and FanModeSequence say what the fan can do.
    assert_eq!(
        crate::Shape::from(plain)
            .cluster_spec(c)
            .unwrap()
            .feature_map,
        0
    );
    assert_eq!(auto.cluster_spec(c).unwrap().feature_map, 0x2);
    assert_eq!(
        read_attr(plain, &s, c, FAN_MODE_SEQUENCE),
        Some(AttrValue::U8(0))
    );
    assert_eq!(
        read_attr(auto, &s, c, FAN_MODE_SEQUENCE),
        Some(AttrValue::U8(2))
    );
    // Auto is refused where it is not advertised: a write names FanMode and the value, a state
    // names the field.
    match write_attr(plain, &s, c, FAN_MODE, &ArgValue::UInt(5)) {
        Err(CommandError::ConstraintError { field, value, .. }) => {
            assert_eq!((field.as_ref(), value.as_str()), ("FanMode", "5"))
        }
        other => panic!("{other:?}"),
    }
    let err = plain
        .validate(&State {
            fan_mode: Some(FanMode::Auto),
            ..State::default()
        })
        .unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.value.as_str()),
        ("fan_mode", "auto")
    );
    assert!(auto
        .validate(&State {
            fan_mode: Some(FanMode::Auto),
            ..State::default()
        })
        .is_ok());
    // Only a fan takes it.
    let err = crate::Shape::parse(DeviceKind::OnOffLight, &["fan_auto"]).unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.value.as_str()),
        ("with", "\"fan_auto\"")
    );
}
