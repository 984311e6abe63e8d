//! Color Control commands → state patches (hue/saturation, x/y, colour temperature).
//!
//! Every command that changes colour also sets `color_mode`. Like the Level Control commands,
//! colour commands are ignored while the light is off unless ExecuteIfOff is set through
//! optionsMask/optionsOverride (the Options attribute is served as 0). Instant semantics:
//! - MoveToHue / MoveToSaturation / MoveToHueAndSaturation / MoveToColor /
//!   MoveToColorTemperature: go to the value (colour temperature clamped to 153..=500).
//! - StepHue wraps around the colour wheel; StepSaturation, StepColor and StepColorTemperature
//!   clamp to their ranges (StepColorTemperature also to its min/max fields when non-zero).
//! - MoveSaturation and MoveColorTemperature jump to the end of the range in the move's
//!   direction (MoveColorTemperature within its min/max fields when non-zero).
//! - MoveHue and MoveColor (continuous, endless motion) are validated and accepted as
//!   `NoChange`: an instant bridge has no end point to jump to. MoveMode Stop and StopMoveStep
//!   are `NoChange` too.

use super::convert::*;
use super::ids::color_control::cmd::*;
use super::{execute_if_off, limits, patch, CommandArgs, CommandEffect, CommandError, Fields};
use crate::{ColorMode, State};

/// Matter colour MoveModeEnum / StepModeEnum: Up (1), Down (3); `None` for Stop (0, moves only).
fn direction(f: &Fields<'_>, name: &str, allow_stop: bool) -> Result<Option<bool>, CommandError> {
    match f.uint(0, name, 0xFF)? {
        0 if allow_stop => Ok(None),
        1 => Ok(Some(true)),
        3 => Ok(Some(false)),
        other => Err(CommandError::constraint(
            name,
            other,
            if allow_stop {
                "must be 0 (Stop), 1 (Up) or 3 (Down)"
            } else {
                "must be 1 (Up) or 3 (Down)"
            },
        )),
    }
}

/// A Matter hue or saturation field, 0..=254.
fn hue_sat(f: &Fields<'_>, tag: u8, name: &str) -> Result<u8, CommandError> {
    let v = f.uint(tag, name, 0xFF)?;
    if v > limits::MAX_HUE_SAT as u64 {
        return Err(CommandError::constraint(name, v, "must be 0..=254"));
    }
    Ok(v as u8)
}

/// A CurrentX/CurrentY field, 0..=0xFEFF.
fn xy(f: &Fields<'_>, tag: u8, name: &str) -> Result<u16, CommandError> {
    let v = f.uint(tag, name, u16::MAX as u64)?;
    if v > XY_MATTER_MAX as u64 {
        return Err(CommandError::constraint(name, v, "must be 0..=65279"));
    }
    Ok(v as u16)
}

/// A Move rate that must not be zero for Up/Down (INVALID_COMMAND per spec).
fn rate(f: &Fields<'_>, max: u64) -> Result<(), CommandError> {
    match f.uint(1, "Rate", max)? {
        0 => Err(CommandError::invalid(
            "Rate",
            0,
            "must not be 0 when moving",
        )),
        _ => Ok(()),
    }
}

/// The colour-temperature bounds of a Move/StepColorTemperature: the physical range narrowed by
/// the command's non-zero minimum/maximum fields.
fn ct_bounds(f: &Fields<'_>, min_tag: u8) -> Result<(u16, u16), CommandError> {
    let min = f.uint(min_tag, "ColorTemperatureMinimumMireds", u16::MAX as u64)? as u16;
    let max = f.uint(
        min_tag + 1,
        "ColorTemperatureMaximumMireds",
        u16::MAX as u64,
    )? as u16;
    let lo = if min == 0 {
        limits::MIN_MIREDS
    } else {
        min.clamp(limits::MIN_MIREDS, limits::MAX_MIREDS)
    };
    let hi = if max == 0 {
        limits::MAX_MIREDS
    } else {
        max.clamp(limits::MIN_MIREDS, limits::MAX_MIREDS)
    };
    Ok((lo, hi.max(lo)))
}

/// (tag of optionsMask) for each command, per the IDL request structs.
fn options_tag(cmd: u32) -> u8 {
    match cmd {
        MOVE_HUE
        | MOVE_SATURATION
        | MOVE_COLOR
        | MOVE_TO_SATURATION
        | MOVE_TO_COLOR_TEMPERATURE => 2,
        MOVE_TO_HUE
        | STEP_HUE
        | STEP_SATURATION
        | MOVE_TO_HUE_AND_SATURATION
        | MOVE_TO_COLOR
        | STEP_COLOR => 3,
        MOVE_COLOR_TEMPERATURE => 4,
        STEP_COLOR_TEMPERATURE => 5,
        _ => 0, // StopMoveStep
    }
}

fn hs(hue: Option<u8>, sat: Option<u8>) -> CommandEffect {
    patch(State {
        hue: hue.map(matter_to_hue),
        saturation: sat.map(matter_to_saturation),
        color_mode: Some(ColorMode::Hs),
        ..State::default()
    })
}

fn ct(mireds: u16) -> CommandEffect {
    patch(State {
        color_temp_mireds: Some(mireds.clamp(limits::MIN_MIREDS, limits::MAX_MIREDS)),
        color_mode: Some(ColorMode::ColorTemp),
        ..State::default()
    })
}

