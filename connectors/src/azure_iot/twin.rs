//! Azure IoT Hub's MQTT surface as pure functions: topic names, `$rid`/`$version` parsing, the twin
//! layout (one property section per bridged device, named by the device id, holding its state fields),
//! desired → commands, reported PATCH building, and direct-method requests and answers.
//!
//! | topic | direction | payload |
//! |---|---|---|
//! | `devices/{id}/messages/events/{props}` | out | telemetry: state and events (`type`, `device`, `$.mid` = idempotency key) |
//! | `devices/{id}/messages/devicebound/{props}` | in | cloud-to-device command `{"device","state"}` |
//! | `$iothub/twin/GET/?$rid={rid}` | out | (empty) → `$iothub/twin/res/200/?$rid={rid}` with the twin |
//! | `$iothub/twin/PATCH/properties/reported/?$rid={rid}` | out | `{"<device>": {state} or null}` → `res/204/?$rid=…&$version=…` |
//! | `$iothub/twin/PATCH/properties/desired/?$version={v}` | in | `{"<device>": {partial state}, "$version": v}` |
//! | `$iothub/methods/POST/{method}/?$rid={rid}` | in | `setState {"device","state"}`, `getState {"device"}` |
//! | `$iothub/methods/res/{status}/?$rid={rid}` | out | the answer (200 / 400 / 404 / 501) |

use device_types::State;
use serde_json::{json, Map, Value};

use super::sas::url_encode;

pub const TWIN_RES_FILTER: &str = "$iothub/twin/res/#";
pub const DESIRED_FILTER: &str = "$iothub/twin/PATCH/properties/desired/#";
pub const METHODS_FILTER: &str = "$iothub/methods/POST/#";

/// Azure IoT Hub's limit on a twin's reported properties: 32 KB ("IoT Hub quotas and throttling",
/// device twin size). A PATCH that would pass it is refused with 400.
pub const MAX_REPORTED_BYTES: usize = 32 * 1024;

/// The reconciliation PATCH is sent in parts of at most this many bytes, so each part is well under the
/// twin limit and hundreds of devices never make one oversized message.
pub const MAX_PATCH_BYTES: usize = 8 * 1024;

pub fn c2d_filter(device_id: &str) -> String {
    format!("devices/{device_id}/messages/devicebound/#")
}

pub fn twin_get(rid: u64) -> String {
    format!("$iothub/twin/GET/?$rid={rid}")
}

pub fn reported_patch(rid: u64) -> String {
    format!("$iothub/twin/PATCH/properties/reported/?$rid={rid}")
}

pub fn method_response(status: u16, rid: &str) -> String {
    format!("$iothub/methods/res/{status}/?$rid={}", url_encode(rid))
}

/// Telemetry topic with message properties (content type and encoding, plus `props`).
pub fn telemetry(device_id: &str, props: &[(&str, &str)]) -> String {
    let mut bag = String::from("%24.ct=application%2Fjson&%24.ce=utf-8");
    for (k, v) in props {
        bag.push('&');
        bag.push_str(&url_encode(k));
        bag.push('=');
        bag.push_str(&url_encode(v));
    }
    format!("devices/{device_id}/messages/events/{bag}")
}

/// An incoming message, classified.
#[derive(Debug, PartialEq)]
pub enum Incoming<'a> {
    /// A response to a twin GET or reported PATCH.
    TwinResponse {
        status: u16,
        rid: u64,
        version: Option<u64>,
    },
    /// A desired-properties PATCH.
    Desired { version: Option<u64> },
    /// A direct-method call.
    Method { name: &'a str, rid: &'a str },
    /// A cloud-to-device message with its property bag (decoded).
    CloudToDevice { props: Vec<(String, String)> },
}

