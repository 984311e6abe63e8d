//! Tests of the registry: versions, one broadcast per change, validation, add/remove persistence,
//! reachability and labels.

use std::path::Path;

use device_types::{DeviceKind, State};
use tokio::sync::broadcast::error::TryRecvError;

use super::*;

fn spec(id: &str, kind: DeviceKind) -> DeviceConfig {
    DeviceConfig {
        with: Default::default(),
        id: id.to_owned(),
        kind,
        name: format!("Device {id}"),
        room: None,
        state: None,
        parts: Vec::new(),
    }
}

fn config_devices() -> Vec<DeviceConfig> {
    vec![
        spec("lamp", DeviceKind::DimmableLight),
        spec("door", DeviceKind::ContactSensor),
    ]
}

fn open(dir: &Path) -> Registry {
    Registry::open(dir, &config_devices()).unwrap()
}

fn on(value: bool) -> State {
    State {
        on: Some(value),
        ..State::default()
    }
}

fn brightness(value: u8) -> State {
    State {
        brightness: Some(value),
        ..State::default()
    }
}

#[test]
fn open_assigns_endpoints_and_initial_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut devices = config_devices();
    devices[0].state = Some(brightness(42));
    let registry = Registry::open(dir.path(), &devices).unwrap();
    let list = registry.list();
    assert_eq!(list.len(), 2);
    assert_eq!((list[0].id.as_str(), list[0].endpoint), ("lamp", 2));
    assert_eq!((list[1].id.as_str(), list[1].endpoint), ("door", 3));
    assert_eq!(list[0].state.brightness, Some(42));
    assert_eq!(list[1].state, DeviceKind::ContactSensor.default_state());
    assert!(list
        .iter()
        .all(|d| d.reachable && d.version == 0 && d.source == DeviceOrigin::Config));
    assert_eq!(registry.by_endpoint(3).unwrap().id, "door");
    assert!(registry.by_endpoint(1).is_none());
    assert!(registry.get("nope").is_none());
    assert!(dir.path().join("identity.json").exists());
}

#[test]
fn versions_increase_and_each_change_is_broadcast_once() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let mut rx = registry.subscribe();

    let a = registry.apply("lamp", &on(true), Origin::Api).unwrap();
    let b = registry
        .apply("lamp", &brightness(10), Origin::Matter)
        .unwrap();
    let c = registry.apply(
        "door",
        &State {
            contact: Some(false),
            ..State::default()
        },
        Origin::Local,
    );
    let c = c.unwrap();
    assert!(
        a.version < b.version && b.version < c.version,
        "{} {} {}",
        a.version,
        b.version,
        c.version
    );
    assert_eq!(registry.version(), c.version);
    assert_eq!(registry.get("lamp").unwrap().version, b.version);

    let mut seen = Vec::new();
    while let Ok(change) = rx.try_recv() {
        seen.push(change);
    }
    assert_eq!(seen.len(), 3);
    match &seen[1] {
        Change::State {
            device,
            endpoint,
            kind,
            old,
            new,
            version,
            origin,
        } => {
            assert_eq!(
                (device.as_str(), *endpoint, *kind),
                ("lamp", 2, DeviceKind::DimmableLight)
            );
            assert_eq!(old.on, Some(true));
            assert_eq!(new.brightness, Some(10));
            assert_eq!(*version, b.version);
            assert_eq!(*origin, Origin::Matter);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn no_op_patch_is_ok_and_silent() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let current = registry.get("lamp").unwrap();
    let mut rx = registry.subscribe();
    let same = State {
        on: current.state.on,
        ..State::default()
    };
    let d = registry.apply("lamp", &same, Origin::Api).unwrap();
    assert_eq!(d.version, current.version);
    let d = registry
        .apply("lamp", &State::default(), Origin::Api)
        .unwrap();
    assert_eq!(d, current);
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    assert_eq!(registry.version(), 0);
}

#[test]
fn invalid_patch_names_field_and_value_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let mut rx = registry.subscribe();
    let before = registry.get("lamp").unwrap();
    let e = registry
        .apply("lamp", &brightness(255), Origin::Api)
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, RegistryError::Invalid { .. }), "{text}");
    assert!(
        text.contains("lamp") && text.contains("brightness") && text.contains("255"),
        "{text}"
    );
    // A field the kind does not have.
    let e = registry.apply("door", &on(true), Origin::Api).unwrap_err();
    assert!(e.to_string().contains("on"), "{e}");
    assert_eq!(registry.get("lamp").unwrap(), before);
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    assert!(matches!(
        registry.apply("ghost", &on(true), Origin::Api),
        Err(RegistryError::UnknownDevice(_))
    ));
}

