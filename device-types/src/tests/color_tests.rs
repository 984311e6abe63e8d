//! Color Control commands → patches, each setting color_mode.

use super::{lit, run, uargs};
use crate::matter::ids::{cluster, color_control::cmd::*};
use crate::matter::{invoke, ArgValue, CommandArgs, CommandEffect, CommandError};
use crate::{ColorMode, DeviceKind, State};

const EXT: DeviceKind = DeviceKind::ExtendedColorLight;
const CT: DeviceKind = DeviceKind::ColorTemperatureLight;
const CC: u32 = cluster::COLOR_CONTROL;

fn ct(m: u16) -> State {
    State {
        color_temp_mireds: Some(m),
        color_mode: Some(ColorMode::ColorTemp),
        ..State::default()
    }
}

fn hs(hue: Option<u16>, sat: Option<u8>) -> State {
    State {
        hue,
        saturation: sat,
        color_mode: Some(ColorMode::Hs),
        ..State::default()
    }
}

#[test]
fn move_to_color_temperature_clamps_to_the_physical_range() {
    for kind in [CT, EXT] {
        let s = lit(kind);
        assert_eq!(
            run(kind, &s, CC, MOVE_TO_COLOR_TEMPERATURE, &[(0, 250), (1, 0)]),
            ct(250)
        );
        assert_eq!(
            run(kind, &s, CC, MOVE_TO_COLOR_TEMPERATURE, &[(0, 100)]),
            ct(153)
        );
        assert_eq!(
            run(kind, &s, CC, MOVE_TO_COLOR_TEMPERATURE, &[(0, 1000)]),
            ct(500)
        );
    }
}

#[test]
fn colour_changes_are_ignored_while_off_unless_execute_if_off() {
    let off = EXT.default_state();
    let e = invoke(
        EXT,
        &off,
        CC,
        MOVE_TO_COLOR_TEMPERATURE,
        &uargs(&[(0, 250), (1, 0), (2, 0), (3, 0)]),
    );
    assert_eq!(e, Ok(CommandEffect::NoChange));
    assert_eq!(
        run(
            EXT,
            &off,
            CC,
            MOVE_TO_COLOR_TEMPERATURE,
            &[(0, 250), (1, 0), (2, 1), (3, 1)]
        ),
        ct(250)
    );
    // Bad fields are still reported while off.
    let e = invoke(EXT, &off, CC, MOVE_TO_HUE, &uargs(&[(0, 255), (1, 0)]));
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
}

#[test]
fn hue_and_saturation_commands() {
    let s = lit(EXT);
    // Matter hue 127 ≈ 180°, saturation 254 = 100 %.
    assert_eq!(
        run(EXT, &s, CC, MOVE_TO_HUE, &[(0, 127), (1, 0), (2, 0)]),
        hs(Some(180), None)
    );
    assert_eq!(
        run(EXT, &s, CC, MOVE_TO_SATURATION, &[(0, 254), (1, 0)]),
        hs(None, Some(100))
    );
    assert_eq!(
        run(
            EXT,
            &s,
            CC,
            MOVE_TO_HUE_AND_SATURATION,
            &[(0, 85), (1, 127), (2, 0)]
        ),
        hs(Some(120), Some(50))
    );
    assert_eq!(
        run(EXT, &s, CC, MOVE_SATURATION, &[(0, 1), (1, 10)]),
        hs(None, Some(100))
    );
    assert_eq!(
        run(EXT, &s, CC, MOVE_SATURATION, &[(0, 3), (1, 10)]),
        hs(None, Some(0))
    );
    let e = invoke(EXT, &s, CC, MOVE_SATURATION, &uargs(&[(0, 0), (1, 0)]));
    assert_eq!(e, Ok(CommandEffect::NoChange));
    let e = invoke(EXT, &s, CC, MOVE_SATURATION, &uargs(&[(0, 1), (1, 0)]));
    assert!(
        matches!(e, Err(CommandError::InvalidArgument { .. })),
        "{e:?}"
    );
    let e = invoke(EXT, &s, CC, MOVE_TO_SATURATION, &uargs(&[(0, 255), (1, 0)]));
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
}

#[test]
fn step_hue_wraps_and_step_saturation_clamps() {
    // Current hue 0° (Matter 0), saturation 0 %.
    let s = lit(EXT);
    // Down by 10 from 0 wraps to 245 (of 0..=254) ≈ 347°.
    let p = run(EXT, &s, CC, STEP_HUE, &[(0, 3), (1, 10), (2, 0)]);
    assert_eq!(p.hue, Some(crate::matter::matter_to_hue(245)));
    assert_eq!(p.color_mode, Some(ColorMode::Hs));
    let p = run(EXT, &s, CC, STEP_HUE, &[(0, 1), (1, 127), (2, 0)]);
    assert_eq!(p.hue, Some(180));
    assert_eq!(
        run(EXT, &s, CC, STEP_SATURATION, &[(0, 1), (1, 127), (2, 0)]),
        hs(None, Some(50))
    );
    assert_eq!(
        run(EXT, &s, CC, STEP_SATURATION, &[(0, 3), (1, 127), (2, 0)]),
        hs(None, Some(0))
    );
    let e = invoke(EXT, &s, CC, STEP_HUE, &uargs(&[(0, 2), (1, 1), (2, 0)]));
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
}

