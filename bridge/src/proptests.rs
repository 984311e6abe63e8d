//! Property tests of the parsers that take input from outside the process at start: the config file,
//! `identity.json` and `devices.json` (the API bodies are in `api/proptests.rs`, the Matter files in
//! `matter/proptests.rs`). Nothing may panic, and every refusal must name what was wrong.
//!
//! Case counts are the defaults below times `HB_PROPTEST_SCALE` (default 1), so a long run is
//! `HB_PROPTEST_SCALE=20 cargo test -p hubbridge proptest`.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::config::Config;

/// `base` cases, scaled by `HB_PROPTEST_SCALE`.
pub fn cases(base: u32) -> u32 {
    let scale = std::env::var("HB_PROPTEST_SCALE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(1);
    base.saturating_mul(scale.max(1))
}

/// Field names the parsers know (so that generated objects often hit real fields), and others.
pub fn field_name() -> impl Strategy<Value = String> {
    let mut known: Vec<&'static str> = device_types::State::FIELD_NAMES.to_vec();
    known.extend([
        "reachable",
        "id",
        "kind",
        "name",
        "room",
        "state",
        "format",
        "next_endpoint",
        "devices",
        "endpoint",
        "unique_id",
        "label",
        "passcode",
        "discriminator",
        "serial",
        "host_name",
        "origin",
    ]);
    prop_oneof![
        3 => proptest::sample::select(known).prop_map(str::to_owned),
        1 => "[a-z_]{1,10}",
        1 => any::<String>(),
    ]
}

/// Any JSON value, biased toward the shapes the parsers expect.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (0u64..300).prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[a-z_]{0,12}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every key at any depth of a JSON value.
pub fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// A TOML value as text: well-formed ones of every type, and some that are not TOML at all.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0u64..100_000).prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<String>().prop_map(|s| format!("{s:?}")),
        "[a-z0-9:.\\[\\]-]{0,20}".prop_map(|s| format!("\"{s}\"")),
        prop::collection::vec("[a-z0-9.-]{0,8}", 0..3).prop_map(|v| format!(
            "[{}]",
            v.iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        "[^\n]{0,12}",
    ]
}

const KEYS: &[(&str, &str)] = &[
    ("bridge", "name"),
    ("bridge", "vendor_id"),
    ("bridge", "product_id"),
    ("bridge", "port"),
    ("bridge", "interfaces"),
    ("bridge", "storage_dir"),
    ("bridge", "test_passcode"),
    ("bridge", "commissioning_backoff_secs"),
    ("api", "listen"),
    ("api", "auth"),
    ("api", "host_names"),
    ("api", "read_only_tokens"),
    ("api", "max_body_bytes"),
    ("api", "rate_limit_per_second"),
    ("api", "rate_limit_burst"),
    ("api", "max_devices"),
    ("api", "tls_cert"),
    ("api", "tls_key"),
    ("virtual", "drift"),
    ("virtual", "drift_interval_secs"),
    ("bridge", "colour"),
    ("api", "token"),
];

fn example() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hubbridge.example.toml");
    std::fs::read_to_string(path).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(20_000)))]

    /// One key of a section set to any value: accepted, or refused naming the key.
    #[test]
    fn proptest_config_any_value_for_a_key(key in proptest::sample::select(KEYS), value in toml_value()) {
        let (section, name) = key;
        let text = format!("[{section}]\n{name} = {value}\n");
        if let Err(e) = Config::from_toml_str(&text) {
            let message = e.to_string();
            prop_assert!(message.contains(name), "{text:?} -> {message}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(5_000)))]

    /// The example file with one line replaced, removed or duplicated, or random bytes spliced in:
    /// never a panic, never an empty error.
    #[test]
    fn proptest_config_mutated_example(line in 0usize..400, how in 0u8..4, junk in "[^\0]{0,16}") {
        let text = example();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let i = line % lines.len();
        match how {
            0 => { lines.remove(i); }
            1 => { let l = lines[i].clone(); lines.insert(i, l); }
            2 => {
                if let Some((k, _)) = lines[i].clone().split_once(" = ") {
                    lines[i] = format!("{k} = {junk}");
                } else {
                    lines[i] = junk.clone();
                }
            }
            _ => lines.insert(i, junk.clone()),
        }
        if let Err(e) = Config::from_toml_str(&lines.join("\n")) {
            prop_assert!(!e.to_string().trim().is_empty());
        }
    }

    /// Any text as a config file.
    #[test]
    fn proptest_config_any_text(text in any::<String>()) {
        if let Err(e) = Config::from_toml_str(&text) {
            prop_assert!(!e.to_string().trim().is_empty());
        }
    }
}

fn valid_identity_file() -> Value {
    json!({"format": 1, "next_endpoint": 4, "devices": {
        "a": {"endpoint": 2, "unique_id": "0123456789abcdef0123456789abcdef"},
        "b": {"endpoint": 3, "unique_id": "fedcba9876543210fedcba9876543210", "label": "Lamp"}
    }})
}

/// A valid document with one place replaced by any value.
pub fn mutated(base: Value) -> impl Strategy<Value = Value> {
    (json_value(), 0usize..16, any::<bool>()).prop_map(move |(v, at, whole)| {
        if whole {
            return v;
        }
        let mut doc = base.clone();
        let mut paths = Vec::new();
        collect_paths(&doc, String::new(), &mut paths);
        let path = &paths[at % paths.len()];
        if let Some(slot) = doc.pointer_mut(path) {
            *slot = v;
        }
        doc
    })
}

/// JSON pointers to every value in `v` (the root included).
fn collect_paths(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(map) => {
            for (k, inner) in map {
                let k = k.replace('~', "~0").replace('/', "~1");
                collect_paths(inner, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                collect_paths(inner, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(5_000)))]

    /// identity.json: any mutation is loaded or refused naming the file.
    #[test]
    fn proptest_identity_file(doc in mutated(valid_identity_file())) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("identity.json"), doc.to_string()).unwrap();
        if let Err(e) = crate::identity::IdentityMap::load(dir.path()) {
            prop_assert!(e.to_string().contains("identity.json"), "{doc} -> {e}");
        }
    }

    /// identity.json: any bytes.
    #[test]
    fn proptest_identity_file_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("identity.json"), &bytes).unwrap();
        if let Err(e) = crate::identity::IdentityMap::load(dir.path()) {
            prop_assert!(e.to_string().contains("identity.json"), "{e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(1_000)))]

    /// devices.json (the API-added devices, read at start): loaded or refused naming the file.
    #[test]
    fn proptest_devices_file(doc in mutated(json!({"format": 1, "devices": [
        {"id": "plug", "kind": "on_off_plug_in_unit", "name": "Plug", "state": {"on": true}},
        {"id": "lamp", "kind": "dimmable_light", "name": "Lamp", "room": "Hall"}
    ]}))) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("devices.json"), doc.to_string()).unwrap();
        if let Err(e) = crate::registry::Registry::open(dir.path(), &[]) {
            prop_assert!(e.to_string().contains("devices.json"), "{doc} -> {e}");
        }
    }
}
