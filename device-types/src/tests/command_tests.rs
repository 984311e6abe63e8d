//! Identify, On/Off and Level Control commands → patches.

use super::{lit, run, uargs};
use crate::matter::ids::{cluster, identify, level_control, on_off};
use crate::matter::{invoke, ArgValue, CommandArgs, CommandEffect, CommandError};
use crate::{DeviceKind, State};

const DIM: DeviceKind = DeviceKind::DimmableLight;

fn on(v: bool) -> State {
    State {
        on: Some(v),
        ..State::default()
    }
}

fn level(b: u8, on: Option<bool>) -> State {
    State {
        brightness: Some(b),
        on,
        ..State::default()
    }
}

fn with_brightness(on: bool, b: u8) -> State {
    DIM.default_state().merged(&level(b, Some(on)))
}

#[test]
fn identify_starts_the_countdown_and_trigger_effect_changes_nothing() {
    let s = State::default();
    let e = invoke(
        DeviceKind::ContactSensor,
        &s,
        cluster::IDENTIFY,
        identify::cmd::IDENTIFY,
        &uargs(&[(0, 15)]),
    );
    assert_eq!(e, Ok(CommandEffect::Identify { seconds: 15 }));
    let e = invoke(
        DIM,
        &s,
        cluster::IDENTIFY,
        identify::cmd::TRIGGER_EFFECT,
        &uargs(&[(0, 0), (1, 0)]),
    );
    assert_eq!(e, Ok(CommandEffect::NoChange));
    let e = invoke(
        DIM,
        &s,
        cluster::IDENTIFY,
        identify::cmd::TRIGGER_EFFECT,
        &uargs(&[(0, 7), (1, 0)]),
    );
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
    let e = invoke(
        DIM,
        &s,
        cluster::IDENTIFY,
        identify::cmd::IDENTIFY,
        &CommandArgs::default(),
    );
    assert!(
        matches!(e, Err(CommandError::InvalidArgument { .. })),
        "{e:?}"
    );
    let e = invoke(
        DIM,
        &s,
        cluster::IDENTIFY,
        identify::cmd::IDENTIFY,
        &uargs(&[(0, 70000)]),
    );
    assert!(
        matches!(e, Err(CommandError::InvalidArgument { .. })),
        "{e:?}"
    );
}

#[test]
fn on_off_commands() {
    use on_off::cmd::*;
    for kind in [DeviceKind::OnOffLight, DeviceKind::OnOffPlugInUnit, DIM] {
        let off = kind.default_state();
        let lit = lit(kind);
        assert_eq!(run(kind, &lit, cluster::ON_OFF, OFF, &[]), on(false));
        assert_eq!(run(kind, &off, cluster::ON_OFF, ON, &[]), on(true));
        assert_eq!(run(kind, &off, cluster::ON_OFF, TOGGLE, &[]), on(true));
        assert_eq!(run(kind, &lit, cluster::ON_OFF, TOGGLE, &[]), on(false));
        assert_eq!(
            run(
                kind,
                &lit,
                cluster::ON_OFF,
                OFF_WITH_EFFECT,
                &[(0, 0), (1, 0)]
            ),
            on(false)
        );
        assert_eq!(
            run(
                kind,
                &off,
                cluster::ON_OFF,
                ON_WITH_RECALL_GLOBAL_SCENE,
                &[]
            ),
            on(true)
        );
        assert_eq!(
            run(
                kind,
                &off,
                cluster::ON_OFF,
                ON_WITH_TIMED_OFF,
                &[(0, 0), (1, 100), (2, 0)]
            ),
            on(true)
        );
    }
}

#[test]
fn on_with_timed_off_accept_only_when_on() {
    use on_off::cmd::ON_WITH_TIMED_OFF;
    let args = uargs(&[(0, 1), (1, 100), (2, 0)]);
    let off = DIM.default_state();
    assert_eq!(
        invoke(DIM, &off, cluster::ON_OFF, ON_WITH_TIMED_OFF, &args),
        Ok(CommandEffect::NoChange)
    );
    assert_eq!(
        run(
            DIM,
            &lit(DIM),
            cluster::ON_OFF,
            ON_WITH_TIMED_OFF,
            &[(0, 1), (1, 100), (2, 0)]
        ),
        on(true)
    );
}

#[test]
fn off_with_effect_rejects_unknown_effects() {
    let e = invoke(
        DIM,
        &lit(DIM),
        cluster::ON_OFF,
        on_off::cmd::OFF_WITH_EFFECT,
        &uargs(&[(0, 5), (1, 0)]),
    );
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
}

