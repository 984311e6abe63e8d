//! Tests of shapes: `with` parsing and checks, the merged clusters / fields / device types, and the
//! capability clusters' encodings (Power Source, electrical measurement, concentrations).

use crate::matter::ids::{self, cluster};
use crate::matter::{changed_attrs, event_fields, events_for_change, read_attr, AttrValue};
use crate::{Capability, DeviceKind, Shape, State, With};

fn shape(kind: DeviceKind, with: &[&str]) -> Shape {
    Shape::parse(kind, with).unwrap_or_else(|e| panic!("{kind} with {with:?}: {e}"))
}

#[test]
fn a_multi_sensor_serves_every_function_once() {
    let s = shape(
        DeviceKind::TemperatureSensor,
        &["humidity_sensor", "pressure_sensor", "battery"],
    );
    let ids: Vec<u32> = s.clusters().iter().map(|c| c.id).collect();
    assert_eq!(ids, [0x0003, 0x002F, 0x0402, 0x0403, 0x0405]);
    let dts: Vec<u32> = s.device_types().iter().map(|d| d.id).collect();
    assert_eq!(dts, [0x0302, 0x0307, 0x0305, 0x0011]);
    assert_eq!(
        s.fields(),
        [
            "temperature",
            "humidity",
            "pressure",
            "battery",
            "battery_low"
        ]
    );
    let state = s.default_state();
    s.validate(&state).unwrap();
    assert_eq!(state.battery, Some(100));
    assert_eq!(
        s.to_string(),
        "temperature_sensor with [humidity_sensor, pressure_sensor, battery]"
    );
    // A field of the shape that the bare kind refuses.
    assert!(DeviceKind::TemperatureSensor.validate(&state).is_err());
}

#[test]
fn with_errors_name_with_and_the_entry() {
    let e = With::parse(&["battery", "toaster"]).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.value.as_str()),
        ("with", "\"toaster\"")
    );
    let e = With::parse(&["battery", "battery"]).unwrap_err();
    assert_eq!(e.value, "\"battery\"");
    assert!(e.reason.contains("twice"), "{e}");
    // Overlapping clusters: the primary already has Boolean State.
    let e = Shape::parse(DeviceKind::ContactSensor, &["water_leak_detector"]).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.value.as_str()),
        ("with", "\"water_leak_detector\"")
    );
    assert!(e.reason.contains("Boolean State"), "{e}");
    // The kind itself, and battery + mains (one Power Source cluster).
    assert!(Shape::parse(DeviceKind::Fan, &["fan"]).is_err());
    let e = Shape::parse(DeviceKind::Fan, &["battery", "mains"]).unwrap_err();
    assert_eq!(e.value, "\"mains\"");
    // Overlapping fields: dimmable light and dimmable plug share on/brightness (and clusters).
    assert!(Shape::parse(DeviceKind::DimmableLight, &["on_off_plug_in_unit"]).is_err());
    // Concentrations only beside an air quality sensor.
    let e = Shape::parse(DeviceKind::TemperatureSensor, &["co2"]).unwrap_err();
    assert_eq!(e.value, "\"co2\"");
    assert!(e.reason.contains("air_quality_sensor"), "{e}");
    shape(
        DeviceKind::TemperatureSensor,
        &["air_quality_sensor", "co2"],
    );
}