#[test]
fn added_devices_survive_restart_and_removal_persists() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let mut rx = registry.subscribe();
    let mut plug = spec("plug", DeviceKind::OnOffPlugInUnit);
    plug.room = Some("Office".into());
    let added = registry.add(plug.clone(), Origin::Api).unwrap();
    assert_eq!((added.endpoint, added.source), (4, DeviceOrigin::Api));
    assert!(matches!(rx.try_recv(), Ok(Change::Added(d)) if d.id == "plug"));
    assert!(matches!(
        registry.add(plug.clone(), Origin::Api),
        Err(RegistryError::DuplicateId(_))
    ));
    assert!(matches!(
        registry.add(spec("lamp", DeviceKind::OnOffLight), Origin::Api),
        Err(RegistryError::DuplicateId(_))
    ));
    drop(registry);

    let registry = open(dir.path());
    let plug_again = registry
        .get("plug")
        .expect("API-added device survives restart");
    assert_eq!(plug_again.endpoint, 4);
    assert_eq!(plug_again.unique_id, added.unique_id);
    assert_eq!(plug_again.room.as_deref(), Some("Office"));

    let mut rx = registry.subscribe();
    let removed = registry.remove("plug", Origin::Api).unwrap();
    assert_eq!(removed.id, "plug");
    assert!(
        matches!(rx.try_recv(), Ok(Change::Removed { device, endpoint: 4 }) if device == "plug")
    );
    assert!(registry.get("plug").is_none());
    drop(registry);

    let registry = open(dir.path());
    assert!(registry.get("plug").is_none(), "removal survives restart");
    // Another new device does not get the removed device's endpoint; the old id gets it back.
    assert_eq!(
        registry
            .add(spec("fan", DeviceKind::OnOffPlugInUnit), Origin::Api)
            .unwrap()
            .endpoint,
        5
    );
    let back = registry
        .add(spec("plug", DeviceKind::OnOffPlugInUnit), Origin::Api)
        .unwrap();
    assert_eq!((back.endpoint, back.unique_id), (4, added.unique_id));
}

#[test]
fn config_devices_cannot_be_removed_through_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let e = registry.remove("lamp", Origin::Api).unwrap_err();
    assert!(matches!(e, RegistryError::DefinedInConfig(_)));
    assert!(e.to_string().contains("config file"), "{e}");
    assert!(registry.get("lamp").is_some());
    assert!(matches!(
        registry.remove("ghost", Origin::Api),
        Err(RegistryError::UnknownDevice(_))
    ));
}

#[test]
fn invalid_added_device_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let mut bad = spec("Bad Id", DeviceKind::OnOffLight);
    assert!(matches!(
        registry.add(bad.clone(), Origin::Api),
        Err(RegistryError::InvalidSpec(_))
    ));
    bad.id = "ok".into();
    bad.state = Some(brightness(255));
    let e = registry.add(bad, Origin::Api).unwrap_err();
    assert!(e.to_string().contains("brightness"), "{e}");
    assert!(registry.get("ok").is_none());
}

#[test]
fn config_wins_over_an_api_device_with_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let api = registry
        .add(spec("plug", DeviceKind::OnOffPlugInUnit), Origin::Api)
        .unwrap();
    drop(registry);
    let mut devices = config_devices();
    devices.push(spec("plug", DeviceKind::OnOffPlugInUnit));
    let registry = Registry::open(dir.path(), &devices).unwrap();
    let plug = registry.get("plug").unwrap();
    assert_eq!(
        (plug.source, plug.endpoint),
        (DeviceOrigin::Config, api.endpoint)
    );
    assert!(matches!(
        registry.remove("plug", Origin::Api),
        Err(RegistryError::DefinedInConfig(_))
    ));
}

