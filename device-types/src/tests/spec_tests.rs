//! ClusterSpec sanity, exhaustive read coverage, and smoke tests of every command and write.

use super::uargs;
use crate::matter::ids::cluster;
use crate::matter::{
    invoke, read_attr, requires_timed_invoke, write_attr, ArgValue, AttrValue, CommandEffect,
    CommandError,
};
use crate::{DeviceKind, State};

fn sorted_unique(ids: &[u32]) -> bool {
    ids.windows(2).all(|w| w[0] < w[1])
}

#[test]
fn cluster_specs_are_sorted_unique_and_consistent() {
    for kind in DeviceKind::ALL {
        let clusters = kind.clusters();
        let ids: Vec<u32> = clusters.iter().map(|c| c.id).collect();
        assert!(sorted_unique(&ids), "{kind}: clusters {ids:x?}");
        for spec in clusters {
            let what = format!("{kind}/{}", spec.name);
            assert!(sorted_unique(spec.attributes), "{what} attributes");
            assert!(sorted_unique(spec.writable), "{what} writable");
            assert!(sorted_unique(spec.commands), "{what} commands");
            assert!(sorted_unique(spec.generated), "{what} generated");
            assert!(sorted_unique(spec.events), "{what} events");
            for w in spec.writable {
                assert!(
                    spec.attributes.contains(w),
                    "{what}: writable {w:#x} not served"
                );
            }
            for a in spec.attributes {
                assert!(*a < 0xFFF8, "{what}: global attribute {a:#x} listed");
            }
            assert!(spec.revision >= 1, "{what}");
        }
    }
}

#[test]
fn bridge_owned_and_unserved_clusters_are_absent() {
    for kind in DeviceKind::ALL {
        let ids: Vec<u32> = kind.clusters().iter().map(|c| c.id).collect();
        // A bridged_node container serves no application cluster, Identify included.
        assert_eq!(
            ids.contains(&cluster::IDENTIFY),
            *kind != DeviceKind::BridgedNode,
            "{kind}"
        );
        for absent in [
            cluster::DESCRIPTOR,
            cluster::BRIDGED_DEVICE_BASIC_INFORMATION,
        ] {
            assert!(!ids.contains(&absent), "{kind} lists {absent:#x}");
        }
        // The 1.6 Device Library makes Scenes Management mandatory for lights and plugs.
        let wants_scenes = matches!(
            kind,
            DeviceKind::OnOffLight
                | DeviceKind::DimmableLight
                | DeviceKind::ColorTemperatureLight
                | DeviceKind::ExtendedColorLight
                | DeviceKind::OnOffPlugInUnit
                | DeviceKind::DimmablePlugInUnit
        );
        assert_eq!(
            ids.contains(&cluster::SCENES_MANAGEMENT),
            wants_scenes,
            "{kind}: Scenes Management"
        );
        let has_groups = ids.contains(&cluster::GROUPS);
        let wants_groups = !matches!(
            kind,
            DeviceKind::DoorLock
                | DeviceKind::ContactSensor
                | DeviceKind::OccupancySensor
                | DeviceKind::TemperatureSensor
                | DeviceKind::HumiditySensor
                | DeviceKind::GenericSwitch
                | DeviceKind::LightSensor
                | DeviceKind::PressureSensor
                | DeviceKind::FlowSensor
                | DeviceKind::WaterLeakDetector
                | DeviceKind::WaterFreezeDetector
                | DeviceKind::RainSensor
                | DeviceKind::SmokeAlarm
                | DeviceKind::CoAlarm
                | DeviceKind::SmokeCoAlarm
                | DeviceKind::AirQualitySensor
                | DeviceKind::BridgedNode
        );
        assert_eq!(has_groups, wants_groups, "{kind}");
    }
}

#[test]
fn every_served_attribute_is_answered_for_every_kind() {
    for kind in DeviceKind::ALL {
        let states = [State::default(), kind.default_state()];
        for state in &states {
            // Scenes Management's attributes are the bridge's scene table, not device state.
            for spec in kind
                .clusters()
                .iter()
                .filter(|c| c.id != cluster::SCENES_MANAGEMENT)
            {
                for &attr in spec.attributes {
                    assert!(
                        read_attr(*kind, state, spec.id, attr).is_some(),
                        "{kind}: {} attribute {attr:#06x} not answered",
                        spec.name
                    );
                }
            }
        }
    }
}

