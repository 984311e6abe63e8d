//! Property tests of every API body parser and the token file: nothing panics, every refusal is a 400
//! (or a clear token-file error) that names what was wrong.

use proptest::prelude::*;
use serde_json::Value;

use super::devices::{AddDeviceBody, ReachableBody};
use super::error::{parse, parse_state};
use super::tokens;
use crate::proptests::{cases, json_value, keys};

/// A refusal must name one of the body's fields, or say what shape was expected.
fn names_something(body: &Value, message: &str) -> bool {
    let mut found = Vec::new();
    keys(body, &mut found);
    found.iter().any(|k| message.contains(k.as_str()))
        || message.contains("JSON object")
        || message.contains("missing field")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(20_000)))]

    #[test]
    fn proptest_state_body(body in json_value()) {
        match parse_state(body.to_string().as_bytes()) {
            Ok(_) => {
                let map = body.as_object().expect("only objects are states");
                prop_assert!(map.values().all(|v| !v.is_null()), "null accepted: {body}");
                prop_assert!(map.keys().all(|k| device_types::State::FIELD_NAMES.contains(&k.as_str())), "{body}");
            }
            Err(e) => {
                prop_assert_eq!(e.status.as_u16(), 400);
                prop_assert!(names_something(&body, &e.message), "{} -> {}", body, e.message);
            }
        }
    }

    #[test]
    fn proptest_reachable_body(body in json_value()) {
        match parse::<ReachableBody>(body.to_string().as_bytes()) {
            Ok(parsed) => {
                prop_assert_eq!(body, serde_json::json!({"reachable": parsed.reachable}));
            }
            Err(e) => {
                prop_assert_eq!(e.status.as_u16(), 400);
                prop_assert!(names_something(&body, &e.message), "{} -> {}", body, e.message);
            }
        }
    }

    #[test]
    fn proptest_add_device_body(body in json_value()) {
        match parse::<AddDeviceBody>(body.to_string().as_bytes()) {
            Ok(parsed) => match parsed.into_spec() {
                Ok(spec) => {
                    if let Err(e) = spec.validate() {
                        let message = e.to_string();
                        prop_assert!(message.contains(&spec.id), "{} -> {}", body, message);
                    }
                }
                Err(e) => {
                    prop_assert_eq!(e.status.as_u16(), 400);
                    prop_assert!(names_something(&body, &e.message), "{} -> {}", body, e.message);
                }
            },
            Err(e) => {
                prop_assert_eq!(e.status.as_u16(), 400);
                prop_assert!(names_something(&body, &e.message), "{} -> {}", body, e.message);
            }
        }
    }

    /// Any bytes as a body: never a panic, always a 400 with a message.
    #[test]
    fn proptest_body_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        for result in [
            parse_state(&bytes).map(|_| ()),
            parse::<ReachableBody>(&bytes).map(|_| ()),
            parse::<AddDeviceBody>(&bytes).map(|_| ()),
        ] {
            if let Err(e) = result {
                prop_assert_eq!(e.status.as_u16(), 400);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    /// The token file read at start: exactly 64 lowercase hex digits (and a newline), else an error
    /// naming the file.
    #[test]
    fn proptest_token_file(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        "[0-9a-fA-F]{62,66}\n?".prop_map(String::into_bytes),
    ]) {
        let path = std::path::Path::new("/var/lib/hubbridge/api-token");
        match tokens::parse_token(path, &bytes) {
            Ok(token) => {
                prop_assert_eq!(token.len(), 64);
                prop_assert!(bytes.starts_with(token.as_bytes()));
            }
            Err(e) => prop_assert!(e.to_string().contains("api-token"), "{e}"),
        }
    }
}
