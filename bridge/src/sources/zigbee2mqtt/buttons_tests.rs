//! Multi-button remotes as parts, on the `action` values of real definitions (zigbee-herdsman-converters
//! 26.112.0, as tests/e2e/z2m/dump.js prints them): which remotes split, into which buttons with which
//! tags, and where each press goes.

use device_types::{DeviceEvent, DeviceKind, PartSpec, Position, Press, Tag};
use serde_json::{json, Value};

use super::buttons::{buttons, route, split};
use super::convert::to_event;
use super::parts::{compose, Composed};
use super::topics::Expose;

/// A battery remote's exposes: battery, the action enum with `values`, linkquality.
fn remote(values: &[&str]) -> Vec<Expose> {
    serde_json::from_value(json!([
        {"type": "numeric", "name": "battery", "property": "battery", "access": 1, "unit": "%",
         "value_min": 0, "value_max": 100},
        {"type": "numeric", "name": "voltage", "property": "voltage", "access": 1, "unit": "mV"},
        {"type": "enum", "name": "action", "property": "action", "access": 1, "values": values},
        {"type": "numeric", "name": "linkquality", "property": "linkquality", "access": 1}
    ]))
    .unwrap()
}

const TS0044: &[&str] = &[
    "1_single", "1_double", "1_hold", "2_single", "2_double", "2_hold", "3_single", "3_double",
    "3_hold", "4_single", "4_double", "4_hold",
];
const WXKG07LM: &[&str] = &[
    "single_left",
    "single_right",
    "single_both",
    "double_left",
    "double_right",
    "double_both",
    "hold_left",
    "hold_right",
    "hold_both",
];
/// Hue dimmer switch gen 1 (324131092621, RWL020/RWL021).
const HUE_GEN1: &[&str] = &[
    "on_press",
    "on_press_release",
    "on_hold",
    "on_hold_release",
    "up_press",
    "up_press_release",
    "up_hold",
    "up_hold_release",
    "down_press",
    "down_press_release",
    "down_hold",
    "down_hold_release",
    "off_press",
    "off_press_release",
    "off_hold",
    "off_hold_release",
];
/// Hue dimmer switch gen 2 (929002398602, RWL022).
const HUE_GEN2: &[&str] = &[
    "on_press",
    "on_hold",
    "on_press_release",
    "on_hold_release",
    "off_press",
    "off_hold",
    "off_press_release",
    "off_hold_release",
    "up_press",
    "up_hold",
    "up_press_release",
    "up_hold_release",
    "down_press",
    "down_hold",
    "down_press_release",
    "down_hold_release",
    "recall_0",
    "recall_1",
];
const E1743: &[&str] = &[
    "on",
    "off",
    "brightness_move_up",
    "brightness_move_down",
    "brightness_stop",
];
const E1524: &[&str] = &[
    "toggle",
    "brightness_up_click",
    "brightness_down_click",
    "brightness_up_hold",
    "brightness_up_release",
    "brightness_down_hold",
    "brightness_down_release",
    "toggle_hold",
    "arrow_left_click",
    "arrow_left_hold",
    "arrow_left_release",
    "arrow_right_click",
    "arrow_right_hold",
    "arrow_right_release",
];
/// Aqara WXKG11LM: one button.
const WXKG11LM: &[&str] = &["single", "double", "triple", "quadruple", "hold", "release"];

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn composed(values: &[&str]) -> Composed {
    let c = compose(&remote(values)).expect("splits by button");
    let specs: Vec<PartSpec> = c.parts.iter().map(|p| p.spec.clone()).collect();
    device_types::parts::validate_parts(c.device.kind, &specs).unwrap();
    c
}

fn ids_and_tags(c: &Composed) -> Vec<(&str, Tag)> {
    c.parts
        .iter()
        .map(|p| (p.spec.id.as_str(), p.spec.tag.expect("every button tagged")))
        .collect()
}

/// Where a press went: `Ok((part, press))` (`None`: the device itself), `Err(button)` for a press
/// of no button.
type Routed = Result<(Option<String>, Press), Option<String>>;

/// Where `action` goes on the composed device: (part, press, button left in the event).
fn press(c: &Composed, action: &str) -> Option<Routed> {
    let payload = json!({"action": action, "battery": 80});
    let event = to_event(&c.device, payload.as_object().unwrap()).unwrap()?;
    Some(
        route(&c.device, &c.parts, event).map(|(part, DeviceEvent::Press { press, button })| {
            assert_eq!(button, None, "the part is the button");
            (part, press)
        }),
    )
}

#[test]
fn a_four_button_tuya_remote_is_a_container_with_four_numbered_switch_parts() {
    let c = composed(TS0044);
    assert_eq!(c.device.kind, DeviceKind::BridgedNode);
    assert_eq!(c.device.with.names(), ["battery"]);
    assert_eq!(
        c.device.unmapped,
        ["voltage"],
        "a battery's voltage, as before"
    );
    assert!(c
        .parts
        .iter()
        .all(|p| p.spec.kind == DeviceKind::GenericSwitch && p.spec.with.names().is_empty()));
    assert_eq!(
        ids_and_tags(&c),
        [
            ("1", Tag::Number(1)),
            ("2", Tag::Number(2)),
            ("3", Tag::Number(3)),
            ("4", Tag::Number(4))
        ]
    );
    // A double press of button 2 goes to part 2 only, as a double press.
    assert_eq!(
        press(&c, "2_double"),
        Some(Ok((Some("2".into()), Press::Short(2))))
    );
    assert_eq!(
        press(&c, "4_hold"),
        Some(Ok((Some("4".into()), Press::Hold)))
    );
    assert_eq!(
        press(&c, "1_single"),
        Some(Ok((Some("1".into()), Press::Short(1))))
    );
}

