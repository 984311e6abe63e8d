//! Transitions over time for sources whose devices have no hardware to do it (the virtual source and
//! API devices): a command with a transition time moves the numeric fields it sets from where they
//! are to the target, reporting each step as the device's confirmed state.
//!
//! Rules (what a controller sees, like a real Zigbee/Matter lamp):
//! - the fields that can move — `brightness`, `color_temp_mireds`, `hue`, `saturation`, `color_x`,
//!   `color_y`, `position` — go linearly from their current value to the target over the
//!   transition, one confirmed step every [`STEP`] (a step that rounds to the same value is not
//!   reported); the last step is the exact target;
//! - the other fields of the patch apply at once, except `on: false` together with moving fields
//!   (a fade to off), which applies when the movement ends;
//! - a new command for a field replaces that field's movement (the new one starts from where the
//!   old one got to); a stop command ends the movement of its fields where they are;
//! - a transition shorter than one step, or none, applies at once — except a window covering's
//!   `position` when the owner set a travel time ([`Motions::with_cover_travel`]): a move without
//!   a transition then takes the share of the full travel that its distance is.

use std::collections::HashMap;
use std::time::Duration;

use device_types::State;
use tokio::time::Instant;

use crate::registry::{Origin, Registry, RegistryError, SourceCommand, SourceCommandError};

/// How often a moving device reports its way.
pub const STEP: Duration = Duration::from_millis(100);

/// The state fields that can move over time.
pub const MOVING_FIELDS: &[&str] = &[
    "brightness",
    "color_temp_mireds",
    "hue",
    "saturation",
    "color_x",
    "color_y",
    "position",
];

/// One field on its way.
#[derive(Clone, Debug)]
struct Movement {
    field: &'static str,
    from: f64,
    to: f64,
    start: Instant,
    duration: Duration,
}

impl Movement {
    fn value_at(&self, now: Instant) -> f64 {
        let t = now.saturating_duration_since(self.start).as_secs_f64()
            / self.duration.as_secs_f64().max(f64::EPSILON);
        if t >= 1.0 {
            self.to
        } else {
            self.from + (self.to - self.from) * t
        }
    }

    fn done(&self, now: Instant) -> bool {
        now >= self.start + self.duration
    }
}

/// The running movements of one device, and what applies when they end.
#[derive(Debug, Default)]
struct DeviceMotion {
    moving: Vec<Movement>,
    /// Applied once every movement has ended (a fade to off).
    at_end: State,
}

/// Every running movement of one source's devices.
#[derive(Debug, Default)]
pub struct Motions {
    devices: HashMap<String, DeviceMotion>,
    /// Time a window covering takes for the whole way (0..100 % open); zero = it jumps.
    cover_travel: Duration,
}

impl Motions {
    pub fn new() -> Motions {
        Motions::default()
    }

    /// Window coverings of this source travel: a move over the whole range takes `full`.
    pub fn with_cover_travel(mut self, full: Duration) -> Motions {
        self.cover_travel = full;
        self
    }

    /// How long a command moves its device: its own transition, else, for a window covering's
    /// position, the share of the full travel time its distance is.
    fn duration_of(&self, command: &SourceCommand, current: &State) -> Option<Duration> {
        if command.transition.is_some() {
            return command.transition.filter(|t| *t >= STEP);
        }
        let (to, from) = (command.patch.position?, current.position?);
        let distance = f64::from(to.abs_diff(from)) / 100.0;
        Some(self.cover_travel.mul_f64(distance)).filter(|t| *t >= STEP)
    }

    /// True while any device is moving (the owner ticks [`Motions::step`] every [`STEP`] then).
    pub fn is_moving(&self) -> bool {
        !self.devices.is_empty()
    }

    /// Carries out one command: confirms what applies at once, starts what moves, answers the
    /// sender (accepted, or refused with the registry's reason).
    pub fn handle(&mut self, registry: &Registry, command: SourceCommand, now: Instant) {
        let result = self.start(registry, &command, now);
        command.answer(result.map_err(|e| SourceCommandError::Refused(e.to_string())));
    }