#[test]
fn reachability_changes_are_broadcast_once() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let mut rx = registry.subscribe();
    registry.set_reachable("door", false).unwrap();
    registry.set_reachable("door", false).unwrap();
    assert!(!registry.get("door").unwrap().reachable);
    assert!(matches!(
        rx.try_recv(),
        Ok(Change::Reachable {
            reachable: false,
            endpoint: 3,
            ..
        })
    ));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    assert!(matches!(
        registry.set_reachable("x", true),
        Err(RegistryError::UnknownDevice(_))
    ));
}

#[test]
fn labels_are_limited_persisted_and_broadcast() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let mut rx = registry.subscribe();
    registry
        .set_label("lamp", Some("Reading lamp".into()), Origin::Matter)
        .unwrap();
    registry
        .set_label("lamp", Some("Reading lamp".into()), Origin::Matter)
        .unwrap();
    assert!(matches!(
        rx.try_recv(),
        Ok(Change::Label { label: Some(l), origin: Origin::Matter, .. }) if l == "Reading lamp"
    ));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    let e = registry
        .set_label("lamp", Some("x".repeat(33)), Origin::Matter)
        .unwrap_err();
    assert!(matches!(e, RegistryError::LabelTooLong { .. }), "{e}");
    drop(registry);

    let registry = open(dir.path());
    assert_eq!(
        registry.get("lamp").unwrap().label.as_deref(),
        Some("Reading lamp")
    );
    registry
        .set_label("lamp", Some(String::new()), Origin::Matter)
        .unwrap();
    assert_eq!(registry.get("lamp").unwrap().label, None);
}

#[test]
fn corrupt_devices_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DEVICES_FILE), "{\"format\":1,\"devi").unwrap();
    let e = Registry::open(dir.path(), &config_devices())
        .unwrap_err()
        .to_string();
    assert!(e.contains("devices.json"), "{e}");
}

#[test]
fn usable_from_a_plain_thread() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let r = registry.clone();
    std::thread::spawn(move || r.apply("lamp", &on(true), Origin::Matter).unwrap())
        .join()
        .unwrap();
    assert_eq!(registry.get("lamp").unwrap().state.on, Some(true));
}

#[test]
fn changes_serialise_with_a_type_tag() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let mut rx = registry.subscribe();
    registry
        .apply("lamp", &on(true), Origin::Cloud("aws".into()))
        .unwrap();
    let json = serde_json::to_value(rx.try_recv().unwrap()).unwrap();
    assert_eq!(json["type"], "state");
    assert_eq!(json["origin"], "cloud:aws");
    assert_eq!(json["kind"], "dimmable_light");
    assert_eq!(json["new"]["on"], true);
    assert_eq!(json["old"]["on"], false);
}

#[tokio::test]
async fn commands_go_to_the_source_and_only_its_confirmation_changes_state() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    // No source attached: refused at once, naming it.
    let e = registry
        .command("lamp", &on(true), CommandOptions::from(Origin::Matter))
        .unwrap_err();
    assert!(
        matches!(e, RegistryError::SourceDown { ref source_name, .. } if source_name == "virtual"),
        "{e}"
    );
    // Invalid against the kind: refused before it reaches any source.
    let mut commands = registry.attach_source(VIRTUAL_ROUTE);
    let e = registry
        .command("door", &on(true), CommandOptions::from(Origin::Api))
        .unwrap_err();
    assert!(matches!(e, RegistryError::Invalid { .. }), "{e}");

    let pending = registry
        .command("lamp", &brightness(7), CommandOptions::from(Origin::Matter))
        .unwrap();
    let command = commands.try_recv().unwrap();
    assert_eq!(
        (command.device.as_str(), command.origin.clone()),
        ("lamp", Origin::Matter)
    );
    assert_eq!(
        registry.get("lamp").unwrap().version,
        0,
        "a command alone changes nothing"
    );
    command.answer(Err(SourceCommandError::Unreachable));
    assert!(matches!(
        pending.accepted().await,
        Err(RegistryError::Refused {
            error: SourceCommandError::Unreachable,
            ..
        })
    ));

    let pending = registry
        .command("lamp", &brightness(7), CommandOptions::from(Origin::Matter))
        .unwrap();
    let mut rx = registry.subscribe();
    confirm_at_once(&registry, commands.try_recv().unwrap());
    pending.accepted().await.unwrap();
    assert_eq!(registry.get("lamp").unwrap().state.brightness, Some(7));
    assert!(matches!(
        rx.try_recv().unwrap(),
        Change::State {
            origin: Origin::Local,
            ..
        }
    ));
}

