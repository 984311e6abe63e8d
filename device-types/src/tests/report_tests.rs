//! changed_attrs, events_for_change and event_fields, plus the non-thermostat attribute writes.

use crate::matter::ids::{cluster, color_control, level_control, on_off, window_covering};
use crate::matter::{changed_attrs, event_fields, events_for_change, write_attr};
use crate::matter::{ArgValue, AttrValue, CommandError};
use crate::{DeviceKind, State};

fn st(json: &str) -> State {
    State::from_json(json).unwrap()
}

#[test]
fn changed_attrs_lists_the_encoded_differences() {
    let k = DeviceKind::ExtendedColorLight;
    let old = k.default_state();
    let new = old.merged(&st(r#"{"on": true, "brightness": 100}"#));
    assert_eq!(
        changed_attrs(k, &old, &new),
        [
            (cluster::ON_OFF, on_off::attr::ON_OFF),
            (cluster::LEVEL_CONTROL, level_control::attr::CURRENT_LEVEL)
        ]
    );
    let hs = old.merged(&st(r#"{"hue": 90, "color_mode": "hs"}"#));
    assert_eq!(
        changed_attrs(k, &old, &hs),
        [
            (cluster::COLOR_CONTROL, color_control::attr::CURRENT_HUE),
            (cluster::COLOR_CONTROL, color_control::attr::COLOR_MODE),
            (
                cluster::COLOR_CONTROL,
                color_control::attr::ENHANCED_COLOR_MODE
            ),
        ]
    );
    assert!(changed_attrs(k, &old, &old).is_empty());
}

#[test]
fn changed_attrs_ignores_changes_below_the_matter_resolution() {
    let k = DeviceKind::TemperatureSensor;
    let a = st(r#"{"temperature": 21.001}"#);
    let b = st(r#"{"temperature": 21.002}"#);
    assert!(changed_attrs(k, &a, &b).is_empty());
    let c = st(r#"{"temperature": 21.5}"#);
    assert_eq!(
        changed_attrs(k, &a, &c),
        [(cluster::TEMPERATURE_MEASUREMENT, 0)]
    );
}

#[test]
fn window_covering_position_change_reports_all_position_attributes() {
    let k = DeviceKind::WindowCovering;
    let a = st(r#"{"position": 100}"#);
    let b = st(r#"{"position": 40}"#);
    assert_eq!(
        changed_attrs(k, &a, &b),
        [
            (
                cluster::WINDOW_COVERING,
                window_covering::attr::CURRENT_POSITION_LIFT_PERCENTAGE
            ),
            (
                cluster::WINDOW_COVERING,
                window_covering::attr::TARGET_POSITION_LIFT_PERCENT_100THS
            ),
            (
                cluster::WINDOW_COVERING,
                window_covering::attr::CURRENT_POSITION_LIFT_PERCENT_100THS
            ),
        ]
    );
}

#[test]
fn thermostat_deadband_push_reports_both_setpoints() {
    let k = DeviceKind::Thermostat;
    let a = k.default_state();
    let b = a.merged(&st(
        r#"{"heating_setpoint": 25.5, "cooling_setpoint": 27.5}"#,
    ));
    assert_eq!(
        changed_attrs(k, &a, &b),
        [(cluster::THERMOSTAT, 0x11), (cluster::THERMOSTAT, 0x12)]
    );
}

#[test]
fn events_follow_real_transitions() {
    let c = DeviceKind::ContactSensor;
    let closed = st(r#"{"contact": true}"#);
    let open = st(r#"{"contact": false}"#);
    assert_eq!(
        events_for_change(c, &closed, &open),
        [(cluster::BOOLEAN_STATE, 0)]
    );
    assert!(events_for_change(c, &closed, &closed).is_empty());
    assert!(events_for_change(c, &State::default(), &open).is_empty());
    assert_eq!(
        event_fields(c, &open, cluster::BOOLEAN_STATE, 0),
        Some(vec![(0, AttrValue::Bool(false))])
    );

    let o = DeviceKind::OccupancySensor;
    let here = st(r#"{"occupied": true}"#);
    let gone = st(r#"{"occupied": false}"#);
    assert_eq!(
        events_for_change(o, &gone, &here),
        [(cluster::OCCUPANCY_SENSING, 0)]
    );
    assert_eq!(
        event_fields(o, &here, cluster::OCCUPANCY_SENSING, 0),
        Some(vec![(0, AttrValue::U8(1))])
    );

    let l = DeviceKind::DoorLock;
    let locked = st(r#"{"lock_state": "locked"}"#);
    let unlocked = st(r#"{"lock_state": "unlocked"}"#);
    let jammed = st(r#"{"lock_state": "not_fully_locked"}"#);
    assert_eq!(
        events_for_change(l, &locked, &unlocked),
        [(cluster::DOOR_LOCK, 2)]
    );
    assert_eq!(
        events_for_change(l, &locked, &jammed),
        [(cluster::DOOR_LOCK, 0)]
    );
    let fields = event_fields(l, &unlocked, cluster::DOOR_LOCK, 2).unwrap();
    assert_eq!(fields[0], (0, AttrValue::U8(1)));
    assert_eq!(fields.len(), 5);
    assert_eq!(
        event_fields(l, &jammed, cluster::DOOR_LOCK, 0),
        Some(vec![(0, AttrValue::U8(0))])
    );
    assert_eq!(event_fields(l, &locked, cluster::DOOR_LOCK, 3), None);

    // Kinds without events raise none.
    let d = DeviceKind::DimmableLight;
    assert!(events_for_change(d, &st(r#"{"on": false}"#), &st(r#"{"on": true}"#)).is_empty());
}

#[test]
fn configuration_writes_are_checked_then_accepted_without_storing() {
    let k = DeviceKind::ExtendedColorLight;
    let s = k.default_state();
    let empty = Ok(State::default());
    let w = |c: u32, a: u32, v: ArgValue| write_attr(k, &s, c, a, &v);
    assert_eq!(
        w(cluster::ON_OFF, on_off::attr::ON_TIME, ArgValue::UInt(300)),
        empty
    );
    assert_eq!(
        w(
            cluster::ON_OFF,
            on_off::attr::START_UP_ON_OFF,
            ArgValue::UInt(2)
        ),
        empty
    );
    assert_eq!(
        w(
            cluster::LEVEL_CONTROL,
            level_control::attr::ON_LEVEL,
            ArgValue::UInt(128)
        ),
        empty
    );
    assert_eq!(
        w(
            cluster::LEVEL_CONTROL,
            level_control::attr::OPTIONS,
            ArgValue::UInt(1)
        ),
        empty
    );
    assert_eq!(
        w(
            cluster::COLOR_CONTROL,
            color_control::attr::START_UP_COLOR_TEMPERATURE_MIREDS,
            ArgValue::UInt(250)
        ),
        empty
    );
    assert_eq!(w(cluster::IDENTIFY, 0, ArgValue::UInt(10)), empty);

    let constraint =
        |r: Result<State, CommandError>| matches!(r, Err(CommandError::ConstraintError { .. }));
    assert!(constraint(w(
        cluster::ON_OFF,
        on_off::attr::START_UP_ON_OFF,
        ArgValue::UInt(3)
    )));
    assert!(constraint(w(
        cluster::LEVEL_CONTROL,
        level_control::attr::ON_LEVEL,
        ArgValue::UInt(255)
    )));
    assert!(constraint(w(
        cluster::LEVEL_CONTROL,
        level_control::attr::OPTIONS,
        ArgValue::UInt(4)
    )));
    assert!(constraint(w(
        cluster::COLOR_CONTROL,
        color_control::attr::OPTIONS,
        ArgValue::UInt(2)
    )));
    assert!(matches!(
        w(cluster::ON_OFF, on_off::attr::ON_TIME, ArgValue::Null),
        Err(CommandError::InvalidArgument { .. })
    ));
    // Read-only and unserved attributes.
    assert_eq!(
        w(cluster::ON_OFF, on_off::attr::ON_OFF, ArgValue::Bool(true)),
        Err(CommandError::UnsupportedWrite)
    );
    assert_eq!(
        w(cluster::DOOR_LOCK, 0x25, ArgValue::UInt(0)),
        Err(CommandError::UnsupportedWrite)
    );

    let lock = DeviceKind::DoorLock;
    let ls = lock.default_state();
    assert_eq!(
        write_attr(lock, &ls, cluster::DOOR_LOCK, 0x25, &ArgValue::UInt(0)),
        empty
    );
    assert!(constraint(write_attr(
        lock,
        &ls,
        cluster::DOOR_LOCK,
        0x25,
        &ArgValue::UInt(1)
    )));
    let wc = DeviceKind::WindowCovering;
    let ws = wc.default_state();
    assert!(constraint(write_attr(
        wc,
        &ws,
        cluster::WINDOW_COVERING,
        window_covering::attr::MODE,
        &ArgValue::UInt(0x10)
    )));
}
