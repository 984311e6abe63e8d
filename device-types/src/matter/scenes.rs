//! Scenes Management's view of a device: which attributes a scene captures (the "scenable"
//! attributes of On/Off, Level Control and Color Control), their values in a state, and the state
//! patch a recalled scene asks for.
//!
//! A scene's extension field sets carry (cluster, attribute, unsigned value) triples, the wire form
//! of the AttributeValuePairStruct. Captured per cluster the kind serves:
//! - On/Off: OnOff (0x0000) as 0/1;
//! - Level Control: CurrentLevel (0x0000);
//! - Color Control: CurrentX (0x0003), CurrentY (0x0004), EnhancedCurrentHue (0x4000),
//!   CurrentSaturation (0x0001) with HS/XY, and ColorTemperatureMireds (0x0007) and
//!   EnhancedColorMode (0x4001) always.
//!
//! Recall turns them back into a [`State`] patch, which the bridge sends through the registry's
//! command path like any controller command, so the device's source actuates it.

use super::convert::*;
use super::ids::{cluster, color_control, level_control, on_off};
use super::spec::{cluster_spec, color_feature};
use super::CommandError;
use crate::{ColorMode, DeviceKind, State};

/// Color Control EnhancedCurrentHue.
pub const ENHANCED_CURRENT_HUE: u32 = 0x4000;

/// The clusters of `kind` that take part in scenes, in capture order.
pub fn scene_clusters(kind: DeviceKind) -> Vec<u32> {
    [
        cluster::ON_OFF,
        cluster::LEVEL_CONTROL,
        cluster::COLOR_CONTROL,
    ]
    .into_iter()
    .filter(|c| cluster_spec(kind, *c).is_some())
    .collect()
}

/// `attr` of `cluster` is scenable per the specification (AddScene refuses anything else).
pub fn is_scenable(cluster: u32, attr: u32) -> bool {
    use color_control::attr::*;
    match cluster {
        cluster::ON_OFF => attr == on_off::attr::ON_OFF,
        // CurrentFrequency (0x0004) is scenable too; this crate serves no frequency.
        cluster::LEVEL_CONTROL => matches!(attr, level_control::attr::CURRENT_LEVEL | 0x0004),
        cluster::COLOR_CONTROL => matches!(
            attr,
            CURRENT_X
                | CURRENT_Y
                | ENHANCED_CURRENT_HUE
                | CURRENT_SATURATION
                | 0x4002 // ColorLoopActive
                | 0x4003 // ColorLoopDirection
                | 0x4004 // ColorLoopTime
                | COLOR_TEMPERATURE_MIREDS
                | ENHANCED_COLOR_MODE
        ),
        _ => false,
    }
}

/// How wide the value of a scenable attribute is on the wire (8 or 16 bits).
pub fn value_bits(cluster: u32, attr: u32) -> u8 {
    use color_control::attr::*;
    match (cluster, attr) {
        (cluster::COLOR_CONTROL, CURRENT_X | CURRENT_Y | ENHANCED_CURRENT_HUE)
        | (cluster::COLOR_CONTROL, COLOR_TEMPERATURE_MIREDS | 0x4004) => 16,
        _ => 8,
    }
}

fn hue_to_enhanced(degrees: u16) -> u16 {
    ((u32::from(degrees.min(360)) * 65535 + 180) / 360) as u16
}

fn enhanced_to_hue(v: u16) -> u16 {
    ((u32::from(v) * 360 + 32767) / 65535) as u16
}

/// The scenable attribute values of `cluster` in `state` (the state a StoreScene captures).
/// A Level Control with an unknown level captures nothing.
pub fn capture(kind: DeviceKind, state: &State, cluster: u32) -> Vec<(u32, u64)> {
    use color_control::attr::*;
    let Some(spec) = cluster_spec(kind, cluster) else {
        return Vec::new();
    };
    let eff = kind.default_state().merged(state);
    match cluster {
        cluster::ON_OFF => vec![(on_off::attr::ON_OFF, u64::from(eff.on.unwrap_or(false)))],
        cluster::LEVEL_CONTROL => eff
            .brightness
            .map(|b| {
                vec![(
                    level_control::attr::CURRENT_LEVEL,
                    u64::from(level_to_matter(b)),
                )]
            })
            .unwrap_or_default(),
        cluster::COLOR_CONTROL => {
            let mut out = Vec::new();
            let colour = spec.feature_map & (color_feature::HS | color_feature::XY) != 0;
            if colour {
                out.push((
                    CURRENT_X,
                    u64::from(xy_to_matter(eff.color_x.unwrap_or(0.0))),
                ));
                out.push((
                    CURRENT_Y,
                    u64::from(xy_to_matter(eff.color_y.unwrap_or(0.0))),
                ));
                out.push((
                    ENHANCED_CURRENT_HUE,
                    u64::from(hue_to_enhanced(eff.hue.unwrap_or(0))),
                ));
                out.push((
                    CURRENT_SATURATION,
                    u64::from(saturation_to_matter(eff.saturation.unwrap_or(0))),
                ));
            }
            if let Some(m) = eff.color_temp_mireds {
                out.push((COLOR_TEMPERATURE_MIREDS, u64::from(m)));
            }
            let mode = if colour {
                eff.color_mode.unwrap_or(ColorMode::ColorTemp)
            } else {
                ColorMode::ColorTemp
            };
            out.push((
                ENHANCED_COLOR_MODE,
                u64::from(super::read::color_mode_value(mode)),
            ));
            out
        }
        _ => Vec::new(),
    }
}