#[test]
fn source_devices_keep_their_endpoint_across_leave_and_rejoin() {
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    let dev = |name: &str| SourceDevice {
        spec: DeviceConfig {
            with: Default::default(),
            name: name.to_owned(),
            ..spec("z2m-home-0x01", DeviceKind::OnOffLight)
        },
        unmapped: vec!["battery".into()],
    };
    assert!(registry
        .sync_source_devices("zigbee2mqtt:home", vec![dev("Bulb")])
        .is_empty());
    let first = registry.get("z2m-home-0x01").unwrap();
    assert_eq!(
        first.source,
        DeviceOrigin::Source("zigbee2mqtt:home".into())
    );
    assert_eq!(first.unmapped, ["battery"]);
    let mut rx = registry.subscribe();
    registry
        .upsert_source_device("zigbee2mqtt:home", dev("Renamed"))
        .unwrap();
    assert!(
        matches!(rx.try_recv().unwrap(), Change::Renamed { ref name, .. } if name == "Renamed")
    );
    assert!(registry
        .sync_source_devices("zigbee2mqtt:home", vec![])
        .is_empty());
    assert!(registry.get("z2m-home-0x01").is_none());
    // Another source, the API or the config cannot take it over or delete it.
    assert!(registry
        .remove_source_device("zigbee2mqtt:other", "lamp")
        .is_err());
    registry
        .upsert_source_device("zigbee2mqtt:home", dev("Back"))
        .unwrap();
    let back = registry.get("z2m-home-0x01").unwrap();
    assert_eq!(
        (back.endpoint, back.unique_id),
        (first.endpoint, first.unique_id)
    );
    assert!(matches!(
        registry.remove("z2m-home-0x01", Origin::Api),
        Err(RegistryError::NotOwned { .. })
    ));
    registry.set_source_reachable("zigbee2mqtt:home", false);
    assert!(!registry.get("z2m-home-0x01").unwrap().reachable);
    assert!(
        registry.get("lamp").unwrap().reachable,
        "other sources untouched"
    );
}

#[test]
fn events_are_validated_against_the_kind_and_broadcast_once() {
    use device_types::{DeviceEvent, Press};
    let dir = tempfile::tempdir().unwrap();
    let mut devices = config_devices();
    devices.push(spec("button", DeviceKind::GenericSwitch));
    let registry = Registry::open(dir.path(), &devices).unwrap();
    let mut rx = registry.subscribe();
    let version = registry.version();
    registry
        .emit_event("button", DeviceEvent::press(Press::Long), Origin::Local)
        .unwrap();
    assert!(matches!(
        rx.try_recv(),
        Ok(Change::Event { ref device, event: DeviceEvent::Press { press: Press::Long, .. }, origin: Origin::Local, .. }) if device == "button"
    ));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    assert_eq!(
        registry.version(),
        version,
        "events are not versioned state"
    );
    let err = registry
        .emit_event("lamp", DeviceEvent::press(Press::Short(1)), Origin::Api)
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::Invalid { device, error } if device == "lamp" && error.field == "press" && error.value == "single"),
        "{err}"
    );
    assert!(matches!(
        registry.emit_event("ghost", DeviceEvent::press(Press::Long), Origin::Api),
        Err(RegistryError::UnknownDevice(_))
    ));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
}

