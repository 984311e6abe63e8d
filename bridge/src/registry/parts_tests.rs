//! Composed devices in the registry: a part is a device of its own (`<parent>:<part>`) with a
//! stable endpoint, added, removed and made unreachable with its parent, and commands to a part
//! carry the part's name to the parent's source.

use device_types::{DeviceKind, PartSpec, Position, State, Tag, With};

use super::*;

fn part(id: &str, kind: DeviceKind, tag: Tag) -> PartSpec {
    PartSpec {
        id: id.to_owned(),
        kind,
        with: With::NONE,
        name: None,
        tag: Some(tag),
        state: None,
        parts: None,
    }
}

fn two_gang(id: &str) -> DeviceConfig {
    DeviceConfig {
        id: id.to_owned(),
        kind: DeviceKind::BridgedNode,
        with: With::NONE,
        name: "Hall switch".into(),
        room: Some("Hall".into()),
        state: None,
        parts: vec![
            part(
                "left",
                DeviceKind::OnOffLight,
                Tag::Position(Position::Left),
            ),
            part(
                "right",
                DeviceKind::OnOffLight,
                Tag::Position(Position::Right),
            ),
        ],
    }
}

fn lamp() -> DeviceConfig {
    DeviceConfig {
        id: "lamp".into(),
        kind: DeviceKind::OnOffLight,
        with: With::NONE,
        name: "Lamp".into(),
        room: None,
        state: None,
        parts: Vec::new(),
    }
}

fn endpoints(registry: &Registry) -> Vec<(String, u16)> {
    registry
        .list()
        .into_iter()
        .map(|d| (d.id, d.endpoint))
        .collect()
}

#[test]
fn parts_are_devices_with_a_parent_and_stable_endpoints_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let registry = Registry::open(dir.path(), &[two_gang("hall"), lamp()]).unwrap();
        let hall = registry.get("hall").unwrap();
        assert_eq!(hall.parts, vec!["hall:left", "hall:right"]);
        assert!(hall.parent.is_none());
        let left = registry.get("hall:left").unwrap();
        assert_eq!(left.parent.as_deref(), Some("hall"));
        assert_eq!(left.part_name(), Some("left"));
        assert_eq!(left.tag, Some(Tag::Position(Position::Left)));
        assert_eq!(left.name, "Hall switch left");
        assert_eq!(left.room.as_deref(), Some("Hall"));
        assert_eq!(left.state, DeviceKind::OnOffLight.default_state());
        let json = serde_json::to_value(&left).unwrap();
        assert_eq!(json["parent"], "hall");
        assert_eq!(json["tag"], "left");
        endpoints(&registry)
    };
    assert_eq!(
        first,
        vec![
            ("hall".to_owned(), 2),
            ("hall:left".to_owned(), 3),
            ("hall:right".to_owned(), 4),
            ("lamp".to_owned(), 5)
        ]
    );
    // Reordered config: same endpoints.
    let registry = Registry::open(dir.path(), &[lamp(), two_gang("hall")]).unwrap();
    let mut again = endpoints(&registry);
    again.sort_by_key(|(_, ep)| *ep);
    assert_eq!(again, first);
}

#[test]
fn state_and_commands_are_per_part_and_name_the_part() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), &[two_gang("hall")]).unwrap();
    let on = State {
        on: Some(true),
        ..State::default()
    };
    registry.apply("hall:right", &on, Origin::Local).unwrap();
    assert_eq!(registry.get("hall:right").unwrap().state.on, Some(true));
    assert_eq!(registry.get("hall:left").unwrap().state.on, Some(false));
    // The container has no state field.
    assert!(registry.apply("hall", &on, Origin::Local).is_err());

    let mut rx = registry.attach_source(VIRTUAL_ROUTE);
    let _pending = registry
        .command("hall:left", &on, CommandOptions::from(Origin::Api))
        .unwrap();
    let cmd = rx.try_recv().unwrap();
    assert_eq!(cmd.device, "hall:left");
    assert_eq!(cmd.part.as_deref(), Some("left"));
    assert_eq!(cmd.target(), ("hall", Some("left")));
}

#[test]
fn removing_the_parent_removes_its_parts_and_re_adding_restores_their_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), &[lamp()]).unwrap();
    let mut changes = registry.subscribe();
    let added = registry.add(two_gang("gang"), Origin::Api).unwrap();
    assert_eq!(added.id, "gang");
    let before = endpoints(&registry);
    // Added in order: the parent, then each part.
    let mut order = Vec::new();
    while let Ok(Change::Added(d)) = changes.try_recv() {
        order.push(d.id);
    }
    assert_eq!(order, ["gang", "gang:left", "gang:right"]);

    let err = registry.remove("gang:left", Origin::Api).unwrap_err();
    assert!(matches!(err, RegistryError::PartOfDevice { .. }), "{err}");
    assert!(err.to_string().contains("part of `gang`"), "{err}");

    registry.remove("gang", Origin::Api).unwrap();
    assert!(registry.get("gang:left").is_none() && registry.get("gang:right").is_none());
    let mut removed = Vec::new();
    while let Ok(change) = changes.try_recv() {
        if let Change::Removed { device, .. } = change {
            removed.push(device);
        }
    }
    assert_eq!(removed, ["gang:right", "gang:left", "gang"]);

    // Another device in between takes a fresh endpoint; the re-added parts get theirs back.
    let mut other = lamp();
    other.id = "other".into();
    registry.add(other, Origin::Api).unwrap();
    registry.add(two_gang("gang"), Origin::Api).unwrap();
    for (id, ep) in before {
        assert_eq!(registry.get(&id).unwrap().endpoint, ep, "{id}");
    }
    drop(registry);
    // And after a restart the API-added parts are back too.
    let registry = Registry::open(dir.path(), &[lamp()]).unwrap();
    assert_eq!(
        registry.get("gang:right").unwrap().parent.as_deref(),
        Some("gang")
    );
}

#[test]
fn the_parents_reachability_applies_to_its_parts() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), &[two_gang("hall")]).unwrap();
    registry.set_reachable("hall", false).unwrap();
    assert!(!registry.get("hall:left").unwrap().reachable);
    assert!(!registry.get("hall:right").unwrap().reachable);
    let err = registry.set_reachable("hall:left", true).unwrap_err();
    assert!(matches!(err, RegistryError::PartOfDevice { .. }));
    registry.set_reachable("hall", true).unwrap();
    assert!(registry.get("hall:right").unwrap().reachable);
}

#[test]
fn bad_parts_in_a_spec_are_refused_naming_field_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), &[]).unwrap();
    let mut spec = two_gang("hall");
    spec.parts[1].id = "left".into();
    let err = registry.add(spec, Origin::Api).unwrap_err().to_string();
    assert!(
        err.contains("invalid value \"left\" for field `parts.id`"),
        "{err}"
    );
    let mut spec = two_gang("hall");
    spec.parts.clear();
    let err = registry.add(spec, Origin::Api).unwrap_err().to_string();
    assert!(err.contains("invalid value [] for field `parts`"), "{err}");
}