/// Classifies a topic; `None` for anything we did not subscribe to.
pub fn parse<'a>(device_id: &str, topic: &'a str) -> Option<Incoming<'a>> {
    if let Some(rest) = topic.strip_prefix("$iothub/twin/res/") {
        let (status, query) = rest.split_once("/?")?;
        let status = status.parse().ok()?;
        let rid = query_value(query, "$rid")?.parse().ok()?;
        let version = query_value(query, "$version").and_then(|v| v.parse().ok());
        return Some(Incoming::TwinResponse {
            status,
            rid,
            version,
        });
    }
    if let Some(query) = topic.strip_prefix("$iothub/twin/PATCH/properties/desired/") {
        let query = query.strip_prefix('?').unwrap_or(query);
        let version = query_value(query, "$version").and_then(|v| v.parse().ok());
        return Some(Incoming::Desired { version });
    }
    if let Some(rest) = topic.strip_prefix("$iothub/methods/POST/") {
        let (name, query) = rest.split_once("/?")?;
        let rid = query_value(query, "$rid")?;
        return Some(Incoming::Method { name, rid });
    }
    let prefix = format!("devices/{device_id}/messages/devicebound/");
    if let Some(bag) = topic.strip_prefix(&prefix) {
        let props = bag
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (url_decode(k), url_decode(v))
            })
            .collect();
        return Some(Incoming::CloudToDevice { props });
    }
    None
}

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The reported PATCH for one device's state (`null` removes the section).
pub fn reported_state(device: &str, state: Option<&State>) -> Value {
    let mut m = Map::new();
    m.insert(
        device.to_owned(),
        state.map_or(Value::Null, |s| {
            serde_json::to_value(s).unwrap_or(Value::Null)
        }),
    );
    Value::Object(m)
}

/// The reconciliation PATCH after a twin GET: every local device's full state, and `null` for every
/// reported section whose device no longer exists (reported belongs to the hub).
pub fn reconcile_reported(reported: &Map<String, Value>, local: &[(String, State)]) -> Value {
    let mut m = Map::new();
    for (id, state) in local {
        m.insert(
            id.clone(),
            serde_json::to_value(state).unwrap_or(Value::Null),
        );
    }
    for key in reported.keys() {
        if !key.starts_with('$') && !m.contains_key(key) {
            m.insert(key.clone(), Value::Null);
        }
    }
    Value::Object(m)
}

/// Splits a PATCH object into PATCHes of at most `max` bytes each (top-level sections never split;
/// removals (`null`) first, so they free room before additions). A section larger than `max` alone
/// makes its own part (the size check before sending refuses it).
pub fn split_patch(patch: Value, max: usize) -> Vec<Value> {
    let Value::Object(m) = patch else {
        return vec![patch];
    };
    let (nulls, rest): (Vec<_>, Vec<_>) = m.into_iter().partition(|(_, v)| v.is_null());
    let mut parts = Vec::new();
    let mut part = Map::new();
    let mut size = 2;
    for (k, v) in nulls.into_iter().chain(rest) {
        let entry = k.len() + 4 + v.to_string().len();
        if !part.is_empty() && size + entry > max {
            parts.push(Value::Object(std::mem::take(&mut part)));
            size = 2;
        }
        size += entry;
        part.insert(k, v);
    }
    if !part.is_empty() || parts.is_empty() {
        parts.push(Value::Object(part));
    }
    parts
}

/// One device's section of a desired document, parsed (unknown devices and bad values are reported, not
/// applied).
#[derive(Debug, PartialEq)]
pub struct DesiredSection {
    pub device: String,
    pub patch: Result<State, String>,
}

/// The device sections of a desired document (or PATCH), skipping `$version`/`$metadata` and `null`s.
pub fn desired_sections(desired: &Map<String, Value>) -> Vec<DesiredSection> {
    desired
        .iter()
        .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
        .map(|(k, v)| DesiredSection {
            device: k.clone(),
            patch: match v {
                Value::Object(obj) => {
                    let obj: Map<String, Value> = obj
                        .iter()
                        .filter(|(f, _)| !f.starts_with('$'))
                        .map(|(f, v)| (f.clone(), v.clone()))
                        .collect();
                    State::from_json_object(&obj).map_err(|e| e.to_string())
                }
                other => Err(format!("section is not an object: {other}")),
            },
        })
        .collect()
}