#[test]
fn move_to_level_clamps_and_with_on_off_switches() {
    use level_control::cmd::*;
    let s = with_brightness(true, 100);
    assert_eq!(
        run(
            DIM,
            &s,
            cluster::LEVEL_CONTROL,
            MOVE_TO_LEVEL,
            &[(0, 200), (1, 10)]
        ),
        level(200, None)
    );
    assert_eq!(
        run(DIM, &s, cluster::LEVEL_CONTROL, MOVE_TO_LEVEL, &[(0, 0)]),
        level(1, None)
    );
    let off = with_brightness(false, 100);
    assert_eq!(
        run(
            DIM,
            &off,
            cluster::LEVEL_CONTROL,
            MOVE_TO_LEVEL_WITH_ON_OFF,
            &[(0, 128), (2, 0), (3, 0)]
        ),
        level(128, Some(true))
    );
    assert_eq!(
        run(
            DIM,
            &s,
            cluster::LEVEL_CONTROL,
            MOVE_TO_LEVEL_WITH_ON_OFF,
            &[(0, 1)]
        ),
        level(1, Some(false))
    );
    assert_eq!(
        run(
            DIM,
            &s,
            cluster::LEVEL_CONTROL,
            MOVE_TO_LEVEL_WITH_ON_OFF,
            &[(0, 0)]
        ),
        level(1, Some(false))
    );
    // 255 is not a level (int8u 0..=254).
    let e = invoke(
        DIM,
        &s,
        cluster::LEVEL_CONTROL,
        MOVE_TO_LEVEL,
        &uargs(&[(0, 255)]),
    );
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
    // 300 does not even fit the field's type.
    let e = invoke(
        DIM,
        &s,
        cluster::LEVEL_CONTROL,
        MOVE_TO_LEVEL,
        &uargs(&[(0, 300)]),
    );
    assert!(
        matches!(e, Err(CommandError::InvalidArgument { .. })),
        "{e:?}"
    );
    // Null transition time is fine.
    let args = CommandArgs(vec![(0, ArgValue::UInt(50)), (1, ArgValue::Null)]);
    let e = invoke(DIM, &s, cluster::LEVEL_CONTROL, MOVE_TO_LEVEL, &args).unwrap();
    assert_eq!(e, CommandEffect::Patch(level(50, None)));
}

#[test]
fn plain_level_commands_are_ignored_while_off_unless_execute_if_off() {
    use level_control::cmd::*;
    let off = with_brightness(false, 100);
    let e = invoke(
        DIM,
        &off,
        cluster::LEVEL_CONTROL,
        MOVE_TO_LEVEL,
        &uargs(&[(0, 200), (2, 0), (3, 0)]),
    );
    assert_eq!(e, Ok(CommandEffect::NoChange));
    // optionsMask bit 0 with optionsOverride bit 0: execute even though off (stays off).
    assert_eq!(
        run(
            DIM,
            &off,
            cluster::LEVEL_CONTROL,
            MOVE_TO_LEVEL,
            &[(0, 200), (2, 1), (3, 1)]
        ),
        level(200, None)
    );
    let e = invoke(
        DIM,
        &off,
        cluster::LEVEL_CONTROL,
        STEP,
        &uargs(&[(0, 0), (1, 10)]),
    );
    assert_eq!(e, Ok(CommandEffect::NoChange));
    let e = invoke(
        DIM,
        &off,
        cluster::LEVEL_CONTROL,
        MOVE,
        &uargs(&[(0, 0), (1, 10)]),
    );
    assert_eq!(e, Ok(CommandEffect::NoChange));
}

#[test]
fn move_jumps_to_the_end_of_the_range() {
    use level_control::cmd::*;
    let s = with_brightness(true, 100);
    assert_eq!(
        run(DIM, &s, cluster::LEVEL_CONTROL, MOVE, &[(0, 0), (1, 20)]),
        level(254, None)
    );
    assert_eq!(
        run(DIM, &s, cluster::LEVEL_CONTROL, MOVE, &[(0, 1), (1, 20)]),
        level(1, None)
    );
    let off = with_brightness(false, 100);
    assert_eq!(
        run(
            DIM,
            &off,
            cluster::LEVEL_CONTROL,
            MOVE_WITH_ON_OFF,
            &[(0, 0), (1, 20)]
        ),
        level(254, Some(true))
    );
    assert_eq!(
        run(
            DIM,
            &s,
            cluster::LEVEL_CONTROL,
            MOVE_WITH_ON_OFF,
            &[(0, 1), (1, 20)]
        ),
        level(1, Some(false))
    );
    // Rate 0 moves nowhere; null rate means the default rate.
    let e = invoke(
        DIM,
        &s,
        cluster::LEVEL_CONTROL,
        MOVE,
        &uargs(&[(0, 0), (1, 0)]),
    );
    assert_eq!(e, Ok(CommandEffect::NoChange));
    let args = CommandArgs(vec![(0, ArgValue::UInt(0)), (1, ArgValue::Null)]);
    assert!(matches!(
        invoke(DIM, &s, cluster::LEVEL_CONTROL, MOVE, &args),
        Ok(CommandEffect::Patch(_))
    ));
    let e = invoke(
        DIM,
        &s,
        cluster::LEVEL_CONTROL,
        MOVE,
        &uargs(&[(0, 2), (1, 5)]),
    );
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
}

