//! How long a controller's command asks its change to take, and which commands stop a movement.
//!
//! - Commands with a TransitionTime field (tenths of a second) take that long; a null
//!   TransitionTime on a Level Control command means the OnOffTransitionTime attribute.
//! - Rate commands (Level Control Move, Color Control MoveSaturation and MoveColorTemperature) have
//!   no end of their own: the device-types crate gives the end of the range as the target, and the
//!   time is the distance over the rate, so a "hold to dim" that is stopped part-way stops there.
//!   A null rate is "as fast as possible" (no DefaultMoveRate is served): at once.
//! - On/Off commands on a device with a level take OnOffTransitionTime when it is written.
//! - Level Control Stop / StopWithOnOff, Color Control StopMoveStep and Window Covering StopMotion
//!   stop the movement of their fields where it is.
//!
//! The time goes with the command to the device's source (Zigbee2MQTT passes it as `transition`;
//! the virtual source moves over it) and counts down in the cluster's RemainingTime.

use std::time::Duration;

use device_types::matter::ids::{cluster, color_control, level_control};
use device_types::matter::{CommandArgs, Settings};
use device_types::State;

const WINDOW_COVERING_STOP_MOTION: u32 = 0x02;

/// Longest transition a command can ask for (TransitionTime is a u16 of tenths).
const MAX_TENTHS: u64 = u16::MAX as u64;

/// The fields a stop command stops, if `cmd` is one.
pub fn stop_fields(cluster_id: u32, cmd: u32) -> Option<&'static [&'static str]> {
    use color_control::cmd::STOP_MOVE_STEP;
    use level_control::cmd::{STOP, STOP_WITH_ON_OFF};
    match (cluster_id, cmd) {
        (cluster::LEVEL_CONTROL, STOP | STOP_WITH_ON_OFF) => Some(&["brightness"]),
        (cluster::COLOR_CONTROL, STOP_MOVE_STEP) => Some(&[
            "color_temp_mireds",
            "hue",
            "saturation",
            "color_x",
            "color_y",
        ]),
        (cluster::WINDOW_COVERING, WINDOW_COVERING_STOP_MOTION) => Some(&["position"]),
        _ => None,
    }
}

/// The cluster whose RemainingTime counts a command's transition down, and that attribute.
pub fn remaining_time_attr(cluster_id: u32) -> Option<(u32, u32)> {
    match cluster_id {
        cluster::LEVEL_CONTROL => Some((cluster_id, level_control::attr::REMAINING_TIME)),
        cluster::COLOR_CONTROL => Some((cluster_id, color_control::attr::REMAINING_TIME)),
        _ => None,
    }
}

/// How long command `cmd` of `cluster_id`, turning `state` into `state.merged(patch)`, takes.
pub fn of(
    cluster_id: u32,
    cmd: u32,
    args: &CommandArgs,
    state: &State,
    patch: &State,
    settings: &Settings,
) -> Option<Duration> {
    let on_off_time = || {
        settings
            .get(
                cluster::LEVEL_CONTROL,
                level_control::attr::ON_OFF_TRANSITION_TIME,
            )
            .flatten()
            .and_then(|t| u64::try_from(t).ok())
    };
    let tenths = match (cluster_id, cmd) {
        // MoveToLevel(WithOnOff): Level, TransitionTime; Step(WithOnOff): mode, size, TransitionTime.
        (cluster::LEVEL_CONTROL, 0x00 | 0x04) => field_or(args, 1, on_off_time),
        (cluster::LEVEL_CONTROL, 0x02 | 0x06) => field_or(args, 2, on_off_time),
        // Move(WithOnOff): mode, rate (units/s).
        (cluster::LEVEL_CONTROL, 0x01 | 0x05) => by_rate(
            args.uint(1),
            state.brightness.map(f64::from),
            patch.brightness.map(f64::from),
            1.0,
        ),
        // MoveToHue, StepHue, StepSaturation, MoveToHueAndSaturation, MoveToColor, StepColor,
        // EnhancedMoveToHue, EnhancedMoveToHueAndSaturation, StepColorTemperature.
        // TransitionTime is field 2 in each.
        (cluster::COLOR_CONTROL, 0x00 | 0x02 | 0x05 | 0x06 | 0x07 | 0x09 | 0x40 | 0x43 | 0x4C) => {
            args.uint(2)
        }
        // MoveToSaturation, MoveToColorTemperature.
        (cluster::COLOR_CONTROL, 0x03 | 0x0A) => args.uint(1),
        // MoveSaturation: Matter saturation units (254 = 100 %) per second.
        (cluster::COLOR_CONTROL, 0x04) => by_rate(
            args.uint(1),
            state.saturation.map(f64::from),
            patch.saturation.map(f64::from),
            254.0 / 100.0,
        ),
        // MoveColorTemperature: mireds per second.
        (cluster::COLOR_CONTROL, 0x4B) => by_rate(
            args.uint(1),
            state.color_temp_mireds.map(f64::from),
            patch.color_temp_mireds.map(f64::from),
            1.0,
        ),
        (cluster::ON_OFF, _) if state.brightness.is_some() => on_off_time(),
        _ => None,
    }?;
    (tenths > 0).then(|| Duration::from_millis(tenths.min(MAX_TENTHS) * 100))
}

