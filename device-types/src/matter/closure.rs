//! Door Lock and Window Covering commands → state patches.
//!
//! - Door Lock: LockDoor → `locked`, UnlockDoor → `unlocked`. No PIN feature, so a PINCode
//!   field is ignored. Both are timed commands ([`super::requires_timed_invoke`]).
//! - Window Covering: UpOrOpen → position 100 (open), DownOrClose → 0, StopMotion →
//!   `NoChange`, GoToLiftPercentage { Percent100ths closed } → `100 - value/100` percent open.

use super::convert::percent100ths_to_position;
use super::ids::{cluster, door_lock, window_covering};
use super::{limits, CommandArgs, CommandEffect, CommandError, Fields};
use crate::{LockState, State};

pub(crate) fn invoke(
    cluster_id: u32,
    cmd: u32,
    args: &CommandArgs,
) -> Result<CommandEffect, CommandError> {
    match (cluster_id, cmd) {
        (cluster::DOOR_LOCK, door_lock::cmd::LOCK_DOOR) => Ok(lock(LockState::Locked)),
        (cluster::DOOR_LOCK, door_lock::cmd::UNLOCK_DOOR) => Ok(lock(LockState::Unlocked)),
        (cluster::WINDOW_COVERING, window_covering::cmd::UP_OR_OPEN) => Ok(position(100)),
        (cluster::WINDOW_COVERING, window_covering::cmd::DOWN_OR_CLOSE) => Ok(position(0)),
        (cluster::WINDOW_COVERING, window_covering::cmd::STOP_MOTION) => {
            Ok(CommandEffect::NoChange)
        }
        (cluster::WINDOW_COVERING, window_covering::cmd::GO_TO_LIFT_PERCENTAGE) => {
            let v = Fields(args).uint(0, "LiftPercent100thsValue", u16::MAX as u64)?;
            if v > limits::MAX_PERCENT_100THS as u64 {
                return Err(CommandError::constraint(
                    "LiftPercent100thsValue",
                    v,
                    "must be 0..=10000",
                ));
            }
            Ok(position(percent100ths_to_position(v as u16)))
        }
        _ => Err(CommandError::UnsupportedCommand),
    }
}

fn lock(s: LockState) -> CommandEffect {
    CommandEffect::Patch(State {
        lock_state: Some(s),
        ..State::default()
    })
}

fn position(open_percent: u8) -> CommandEffect {
    CommandEffect::Patch(State {
        position: Some(open_percent),
        ..State::default()
    })
}
