//! Door Lock and Window Covering commands → patches.

use super::{run, uargs};
use crate::matter::ids::{cluster, door_lock, window_covering};
use crate::matter::{invoke, ArgValue, CommandArgs, CommandEffect, CommandError};
use crate::{DeviceKind, LockState, State};

#[test]
fn door_lock_commands() {
    let k = DeviceKind::DoorLock;
    let s = k.default_state();
    let locked = State {
        lock_state: Some(LockState::Locked),
        ..State::default()
    };
    let unlocked = State {
        lock_state: Some(LockState::Unlocked),
        ..State::default()
    };
    assert_eq!(
        run(k, &s, cluster::DOOR_LOCK, door_lock::cmd::UNLOCK_DOOR, &[]),
        unlocked
    );
    assert_eq!(
        run(k, &s, cluster::DOOR_LOCK, door_lock::cmd::LOCK_DOOR, &[]),
        locked
    );
    // A PIN code (octet string) is ignored: no PIN feature.
    let pin = CommandArgs(vec![(0, ArgValue::Other)]);
    let e = invoke(k, &s, cluster::DOOR_LOCK, door_lock::cmd::UNLOCK_DOOR, &pin);
    assert_eq!(e, Ok(CommandEffect::Patch(unlocked)));
}

#[test]
fn window_covering_commands() {
    use window_covering::cmd::*;
    let k = DeviceKind::WindowCovering;
    let s = k.default_state();
    let pos = |p: u8| State {
        position: Some(p),
        ..State::default()
    };
    assert_eq!(
        run(k, &s, cluster::WINDOW_COVERING, UP_OR_OPEN, &[]),
        pos(100)
    );
    assert_eq!(
        run(k, &s, cluster::WINDOW_COVERING, DOWN_OR_CLOSE, &[]),
        pos(0)
    );
    assert_eq!(
        invoke(
            k,
            &s,
            cluster::WINDOW_COVERING,
            STOP_MOTION,
            &CommandArgs::default()
        ),
        Ok(CommandEffect::NoChange)
    );
    // Percent100ths counts closed: 2500 = 25 % closed = 75 % open.
    assert_eq!(
        run(
            k,
            &s,
            cluster::WINDOW_COVERING,
            GO_TO_LIFT_PERCENTAGE,
            &[(0, 2500)]
        ),
        pos(75)
    );
    assert_eq!(
        run(
            k,
            &s,
            cluster::WINDOW_COVERING,
            GO_TO_LIFT_PERCENTAGE,
            &[(0, 10000)]
        ),
        pos(0)
    );
    assert_eq!(
        run(
            k,
            &s,
            cluster::WINDOW_COVERING,
            GO_TO_LIFT_PERCENTAGE,
            &[(0, 0)]
        ),
        pos(100)
    );
    let e = invoke(
        k,
        &s,
        cluster::WINDOW_COVERING,
        GO_TO_LIFT_PERCENTAGE,
        &uargs(&[(0, 10001)]),
    );
    assert!(
        matches!(e, Err(CommandError::ConstraintError { .. })),
        "{e:?}"
    );
}
