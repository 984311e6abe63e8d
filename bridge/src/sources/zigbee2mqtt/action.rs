//! Zigbee2MQTT `action` values → device events (button presses of a generic switch).
//!
//! Zigbee2MQTT publishes an `action` once per gesture, never retained, as an enum whose values the
//! device's definition lists (`single`, `double`, `hold`, `release`, `1_single`, `button_2_double`,
//! `on`, `off`, `brightness_move_up`, `arrow_left_click`, `on_press_release`, ...). A value is read as
//! `<button>_<gesture>`:
//!
//! | gesture | press |
//! |---|---|
//! | `single`, `click`, `short`, `tap`, `press_release`, `short_release` | `single` |
//! | `double`, `triple`, `quadruple` (and `double_press`, ...) | the count |
//! | `long` | `long` (a complete long press) |
//! | `hold`, `long_press`, `hold_press`, `move`, `move_up`, `move_down` | `hold` |
//! | `release`, `hold_release`, `long_release`, `stop` | `release` |
//! | `press` | `single`, unless the device also lists `<button>_press_release` (Hue dimmers report press and release separately: the release is the press then) |
//!
//! The button is what precedes the gesture (`button_2` → `2`, `left`, `on`), or what follows it in
//! Aqara's reversed form `<gesture>_<button>` (`single_left`, `double_both`, `hold_right`,
//! `release_1`: the leading gestures are the counts, `hold`, `long` and `release`, never `press`,
//! `move` or `stop`, which lead commands such as `move_to_hue_2`); a value with no known
//! gesture (`on`, `off`, `toggle`, `shake`, `rotate_left`) is a single press of the button it names.
//! `brightness_move_up` is a hold of button `brightness_up` and `brightness_stop` its release.

use device_types::{DeviceEvent, Press, MAX_BUTTON_LEN};

/// Gesture suffixes, longest first so `hold_release` wins over `release`.
const GESTURES: &[(&str, Gesture)] = &[
    ("short_release", Gesture::Press(Press::Short(1))),
    ("press_release", Gesture::Press(Press::Short(1))),
    ("hold_release", Gesture::Press(Press::Release)),
    ("long_release", Gesture::Press(Press::Release)),
    ("double_press", Gesture::Press(Press::Short(2))),
    ("triple_press", Gesture::Press(Press::Short(3))),
    ("long_press", Gesture::Press(Press::Hold)),
    ("hold_press", Gesture::Press(Press::Hold)),
    ("quadruple", Gesture::Press(Press::Short(4))),
    ("move_down", Gesture::Press(Press::Hold)),
    ("move_up", Gesture::Press(Press::Hold)),
    ("release", Gesture::Press(Press::Release)),
    ("single", Gesture::Press(Press::Short(1))),
    ("double", Gesture::Press(Press::Short(2))),
    ("triple", Gesture::Press(Press::Short(3))),
    ("click", Gesture::Press(Press::Short(1))),
    ("short", Gesture::Press(Press::Short(1))),
    ("press", Gesture::InitialPress),
    ("hold", Gesture::Press(Press::Hold)),
    ("long", Gesture::Press(Press::Long)),
    ("move", Gesture::Press(Press::Hold)),
    ("stop", Gesture::Press(Press::Release)),
    ("tap", Gesture::Press(Press::Short(1))),
];

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Gesture {
    Press(Press),
    /// `press`: a single press, or nothing when the release is reported separately.
    InitialPress,
}

/// The device event an `action` value stands for; `None` for an empty value or an initial press
/// whose release the device reports separately. `values` are the action values the device lists.
pub fn event_for(action: &str, values: &[String]) -> Option<DeviceEvent> {
    let action = action.trim();
    if action.is_empty() {
        return None;
    }
    let (button, gesture) = split(action);
    let press = match gesture {
        Some(Gesture::Press(p)) => p,
        Some(Gesture::InitialPress) => {
            let release = match &button {
                Some(b) => format!("{b}_press_release"),
                None => "press_release".to_owned(),
            };
            let raw_release = action.replacen("press", "press_release", 1);
            if values.iter().any(|v| *v == release || *v == raw_release) {
                return None;
            }
            Press::Short(1)
        }
        None => Press::Short(1),
    };
    let button = match gesture {
        None => Some(action.to_owned()),
        Some(_) => button,
    };
    let button = button.map(|mut b| {
        let mut end = b.len().min(MAX_BUTTON_LEN);
        while !b.is_char_boundary(end) {
            end -= 1;
        }
        b.truncate(end);
        b
    });
    Some(DeviceEvent::Press { press, button })
}

/// Gestures that also come first, before the button (Aqara: `single_left`, `double_both`,
/// `hold_right`, `release_1`), longest first. Not `press`, `move` or `stop`: `press_1_and_3`,
/// `move_to_hue_2`, `stop_move_step_1` are no button gestures in that order.
const LEADING: &[(&str, Gesture)] = &[
    ("hold_release", Gesture::Press(Press::Release)),
    ("long_release", Gesture::Press(Press::Release)),
    ("quadruple", Gesture::Press(Press::Short(4))),
    ("release", Gesture::Press(Press::Release)),
    ("single", Gesture::Press(Press::Short(1))),
    ("double", Gesture::Press(Press::Short(2))),
    ("triple", Gesture::Press(Press::Short(3))),
    ("hold", Gesture::Press(Press::Hold)),
    ("long", Gesture::Press(Press::Long)),
];

