//! The Switch cluster (0x003B) of a generic switch: a [`Press`] becomes the exact sequence of
//! Matter events the specification requires, with the CurrentPosition after each one.
//!
//! Features served: MomentarySwitch (MS), MomentarySwitchRelease (MSR), MomentarySwitchLongPress
//! (MSL) and MomentarySwitchMultiPress (MSM), not ActionSwitch (AS). With MSM and without AS the
//! Switch cluster (rev 2, Matter 1.6 `data_model/1.6/clusters/Switch.xml`) makes MultiPressOngoing
//! mandatory, so a press sequence of `n` presses is:
//!
//! - each press: InitialPress(NewPosition 1), from the second press on followed by
//!   MultiPressOngoing(NewPosition 1, CurrentNumberOfPressesCounted k) while `k <= MultiPressMax`;
//! - each release: ShortRelease(PreviousPosition 1);
//! - at the end: MultiPressComplete(PreviousPosition 1, TotalNumberOfPressesCounted n), or 0 when
//!   `n` exceeded MultiPressMax (rev 2).
//!
//! A double press is therefore InitialPress, ShortRelease, InitialPress, MultiPressOngoing(2),
//! ShortRelease, MultiPressComplete(2). A long press is InitialPress, LongPress, LongRelease, with
//! no MultiPressComplete (the spec ends a multi-press sequence at a long press without it).
//! Position 0 is "released", 1 "pressed"; NumberOfPositions is 2.

use super::AttrValue;
use crate::event::Press;

/// MultiPressMax served: single, double and triple presses are told apart.
pub const MULTI_PRESS_MAX: u8 = 3;
/// NumberOfPositions: released (0) and pressed (1).
pub const NUMBER_OF_POSITIONS: u8 = 2;
/// The pressed position.
pub const PRESSED: u8 = 1;
/// The rest position.
pub const RELEASED: u8 = 0;

/// Delay between a press and its release, and between two presses of a multi-press.
pub const SHORT_GAP_MS: u32 = 100;
/// How long after the last release a multi-press sequence is declared complete.
pub const MULTI_PRESS_WINDOW_MS: u32 = 200;
/// How long a button is held before LongPress.
pub const LONG_PRESS_MS: u32 = 500;
/// How long a long press is held after LongPress before its release (for [`Press::Long`]).
pub const LONG_HOLD_MS: u32 = 300;

/// Switch event ids.
pub mod event {
    /// InitialPress { NewPosition }.
    pub const INITIAL_PRESS: u32 = 0x01;
    /// LongPress { NewPosition }.
    pub const LONG_PRESS: u32 = 0x02;
    /// ShortRelease { PreviousPosition }.
    pub const SHORT_RELEASE: u32 = 0x03;
    /// LongRelease { PreviousPosition }.
    pub const LONG_RELEASE: u32 = 0x04;
    /// MultiPressOngoing { NewPosition, CurrentNumberOfPressesCounted }.
    pub const MULTI_PRESS_ONGOING: u32 = 0x05;
    /// MultiPressComplete { PreviousPosition, TotalNumberOfPressesCounted }.
    pub const MULTI_PRESS_COMPLETE: u32 = 0x06;
}

/// Switch attribute ids.
pub mod attr {
    /// NumberOfPositions, u8, fixed.
    pub const NUMBER_OF_POSITIONS: u32 = 0x0000;
    /// CurrentPosition, u8.
    pub const CURRENT_POSITION: u32 = 0x0001;
    /// MultiPressMax, u8, fixed.
    pub const MULTI_PRESS_MAX: u32 = 0x0002;
}

/// One Matter event of a press sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct SwitchStep {
    /// Milliseconds after the previous step (the first step: after the press was reported).
    pub after_ms: u32,
    /// Switch event id ([`event`]).
    pub event: u32,
    /// The event's payload, by context tag.
    pub fields: Vec<(u8, AttrValue)>,
    /// CurrentPosition once this event happened.
    pub position: u8,
}

fn step(after_ms: u32, event: u32, fields: Vec<(u8, AttrValue)>, position: u8) -> SwitchStep {
    SwitchStep {
        after_ms,
        event,
        fields,
        position,
    }
}

/// The events a press gives, in order, with the delay before each (see the module doc).
/// [`Press::Release`] gives the LongRelease that ends a [`Press::Hold`]; the caller emits it only
/// while the switch is held.
pub fn press_sequence(press: Press, multi_press_max: u8) -> Vec<SwitchStep> {
    let pos = |p: u8| AttrValue::U8(p);
    let initial = |after| {
        step(
            after,
            event::INITIAL_PRESS,
            vec![(0, pos(PRESSED))],
            PRESSED,
        )
    };
    let long = |after| step(after, event::LONG_PRESS, vec![(0, pos(PRESSED))], PRESSED);
    let long_release = |after| {
        step(
            after,
            event::LONG_RELEASE,
            vec![(0, pos(PRESSED))],
            RELEASED,
        )
    };
    match press {
        Press::Short(n) => {
            let n = n.max(1);
            let mut out = Vec::new();
            for k in 1..=n {
                out.push(initial(if k == 1 { 0 } else { SHORT_GAP_MS }));
                if k >= 2 && k <= multi_press_max {
                    out.push(step(
                        0,
                        event::MULTI_PRESS_ONGOING,
                        vec![(0, pos(PRESSED)), (1, AttrValue::U8(k))],
                        PRESSED,
                    ));
                }
                out.push(step(
                    SHORT_GAP_MS,
                    event::SHORT_RELEASE,
                    vec![(0, pos(PRESSED))],
                    RELEASED,
                ));
            }
            let total = if n > multi_press_max { 0 } else { n };
            out.push(step(
                MULTI_PRESS_WINDOW_MS,
                event::MULTI_PRESS_COMPLETE,
                vec![(0, pos(PRESSED)), (1, AttrValue::U8(total))],
                RELEASED,
            ));
            out
        }
        Press::Long => vec![initial(0), long(LONG_PRESS_MS), long_release(LONG_HOLD_MS)],
        Press::Hold => vec![initial(0), long(LONG_PRESS_MS)],
        Press::Release => vec![long_release(0)],
    }
}

/// The Switch attribute values at rest (CurrentPosition is the bridge's, it follows the steps).
pub(crate) fn read(attr: u32) -> Option<AttrValue> {
    match attr {
        attr::NUMBER_OF_POSITIONS => Some(AttrValue::U8(NUMBER_OF_POSITIONS)),
        attr::CURRENT_POSITION => Some(AttrValue::U8(RELEASED)),
        attr::MULTI_PRESS_MAX => Some(AttrValue::U8(MULTI_PRESS_MAX)),
        _ => None,
    }
}