#[test]
fn add_and_remove_wait_for_the_disk_without_holding_the_registry() {
    use std::sync::mpsc;
    let dir = tempfile::tempdir().unwrap();
    let registry = open(dir.path());
    // Hold the writer busy (as a slow fsync would) with a snapshot that waits for a signal.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let slow = dir.path().join("slow");
    registry.writer().register_snapshot(&slow, move || {
        let _ = started_tx.send(());
        let _ = release_rx.lock().unwrap().recv();
        Ok(None)
    });
    registry.writer().mark_dirty(&slow);
    started_rx.recv().unwrap();

    let adder = {
        let registry = registry.clone();
        std::thread::spawn(move || {
            registry.add(spec("plug", DeviceKind::OnOffPlugInUnit), Origin::Api)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        !adder.is_finished(),
        "the add answered before its files were written"
    );
    // Meanwhile the registry serves: reads and changes go on, and the new device is not there yet.
    assert!(registry.get("plug").is_none());
    assert_eq!(registry.list().len(), 2);
    registry
        .set_label("lamp", Some("Desk".into()), Origin::Matter)
        .unwrap();
    release_tx.send(()).unwrap();
    let added = adder.join().unwrap().unwrap();
    assert_eq!(registry.get("plug").unwrap().endpoint, added.endpoint);

    registry.writer().mark_dirty(&slow);
    started_rx.recv().unwrap();
    let remover = {
        let registry = registry.clone();
        std::thread::spawn(move || registry.remove("plug", Origin::Api))
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!remover.is_finished());
    assert!(
        registry.get("plug").is_some(),
        "served until the removal is on disk"
    );
    release_tx.send(()).unwrap();
    remover.join().unwrap().unwrap();
    assert!(registry.get("plug").is_none());
    drop(registry);
    assert!(open(dir.path()).get("plug").is_none());
}

#[test]
fn with_kinds_get_stable_child_endpoints_that_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let mut multi = spec("multi", DeviceKind::TemperatureSensor);
    multi.with =
        device_types::With::parse(&["humidity_sensor", "pressure_sensor", "battery"]).unwrap();
    let first = {
        let registry = Registry::open(
            dir.path(),
            &[multi.clone(), spec("lamp", DeviceKind::OnOffLight)],
        )
        .unwrap();
        registry.get("multi").unwrap()
    };
    // The device, then one endpoint per `with` kind (capabilities have none), then the next device.
    assert_eq!(first.endpoint, 2);
    let facets: Vec<(DeviceKind, u16)> =
        first.facets.iter().map(|f| (f.kind, f.endpoint)).collect();
    assert_eq!(
        facets,
        [
            (DeviceKind::HumiditySensor, 3),
            (DeviceKind::PressureSensor, 4)
        ]
    );
    // A restart with the devices reordered keeps every endpoint.
    let registry = Registry::open(
        dir.path(),
        &[spec("lamp", DeviceKind::OnOffLight), multi.clone()],
    )
    .unwrap();
    assert_eq!(registry.get("multi").unwrap().facets, first.facets);
    assert_eq!(registry.get("lamp").unwrap().endpoint, 5);
    drop(registry);
    // Dropping a `with` kind retires its endpoint; bringing it back restores the same one, and a
    // new kind gets a fresh endpoint, never one used before.
    multi.with = device_types::With::parse(&["humidity_sensor", "battery"]).unwrap();
    let registry = Registry::open(dir.path(), &[multi.clone()]).unwrap();
    assert_eq!(registry.get("multi").unwrap().facets.len(), 1);
    drop(registry);
    multi.with =
        device_types::With::parse(&["humidity_sensor", "pressure_sensor", "light_sensor"]).unwrap();
    let registry = Registry::open(dir.path(), &[multi]).unwrap();
    let facets: Vec<(DeviceKind, u16)> = registry
        .get("multi")
        .unwrap()
        .facets
        .iter()
        .map(|f| (f.kind, f.endpoint))
        .collect();
    assert_eq!(
        facets,
        [
            (DeviceKind::HumiditySensor, 3),
            (DeviceKind::LightSensor, 6),
            (DeviceKind::PressureSensor, 4)
        ]
    );
}