/// A TransitionTime field, or `fallback` when it is null or absent.
fn field_or(args: &CommandArgs, tag: u8, fallback: impl Fn() -> Option<u64>) -> Option<u64> {
    if args.is_null(tag) || args.get(tag).is_none() {
        fallback()
    } else {
        args.uint(tag)
    }
}

/// Tenths of a second to go from `from` to `to` (state units) at `rate` Matter units per second,
/// `scale` Matter units per state unit.
fn by_rate(rate: Option<u64>, from: Option<f64>, to: Option<f64>, scale: f64) -> Option<u64> {
    let rate = rate.filter(|r| *r > 0)? as f64;
    let distance = (to? - from?).abs() * scale;
    Some(((distance / rate) * 10.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use device_types::matter::ArgValue;

    fn args(values: &[Option<u64>]) -> CommandArgs {
        CommandArgs(
            values
                .iter()
                .enumerate()
                .map(|(tag, v)| (tag as u8, v.map_or(ArgValue::Null, ArgValue::UInt)))
                .collect(),
        )
    }

    fn level(b: u8) -> State {
        State {
            brightness: Some(b),
            ..State::default()
        }
    }

    #[test]
    fn move_takes_the_distance_over_the_rate() {
        // Move up at 50 units/s from 54 to 254: 4 s.
        let t = of(
            cluster::LEVEL_CONTROL,
            0x01,
            &args(&[Some(0), Some(50)]),
            &level(54),
            &level(254),
            &Settings::default(),
        );
        assert_eq!(t, Some(Duration::from_secs(4)));
        // Null rate: at once.
        let t = of(
            cluster::LEVEL_CONTROL,
            0x01,
            &args(&[Some(0), None]),
            &level(54),
            &level(254),
            &Settings::default(),
        );
        assert_eq!(t, None);
    }

    #[test]
    fn a_null_transition_time_means_on_off_transition_time() {
        let mut settings = Settings::default();
        let t = |s: &Settings| {
            of(
                cluster::LEVEL_CONTROL,
                0x00,
                &args(&[Some(100), None]),
                &level(10),
                &level(100),
                s,
            )
        };
        assert_eq!(t(&settings), None);
        settings.set(
            cluster::LEVEL_CONTROL,
            level_control::attr::ON_OFF_TRANSITION_TIME,
            Some(25),
        );
        assert_eq!(t(&settings), Some(Duration::from_millis(2_500)));
        // An explicit TransitionTime wins.
        let t = of(
            cluster::LEVEL_CONTROL,
            0x00,
            &args(&[Some(100), Some(7)]),
            &level(10),
            &level(100),
            &settings,
        );
        assert_eq!(t, Some(Duration::from_millis(700)));
    }

    #[test]
    fn stops_name_their_fields() {
        assert_eq!(
            stop_fields(cluster::LEVEL_CONTROL, 0x03),
            Some(&["brightness"][..])
        );
        assert!(stop_fields(cluster::COLOR_CONTROL, 0x47)
            .unwrap()
            .contains(&"color_temp_mireds"));
        assert_eq!(stop_fields(cluster::LEVEL_CONTROL, 0x01), None);
    }
}