#[test]
fn move_hue_and_move_color_are_accepted_without_change() {
    let s = lit(EXT);
    let e = invoke(EXT, &s, CC, MOVE_HUE, &uargs(&[(0, 1), (1, 30)]));
    assert_eq!(e, Ok(CommandEffect::NoChange));
    let args = CommandArgs(vec![(0, ArgValue::Int(-100)), (1, ArgValue::Int(50))]);
    assert_eq!(
        invoke(EXT, &s, CC, MOVE_COLOR, &args),
        Ok(CommandEffect::NoChange)
    );
}

#[test]
fn xy_commands() {
    let s = lit(EXT);
    let p = run(
        EXT,
        &s,
        CC,
        MOVE_TO_COLOR,
        &[(0, 32768), (1, 16384), (2, 0)],
    );
    assert_eq!(
        p,
        State {
            color_x: Some(0.5),
            color_y: Some(0.25),
            color_mode: Some(ColorMode::Xy),
            ..State::default()
        }
    );
    let e = invoke(EXT, &s, CC, MOVE_TO_COLOR, &uargs(&[(0, 65280), (1, 0)]));
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
    // Default x/y is D65 (0.3127, 0.3290); step x down by a lot clamps at 0.
    let args = CommandArgs(vec![
        (0, ArgValue::Int(-30000)),
        (1, ArgValue::Int(655)),
        (2, ArgValue::UInt(0)),
    ]);
    let CommandEffect::Patch(p) = invoke(EXT, &s, CC, STEP_COLOR, &args).unwrap() else {
        panic!("expected a patch");
    };
    assert_eq!(p.color_x, Some(0.0));
    let y = crate::matter::matter_to_xy(crate::matter::xy_to_matter(0.3290) + 655);
    assert_eq!(p.color_y, Some(y));
    assert_eq!(p.color_mode, Some(ColorMode::Xy));
}

#[test]
fn color_temperature_move_and_step() {
    let s = lit(CT); // 370 mireds
    assert_eq!(
        run(
            CT,
            &s,
            CC,
            MOVE_COLOR_TEMPERATURE,
            &[(0, 1), (1, 10), (2, 0), (3, 0)]
        ),
        ct(500)
    );
    assert_eq!(
        run(
            CT,
            &s,
            CC,
            MOVE_COLOR_TEMPERATURE,
            &[(0, 3), (1, 10), (2, 0), (3, 0)]
        ),
        ct(153)
    );
    assert_eq!(
        run(
            CT,
            &s,
            CC,
            MOVE_COLOR_TEMPERATURE,
            &[(0, 3), (1, 10), (2, 200), (3, 400)]
        ),
        ct(200)
    );
    let e = invoke(
        CT,
        &s,
        CC,
        MOVE_COLOR_TEMPERATURE,
        &uargs(&[(0, 0), (1, 0), (2, 0), (3, 0)]),
    );
    assert_eq!(e, Ok(CommandEffect::NoChange));
    assert_eq!(
        run(
            CT,
            &s,
            CC,
            STEP_COLOR_TEMPERATURE,
            &[(0, 1), (1, 50), (2, 0), (3, 0), (4, 0)]
        ),
        ct(420)
    );
    assert_eq!(
        run(
            CT,
            &s,
            CC,
            STEP_COLOR_TEMPERATURE,
            &[(0, 3), (1, 50), (2, 0), (3, 0), (4, 0)]
        ),
        ct(320)
    );
    assert_eq!(
        run(
            CT,
            &s,
            CC,
            STEP_COLOR_TEMPERATURE,
            &[(0, 1), (1, 500), (2, 0), (3, 0), (4, 400)]
        ),
        ct(400)
    );
    let e = invoke(CT, &s, CC, STOP_MOVE_STEP, &uargs(&[(0, 0), (1, 0)]));
    assert_eq!(e, Ok(CommandEffect::NoChange));
}

#[test]
fn hs_and_xy_are_not_offered_on_a_color_temperature_light() {
    let s = lit(CT);
    for cmd in [
        MOVE_TO_HUE,
        MOVE_TO_SATURATION,
        MOVE_TO_HUE_AND_SATURATION,
        MOVE_TO_COLOR,
    ] {
        let e = invoke(CT, &s, CC, cmd, &uargs(&[(0, 1), (1, 1)]));
        assert_eq!(e, Err(CommandError::UnsupportedCommand));
    }
}
