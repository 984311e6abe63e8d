//! Thermostat: SetpointRaiseLower, setpoint and mode writes, the deadband rule.

use super::uargs;
use crate::matter::ids::{cluster, thermostat::attr, thermostat::cmd};
use crate::matter::{invoke, write_attr, ArgValue, CommandArgs, CommandEffect, CommandError};
use crate::{DeviceKind, State, SystemMode};

const T: DeviceKind = DeviceKind::Thermostat;
const TH: u32 = cluster::THERMOSTAT;

fn setpoints(heat: Option<f64>, cool: Option<f64>) -> State {
    State {
        heating_setpoint: heat,
        cooling_setpoint: cool,
        ..State::default()
    }
}

fn raise(state: &State, mode: u64, amount: i64) -> State {
    let args = CommandArgs(vec![(0, ArgValue::UInt(mode)), (1, ArgValue::Int(amount))]);
    match invoke(T, state, TH, cmd::SETPOINT_RAISE_LOWER, &args) {
        Ok(CommandEffect::Patch(p)) => p,
        other => panic!("{other:?}"),
    }
}

#[test]
fn setpoint_raise_lower_moves_the_chosen_setpoints() {
    let s = T.default_state(); // heat 20, cool 26
    assert_eq!(raise(&s, 0, 15), setpoints(Some(21.5), None));
    assert_eq!(raise(&s, 1, -10), setpoints(None, Some(25.0)));
    assert_eq!(raise(&s, 2, 5), setpoints(Some(20.5), Some(26.5)));
    assert_eq!(raise(&s, 2, -5), setpoints(Some(19.5), Some(25.5)));
}

#[test]
fn setpoint_raise_lower_clamps_to_the_limits() {
    let s = T.default_state().merged(&setpoints(Some(8.0), Some(31.0)));
    assert_eq!(raise(&s, 0, -50), setpoints(Some(7.0), None));
    assert_eq!(raise(&s, 1, 50), setpoints(None, Some(32.0)));
    assert_eq!(raise(&s, 2, -128), setpoints(Some(7.0), Some(18.2)));
}

#[test]
fn setpoint_raise_lower_keeps_the_deadband_by_moving_the_other_setpoint() {
    let s = T.default_state().merged(&setpoints(Some(23.0), Some(26.0)));
    // Heat 23 → 25.5 pushes cool to 27.5.
    let p = raise(&s, 0, 25);
    assert_eq!(p, setpoints(Some(25.5), Some(27.5)));
    T.validate(&s.merged(&p)).unwrap();
    // Cool 26 → 24 pushes heat to 22.
    let p = raise(&s, 1, -20);
    assert_eq!(p, setpoints(Some(22.0), Some(24.0)));
    // Heat to its max (30) needs cool 32, its max too.
    let p = raise(&s, 0, 127);
    assert_eq!(p, setpoints(Some(30.0), Some(32.0)));
}

#[test]
fn setpoint_raise_lower_rejects_bad_fields() {
    let s = T.default_state();
    let e = invoke(
        T,
        &s,
        TH,
        cmd::SETPOINT_RAISE_LOWER,
        &uargs(&[(0, 3), (1, 1)]),
    );
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
    let e = invoke(
        T,
        &s,
        TH,
        cmd::SETPOINT_RAISE_LOWER,
        &uargs(&[(0, 0), (1, 200)]),
    );
    assert!(
        matches!(e, Err(CommandError::InvalidArgument { .. })),
        "{e:?}"
    );
    let e = invoke(T, &s, TH, cmd::SETPOINT_RAISE_LOWER, &uargs(&[(0, 0)]));
    assert!(
        matches!(e, Err(CommandError::InvalidArgument { .. })),
        "{e:?}"
    );
}

#[test]
fn setpoint_writes_map_to_state_and_keep_the_deadband() {
    let s = T.default_state();
    let p = write_attr(
        T,
        &s,
        TH,
        attr::OCCUPIED_HEATING_SETPOINT,
        &ArgValue::Int(2150),
    )
    .unwrap();
    assert_eq!(p, setpoints(Some(21.5), None));
    let p = write_attr(
        T,
        &s,
        TH,
        attr::OCCUPIED_COOLING_SETPOINT,
        &ArgValue::Int(2400),
    )
    .unwrap();
    assert_eq!(p, setpoints(None, Some(24.0)));
    // Heating 25.5 with cooling 26: cooling moves to 27.5.
    let p = write_attr(
        T,
        &s,
        TH,
        attr::OCCUPIED_HEATING_SETPOINT,
        &ArgValue::Int(2550),
    )
    .unwrap();
    assert_eq!(p, setpoints(Some(25.5), Some(27.5)));
    // Cooling 17 with heating 20: heating moves to 15.
    let p = write_attr(
        T,
        &s,
        TH,
        attr::OCCUPIED_COOLING_SETPOINT,
        &ArgValue::UInt(1700),
    )
    .unwrap();
    assert_eq!(p, setpoints(Some(15.0), Some(17.0)));
}

