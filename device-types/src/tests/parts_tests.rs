//! Composed devices: the `bridged_node` kind, part names, tags and the part rules.

use crate::parts::{
    check_part_name, default_part_name, part_id, split_part_id, validate_parts, PartSpec,
    NAMESPACE_COMMON_NUMBER, NAMESPACE_COMMON_POSITION,
};
use crate::{DeviceKind, Position, Shape, Tag, With};

fn part(id: &str, kind: DeviceKind, tag: Option<Tag>) -> PartSpec {
    PartSpec {
        id: id.to_owned(),
        kind,
        with: With::NONE,
        name: None,
        tag,
        state: None,
        parts: None,
    }
}

fn left_right() -> Vec<PartSpec> {
    vec![
        part(
            "left",
            DeviceKind::OnOffLight,
            Some(Tag::Position(Position::Left)),
        ),
        part(
            "right",
            DeviceKind::OnOffLight,
            Some(Tag::Position(Position::Right)),
        ),
    ]
}

#[test]
fn bridged_node_is_device_type_0x0013_with_no_cluster_and_no_field() {
    let k = DeviceKind::BridgedNode;
    assert_eq!((k.device_type().id, k.device_type().revision), (0x0013, 3));
    assert!(k.clusters().is_empty());
    assert!(k.fields().is_empty());
    assert_eq!("bridged_node".parse::<DeviceKind>().unwrap(), k);
    // Only battery, mains or electrical may sit on the container itself.
    let s = Shape::parse(k, &["battery"]).unwrap();
    assert_eq!(
        s.device_types().iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![0x0013, 0x0011]
    );
    // A meter of the whole device may sit there too (Power Topology TreeTopology covers the parts).
    Shape::parse(k, &["electrical", "mains"]).unwrap();
    let e = Shape::parse(k, &["co2"]).unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("with", "\"co2\""));
    let e = Shape::parse(k, &["on_off_light"]).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.value.as_str()),
        ("with", "\"on_off_light\"")
    );
    let e = Shape::parse(DeviceKind::OnOffLight, &["bridged_node"]).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.value.as_str()),
        ("with", "\"bridged_node\"")
    );
}

#[test]
fn a_two_gang_switch_and_a_four_button_remote_are_valid() {
    validate_parts(DeviceKind::BridgedNode, &left_right()).unwrap();
    let buttons: Vec<PartSpec> = (1..=4)
        .map(|n| {
            part(
                &format!("b{n}"),
                DeviceKind::GenericSwitch,
                Some(Tag::Number(n)),
            )
        })
        .collect();
    validate_parts(DeviceKind::BridgedNode, &buttons).unwrap();
    // A light with one part of another kind: no tag needed.
    validate_parts(
        DeviceKind::DimmableLight,
        &[part("night", DeviceKind::OnOffLight, None)],
    )
    .unwrap();
}

#[test]
fn bad_part_names_are_refused_naming_field_and_value() {
    for bad in ["", "Left", "-x", "a:b", "a.b", "seventeen-chars-x"] {
        let e = check_part_name(bad).unwrap_err();
        assert_eq!(e.field, "parts.id", "{bad}");
        assert_eq!(e.value, format!("{bad:?}"));
    }
    let mut parts = left_right();
    parts[1].id = "Right".into();
    let e = validate_parts(DeviceKind::BridgedNode, &parts).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.value.as_str()),
        ("parts.id", "\"Right\"")
    );
}

#[test]
fn duplicate_parts_and_duplicate_or_missing_tags_are_refused() {
    let mut parts = left_right();
    parts[1].id = "left".into();
    let e = validate_parts(DeviceKind::BridgedNode, &parts).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.value.as_str()),
        ("parts.id", "\"left\"")
    );
    assert!(e.reason.contains("twice"), "{e}");

    let mut parts = left_right();
    parts[1].tag = Some(Tag::Position(Position::Left));
    let e = validate_parts(DeviceKind::BridgedNode, &parts).unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("parts.tag", "left"));

    let mut parts = left_right();
    parts[0].tag = None;
    let e = validate_parts(DeviceKind::BridgedNode, &parts).unwrap_err();
    assert_eq!(e.field, "parts.tag");
}

#[test]
fn nested_parts_and_containers_as_parts_are_refused() {
    let json = r#"{"id":"left","kind":"on_off_light","parts":[{"id":"x","kind":"on_off_light"}]}"#;
    let nested: PartSpec = serde_json::from_str(json).unwrap();
    let e = validate_parts(DeviceKind::BridgedNode, &[nested]).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.value.as_str()),
        ("parts.parts", "\"left\"")
    );

    let e = validate_parts(
        DeviceKind::BridgedNode,
        &[part("inner", DeviceKind::BridgedNode, None)],
    )
    .unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.value.as_str()),
        ("parts.kind", "\"bridged_node\"")
    );

    let e = validate_parts(DeviceKind::BridgedNode, &[]).unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("parts", "[]"));
}

#[test]
fn a_part_state_is_checked_against_its_kind() {
    let mut p = part("main", DeviceKind::DimmableLight, None);
    p.state = Some(crate::State {
        brightness: Some(255),
        ..Default::default()
    });
    let e = validate_parts(DeviceKind::BridgedNode, &[p]).unwrap_err();
    assert_eq!(e.field, "brightness");
}

#[test]
fn tags_map_to_the_common_position_and_number_namespaces() {
    assert_eq!(
        Tag::Position(Position::Left).semantic(),
        (NAMESPACE_COMMON_POSITION, 0)
    );
    assert_eq!(Tag::Position(Position::Right).semantic(), (0x08, 1));
    assert_eq!(Tag::Position(Position::Middle).semantic(), (0x08, 4));
    assert_eq!(Tag::Number(3).semantic(), (NAMESPACE_COMMON_NUMBER, 3));
    assert_eq!(Tag::parse("top").unwrap(), Tag::Position(Position::Top));
    assert_eq!(Tag::parse("4").unwrap(), Tag::Number(4));
    let e = Tag::parse("31").unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("tag", "31"));
    let e = Tag::parse("upper").unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("tag", "\"upper\""));
    let t: Tag = serde_json::from_str("2").unwrap();
    assert_eq!(t, Tag::Number(2));
    assert_eq!(
        serde_json::to_string(&Tag::Position(Position::Bottom)).unwrap(),
        "\"bottom\""
    );
}

#[test]
fn part_ids_join_and_split_on_a_colon() {
    assert_eq!(part_id("hall-switch", "left"), "hall-switch:left");
    assert_eq!(
        split_part_id("hall-switch:left"),
        Some(("hall-switch", "left"))
    );
    assert_eq!(split_part_id("hall-switch"), None);
    assert_eq!(default_part_name("Hall switch", "left"), "Hall switch left");
    assert!(default_part_name(&"x".repeat(40), "left").len() <= 32);
}