    fn start(
        &mut self,
        registry: &Registry,
        command: &SourceCommand,
        now: Instant,
    ) -> Result<(), RegistryError> {
        let id = command.device.as_str();
        if let Some(fields) = command.stop {
            if let Some(motion) = self.devices.get_mut(id) {
                motion.moving.retain(|m| !fields.contains(&m.field));
                if motion.moving.is_empty() {
                    // Stopped part-way: what was to happen at the end (off) does not.
                    self.devices.remove(id);
                }
            }
        }
        let patch = &command.patch;
        let current = match registry.get(id) {
            Some(device) => device.state,
            None => return Err(RegistryError::UnknownDevice(id.to_owned())),
        };
        let transition = self.duration_of(command, &current);
        let mut moving = Vec::new();
        let mut now_patch = patch.clone();
        if let Some(duration) = transition {
            for &field in MOVING_FIELDS {
                let (Some(to), Some(from)) = (number(patch, field), number(&current, field)) else {
                    continue;
                };
                clear(&mut now_patch, field);
                if from != to {
                    moving.push(Movement {
                        field,
                        from,
                        to,
                        start: now,
                        duration,
                    });
                }
            }
        }
        let mut at_end = State::default();
        if !moving.is_empty() && patch.on == Some(false) {
            now_patch.on = None;
            at_end.on = Some(false);
        }
        // A new command for a field takes over that field's movement.
        if let Some(motion) = self.devices.get_mut(id) {
            let taken: Vec<&str> = MOVING_FIELDS
                .iter()
                .copied()
                .filter(|f| number(patch, f).is_some())
                .collect();
            motion.moving.retain(|m| !taken.contains(&m.field));
            if patch.on.is_some() {
                motion.at_end.on = None;
            }
        }
        if !now_patch.is_empty() {
            registry.apply(id, &now_patch, Origin::Local)?;
        }
        if !moving.is_empty() {
            let motion = self.devices.entry(id.to_owned()).or_default();
            motion.moving.extend(moving);
            motion.at_end = motion.at_end.merged(&at_end);
        }
        self.devices.retain(|_, m| !m.moving.is_empty());
        Ok(())
    }

    /// Moves every device one step on, reporting the new values with [`Origin::Local`]; ends the
    /// movements that reached their target. A device removed meanwhile is forgotten.
    pub fn step(&mut self, registry: &Registry, now: Instant) {
        let mut gone = Vec::new();
        for (id, motion) in &mut self.devices {
            let Some(device) = registry.get(id) else {
                gone.push(id.clone());
                continue;
            };
            let mut patch = State::default();
            for m in &motion.moving {
                set(&mut patch, m.field, m.value_at(now), m.done(now));
            }
            motion.moving.retain(|m| !m.done(now));
            if motion.moving.is_empty() {
                patch = patch.merged(&motion.at_end);
            }
            let patch = device.state.diff(&patch);
            if patch.is_empty() {
                continue;
            }
            match registry.apply(id, &patch, Origin::Local) {
                Ok(_) => {}
                Err(RegistryError::UnknownDevice(_)) => gone.push(id.clone()),
                Err(e) => {
                    tracing::warn!(device = %id, error = %e, "transition step refused; stopping it");
                    gone.push(id.clone());
                }
            }
        }
        for id in gone {
            self.devices.remove(&id);
        }
        self.devices.retain(|_, m| !m.moving.is_empty());
    }
}

/// A moving field's value in `state`, as a number.
fn number(state: &State, field: &str) -> Option<f64> {
    match field {
        "brightness" => state.brightness.map(f64::from),
        "color_temp_mireds" => state.color_temp_mireds.map(f64::from),
        "hue" => state.hue.map(f64::from),
        "saturation" => state.saturation.map(f64::from),
        "color_x" => state.color_x,
        "color_y" => state.color_y,
        "position" => state.position.map(f64::from),
        _ => None,
    }
}

/// Unsets a moving field (other names: nothing).
pub fn clear(state: &mut State, field: &str) {
    match field {
        "brightness" => state.brightness = None,
        "color_temp_mireds" => state.color_temp_mireds = None,
        "hue" => state.hue = None,
        "saturation" => state.saturation = None,
        "color_x" => state.color_x = None,
        "color_y" => state.color_y = None,
        "position" => state.position = None,
        _ => {}
    }
}

/// Sets a moving field from a number: rounded for the integer fields; x/y on the way to 4 decimals
/// (finer than that would be a change on every tick), exact at the end.
fn set(state: &mut State, field: &str, v: f64, exact: bool) {
    let r = v.round();
    let xy = |v: f64| {
        if exact {
            v
        } else {
            (v * 10_000.0).round() / 10_000.0
        }
    };
    match field {
        "brightness" => state.brightness = Some(r.clamp(0.0, 255.0) as u8),
        "color_temp_mireds" => state.color_temp_mireds = Some(r.clamp(0.0, 65535.0) as u16),
        "hue" => state.hue = Some(r.clamp(0.0, 360.0) as u16),
        "saturation" => state.saturation = Some(r.clamp(0.0, 100.0) as u8),
        "color_x" => state.color_x = Some(xy(v)),
        "color_y" => state.color_y = Some(xy(v)),
        "position" => state.position = Some(r.clamp(0.0, 100.0) as u8),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