#[test]
fn unserved_attributes_and_clusters_read_none() {
    let s = State::default();
    assert_eq!(
        read_attr(DeviceKind::DimmableLight, &s, cluster::ON_OFF, 0xFFFD),
        None
    );
    assert_eq!(
        read_attr(DeviceKind::DimmableLight, &s, cluster::COLOR_CONTROL, 7),
        None
    );
    // Color temperature light does not serve CurrentHue.
    assert_eq!(
        read_attr(
            DeviceKind::ColorTemperatureLight,
            &s,
            cluster::COLOR_CONTROL,
            0
        ),
        None
    );
    assert_eq!(
        read_attr(DeviceKind::ContactSensor, &s, cluster::GROUPS, 0),
        None
    );
}

#[test]
fn nullable_attributes_read_null_when_unknown() {
    let s = State::default();
    let null = Some(AttrValue::Null);
    assert_eq!(
        read_attr(DeviceKind::DimmableLight, &s, cluster::LEVEL_CONTROL, 0),
        null
    );
    assert_eq!(
        read_attr(
            DeviceKind::TemperatureSensor,
            &s,
            cluster::TEMPERATURE_MEASUREMENT,
            0
        ),
        null
    );
    assert_eq!(
        read_attr(DeviceKind::Thermostat, &s, cluster::THERMOSTAT, 0),
        null
    );
    assert_eq!(
        read_attr(DeviceKind::DoorLock, &s, cluster::DOOR_LOCK, 0),
        null
    );
    assert_eq!(
        read_attr(
            DeviceKind::WindowCovering,
            &s,
            cluster::WINDOW_COVERING,
            0x0E
        ),
        null
    );
}