#[test]
fn step_adds_and_clamps() {
    use level_control::cmd::*;
    let s = with_brightness(true, 100);
    assert_eq!(
        run(DIM, &s, cluster::LEVEL_CONTROL, STEP, &[(0, 0), (1, 50)]),
        level(150, None)
    );
    assert_eq!(
        run(DIM, &s, cluster::LEVEL_CONTROL, STEP, &[(0, 1), (1, 30)]),
        level(70, None)
    );
    assert_eq!(
        run(DIM, &s, cluster::LEVEL_CONTROL, STEP, &[(0, 0), (1, 200)]),
        level(254, None)
    );
    assert_eq!(
        run(DIM, &s, cluster::LEVEL_CONTROL, STEP, &[(0, 1), (1, 200)]),
        level(1, None)
    );
    assert_eq!(
        run(
            DIM,
            &s,
            cluster::LEVEL_CONTROL,
            STEP_WITH_ON_OFF,
            &[(0, 1), (1, 200)]
        ),
        level(1, Some(false))
    );
    let off = with_brightness(false, 10);
    assert_eq!(
        run(
            DIM,
            &off,
            cluster::LEVEL_CONTROL,
            STEP_WITH_ON_OFF,
            &[(0, 0), (1, 20)]
        ),
        level(30, Some(true))
    );
}

#[test]
fn stop_changes_nothing() {
    use level_control::cmd::*;
    let s = with_brightness(true, 100);
    for cmd in [STOP, STOP_WITH_ON_OFF] {
        let e = invoke(
            DIM,
            &s,
            cluster::LEVEL_CONTROL,
            cmd,
            &uargs(&[(0, 0), (1, 0)]),
        );
        assert_eq!(e, Ok(CommandEffect::NoChange));
    }
}

#[test]
fn stored_options_and_on_level_act_on_commands() {
    use crate::matter::ids::{cluster, level_control};
    use crate::matter::{invoke_with, CommandArgs, CommandEffect, Settings};
    use crate::{DeviceKind, State};
    let k = DeviceKind::DimmableLight;
    let off = State {
        on: Some(false),
        brightness: Some(100),
        ..State::default()
    };
    let move_to = CommandArgs(vec![
        (0, crate::matter::ArgValue::UInt(200)),
        (1, crate::matter::ArgValue::UInt(0)),
        (2, crate::matter::ArgValue::UInt(0)),
        (3, crate::matter::ArgValue::UInt(0)),
    ]);
    let mut settings = Settings::default();
    // Off and no ExecuteIfOff: ignored.
    assert_eq!(
        invoke_with(k, &off, &settings, cluster::LEVEL_CONTROL, 0x00, &move_to).unwrap(),
        CommandEffect::NoChange
    );
    // Options.ExecuteIfOff written: executed while off.
    settings.set(
        cluster::LEVEL_CONTROL,
        level_control::attr::OPTIONS,
        Some(1),
    );
    assert!(matches!(
        invoke_with(k, &off, &settings, cluster::LEVEL_CONTROL, 0x00, &move_to).unwrap(),
        CommandEffect::Patch(p) if p.brightness == Some(200)
    ));
    // OnLevel written: On goes to that level.
    settings.set(
        cluster::LEVEL_CONTROL,
        level_control::attr::ON_LEVEL,
        Some(42),
    );
    assert!(matches!(
        invoke_with(k, &off, &settings, cluster::ON_OFF, 0x01, &CommandArgs::default()).unwrap(),
        CommandEffect::Patch(p) if p.on == Some(true) && p.brightness == Some(42)
    ));
}

#[test]
fn start_up_settings_decide_the_state_after_a_restart() {
    use crate::matter::ids::{cluster, level_control, on_off};
    use crate::matter::settings::start_up_patch;
    use crate::matter::Settings;
    use crate::{DeviceKind, State};
    let k = DeviceKind::DimmableLight;
    let was = State {
        on: Some(true),
        brightness: Some(80),
        ..State::default()
    };
    let mut s = Settings::default();
    assert!(
        start_up_patch(k, &was, &s).is_empty(),
        "null keeps the last state"
    );
    s.set(cluster::ON_OFF, on_off::attr::START_UP_ON_OFF, Some(0));
    assert_eq!(start_up_patch(k, &was, &s).on, Some(false));
    s.set(cluster::ON_OFF, on_off::attr::START_UP_ON_OFF, Some(2));
    assert_eq!(start_up_patch(k, &was, &s).on, Some(false), "toggle");
    s.set(
        cluster::LEVEL_CONTROL,
        level_control::attr::START_UP_CURRENT_LEVEL,
        Some(200),
    );
    assert_eq!(start_up_patch(k, &was, &s).brightness, Some(200));
    // Settings checked against the kind when read from disk.
    assert!(s.check(k).is_ok());
    assert!(s.check(DeviceKind::ContactSensor).is_err());
}
