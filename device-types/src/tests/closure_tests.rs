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

#[test]
fn operational_status_follows_the_lift_target() {
    use crate::matter::settings::{read_attr_with, Settings};
    use crate::matter::AttrValue;
    let k = DeviceKind::WindowCovering;
    let status = |open: u8, target: Option<i64>| {
        let state = State {
            position: Some(open),
            ..State::default()
        };
        let mut settings = Settings::default();
        if let Some(t) = target {
            settings.set(
                cluster::WINDOW_COVERING,
                window_covering::attr::TARGET_POSITION_LIFT_PERCENT_100THS,
                Some(t),
            );
        }
        let read = |attr| read_attr_with(k, &state, &settings, cluster::WINDOW_COVERING, attr);
        (
            read(window_covering::attr::OPERATIONAL_STATUS),
            read(window_covering::attr::TARGET_POSITION_LIFT_PERCENT_100THS),
        )
    };
    // No target: stopped, the target is where it is (100 % open = 0 closed).
    assert_eq!(
        status(100, None),
        (Some(AttrValue::U8(0)), Some(AttrValue::U16(0)))
    );
    // Closing to 25 % open (7500 closed): Global and Lift both say closing (2).
    assert_eq!(
        status(100, Some(7500)),
        (Some(AttrValue::U8(0b1010)), Some(AttrValue::U16(7500)))
    );
    // Opening from 10 % open to fully open: both say opening (1).
    assert_eq!(status(10, Some(0)).0, Some(AttrValue::U8(0b0101)));
    // At the target: stopped.
    assert_eq!(status(25, Some(7500)).0, Some(AttrValue::U8(0)));
}