/// The state patch that recalling `values` of `cluster` asks for on a `kind` device. Attributes
/// this kind does not serve are skipped (a scene stored by another firmware); a value out of its
/// attribute's range is a constraint error naming the attribute and the value.
pub fn recall_patch(
    kind: DeviceKind,
    cluster: u32,
    values: &[(u32, u64)],
) -> Result<State, CommandError> {
    use color_control::attr::*;
    let mut patch = State::default();
    let Some(spec) = cluster_spec(kind, cluster) else {
        return Ok(patch);
    };
    let colour = spec.feature_map & (color_feature::HS | color_feature::XY) != 0;
    let u8_of = |name: &str, v: u64| {
        u8::try_from(v).map_err(|_| CommandError::constraint(name, v, "must fit in 8 bits"))
    };
    let u16_of = |name: &str, v: u64| {
        u16::try_from(v).map_err(|_| CommandError::constraint(name, v, "must fit in 16 bits"))
    };
    for &(attr, v) in values {
        match (cluster, attr) {
            (cluster::ON_OFF, on_off::attr::ON_OFF) => patch.on = Some(v != 0),
            (cluster::LEVEL_CONTROL, level_control::attr::CURRENT_LEVEL) => {
                let level = u8_of("CurrentLevel", v)?;
                if !(1..=254).contains(&level) {
                    return Err(CommandError::constraint(
                        "CurrentLevel",
                        v,
                        "must be 1..=254",
                    ));
                }
                patch.brightness = Some(matter_to_level(level));
            }
            (cluster::COLOR_CONTROL, COLOR_TEMPERATURE_MIREDS) => {
                let m = u16_of("ColorTemperatureMireds", v)?;
                patch.color_temp_mireds =
                    Some(m.clamp(super::limits::MIN_MIREDS, super::limits::MAX_MIREDS));
            }
            (cluster::COLOR_CONTROL, CURRENT_X) if colour => {
                patch.color_x = Some(matter_to_xy(u16_of("CurrentX", v)?.min(XY_MATTER_MAX)));
            }
            (cluster::COLOR_CONTROL, CURRENT_Y) if colour => {
                patch.color_y = Some(matter_to_xy(u16_of("CurrentY", v)?.min(XY_MATTER_MAX)));
            }
            (cluster::COLOR_CONTROL, ENHANCED_CURRENT_HUE) if colour => {
                patch.hue = Some(enhanced_to_hue(u16_of("EnhancedCurrentHue", v)?));
            }
            (cluster::COLOR_CONTROL, CURRENT_SATURATION) if colour => {
                patch.saturation = Some(matter_to_saturation(
                    u8_of("CurrentSaturation", v)?.min(254),
                ));
            }
            (cluster::COLOR_CONTROL, ENHANCED_COLOR_MODE) => {
                patch.color_mode = match v {
                    0 | 3 if colour => Some(ColorMode::Hs),
                    1 if colour => Some(ColorMode::Xy),
                    2 => Some(ColorMode::ColorTemp),
                    _ => {
                        return Err(CommandError::constraint(
                            "EnhancedColorMode",
                            v,
                            "must be a colour mode this light has",
                        ))
                    }
                };
            }
            _ => {}
        }
    }
    // A colour-temperature light only has colour temperature.
    if !colour {
        patch.color_mode = patch.color_mode.filter(|m| *m == ColorMode::ColorTemp);
        if kind.fields().contains(&"color_mode") && patch.color_temp_mireds.is_some() {
            patch.color_mode = Some(ColorMode::ColorTemp);
        }
    }
    Ok(patch)
}