/// `<button>_<gesture>` or `<gesture>_<button>` → (button, gesture). `brightness_move_up` →
/// (`brightness_up`, hold); `double_both` → (`both`, double); `double_click` and `single_press`
/// are gestures alone (no button), `hold_released` a release.
pub(super) fn split(action: &str) -> (Option<String>, Option<Gesture>) {
    if let Some(g) = GESTURES.iter().find(|(g, _)| action == *g) {
        return (None, Some(g.1));
    }
    // `<gesture>_<gesture word>`: one gesture, said twice.
    for (lead, gesture) in LEADING {
        if let Some(rest) = action.strip_prefix(lead).and_then(|r| r.strip_prefix('_')) {
            match rest {
                "click" | "press" | "pressed" | "tap" => return (None, Some(*gesture)),
                "release" | "released" => return (None, Some(Gesture::Press(Press::Release))),
                _ => {}
            }
        }
    }
    let (button, gesture) = split_trailing(action);
    if gesture.is_some() {
        return (button, gesture);
    }
    for (lead, gesture) in LEADING {
        if let Some(rest) = action.strip_prefix(lead).and_then(|r| r.strip_prefix('_')) {
            if !rest.is_empty() {
                return (Some(rest.to_owned()), Some(*gesture));
            }
        }
    }
    (None, None)
}

/// `<button>_<gesture>` → (button, gesture).
fn split_trailing(action: &str) -> (Option<String>, Option<Gesture>) {
    for (suffix, gesture) in GESTURES {
        if let Some(prefix) = action.strip_suffix(suffix) {
            let Some(prefix) = prefix.strip_suffix('_') else {
                continue;
            };
            if prefix.is_empty() {
                continue;
            }
            let mut button = prefix.strip_prefix("button_").unwrap_or(prefix).to_owned();
            // brightness_move_up / _down: the direction names the button.
            if let Some(dir) = suffix.strip_prefix("move_") {
                button = format!("{button}_{dir}");
            }
            return (Some(button), Some(*gesture));
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(action: &str) -> Option<(Press, Option<String>)> {
        event_for(action, &[]).map(|DeviceEvent::Press { press, button }| (press, button))
    }

    #[test]
    fn plain_gestures_have_no_button() {
        assert_eq!(ev("single"), Some((Press::Short(1), None)));
        assert_eq!(ev("double"), Some((Press::Short(2), None)));
        assert_eq!(ev("triple"), Some((Press::Short(3), None)));
        assert_eq!(ev("quadruple"), Some((Press::Short(4), None)));
        assert_eq!(ev("hold"), Some((Press::Hold, None)));
        assert_eq!(ev("release"), Some((Press::Release, None)));
        assert_eq!(ev("long"), Some((Press::Long, None)));
        assert_eq!(ev(""), None);
    }

    #[test]
    fn button_prefixes_name_the_button() {
        assert_eq!(ev("1_single"), Some((Press::Short(1), Some("1".into()))));
        assert_eq!(
            ev("button_2_double"),
            Some((Press::Short(2), Some("2".into())))
        );
        assert_eq!(ev("left_hold"), Some((Press::Hold, Some("left".into()))));
        assert_eq!(
            ev("arrow_left_click"),
            Some((Press::Short(1), Some("arrow_left".into())))
        );
        assert_eq!(
            ev("on_hold_release"),
            Some((Press::Release, Some("on".into())))
        );
        assert_eq!(ev("1_long_press"), Some((Press::Hold, Some("1".into()))));
    }

    #[test]
    fn aqara_names_the_gesture_first() {
        assert_eq!(
            ev("single_left"),
            Some((Press::Short(1), Some("left".into())))
        );
        assert_eq!(
            ev("double_both"),
            Some((Press::Short(2), Some("both".into())))
        );
        assert_eq!(ev("hold_right"), Some((Press::Hold, Some("right".into()))));
        assert_eq!(ev("release_1"), Some((Press::Release, Some("1".into()))));
        assert_eq!(
            ev("hold_release_left"),
            Some((Press::Release, Some("left".into())))
        );
        assert_eq!(
            ev("single_left_right"),
            Some((Press::Short(1), Some("left_right".into())))
        );
        // A gesture said twice names no button.
        assert_eq!(ev("double_click"), Some((Press::Short(2), None)));
        assert_eq!(ev("single_press"), Some((Press::Short(1), None)));
        assert_eq!(ev("hold_released"), Some((Press::Release, None)));
        // Commands that start like a gesture are not gestures.
        assert_eq!(
            ev("move_to_hue_2"),
            Some((Press::Short(1), Some("move_to_hue_2".into())))
        );
        assert_eq!(
            ev("press_1_and_3").map(|(_, b)| b),
            Some(Some("press_1_and_3".into()))
        );
    }

    #[test]
    fn commands_and_gestures_without_a_press_word() {
        assert_eq!(ev("on"), Some((Press::Short(1), Some("on".into()))));
        assert_eq!(ev("off"), Some((Press::Short(1), Some("off".into()))));
        assert_eq!(ev("shake"), Some((Press::Short(1), Some("shake".into()))));
        assert_eq!(
            ev("brightness_move_up"),
            Some((Press::Hold, Some("brightness_up".into())))
        );
        assert_eq!(
            ev("brightness_stop"),
            Some((Press::Release, Some("brightness".into())))
        );
    }

    #[test]
    fn a_press_whose_release_is_reported_separately_waits_for_it() {
        let hue: Vec<String> = ["on_press", "on_press_release", "on_hold", "on_hold_release"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(event_for("on_press", &hue), None);
        assert_eq!(
            event_for("on_press_release", &hue),
            Some(DeviceEvent::Press {
                press: Press::Short(1),
                button: Some("on".into())
            })
        );
        // Without a separate release, a press is a single press.
        assert_eq!(ev("on_press"), Some((Press::Short(1), Some("on".into()))));
    }
}
