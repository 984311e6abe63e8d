//! Command invokes: dispatch by cluster, plus Identify, On/Off and Level Control.
//!
//! Each handler is the same three steps: read the fields (typed, with the spec's errors),
//! apply the rule to the current state, return the patch.

use super::ids::{self, cluster};
use super::settings::{self, Settings};
use super::spec::cluster_spec;
use super::{closure, color, execute_if_off, hvac, limits, patch};
use super::{CommandArgs, CommandEffect, CommandError, Fields};
use crate::{Shape, State};

/// What command `cmd` of `cluster`, with fields `args`, does to a `kind` device in `state`.
///
/// Transitions are instantaneous (transition times are ignored). Per cluster:
/// - Identify: Identify → [`CommandEffect::Identify`]; TriggerEffect → `NoChange`.
/// - Groups: always `UnsupportedCommand` here — group membership is node state, served by the
///   bridge (rs-matter's `GroupsHandler`), not device state.
/// - On/Off: Off, OffWithEffect → off; On, OnWithRecallGlobalScene → on (the "global scene" is
///   the retained brightness/colour); Toggle; OnWithTimedOff → on (or `NoChange` when
///   AcceptOnlyWhenOn and off). The timed off itself is not scheduled by this crate.
/// - Level Control: MoveToLevel clamps to 1..=254; Move jumps to 254 (up) or 1 (down); Step
///   adds/subtracts the step size, clamped; Stop → `NoChange`. The WithOnOff variants also set
///   `on` (on when the new level is above MinLevel, off when it reaches MinLevel); the plain
///   ones are ignored while off unless ExecuteIfOff is set through optionsMask/Override.
/// - Color Control, Thermostat, Door Lock, Window Covering: see the `color`, `hvac` and
///   `closure` modules' docs (colour commands honour ExecuteIfOff the same way).
pub fn invoke(
    kind: impl Into<Shape>,
    state: &State,
    cluster: u32,
    cmd: u32,
    args: &CommandArgs,
) -> Result<CommandEffect, CommandError> {
    invoke_with(kind, state, &Settings::default(), cluster, cmd, args)
}

/// [`invoke`] with the device's controller-written [`Settings`] in force: the Options attributes
/// (ExecuteIfOff), OnLevel (the level On goes to) and the thermostat's written setpoint limits.
pub fn invoke_with(
    shape: impl Into<Shape>,
    state: &State,
    settings: &Settings,
    cluster: u32,
    cmd: u32,
    args: &CommandArgs,
) -> Result<CommandEffect, CommandError> {
    let shape = shape.into();
    let spec = cluster_spec(shape, cluster).ok_or(CommandError::UnsupportedCommand)?;
    if !spec.accepts(cmd) {
        return Err(CommandError::UnsupportedCommand);
    }
    let eff = shape.default_state().merged(state);
    match cluster {
        cluster::IDENTIFY => identify(cmd, args),
        cluster::ON_OFF => on_off(shape, &eff, settings, cmd, args),
        cluster::LEVEL_CONTROL => level(
            &eff,
            cmd,
            args,
            settings::options(settings, cluster::LEVEL_CONTROL),
        ),
        cluster::COLOR_CONTROL => color::invoke(
            &eff,
            cmd,
            args,
            settings::options(settings, cluster::COLOR_CONTROL),
        ),
        cluster::THERMOSTAT => hvac::invoke(&eff, cmd, args, &settings::setpoint_limits(settings)),
        cluster::DOOR_LOCK | cluster::WINDOW_COVERING => closure::invoke(cluster, cmd, args),
        _ => Err(CommandError::UnsupportedCommand),
    }
}

fn identify(cmd: u32, args: &CommandArgs) -> Result<CommandEffect, CommandError> {
    use ids::identify::cmd::*;
    let f = Fields(args);
    match cmd {
        IDENTIFY => Ok(CommandEffect::Identify {
            seconds: f.uint(0, "IdentifyTime", u16::MAX as u64)? as u16,
        }),
        TRIGGER_EFFECT => {
            let effect = f.uint(0, "EffectIdentifier", 0xFF)?;
            // EffectIdentifierEnum: Blink, Breathe, Okay, ChannelChange, FinishEffect, StopEffect.
            if !matches!(effect, 0 | 1 | 2 | 11 | 254 | 255) {
                return Err(CommandError::constraint(
                    "EffectIdentifier",
                    effect,
                    "must be one of 0, 1, 2, 11, 254, 255",
                ));
            }
            Ok(CommandEffect::NoChange)
        }
        _ => Err(CommandError::UnsupportedCommand),
    }
}