/// A twin GET response: `(desired, reported)` documents (either may be missing → empty).
pub fn split_twin(doc: &Value) -> (Map<String, Value>, Map<String, Value>) {
    let part = |k: &str| {
        doc.get(k)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    (part("desired"), part("reported"))
}

/// A direct-method request, parsed.
#[derive(Debug, PartialEq)]
// State carries every kind's optional fields (~350 bytes); these values are short-lived or
// queued briefly, so boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum MethodCall {
    Set { device: String, patch: State },
    Get { device: String },
}

/// An answer to a method call that failed before reaching the registry.
#[derive(Debug, PartialEq)]
pub struct MethodError {
    pub status: u16,
    pub message: String,
}

impl MethodError {
    pub fn bad(message: impl Into<String>) -> MethodError {
        MethodError {
            status: 400,
            message: message.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({ "message": self.message })
    }
}

/// Parses `setState {"device","state"}` / `getState {"device"}`; 400 on bad input, 501 on an unknown
/// method.
pub fn parse_method(name: &str, payload: &[u8]) -> Result<MethodCall, MethodError> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| MethodError::bad(format!("payload is not JSON: {e}")))?;
    let device = value
        .get("device")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| MethodError::bad("`device` (a device id string) is required"))?
        .to_owned();
    match name {
        "getState" => Ok(MethodCall::Get { device }),
        "setState" => {
            let obj = value
                .get("state")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    MethodError::bad("`state` (an object of state fields) is required")
                })?;
            let patch =
                State::from_json_object(obj).map_err(|e| MethodError::bad(e.to_string()))?;
            if patch.is_empty() {
                return Err(MethodError::bad("`state` sets no field"));
            }
            Ok(MethodCall::Set { device, patch })
        }
        other => Err(MethodError {
            status: 501,
            message: format!("unknown method `{other}` (known: setState, getState)"),
        }),
    }
}

