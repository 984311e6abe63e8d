//! Device events: the JSON form, validation against the kind, and the Switch event sequences.

use crate::matter::switch::{event, press_sequence, MULTI_PRESS_MAX, PRESSED, RELEASED};
use crate::matter::AttrValue;
use crate::{DeviceEvent, DeviceKind, Press};

fn names(steps: &[crate::matter::switch::SwitchStep]) -> Vec<&'static str> {
    steps
        .iter()
        .map(|s| match s.event {
            event::INITIAL_PRESS => "InitialPress",
            event::LONG_PRESS => "LongPress",
            event::SHORT_RELEASE => "ShortRelease",
            event::LONG_RELEASE => "LongRelease",
            event::MULTI_PRESS_ONGOING => "MultiPressOngoing",
            event::MULTI_PRESS_COMPLETE => "MultiPressComplete",
            _ => "?",
        })
        .collect()
}

#[test]
fn press_json_spellings_round_trip() {
    for (text, press) in [
        (r#"{"press":"single"}"#, Press::Short(1)),
        (r#"{"press":"double"}"#, Press::Short(2)),
        (r#"{"press":"triple"}"#, Press::Short(3)),
        (r#"{"press":"quadruple"}"#, Press::Short(4)),
        (r#"{"press":5}"#, Press::Short(5)),
        (r#"{"press":"long"}"#, Press::Long),
        (r#"{"press":"hold"}"#, Press::Hold),
        (r#"{"press":"release"}"#, Press::Release),
    ] {
        let ev = DeviceEvent::from_json(text).unwrap();
        assert_eq!(ev, DeviceEvent::press(press), "{text}");
        assert_eq!(ev.to_json(), text);
        let back: DeviceEvent = serde_json::from_str(&ev.to_json()).unwrap();
        assert_eq!(back, ev);
    }
    // A count spelled as a number that has a name comes back as the name.
    assert_eq!(
        DeviceEvent::from_json(r#"{"press":2}"#).unwrap().to_json(),
        r#"{"press":"double"}"#
    );
    let with_button = DeviceEvent::from_json(r#"{"press":"single","button":"2"}"#).unwrap();
    assert_eq!(
        with_button,
        DeviceEvent::Press {
            press: Press::Short(1),
            button: Some("2".into())
        }
    );
    assert_eq!(with_button.to_json(), r#"{"press":"single","button":"2"}"#);
}

#[test]
fn bad_events_name_the_field_and_value() {
    let e = DeviceEvent::from_json(r#"{"press":"sideways"}"#).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.value.as_str()),
        ("press", "\"sideways\"")
    );
    let e = DeviceEvent::from_json(r#"{"press":0}"#).unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("press", "0"));
    let e = DeviceEvent::from_json(r#"{"press":9}"#).unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("press", "9"));
    let e = DeviceEvent::from_json(r#"{"press":true}"#).unwrap_err();
    assert_eq!(e.field, "press");
    let e = DeviceEvent::from_json(r#"{"press":"single","colour":"red"}"#).unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("colour", "\"red\""));
    let e = DeviceEvent::from_json(r#"{}"#).unwrap_err();
    assert_eq!(e.field, "press");
    let e = DeviceEvent::from_json(r#"{"press":"single","button":""}"#).unwrap_err();
    assert_eq!(e.field, "button");
    let e = DeviceEvent::from_json("[1]").unwrap_err();
    assert_eq!(e.field, "$");
    let e = DeviceEvent::from_json("{nope").unwrap_err();
    assert_eq!(e.field, "$");
}

#[test]
fn only_a_generic_switch_raises_presses() {
    let ev = DeviceEvent::press(Press::Short(2));
    DeviceKind::GenericSwitch.validate_event(&ev).unwrap();
    let e = DeviceKind::DoorLock.validate_event(&ev).unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("press", "double"));
    assert!(e.to_string().contains("door_lock"), "{e}");
    for kind in DeviceKind::ALL {
        if *kind != DeviceKind::GenericSwitch {
            assert!(kind.validate_event(&ev).is_err(), "{kind}");
        }
    }
    // A switch has no state fields.
    assert!(DeviceKind::GenericSwitch.fields().is_empty());
    let e = DeviceKind::GenericSwitch
        .validate(&crate::State {
            on: Some(true),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.field, "on");
}

#[test]
fn double_press_is_the_sequence_the_spec_requires() {
    let steps = press_sequence(Press::Short(2), MULTI_PRESS_MAX);
    assert_eq!(
        names(&steps),
        [
            "InitialPress",
            "ShortRelease",
            "InitialPress",
            "MultiPressOngoing",
            "ShortRelease",
            "MultiPressComplete"
        ]
    );
    // NewPosition / PreviousPosition are the pressed position.
    for s in &steps {
        assert_eq!(s.fields[0], (0, AttrValue::U8(PRESSED)), "{s:?}");
    }
    assert_eq!(steps[3].fields[1], (1, AttrValue::U8(2)));
    assert_eq!(steps[5].fields[1], (1, AttrValue::U8(2)));
    // CurrentPosition: 1 while pressed, 0 after.
    let positions: Vec<u8> = steps.iter().map(|s| s.position).collect();
    assert_eq!(
        positions,
        [PRESSED, RELEASED, PRESSED, PRESSED, RELEASED, RELEASED]
    );
    // The release comes after the press, not at the same instant.
    assert!(steps[1].after_ms > 0 && steps[5].after_ms > 0);
}

#[test]
fn single_triple_and_too_many_presses() {
    let single = press_sequence(Press::Short(1), MULTI_PRESS_MAX);
    assert_eq!(
        names(&single),
        ["InitialPress", "ShortRelease", "MultiPressComplete"]
    );
    assert_eq!(single[2].fields[1], (1, AttrValue::U8(1)));

    let triple = press_sequence(Press::Short(3), MULTI_PRESS_MAX);
    let ongoing: Vec<_> = triple
        .iter()
        .filter(|s| s.event == event::MULTI_PRESS_ONGOING)
        .map(|s| s.fields[1].clone())
        .collect();
    assert_eq!(ongoing, [(1, AttrValue::U8(2)), (1, AttrValue::U8(3))]);
    assert_eq!(triple.last().unwrap().fields[1], (1, AttrValue::U8(3)));

    // Past MultiPressMax: no MultiPressOngoing beyond the maximum, total 0 (Switch rev 2).
    let five = press_sequence(Press::Short(5), MULTI_PRESS_MAX);
    assert_eq!(
        five.iter()
            .filter(|s| s.event == event::INITIAL_PRESS)
            .count(),
        5
    );
    assert_eq!(
        five.iter()
            .filter(|s| s.event == event::MULTI_PRESS_ONGOING)
            .count(),
        2
    );
    assert_eq!(five.last().unwrap().fields[1], (1, AttrValue::U8(0)));
}

#[test]
fn long_press_hold_and_release() {
    let long = press_sequence(Press::Long, MULTI_PRESS_MAX);
    assert_eq!(names(&long), ["InitialPress", "LongPress", "LongRelease"]);
    let positions: Vec<u8> = long.iter().map(|s| s.position).collect();
    assert_eq!(positions, [PRESSED, PRESSED, RELEASED]);
    assert!(long[1].after_ms >= 500);
    let hold = press_sequence(Press::Hold, MULTI_PRESS_MAX);
    assert_eq!(names(&hold), ["InitialPress", "LongPress"]);
    assert_eq!(hold.last().unwrap().position, PRESSED);
    let release = press_sequence(Press::Release, MULTI_PRESS_MAX);
    assert_eq!(names(&release), ["LongRelease"]);
    assert_eq!(release[0].fields, vec![(0, AttrValue::U8(PRESSED))]);
    assert_eq!(release[0].position, RELEASED);
}

#[test]
fn every_sequence_event_is_advertised_by_the_switch_cluster() {
    let spec = crate::matter::cluster_spec(
        DeviceKind::GenericSwitch,
        crate::matter::ids::cluster::SWITCH,
    )
    .unwrap();
    // MS | MSR | MSL | MSM, no AS.
    assert_eq!(spec.feature_map, 0x1E);
    for press in [
        Press::Short(1),
        Press::Short(4),
        Press::Long,
        Press::Hold,
        Press::Release,
    ] {
        for s in press_sequence(press, MULTI_PRESS_MAX) {
            assert!(spec.events.contains(&s.event), "{press:?}: {}", s.event);
        }
    }
    let info = DeviceKind::GenericSwitch.device_type();
    assert_eq!((info.id, info.revision), (0x000F, 3));
}