fn xy_patch(x: u16, y: u16) -> CommandEffect {
    patch(State {
        color_x: Some(matter_to_xy(x)),
        color_y: Some(matter_to_xy(y)),
        color_mode: Some(ColorMode::Xy),
        ..State::default()
    })
}

/// Color Control invoke in effective state `eff` (defaults merged in).
pub(crate) fn invoke(
    eff: &State,
    cmd: u32,
    args: &CommandArgs,
    options: u8,
) -> Result<CommandEffect, CommandError> {
    let f = Fields(args);
    let cur_hue = hue_to_matter(eff.hue.unwrap_or(0));
    let cur_sat = saturation_to_matter(eff.saturation.unwrap_or(0));
    let cur_ct = eff.color_temp_mireds.unwrap_or(limits::MIN_MIREDS);
    let cur_x = xy_to_matter(eff.color_x.unwrap_or(0.0));
    let cur_y = xy_to_matter(eff.color_y.unwrap_or(0.0));

    // Step 1: read and check every field, computing the effect as if the light were on.
    let effect = match cmd {
        MOVE_TO_HUE => {
            let hue = hue_sat(&f, 0, "Hue")?;
            let dir = f.uint(1, "Direction", 0xFF)?;
            if dir > 3 {
                return Err(CommandError::constraint("Direction", dir, "must be 0..=3"));
            }
            hs(Some(hue), None)
        }
        MOVE_HUE => {
            if direction(&f, "MoveMode", true)?.is_some() {
                rate(&f, 0xFF)?;
            }
            CommandEffect::NoChange
        }
        STEP_HUE => {
            let up = direction(&f, "StepMode", false)? == Some(true);
            let size = f.uint(1, "StepSize", 0xFF)? as u16;
            let wheel = limits::MAX_HUE_SAT as u16 + 1;
            let cur = cur_hue as u16;
            let next = if up {
                (cur + size) % wheel
            } else {
                (cur + wheel - size % wheel) % wheel
            };
            hs(Some(next as u8), None)
        }
        MOVE_TO_SATURATION => hs(None, Some(hue_sat(&f, 0, "Saturation")?)),
        MOVE_SATURATION => match direction(&f, "MoveMode", true)? {
            None => CommandEffect::NoChange,
            Some(up) => {
                rate(&f, 0xFF)?;
                hs(None, Some(if up { limits::MAX_HUE_SAT } else { 0 }))
            }
        },
        STEP_SATURATION => {
            let up = direction(&f, "StepMode", false)? == Some(true);
            let size = f.uint(1, "StepSize", 0xFF)? as u8;
            let next = if up {
                cur_sat.saturating_add(size).min(limits::MAX_HUE_SAT)
            } else {
                cur_sat.saturating_sub(size)
            };
            hs(None, Some(next))
        }
        MOVE_TO_HUE_AND_SATURATION => hs(
            Some(hue_sat(&f, 0, "Hue")?),
            Some(hue_sat(&f, 1, "Saturation")?),
        ),
        MOVE_TO_COLOR => xy_patch(xy(&f, 0, "ColorX")?, xy(&f, 1, "ColorY")?),
        MOVE_COLOR => {
            f.int(0, "RateX", i16::MIN as i64, i16::MAX as i64)?;
            f.int(1, "RateY", i16::MIN as i64, i16::MAX as i64)?;
            CommandEffect::NoChange
        }
        STEP_COLOR => {
            let dx = f.int(0, "StepX", i16::MIN as i64, i16::MAX as i64)?;
            let dy = f.int(1, "StepY", i16::MIN as i64, i16::MAX as i64)?;
            let step = |cur: u16, d: i64| (cur as i64 + d).clamp(0, XY_MATTER_MAX as i64) as u16;
            xy_patch(step(cur_x, dx), step(cur_y, dy))
        }
        MOVE_TO_COLOR_TEMPERATURE => {
            ct(f.uint(0, "ColorTemperatureMireds", u16::MAX as u64)? as u16)
        }
        STOP_MOVE_STEP => CommandEffect::NoChange,
        MOVE_COLOR_TEMPERATURE => match direction(&f, "MoveMode", true)? {
            None => CommandEffect::NoChange,
            Some(up) => {
                rate(&f, u16::MAX as u64)?;
                let (lo, hi) = ct_bounds(&f, 2)?;
                // Up means more mireds (warmer).
                ct(if up { hi } else { lo })
            }
        },
        STEP_COLOR_TEMPERATURE => {
            let up = direction(&f, "StepMode", false)? == Some(true);
            let size = f.uint(1, "StepSize", u16::MAX as u64)? as u16;
            let (lo, hi) = ct_bounds(&f, 3)?;
            let next = if up {
                cur_ct.saturating_add(size)
            } else {
                cur_ct.saturating_sub(size)
            };
            ct(next.clamp(lo, hi))
        }
        _ => return Err(CommandError::UnsupportedCommand),
    };

    // Step 2: a light that is off ignores colour changes unless told to execute anyway.
    if !eff.on.unwrap_or(false) && !execute_if_off(args, options_tag(cmd), options)? {
        return Ok(CommandEffect::NoChange);
    }
    Ok(effect)
}