#[test]
fn an_aqara_double_rocker_reads_gesture_first_and_both_is_a_button_of_its_own() {
    assert_eq!(
        buttons(&strings(WXKG07LM)).unwrap(),
        ["left", "right", "both"]
    );
    let c = composed(WXKG07LM);
    // `both` has no position: the three are numbered in value order.
    assert_eq!(
        ids_and_tags(&c),
        [
            ("left", Tag::Number(1)),
            ("right", Tag::Number(2)),
            ("both", Tag::Number(3))
        ]
    );
    assert_eq!(
        press(&c, "double_both"),
        Some(Ok((Some("both".into()), Press::Short(2))))
    );
    assert_eq!(
        press(&c, "hold_right"),
        Some(Ok((Some("right".into()), Press::Hold)))
    );
    // Left and right alone keep their positions.
    let c = composed(&["single_left", "single_right", "hold_left", "hold_right"]);
    assert_eq!(
        ids_and_tags(&c),
        [
            ("left", Tag::Position(Position::Left)),
            ("right", Tag::Position(Position::Right))
        ]
    );
}

#[test]
fn hue_dimmers_split_into_their_four_buttons_and_a_press_waits_for_its_release() {
    for values in [HUE_GEN1, HUE_GEN2] {
        let c = composed(values);
        let mut ids: Vec<&str> = ids_and_tags(&c).into_iter().map(|(id, _)| id).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["down", "off", "on", "up"]);
        // The press is reported separately from its release: the release is the press.
        assert_eq!(press(&c, "up_press"), None);
        assert_eq!(
            press(&c, "up_press_release"),
            Some(Ok((Some("up".into()), Press::Short(1))))
        );
        assert_eq!(
            press(&c, "off_hold"),
            Some(Ok((Some("off".into()), Press::Hold)))
        );
        assert_eq!(
            press(&c, "off_hold_release"),
            Some(Ok((Some("off".into()), Press::Release)))
        );
    }
    let gen1 = composed(HUE_GEN1);
    assert_eq!(
        ids_and_tags(&gen1),
        [
            ("on", Tag::Number(1)),
            ("up", Tag::Number(2)),
            ("down", Tag::Number(3)),
            ("off", Tag::Number(4))
        ],
        "no positions in the names: numbered in value order"
    );
    // Gen 2's scene recalls are no button's: not a press of any part.
    let gen2 = composed(HUE_GEN2);
    assert_eq!(press(&gen2, "recall_1"), Some(Err(Some("recall_1".into()))));
}

#[test]
fn ikea_five_button_remote_places_its_bare_toggle_on_the_toggle_button() {
    let c = composed(E1524);
    let ids: Vec<&str> = ids_and_tags(&c).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        [
            "toggle",
            "brightness_up",
            "brightness_down",
            "arrow_left",
            "arrow_right"
        ]
    );
    assert_eq!(
        press(&c, "toggle"),
        Some(Ok((Some("toggle".into()), Press::Short(1))))
    );
    assert_eq!(
        press(&c, "arrow_left_release"),
        Some(Ok((Some("arrow_left".into()), Press::Release)))
    );
}

#[test]
fn ambiguous_remotes_stay_one_switch_with_the_button_in_the_event() {
    // IKEA E1743: `on` and `off` have no gesture and no other value names them.
    assert_eq!(buttons(&strings(E1743)), None);
    assert!(compose(&remote(E1743)).is_none());
    // One button with plain gestures.
    assert_eq!(buttons(&strings(WXKG11LM)), None);
    // A single button named by its gestures.
    assert_eq!(buttons(&strings(&["1_single", "1_double"])), None);
    // A gesture of no button among named ones.
    assert_eq!(buttons(&strings(&["1_single", "2_single", "hold"])), None);
    // A button name that is no part name as it is.
    assert_eq!(buttons(&strings(&["Top_single", "2_single"])), None);
    // More buttons than parts a device may have.
    let many: Vec<String> = (1..=31).map(|n| format!("{n}_single")).collect();
    assert_eq!(buttons(&many), None);
    // On the whole switch, the press keeps its button, as before.
    let whole = super::mapping::map(&remote(E1743)).unwrap();
    assert_eq!(whole.kind, DeviceKind::GenericSwitch);
    let payload = json!({"action": "brightness_move_up"});
    let event = to_event(&whole, payload.as_object().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        route(&whole, &[], event),
        Ok((
            None,
            DeviceEvent::Press {
                press: Press::Hold,
                button: Some("brightness_up".into())
            }
        ))
    );
}

#[test]
fn a_remote_that_is_not_only_a_remote_is_not_split_by_button() {
    // A light with an action (Hue with a button): the light wins; no button parts.
    let v: Value = json!([
        {"type": "light", "features": [
            {"type": "binary", "name": "state", "property": "state", "access": 7,
             "value_on": "ON", "value_off": "OFF"}]},
        {"type": "enum", "name": "action", "property": "action", "access": 1,
         "values": ["1_single", "2_single"]}
    ]);
    let exposes: Vec<Expose> = serde_json::from_value(v).unwrap();
    assert!(split(&exposes).is_none());
}
