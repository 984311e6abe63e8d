//! Multi-button remotes become parts: a remote whose `action` values name several buttons (Hue
//! dimmer `on_press`, `up_hold`, …; Tuya TS0044 `1_single`, `2_double`, …; Aqara double rocker
//! `single_left`, `double_both`, …) is a `bridged_node` container with one `generic_switch` part per
//! button, so a Matter controller (one button per Generic Switch endpoint) can use every button.
//!
//! The split is made only when it is unambiguous: every value reads as (button, gesture) through
//! `action.rs` (a bare value naming a button that other values give gestures, IKEA's `toggle` next
//! to `toggle_hold`, is that button's single press; `recall_<n>`, a scene recall some remotes send,
//! is no button's and is left out), at least two distinct buttons whose names are part names as they
//! are, at most [`MAX_PARTS`]. Otherwise the remote stays one generic switch with the button in the
//! event (IKEA E1743: `on`, `off`, `brightness_move_up` has values without a gesture).
//!
//! The part's name is the button (`1`, `left`, `both`, `on`, `arrow_left`), its tag from the name
//! (a position word or a number, see `parts.rs`); buttons without distinct tags are numbered in
//! value order. The container keeps the device's other functions (battery) and the `action`
//! binding; [`route`] sends each press to its button's part.

use device_types::parts::MAX_PARTS;
use device_types::{DeviceEvent, DeviceKind, PartSpec, With};

use super::action;
use super::mapping::{self, Field, Mapping};
use super::parts::{number_unless_distinct, part_name, tag_of, Composed, Part};
use super::topics::Expose;

/// The buttons `values` name, in value order; `None` unless the split is unambiguous.
pub fn buttons(values: &[String]) -> Option<Vec<String>> {
    // Every name in first-appearance order, bare or with a gesture: IKEA lists its bare
    // `toggle` first and `toggle_hold` late, and the toggle is its first button.
    let mut buttons: Vec<String> = Vec::new();
    let mut gestured: Vec<String> = Vec::new();
    for v in values {
        if is_scene_recall(v) {
            continue;
        }
        let name = match action::split(v) {
            (Some(b), Some(_)) => {
                if !gestured.contains(&b) {
                    gestured.push(b.clone());
                }
                b
            }
            (None, Some(_)) => return None, // a gesture of no button (`single`, `hold`)
            (_, None) => v.clone(),
        };
        if !buttons.contains(&name) {
            buttons.push(name);
        }
    }
    // A value without a gesture is a single press of the button it names, if other values
    // name that button too; else it is no button we can place.
    if !buttons.iter().all(|b| gestured.contains(b)) {
        return None;
    }
    let names_ok = buttons
        .iter()
        .all(|b| part_name(b).as_deref() == Some(b.as_str()));
    (buttons.len() >= 2 && buttons.len() <= MAX_PARTS && names_ok).then_some(buttons)
}

/// `recall_0`, `recall_1`: a scene recall (Hue dimmer gen 2), not a press.
fn is_scene_recall(value: &str) -> bool {
    value
        .strip_prefix("recall_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
}

/// A remote split by button, or `None` when the device is no remote or its values do not split.
pub fn split(exposes: &[Expose]) -> Option<Composed> {
    let whole = mapping::map(exposes)?;
    if whole.kind != DeviceKind::GenericSwitch {
        return None;
    }
    let action = whole
        .binding(|f| matches!(f, Field::Action { .. }))?
        .clone();
    let Field::Action { values } = &action.field else {
        return None;
    };
    let buttons = buttons(values)?;
    let rest: Vec<Expose> = exposes
        .iter()
        .filter(|e| e.property.as_deref() != Some(action.property.as_str()))
        .cloned()
        .collect();
    let mut device = mapping::map_container(&rest);
    device.bindings.push(action);
    let mut specs: Vec<PartSpec> = buttons
        .iter()
        .map(|b| PartSpec {
            id: b.clone(),
            kind: DeviceKind::GenericSwitch,
            with: With::NONE,
            name: None,
            tag: tag_of(b),
            state: None,
            parts: None,
        })
        .collect();
    number_unless_distinct(device.kind, &mut specs);
    let parts = specs
        .into_iter()
        .map(|spec| Part {
            spec,
            mapping: Mapping {
                kind: DeviceKind::GenericSwitch,
                with: With::NONE,
                bindings: Vec::new(),
                unmapped: Vec::new(),
            },
        })
        .collect();
    Some(Composed { device, parts })
}

/// Where a device's press goes: `Ok(None)` to the device itself (one switch), `Ok(Some(part))`
/// to a button's part with the button taken out of the event, `Err(button)` when the device is
/// split by button and the press names none of its buttons (a scene recall).
pub fn route(
    device: &Mapping,
    parts: &[Part],
    event: DeviceEvent,
) -> Result<(Option<String>, DeviceEvent), Option<String>> {
    if device.kind == DeviceKind::GenericSwitch || !parts.iter().any(is_button) {
        return Ok((None, event));
    }
    let DeviceEvent::Press { press, button } = event;
    match parts
        .iter()
        .find(|p| is_button(p) && Some(&p.spec.id) == button.as_ref())
    {
        Some(p) => Ok((
            Some(p.spec.id.clone()),
            DeviceEvent::Press {
                press,
                button: None,
            },
        )),
        None => Err(button),
    }
}

/// A button part (not a gang of a multi-endpoint device).
fn is_button(p: &Part) -> bool {
    p.spec.kind == DeviceKind::GenericSwitch && p.mapping.bindings.is_empty()
}
