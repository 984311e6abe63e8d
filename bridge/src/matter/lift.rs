//! A window covering's lift target while it travels: an accepted lift command (UpOrOpen,
//! DownOrClose, GoToLiftPercentage) sets TargetPositionLiftPercent100ths, and OperationalStatus
//! says opening or closing (`device_types::matter::settings::lift_status`) until the reported
//! position reaches the target, StopMotion stops it, or the source refuses the command. The target
//! lives in the mirror's non-persistent settings; a restart shows a stopped covering.

use device_types::matter::convert::position_to_percent100ths;
use device_types::matter::ids::{cluster, window_covering::attr};
use device_types::State;
use rs_matter::dm::AttrChangeNotifier;

use super::handler::BridgeHandler;

/// A lift command for `endpoint` was accepted with this patch: show where it goes.
pub fn commanded(
    handler: &BridgeHandler<'_>,
    notify: &dyn AttrChangeNotifier,
    endpoint: u16,
    patch: &State,
) {
    let Some(open) = patch.position else { return };
    let already_there = handler
        .mirror
        .devices
        .borrow()
        .get(&endpoint)
        .is_some_and(|dev| dev.state.position == Some(open));
    let to = (!already_there).then(|| position_to_percent100ths(open));
    set(handler, notify, endpoint, to);
}

/// The covering stopped (StopMotion) or its command failed: no target any more.
pub fn stopped(handler: &BridgeHandler<'_>, notify: &dyn AttrChangeNotifier, endpoint: u16) {
    set(handler, notify, endpoint, None);
}

/// The device reported `state`: a covering that got to its target stops moving.
pub fn reported(
    handler: &BridgeHandler<'_>,
    notify: &dyn AttrChangeNotifier,
    endpoint: u16,
    state: &State,
) {
    let Some(open) = state.position else { return };
    let reached = handler
        .mirror
        .devices
        .borrow()
        .get(&endpoint)
        .is_some_and(|dev| {
            target(&dev.settings) == Some(i64::from(position_to_percent100ths(open)))
        });
    if reached {
        set(handler, notify, endpoint, None);
    }
}

fn target(settings: &device_types::matter::Settings) -> Option<i64> {
    settings
        .get(
            cluster::WINDOW_COVERING,
            attr::TARGET_POSITION_LIFT_PERCENT_100THS,
        )
        .flatten()
}

fn set(
    handler: &BridgeHandler<'_>,
    notify: &dyn AttrChangeNotifier,
    endpoint: u16,
    to: Option<u16>,
) {
    {
        let mut devices = handler.mirror.devices.borrow_mut();
        let Some(dev) = devices.get_mut(&endpoint) else {
            return;
        };
        if !dev
            .shape
            .clusters()
            .iter()
            .any(|c| c.id == cluster::WINDOW_COVERING)
        {
            return;
        }
        let to = to.map(i64::from);
        if target(&dev.settings) == to {
            return;
        }
        match to {
            Some(v) => dev.settings.set(
                cluster::WINDOW_COVERING,
                attr::TARGET_POSITION_LIFT_PERCENT_100THS,
                Some(v),
            ),
            None => dev.settings.clear(
                cluster::WINDOW_COVERING,
                attr::TARGET_POSITION_LIFT_PERCENT_100THS,
            ),
        }
    }
    handler.notify(
        notify,
        endpoint,
        cluster::WINDOW_COVERING,
        attr::TARGET_POSITION_LIFT_PERCENT_100THS,
    );
    handler.notify(
        notify,
        endpoint,
        cluster::WINDOW_COVERING,
        attr::OPERATIONAL_STATUS,
    );
}
