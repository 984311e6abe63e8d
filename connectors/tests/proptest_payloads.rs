//! Property tests of every parser that takes a cloud's incoming payload or topic: MQTT `/set` bodies and
//! topics, AWS IoT shadow documents (get/accepted, delta, rejections) and topics, Azure IoT Hub direct
//! methods, cloud-to-device messages, twin documents and topics. Nothing may panic on any input; a
//! refusal says what was wrong.
//!
//! Case counts are the defaults below times `HB_PROPTEST_SCALE` (default 1).

use connectors::aws_iot::shadow::{self, Shadow};
use connectors::azure_iot::twin;
use connectors::mqtt::topics::Topics;
use device_types::State;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn cases(base: u32) -> u32 {
    let scale = std::env::var("HB_PROPTEST_SCALE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(1);
    base.saturating_mul(scale.max(1))
}

/// Names that real payloads use (so generated objects often hit real fields), and others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "device",
            "state",
            "desired",
            "reported",
            "on",
            "brightness",
            "hue",
            "saturation",
            "color_x",
            "color_temp_mireds",
            "color_mode",
            "lock_state",
            "position",
            "temperature",
            "heating_setpoint",
            "system_mode",
            "version",
            "timestamp",
            "metadata",
            "clientToken",
            "code",
            "message",
            "$version",
            "$metadata",
            "hubbridge",
        ])
        .prop_map(str::to_owned),
        "[a-z_$]{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        proptest::sample::select(vec!["locked", "heat", "ct", "hs", "", "on", "unlocked"])
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Bytes: JSON values (usually), or anything.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(20_000)))]

    #[test]
    fn proptest_mqtt_set_body(body in payload()) {
        if let Ok(text) = std::str::from_utf8(&body) {
            match State::from_json(text) {
                Ok(_) => {}
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn proptest_mqtt_topic(topic in "(hb|homeassistant|x)?(/[a-z0-9_+#/.-]{0,10}){0,4}") {
        let topics = Topics { base: "hb".into(), ha_prefix: "homeassistant".into() };
        let _ = topics.parse(&topic);
    }

    #[test]
    fn proptest_aws_shadow_documents(doc in json_value()) {
        let _ = Shadow::from_get(&doc);
        let _ = Shadow::from_delta(&doc);
        let (_code, message, _token) = shadow::rejection(&doc);
        let _ = message;
    }

    #[test]
    fn proptest_aws_topic(topic in "(\\$aws/things/t/shadow/name/[a-z0-9_.-]{0,12}/[a-z/]{0,20})|\\PC{0,40}") {
        let _ = shadow::parse_topic("t", &topic);
    }

    #[test]
    fn proptest_azure_method(name in prop_oneof![Just("setState".to_owned()), Just("getState".to_owned()), "\\PC{0,10}"], body in payload()) {
        if let Err(e) = twin::parse_method(&name, &body) {
            prop_assert!(e.status == 400 || e.status == 501, "status {}", e.status);
            prop_assert!(e.body()["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }

    #[test]
    fn proptest_azure_c2d(props in prop::collection::vec(("[a-z]{0,8}", "\\PC{0,12}"), 0..3), body in payload()) {
        if let Err(e) = twin::parse_c2d(&props, &body) {
            prop_assert!(!e.is_empty());
        }
    }

    #[test]
    fn proptest_azure_twin(doc in json_value()) {
        let (desired, _reported) = twin::split_twin(&doc);
        let _ = twin::desired_sections(&desired);
    }

    #[test]
    fn proptest_azure_topic(topic in "(\\$iothub/(twin|methods)/[A-Za-z/]{0,16}(\\?\\$rid=[0-9a-z]{0,6}(&\\$version=[0-9]{0,4})?)?)|(devices/d/messages/devicebound/\\PC{0,30})|\\PC{0,30}") {
        let _ = twin::parse("d", &topic);
    }
}