fn on_off(
    kind: Shape,
    eff: &State,
    settings: &Settings,
    cmd: u32,
    args: &CommandArgs,
) -> Result<CommandEffect, CommandError> {
    use ids::on_off::cmd::*;
    // OnLevel (Level Control): the level a light turned on goes to, when written and not null.
    let on_level = settings
        .get(cluster::LEVEL_CONTROL, ids::level_control::attr::ON_LEVEL)
        .flatten()
        .filter(|_| kind.fields().contains(&"brightness"))
        .map(|l| (l as u8).clamp(limits::MIN_LEVEL, limits::MAX_LEVEL));
    let set = |on: bool| {
        CommandEffect::Patch(State {
            on: Some(on),
            brightness: if on { on_level } else { None },
            ..State::default()
        })
    };
    let is_on = eff.on.unwrap_or(false);
    match cmd {
        OFF => Ok(set(false)),
        ON | ON_WITH_RECALL_GLOBAL_SCENE => Ok(set(true)),
        TOGGLE => Ok(set(!is_on)),
        OFF_WITH_EFFECT => {
            let f = Fields(args);
            let effect = f.uint(0, "EffectIdentifier", 0xFF)?;
            if effect > 1 {
                return Err(CommandError::constraint(
                    "EffectIdentifier",
                    effect,
                    "must be 0 (DelayedAllOff) or 1 (DyingLight)",
                ));
            }
            f.uint_or_zero(1, "EffectVariant", 0xFF)?;
            Ok(set(false))
        }
        ON_WITH_TIMED_OFF => {
            let f = Fields(args);
            let control = f.uint(0, "OnOffControl", 0xFF)?;
            f.uint(1, "OnTime", u16::MAX as u64)?;
            f.uint(2, "OffWaitTime", u16::MAX as u64)?;
            let accept_only_when_on = control & 0x1 != 0;
            if accept_only_when_on && !is_on {
                Ok(CommandEffect::NoChange)
            } else {
                Ok(set(true))
            }
        }
        _ => Err(CommandError::UnsupportedCommand),
    }
}

/// Up (0) / Down (1) of MoveModeEnum and StepModeEnum in Level Control.
fn level_direction(f: &Fields<'_>, name: &str) -> Result<bool, CommandError> {
    match f.uint(0, name, 0xFF)? {
        0 => Ok(true),
        1 => Ok(false),
        other => Err(CommandError::constraint(
            name,
            other,
            "must be 0 (Up) or 1 (Down)",
        )),
    }
}

fn level(
    eff: &State,
    cmd: u32,
    args: &CommandArgs,
    options: u8,
) -> Result<CommandEffect, CommandError> {
    use ids::level_control::cmd::*;
    let f = Fields(args);
    let with_on_off = matches!(
        cmd,
        MOVE_TO_LEVEL_WITH_ON_OFF | MOVE_WITH_ON_OFF | STEP_WITH_ON_OFF | STOP_WITH_ON_OFF
    );
    let current = eff.brightness.unwrap_or(limits::MAX_LEVEL);
    let is_on = eff.on.unwrap_or(false);

    let target: u8 = match cmd {
        MOVE_TO_LEVEL | MOVE_TO_LEVEL_WITH_ON_OFF => {
            let level = f.uint(0, "Level", 0xFF)?;
            if level > limits::MAX_LEVEL as u64 {
                return Err(CommandError::constraint("Level", level, "must be 0..=254"));
            }
            f.nullable_uint(1, "TransitionTime", u16::MAX as u64)?;
            if !with_on_off && !is_on && !execute_if_off(args, 2, options)? {
                return Ok(CommandEffect::NoChange);
            }
            level as u8
        }
        MOVE | MOVE_WITH_ON_OFF => {
            let up = level_direction(&f, "MoveMode")?;
            let rate = f.nullable_uint(1, "Rate", 0xFF)?;
            if rate == Some(0) || (!with_on_off && !is_on && !execute_if_off(args, 2, options)?) {
                return Ok(CommandEffect::NoChange);
            }
            // Instant: a move runs to the end of the range.
            if up {
                limits::MAX_LEVEL
            } else {
                limits::MIN_LEVEL
            }
        }
        STEP | STEP_WITH_ON_OFF => {
            let up = level_direction(&f, "StepMode")?;
            let size = f.uint(1, "StepSize", 0xFF)? as u8;
            f.nullable_uint(2, "TransitionTime", u16::MAX as u64)?;
            if !with_on_off && !is_on && !execute_if_off(args, 3, options)? {
                return Ok(CommandEffect::NoChange);
            }
            if up {
                current.saturating_add(size)
            } else {
                current.saturating_sub(size)
            }
        }
        STOP | STOP_WITH_ON_OFF => return Ok(CommandEffect::NoChange),
        _ => return Err(CommandError::UnsupportedCommand),
    };

    let target = target.clamp(limits::MIN_LEVEL, limits::MAX_LEVEL);
    let mut out = State {
        brightness: Some(target),
        ..State::default()
    };
    if with_on_off {
        out.on = Some(target > limits::MIN_LEVEL);
    }
    Ok(patch(out))
}
