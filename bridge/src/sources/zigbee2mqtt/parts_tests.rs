//! Endpoint-suffixed exposes as parts: a two-gang switch splits into one part per gang, state
//! reports reach the right part, a part's command becomes its suffixed property in the device's
//! one merged `/set`.

use std::time::Duration;

use device_types::{DeviceKind, Position, State, Tag};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::commands::Batches;
use super::convert::to_set;
use super::parts::{gettable, mapping_for, part_states, split};
use super::topics::Expose;
use crate::registry::{Origin, SourceCommand};

fn exposes(v: Value) -> Vec<Expose> {
    serde_json::from_value(v).unwrap()
}

fn gang(ep: &str) -> Value {
    json!({"type": "switch", "endpoint": ep, "features": [
        {"type": "binary", "name": "state", "property": format!("state_{ep}"), "endpoint": ep,
         "access": 7, "value_on": "ON", "value_off": "OFF", "value_toggle": "TOGGLE"}]})
}

/// Shaped like a Tuya two-gang wall switch: two gangs and device-wide settings.
fn two_gang() -> Vec<Expose> {
    exposes(json!([
        gang("left"),
        gang("right"),
        {"type": "enum", "name": "power_on_behavior", "property": "power_on_behavior", "access": 7,
         "values": ["off", "previous", "on"]},
        {"type": "numeric", "name": "linkquality", "property": "linkquality", "access": 1}
    ]))
}

#[test]
fn a_two_gang_switch_is_a_container_with_a_part_per_gang() {
    let c = split(&two_gang()).expect("two endpoints map");
    assert_eq!(c.device.kind, DeviceKind::BridgedNode);
    assert_eq!(c.device.unmapped, ["power_on_behavior"]);
    let names: Vec<&str> = c.parts.iter().map(|p| p.spec.id.as_str()).collect();
    assert_eq!(names, ["left", "right"]);
    assert!(c
        .parts
        .iter()
        .all(|p| p.spec.kind == DeviceKind::OnOffPlugInUnit));
    assert_eq!(c.parts[0].spec.tag, Some(Tag::Position(Position::Left)));
    assert_eq!(c.parts[1].spec.tag, Some(Tag::Position(Position::Right)));
    assert_eq!(gettable(&c.device, &c.parts), ["state_left", "state_right"]);
    device_types::parts::validate_parts(
        c.device.kind,
        &c.parts.iter().map(|p| p.spec.clone()).collect::<Vec<_>>(),
    )
    .unwrap();
}

#[test]
fn numbered_and_unnamed_endpoints_get_number_tags_and_one_endpoint_is_no_composition() {
    let c = split(&exposes(json!([gang("l1"), gang("l2"), gang("l3")]))).unwrap();
    let tags: Vec<Option<Tag>> = c.parts.iter().map(|p| p.spec.tag).collect();
    assert_eq!(
        tags,
        [
            Some(Tag::Number(1)),
            Some(Tag::Number(2)),
            Some(Tag::Number(3))
        ]
    );
    // Names without positions or numbers are numbered in order.
    let c = split(&exposes(json!([gang("up"), gang("down")]))).unwrap();
    let tags: Vec<Option<Tag>> = c.parts.iter().map(|p| p.spec.tag).collect();
    assert_eq!(tags, [Some(Tag::Number(1)), Some(Tag::Number(2))]);
    // One endpoint, or none: the device maps as a whole.
    assert!(split(&exposes(json!([gang("l1")]))).is_none());
}

#[test]
fn a_report_reaches_each_part_and_a_part_command_is_its_suffixed_property() {
    let c = split(&two_gang()).unwrap();
    let payload = json!({"state_left": "ON", "state_right": "OFF", "linkquality": 90});
    let states = part_states(&c.parts, payload.as_object().unwrap());
    let on: Vec<(String, Option<bool>)> = states
        .iter()
        .map(|(name, patch, errors)| {
            assert!(errors.is_empty());
            (name.clone(), patch.on)
        })
        .collect();
    assert_eq!(
        on,
        [
            ("left".to_owned(), Some(true)),
            ("right".to_owned(), Some(false))
        ]
    );
    let only_right = json!({"state_right": "ON"});
    let states = part_states(&c.parts, only_right.as_object().unwrap());
    assert!(states[0].1.is_empty() && states[1].1.on == Some(true));

    let right = mapping_for(&c.device, &c.parts, Some("right")).unwrap();
    let off = State {
        on: Some(false),
        ..State::default()
    };
    let (set, missing) = to_set(right, &off, None);
    assert!(missing.is_empty());
    assert_eq!(Value::Object(set), json!({"state_right": "OFF"}));
    assert!(mapping_for(&c.device, &c.parts, Some("middle")).is_none());
}

#[test]
fn commands_to_two_parts_share_their_devices_merge_window() {
    let command = |device: &str, part: &str, on: bool| {
        let (reply, rx) = oneshot::channel();
        let cmd = SourceCommand {
            device: format!("{device}:{part}"),
            part: Some(part.to_owned()),
            patch: State {
                on: Some(on),
                ..State::default()
            },
            transition: None,
            stop: None,
            origin: Origin::Matter,
            reply,
        };
        (cmd, rx)
    };
    let mut batches = Batches::default();
    let now = Instant::now();
    let window = Duration::from_millis(100);
    let (a, _ra) = command("sw", "left", true);
    let (b, _rb) = command("sw", "right", false);
    batches.add(a, now, window);
    batches.add(b, now, window);
    let due = batches.take_due(now + window);
    assert_eq!(due.len(), 1, "one window for the device");
    let (id, batch) = &due[0];
    assert_eq!(id, "sw");
    assert!(batch.patch.is_empty());
    assert_eq!(batch.parts["left"].on, Some(true));
    assert_eq!(batch.parts["right"].on, Some(false));
    assert_eq!(batch.replies.len(), 2);
}

#[test]
fn a_rocker_whose_device_wide_exposes_have_a_function_keeps_it_on_the_device() {
    // Shaped like an Aqara double rocker: two relays and one device-wide `action`.
    let mut v = vec![gang("left"), gang("right")];
    v.push(
        json!({"type": "enum", "name": "action", "property": "action", "access": 1,
                  "values": ["single_left", "single_right", "double_both"]}),
    );
    v.push(
        json!({"type": "numeric", "name": "power", "property": "power", "access": 5,
                  "unit": "W"}),
    );
    let c = split(&exposes(Value::Array(v))).unwrap();
    assert_eq!(c.device.kind, DeviceKind::GenericSwitch);
    assert_eq!(c.device.with.names(), ["electrical"]);
    assert_eq!(c.parts.len(), 2);
}