#[test]
fn with_serialises_as_a_list_of_names() {
    let w = With::parse(&["battery", "humidity_sensor"]).unwrap();
    assert_eq!(
        serde_json::to_string(&w).unwrap(),
        r#"["humidity_sensor","battery"]"#
    );
    let back: With = serde_json::from_str(r#"["humidity_sensor","battery"]"#).unwrap();
    assert_eq!(back, w);
    assert!(serde_json::from_str::<With>(r#"["nope"]"#).is_err());
    assert!(With::NONE.is_empty() && !w.is_empty());
    assert!(w.has(Capability::Battery) && w.has_kind(DeviceKind::HumiditySensor));
}

#[test]
fn battery_is_power_source_with_half_percent_remaining() {
    use ids::power_source::attr::*;
    let s = shape(DeviceKind::ContactSensor, &["battery"]);
    let c = cluster::POWER_SOURCE;
    let spec = s.cluster_spec(c).unwrap();
    assert_eq!((spec.feature_map, spec.revision), (0x2, 3));
    let state = State {
        battery: Some(37),
        battery_low: Some(false),
        ..s.default_state()
    };
    assert_eq!(
        read_attr(s, &state, c, BAT_PERCENT_REMAINING),
        Some(AttrValue::U8(74))
    );
    assert_eq!(
        read_attr(s, &state, c, BAT_CHARGE_LEVEL),
        Some(AttrValue::U8(0))
    );
    assert_eq!(
        read_attr(s, &state, c, BAT_REPLACEMENT_NEEDED),
        Some(AttrValue::Bool(false))
    );
    assert_eq!(read_attr(s, &state, c, STATUS), Some(AttrValue::U8(1)));
    assert_eq!(
        read_attr(s, &state, c, DESCRIPTION),
        Some(AttrValue::Str("Battery"))
    );
    assert_eq!(read_attr(s, &state, c, WIRED_CURRENT_TYPE), None);
    let low = State {
        battery: Some(5),
        battery_low: Some(true),
        ..state.clone()
    };
    assert_eq!(
        read_attr(s, &low, c, BAT_CHARGE_LEVEL),
        Some(AttrValue::U8(2))
    );
    assert_eq!(
        read_attr(s, &low, c, BAT_REPLACEMENT_NEEDED),
        Some(AttrValue::Bool(true))
    );
    let changed = changed_attrs(s, &state, &low);
    assert!(
        changed.contains(&(c, BAT_PERCENT_REMAINING)) && changed.contains(&(c, BAT_CHARGE_LEVEL))
    );
    let err = s
        .validate(&State {
            battery: Some(101),
            ..State::default()
        })
        .unwrap_err();
    assert_eq!((err.field.as_str(), err.value.as_str()), ("battery", "101"));
    let mains = shape(DeviceKind::OnOffPlugInUnit, &["mains"]);
    assert_eq!(mains.cluster_spec(c).unwrap().feature_map, 0x1);
    assert_eq!(
        read_attr(mains, &State::default(), c, WIRED_CURRENT_TYPE),
        Some(AttrValue::U8(0))
    );
}

#[test]
fn electrical_serves_milli_units_and_an_energy_event() {
    use ids::{electrical_energy, electrical_power};
    let s = shape(DeviceKind::OnOffPlugInUnit, &["electrical"]);
    let dts: Vec<u32> = s.device_types().iter().map(|d| d.id).collect();
    assert_eq!(dts, [0x010A, 0x0510]);
    let topo = s.cluster_spec(cluster::POWER_TOPOLOGY).unwrap();
    assert_eq!(topo.feature_map, 0x2, "TreeTopology");
    let state = State {
        power: Some(12.5),
        voltage: Some(230.1),
        current: Some(0.054),
        energy: Some(1.5),
        ..s.default_state()
    };
    let epm = cluster::ELECTRICAL_POWER_MEASUREMENT;
    assert_eq!(
        read_attr(s, &state, epm, electrical_power::attr::ACTIVE_POWER),
        Some(AttrValue::I64(12_500))
    );
    assert_eq!(
        read_attr(s, &state, epm, electrical_power::attr::VOLTAGE),
        Some(AttrValue::I64(230_100))
    );
    assert_eq!(
        read_attr(s, &state, epm, electrical_power::attr::ACTIVE_CURRENT),
        Some(AttrValue::I64(54))
    );
    let Some(AttrValue::List(acc)) = read_attr(s, &state, epm, electrical_power::attr::ACCURACY)
    else {
        panic!("Accuracy is a list");
    };
    assert_eq!(acc.len(), 3);
    let eem = cluster::ELECTRICAL_ENERGY_MEASUREMENT;
    let energy = AttrValue::Struct(vec![(0, AttrValue::I64(1_500_000))]);
    assert_eq!(
        read_attr(
            s,
            &state,
            eem,
            electrical_energy::attr::CUMULATIVE_ENERGY_IMPORTED
        ),
        Some(energy.clone())
    );
    let more = State {
        energy: Some(1.6),
        ..state.clone()
    };
    let ev = electrical_energy::event::CUMULATIVE_ENERGY_MEASURED;
    assert_eq!(events_for_change(s, &state, &more), vec![(eem, ev)]);
    assert_eq!(event_fields(s, &state, eem, ev), Some(vec![(0, energy)]));
    let err = s
        .validate(&State {
            energy: Some(-1.0),
            ..State::default()
        })
        .unwrap_err();
    assert_eq!(err.field, "energy");
}

#[test]
fn concentrations_are_floats_in_their_documented_units() {
    use ids::concentration::attr::*;
    let s = shape(
        DeviceKind::AirQualitySensor,
        &["co2", "pm25", "pm10", "tvoc", "formaldehyde"],
    );
    let state = State {
        co2: Some(612.0),
        pm25: Some(7.5),
        ..s.default_state()
    };
    assert_eq!(
        read_attr(s, &state, cluster::CO2_CONCENTRATION, MEASURED_VALUE),
        Some(AttrValue::F32(612.0))
    );
    assert_eq!(
        read_attr(s, &state, cluster::PM25_CONCENTRATION, MEASURED_VALUE),
        Some(AttrValue::F32(7.5))
    );
    for (c, unit) in [
        (cluster::CO2_CONCENTRATION, 0),
        (cluster::TVOC_CONCENTRATION, 1),
        (cluster::PM25_CONCENTRATION, 4),
        (cluster::PM10_CONCENTRATION, 4),
        (cluster::FORMALDEHYDE_CONCENTRATION, 4),
    ] {
        let spec = s.cluster_spec(c).unwrap();
        assert_eq!(spec.feature_map, 0x1, "{}", spec.name);
        assert_eq!(
            read_attr(s, &state, c, MEASUREMENT_UNIT),
            Some(AttrValue::U8(unit))
        );
        assert_eq!(
            read_attr(s, &state, c, MEASUREMENT_MEDIUM),
            Some(AttrValue::U8(0))
        );
    }
    let err = s
        .validate(&State {
            co2: Some(f64::NAN),
            ..State::default()
        })
        .unwrap_err();
    assert_eq!(err.field, "co2");
}

#[test]
fn every_shape_attribute_is_answered() {
    let shapes = [
        shape(
            DeviceKind::TemperatureSensor,
            &["humidity_sensor", "pressure_sensor", "battery"],
        ),
        shape(DeviceKind::OnOffPlugInUnit, &["electrical"]),
        shape(DeviceKind::SmokeCoAlarm, &["battery"]),
        shape(
            DeviceKind::AirQualitySensor,
            &["co2", "pm25", "pm10", "tvoc", "formaldehyde", "mains"],
        ),
    ];
    for s in shapes {
        for state in [State::default(), s.default_state()] {
            // Scenes Management is node state (the scene table), answered by the bridge.
            for spec in s
                .clusters()
                .iter()
                .filter(|c| c.id != cluster::SCENES_MANAGEMENT)
            {
                for &attr in spec.attributes {
                    assert!(
                        read_attr(s, &state, spec.id, attr).is_some(),
                        "{s}: {} {attr:#06x}",
                        spec.name
                    );
                }
            }
        }
    }
}

#[test]
fn with_kinds_become_child_endpoint_facets_and_capabilities_stay_on_the_device() {
    let s = shape(
        DeviceKind::TemperatureSensor,
        &["humidity_sensor", "pressure_sensor", "battery"],
    );
    // The device's own endpoint: one application device type (Temperature Sensor) plus the
    // utility device type Power Source — what DESC_2_1 accepts on one endpoint.
    let own = s.own();
    let dts: Vec<u32> = own.device_types().iter().map(|d| d.id).collect();
    assert_eq!(dts, [0x0302, 0x0011]);
    let ids: Vec<u32> = own.clusters().iter().map(|c| c.id).collect();
    assert_eq!(ids, [0x0003, 0x002F, 0x0402]);
    // One child endpoint per `with` kind, each with Identify and its measurement.
    let facets = s.facets();
    let kinds: Vec<DeviceKind> = facets.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [DeviceKind::HumiditySensor, DeviceKind::PressureSensor]
    );
    let humidity: Vec<u32> = facets[0].clusters().iter().map(|c| c.id).collect();
    assert_eq!(humidity, [0x0003, 0x0405]);
    // The full state still reads on every facet: the humidity endpoint answers from the one state.
    let state = s.default_state();
    assert!(read_attr(facets[0], &state, cluster::RELATIVE_HUMIDITY_MEASUREMENT, 0).is_some());
    assert!(read_attr(facets[0], &state, cluster::TEMPERATURE_MEASUREMENT, 0).is_none());
    // A device without `with` kinds is one endpoint, as before.
    let plain = shape(DeviceKind::OnOffPlugInUnit, &["electrical"]);
    assert_eq!(plain.own(), plain);
    assert!(plain.facets().is_empty());
}

#[test]
fn concentrations_go_with_the_air_quality_facet() {
    let s = shape(
        DeviceKind::TemperatureSensor,
        &["air_quality_sensor", "co2", "pm25", "battery"],
    );
    assert!(s.own().has(Capability::Battery));
    assert!(!s.own().has(Capability::Co2));
    let air = s.facets()[0];
    assert_eq!(air.kind, DeviceKind::AirQualitySensor);
    assert!(air.has(Capability::Co2) && air.has(Capability::Pm25));
    assert!(!air.has(Capability::Battery));
    // On an air quality sensor itself they stay on its endpoint.
    let a = shape(DeviceKind::AirQualitySensor, &["co2", "humidity_sensor"]);
    assert!(a.own().has(Capability::Co2));
    assert_eq!(a.facets()[0], Shape::from(DeviceKind::HumiditySensor));
}