#[test]
fn out_of_range_setpoint_writes_are_constraint_errors() {
    let s = T.default_state();
    for (a, v) in [
        (attr::OCCUPIED_HEATING_SETPOINT, 3001),
        (attr::OCCUPIED_HEATING_SETPOINT, 699),
        (attr::OCCUPIED_COOLING_SETPOINT, 1599),
        (attr::MIN_HEAT_SETPOINT_LIMIT, 500),
        (attr::MAX_COOL_SETPOINT_LIMIT, 3300),
    ] {
        let e = write_attr(T, &s, TH, a, &ArgValue::Int(v));
        assert!(
            matches!(e, Err(CommandError::ConstraintError { .. })),
            "{a:#x} {v}: {e:?}"
        );
    }
    let e = write_attr(
        T,
        &s,
        TH,
        attr::OCCUPIED_HEATING_SETPOINT,
        &ArgValue::Bool(true),
    );
    assert!(
        matches!(e, Err(CommandError::InvalidArgument { .. })),
        "{e:?}"
    );
}

#[test]
fn system_mode_writes() {
    let s = T.default_state();
    for (v, mode) in [
        (0, SystemMode::Off),
        (1, SystemMode::Auto),
        (3, SystemMode::Cool),
        (4, SystemMode::Heat),
    ] {
        let p = write_attr(T, &s, TH, attr::SYSTEM_MODE, &ArgValue::UInt(v)).unwrap();
        assert_eq!(p.system_mode, Some(mode));
    }
    for bad in [2, 5, 7, 9] {
        let e = write_attr(T, &s, TH, attr::SYSTEM_MODE, &ArgValue::UInt(bad));
        assert!(
            matches!(e, Err(CommandError::ConstraintError { .. })),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn fixed_configuration_writes() {
    let s = T.default_state();
    let ok = write_attr(
        T,
        &s,
        TH,
        attr::CONTROL_SEQUENCE_OF_OPERATION,
        &ArgValue::UInt(4),
    );
    assert_eq!(ok, Ok(State::default()));
    let e = write_attr(
        T,
        &s,
        TH,
        attr::CONTROL_SEQUENCE_OF_OPERATION,
        &ArgValue::UInt(2),
    );
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
    // MinSetpointDeadBand is served read-only; LocalTemperature is never writable.
    for a in [attr::MIN_SETPOINT_DEAD_BAND, attr::LOCAL_TEMPERATURE] {
        let e = write_attr(T, &s, TH, a, &ArgValue::Int(10));
        assert_eq!(e, Err(CommandError::UnsupportedWrite));
    }
    // Limits inside the absolute range are accepted but not stored.
    let ok = write_attr(
        T,
        &s,
        TH,
        attr::MIN_HEAT_SETPOINT_LIMIT,
        &ArgValue::Int(1000),
    );
    assert_eq!(ok, Ok(State::default()));
}

#[test]
fn written_setpoint_limits_hold_setpoint_writes_and_are_checked() {
    use crate::matter::{settings, write_attr_with, Settings};
    let s = T.default_state();
    let mut set = Settings::default();
    // MaxHeatSetpointLimit 2500 is accepted and stored.
    let e = write_attr_with(
        T,
        &s,
        &set,
        TH,
        attr::MAX_HEAT_SETPOINT_LIMIT,
        &ArgValue::Int(2500),
    )
    .unwrap();
    assert_eq!(
        e.setting,
        Some((TH, attr::MAX_HEAT_SETPOINT_LIMIT, Some(2500)))
    );
    assert!(e.patch.is_empty());
    set.set(TH, attr::MAX_HEAT_SETPOINT_LIMIT, Some(2500));
    assert_eq!(settings::setpoint_limits(&set).max_heat, 2500);
    // A heating setpoint above the written limit is refused, naming the field.
    let err = write_attr_with(
        T,
        &s,
        &set,
        TH,
        attr::OCCUPIED_HEATING_SETPOINT,
        &ArgValue::Int(2700),
    )
    .unwrap_err();
    assert!(
        matches!(&err, CommandError::ConstraintError { field, .. } if field == "OccupiedHeatingSetpoint"),
        "{err:?}"
    );
    // Min above Max is refused.
    let err = write_attr_with(
        T,
        &s,
        &set,
        TH,
        attr::MIN_HEAT_SETPOINT_LIMIT,
        &ArgValue::Int(2600),
    )
    .unwrap_err();
    assert!(
        matches!(err, CommandError::ConstraintError { .. }),
        "{err:?}"
    );
    // Cool limits keep the deadband to the heat limits.
    let err = write_attr_with(
        T,
        &s,
        &set,
        TH,
        attr::MAX_COOL_SETPOINT_LIMIT,
        &ArgValue::Int(2600),
    )
    .unwrap_err();
    assert!(
        matches!(err, CommandError::ConstraintError { .. }),
        "{err:?}"
    );
}