#[test]
fn reads_encode_state() {
    use AttrValue::*;
    let k = DeviceKind::ExtendedColorLight;
    let s = State::from_json(
        r#"{"on":true,"brightness":77,"hue":180,"saturation":100,"color_x":0.5,"color_mode":"hs"}"#,
    )
    .unwrap();
    assert_eq!(read_attr(k, &s, cluster::ON_OFF, 0), Some(Bool(true)));
    assert_eq!(read_attr(k, &s, cluster::LEVEL_CONTROL, 0), Some(U8(77)));
    assert_eq!(read_attr(k, &s, cluster::COLOR_CONTROL, 0), Some(U8(127)));
    assert_eq!(read_attr(k, &s, cluster::COLOR_CONTROL, 1), Some(U8(254)));
    assert_eq!(
        read_attr(k, &s, cluster::COLOR_CONTROL, 3),
        Some(U16(32768))
    );
    assert_eq!(read_attr(k, &s, cluster::COLOR_CONTROL, 8), Some(U8(0)));
    assert_eq!(
        read_attr(k, &s, cluster::COLOR_CONTROL, 0x4001),
        Some(U8(0))
    );
    assert_eq!(
        read_attr(k, &s, cluster::COLOR_CONTROL, 0x400A),
        Some(U16(0x19))
    );
    let ct = DeviceKind::ColorTemperatureLight;
    assert_eq!(
        read_attr(ct, &s, cluster::COLOR_CONTROL, 0x400A),
        Some(U16(0x10))
    );
    assert_eq!(read_attr(ct, &s, cluster::COLOR_CONTROL, 8), Some(U8(2)));

    let w = DeviceKind::WindowCovering;
    let s = State::from_json(r#"{"position": 25}"#).unwrap();
    assert_eq!(
        read_attr(w, &s, cluster::WINDOW_COVERING, 0x0E),
        Some(U16(7500))
    );
    assert_eq!(
        read_attr(w, &s, cluster::WINDOW_COVERING, 0x0B),
        Some(U16(7500))
    );
    assert_eq!(
        read_attr(w, &s, cluster::WINDOW_COVERING, 0x08),
        Some(U8(75))
    );

    let t = DeviceKind::Thermostat;
    let s = State::from_json(r#"{"temperature":21.5,"system_mode":"heat"}"#).unwrap();
    assert_eq!(read_attr(t, &s, cluster::THERMOSTAT, 0), Some(I16(2150)));
    assert_eq!(read_attr(t, &s, cluster::THERMOSTAT, 0x12), Some(I16(2000)));
    assert_eq!(read_attr(t, &s, cluster::THERMOSTAT, 0x1C), Some(U8(4)));
    assert_eq!(read_attr(t, &s, cluster::THERMOSTAT, 0x19), Some(I8(20)));

    let c = DeviceKind::ContactSensor;
    let s = State::from_json(r#"{"contact": false}"#).unwrap();
    assert_eq!(
        read_attr(c, &s, cluster::BOOLEAN_STATE, 0),
        Some(Bool(false))
    );
    let h = DeviceKind::HumiditySensor;
    let s = State::from_json(r#"{"humidity": 45.67}"#).unwrap();
    assert_eq!(
        read_attr(h, &s, cluster::RELATIVE_HUMIDITY_MEASUREMENT, 0),
        Some(U16(4567))
    );
    let l = DeviceKind::DoorLock;
    assert_eq!(
        read_attr(l, &State::default(), cluster::DOOR_LOCK, 0x26),
        Some(U16(0xFFF6))
    );
}

/// Every accepted command, with every field set to 1 (a valid value for all of them), is
/// handled, and its patch validates on the merged state. Groups is the bridge's.
#[test]
fn every_accepted_command_is_handled() {
    let args = uargs(&[(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1)]);
    for kind in DeviceKind::ALL {
        for state in [kind.default_state(), super::lit(*kind)] {
            for spec in kind.clusters() {
                for &cmd in spec.commands {
                    let result = invoke(*kind, &state, spec.id, cmd, &args);
                    if spec.id == cluster::GROUPS || spec.id == cluster::SCENES_MANAGEMENT {
                        assert_eq!(result, Err(CommandError::UnsupportedCommand));
                        continue;
                    }
                    let what = format!("{kind}: {} command {cmd:#04x}", spec.name);
                    match result.unwrap_or_else(|e| panic!("{what}: {e}")) {
                        CommandEffect::Patch(p) => {
                            kind.validate(&state.merged(&p))
                                .unwrap_or_else(|e| panic!("{what}: {e}"));
                        }
                        CommandEffect::NoChange | CommandEffect::Identify { .. } => {}
                    }
                }
            }
        }
    }
}

#[test]
fn commands_not_accepted_are_unsupported() {
    let s = State::default();
    let a = uargs(&[(0, 1)]);
    let unsupported = Err(CommandError::UnsupportedCommand);
    // Hue command on a colour-temperature light; unknown cluster; level on a plug.
    assert_eq!(
        invoke(
            DeviceKind::ColorTemperatureLight,
            &s,
            cluster::COLOR_CONTROL,
            0,
            &a
        ),
        unsupported
    );
    assert_eq!(
        invoke(DeviceKind::OnOffLight, &s, 0x1234, 0, &a),
        unsupported
    );
    assert_eq!(
        invoke(
            DeviceKind::OnOffPlugInUnit,
            &s,
            cluster::LEVEL_CONTROL,
            0,
            &a
        ),
        unsupported
    );
    assert_eq!(
        invoke(DeviceKind::DoorLock, &s, cluster::DOOR_LOCK, 0x03, &a),
        unsupported
    );
}

#[test]
fn every_writable_attribute_accepts_a_valid_value_and_others_refuse() {
    for kind in DeviceKind::ALL {
        let state = kind.default_state();
        for spec in kind
            .clusters()
            .iter()
            .filter(|c| c.id != cluster::SCENES_MANAGEMENT)
        {
            for &attr in spec.attributes {
                let what = format!("{kind}: {} attribute {attr:#06x}", spec.name);
                // The value the attribute reads is always a valid value to write back.
                let current = match read_attr(*kind, &state, spec.id, attr).unwrap() {
                    AttrValue::Bool(b) => ArgValue::Bool(b),
                    AttrValue::U8(v) => ArgValue::UInt(v.into()),
                    AttrValue::U16(v) => ArgValue::UInt(v.into()),
                    AttrValue::U32(v) => ArgValue::UInt(v.into()),
                    AttrValue::I8(v) => ArgValue::Int(v.into()),
                    AttrValue::I16(v) => ArgValue::Int(v.into()),
                    AttrValue::Null => ArgValue::Null,
                    AttrValue::Str(s) => ArgValue::Str(s.to_owned()),
                    AttrValue::I64(v) => ArgValue::Int(v),
                    AttrValue::F32(_) | AttrValue::Struct(_) | AttrValue::List(_) => {
                        ArgValue::Other
                    }
                };
                let result = write_attr(*kind, &state, spec.id, attr, &current);
                if spec.writable.contains(&attr) {
                    let p = result.unwrap_or_else(|e| panic!("{what}: {e}"));
                    kind.validate(&state.merged(&p)).unwrap();
                    // Writing back the current value changes nothing.
                    assert!(state.diff(&state.merged(&p)).is_empty(), "{what}: {p:?}");
                } else {
                    assert_eq!(result, Err(CommandError::UnsupportedWrite), "{what}");
                }
            }
        }
    }
}

#[test]
fn timed_commands_are_the_door_lock_ones() {
    assert!(requires_timed_invoke(cluster::DOOR_LOCK, 0x00));
    assert!(requires_timed_invoke(cluster::DOOR_LOCK, 0x01));
    assert!(!requires_timed_invoke(cluster::ON_OFF, 0x00));
    assert!(!requires_timed_invoke(cluster::WINDOW_COVERING, 0x01));
}

/// Cluster revisions are Matter 1.6's (the SpecificationVersion the node claims): facts from the
/// specification's data model, not from this crate.
#[test]
fn cluster_revisions_are_the_matter_1_6_ones() {
    use crate::matter::spec::*;
    let expected = [
        (IDENTIFY, 6),
        (ON_OFF, 7),
        (LEVEL_CONTROL, 7),
        (COLOR_CONTROL_CT, 9),
        (COLOR_CONTROL_EXTENDED, 9),
        (BOOLEAN_STATE, 3),
        (OCCUPANCY_SENSING, 7),
        (TEMPERATURE_MEASUREMENT, 6),
        (RELATIVE_HUMIDITY_MEASUREMENT, 5),
        (THERMOSTAT, 11),
        (DOOR_LOCK, 10),
        (WINDOW_COVERING, 8),
        (ILLUMINANCE_MEASUREMENT, 5),
        (PRESSURE_MEASUREMENT, 5),
        (FLOW_MEASUREMENT, 5),
        (SMOKE_CO_ALARM_SMOKE, 2),
        (SMOKE_CO_ALARM_CO, 2),
        (SMOKE_CO_ALARM_BOTH, 2),
        (AIR_QUALITY, 1),
        (FAN_CONTROL, 6),
        (POWER_SOURCE_BATTERY, 3),
        (POWER_SOURCE_WIRED, 3),
        (ELECTRICAL_POWER_MEASUREMENT, 3),
        (ELECTRICAL_ENERGY_MEASUREMENT, 2),
        (POWER_TOPOLOGY, 1),
        (CO2_CONCENTRATION, 5),
        (PM25_CONCENTRATION, 5),
        (PM10_CONCENTRATION, 5),
        (TVOC_CONCENTRATION, 5),
        (FORMALDEHYDE_CONCENTRATION, 5),
    ];
    for (spec, revision) in expected {
        assert_eq!(spec.revision, revision, "{}", spec.name);
    }
    // Events served need their feature in these revisions.
    assert_eq!(BOOLEAN_STATE.feature_map & 0x1, 0x1, "ChangeEvent");
    assert_eq!(
        OCCUPANCY_SENSING.feature_map & 0x200,
        0x200,
        "OccupancyEvent"
    );
    // Door Lock rev 10 has no GetUserStatus/GetUserType responses.
    assert!(DOOR_LOCK.generated.is_empty());
}
