//! Unit tests of the crate, one file per concern, plus the small helpers they share.

mod closure_tests;
mod color_tests;
mod command_tests;
mod convert_tests;
mod event_tests;
mod kind_tests;
mod new_kind_tests;
mod parts_tests;
mod report_tests;
mod scenes_tests;
mod shape_tests;
mod spec_tests;
mod thermostat_tests;
mod validate_tests;

use crate::matter::{invoke, ArgValue, CommandArgs, CommandEffect};
use crate::{DeviceKind, State};

/// Command fields from (tag, unsigned value) pairs.
pub(crate) fn uargs(fields: &[(u8, u64)]) -> CommandArgs {
    CommandArgs(
        fields
            .iter()
            .map(|&(t, v)| (t, ArgValue::UInt(v)))
            .collect(),
    )
}

/// The patch of a command that must produce one.
pub(crate) fn patch_of(effect: CommandEffect) -> State {
    match effect {
        CommandEffect::Patch(p) => p,
        other => panic!("expected a patch, got {other:?}"),
    }
}

/// Invokes and returns the patch, panicking on error or non-patch effects.
pub(crate) fn run(
    kind: DeviceKind,
    state: &State,
    cluster: u32,
    cmd: u32,
    fields: &[(u8, u64)],
) -> State {
    let effect = invoke(kind, state, cluster, cmd, &uargs(fields))
        .unwrap_or_else(|e| panic!("invoke {cluster:#x}/{cmd:#x} failed: {e}"));
    patch_of(effect)
}

/// The kind's default state, switched on if the kind has an `on` field.
pub(crate) fn lit(kind: DeviceKind) -> State {
    let on = kind.fields().contains(&"on").then_some(true);
    kind.default_state().merged(&State {
        on,
        ..State::default()
    })
}