/// A cloud-to-device command: body `{"device","state"}`, or the `device` property with the state as body.
pub fn parse_c2d(props: &[(String, String)], payload: &[u8]) -> Result<(String, State), String> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| format!("payload is not JSON: {e}"))?;
    let from_prop = props
        .iter()
        .find(|(k, _)| k == "device")
        .map(|(_, v)| v.clone());
    let (device, state) = match (value.get("device").and_then(Value::as_str), from_prop) {
        (Some(d), _) => (
            d.to_owned(),
            value.get("state").cloned().unwrap_or(Value::Null),
        ),
        (None, Some(d)) => (d, value),
        (None, None) => return Err("no `device` in the body or the message properties".to_owned()),
    };
    let obj = state
        .as_object()
        .ok_or_else(|| "`state` must be an object of state fields".to_owned())?;
    let patch = State::from_json_object(obj).map_err(|e| e.to_string())?;
    if patch.is_empty() {
        return Err("the command sets no state field".to_owned());
    }
    Ok((device, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_topics_we_subscribe_to() {
        assert_eq!(
            parse("hub", "$iothub/twin/res/204/?$rid=7&$version=12"),
            Some(Incoming::TwinResponse {
                status: 204,
                rid: 7,
                version: Some(12)
            })
        );
        assert_eq!(
            parse("hub", "$iothub/twin/res/200/?$rid=1"),
            Some(Incoming::TwinResponse {
                status: 200,
                rid: 1,
                version: None
            })
        );
        assert_eq!(
            parse("hub", "$iothub/twin/PATCH/properties/desired/?$version=5"),
            Some(Incoming::Desired { version: Some(5) })
        );
        assert_eq!(
            parse("hub", "$iothub/methods/POST/setState/?$rid=abc"),
            Some(Incoming::Method {
                name: "setState",
                rid: "abc"
            })
        );
        assert_eq!(
            parse(
                "hub",
                "devices/hub/messages/devicebound/device=lamp&%24.mid=x%2Fy"
            ),
            Some(Incoming::CloudToDevice {
                props: vec![
                    ("device".into(), "lamp".into()),
                    ("$.mid".into(), "x/y".into())
                ]
            })
        );
        assert_eq!(parse("hub", "devices/other/messages/devicebound/"), None);
        assert_eq!(parse("hub", "$iothub/twin/res/abc/?$rid=1"), None);
    }

    #[test]
    fn builds_topics_and_reported_patches() {
        assert_eq!(
            telemetry("hub", &[("type", "state"), ("device", "a b")]),
            "devices/hub/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8&type=state&device=a%20b"
        );
        assert_eq!(method_response(404, "9"), "$iothub/methods/res/404/?$rid=9");
        let on = State {
            on: Some(true),
            ..State::default()
        };
        assert_eq!(
            reported_state("lamp", Some(&on)),
            json!({"lamp": {"on": true}})
        );
        assert_eq!(reported_state("lamp", None), json!({"lamp": null}));
        let reported = json!({"lamp": {"on": false}, "gone": {"on": true}, "$version": 4});
        let patch = reconcile_reported(
            reported.as_object().unwrap(),
            &[("lamp".to_owned(), on.clone())],
        );
        assert_eq!(patch, json!({"lamp": {"on": true}, "gone": null}));
    }

    #[test]
    fn a_large_patch_is_split_under_the_limit_with_removals_first() {
        let mut m = Map::new();
        for i in 0..500 {
            m.insert(
                format!("light-{i:03}"),
                json!({"on": i % 2 == 0, "brightness": 128}),
            );
        }
        m.insert("gone".into(), Value::Null);
        let whole = Value::Object(m.clone());
        let parts = split_patch(whole, MAX_PATCH_BYTES);
        assert!(parts.len() > 1);
        assert!(parts[0].get("gone").is_some_and(Value::is_null));
        let mut keys = 0;
        for p in &parts {
            assert!(
                p.to_string().len() <= MAX_PATCH_BYTES,
                "{}",
                p.to_string().len()
            );
            keys += p.as_object().unwrap().len();
        }
        assert_eq!(keys, m.len());
    }

    #[test]
    fn desired_sections_become_patches_or_errors() {
        let d = json!({"lamp": {"on": true, "$lastUpdated": "x"}, "bad": {"brightness": 999},
                       "cleared": null, "$version": 3});
        let mut s = desired_sections(d.as_object().unwrap());
        s.sort_by(|a, b| a.device.cmp(&b.device));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].device, "bad");
        assert!(s[0].patch.as_ref().unwrap_err().contains("brightness"));
        assert_eq!(
            s[1].patch,
            Ok(State {
                on: Some(true),
                ..State::default()
            })
        );
    }

    #[test]
    fn methods_answer_bad_input_with_400_and_unknown_methods_with_501() {
        assert_eq!(
            parse_method("getState", br#"{"device":"lamp"}"#),
            Ok(MethodCall::Get {
                device: "lamp".into()
            })
        );
        assert!(matches!(
            parse_method("setState", br#"{"device":"lamp","state":{"on":false}}"#),
            Ok(MethodCall::Set { .. })
        ));
        for bad in [
            &b"nope"[..],
            br#"{"state":{}}"#,
            br#"{"device":"lamp","state":{"brightness":0}}"#,
            br#"{"device":"lamp","state":{}}"#,
            br#"{"device":"lamp"}"#,
        ] {
            assert_eq!(
                parse_method("setState", bad).unwrap_err().status,
                400,
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_method("reboot", br#"{"device":"lamp"}"#)
                .unwrap_err()
                .status,
            501
        );
    }

    #[test]
    fn cloud_to_device_from_body_or_property() {
        let (d, p) = parse_c2d(&[], br#"{"device":"lamp","state":{"on":true}}"#).unwrap();
        assert_eq!((d.as_str(), p.on), ("lamp", Some(true)));
        let props = vec![("device".to_owned(), "plug".to_owned())];
        let (d, p) = parse_c2d(&props, br#"{"on":false}"#).unwrap();
        assert_eq!((d.as_str(), p.on), ("plug", Some(false)));
        assert!(parse_c2d(&[], br#"{"on":false}"#).is_err());
    }
}
