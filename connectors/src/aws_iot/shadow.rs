//! AWS IoT named shadows as pure functions: one named shadow of the hub's thing per bridged device
//! (name = prefix + device id, never a position), the MQTT topics of a shadow, update documents with a
//! `clientToken` and `version`, the 8 KB document limit, and the reconciliation rules:
//!
//! - **reported belongs to the hub**: after every (re)connect the hub's current state is written as
//!   `reported` (local wins);
//! - **desired belongs to the cloud**, but a desired field set *before* the device's latest local change
//!   is stale: it is not applied, and it is cleared (`desired: {field: null}`) so it stops producing
//!   deltas; a desired field set after it is applied;
//! - a **version conflict** (409) triggers a fresh GET of that shadow, then the update is sent again.

use device_types::State;
use serde_json::{json, Map, Value};

/// AWS IoT's limit on the `state` of a shadow document (bytes of the update document we send).
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024;

/// The named shadow of a device, or why the device id cannot name one.
pub fn shadow_name(prefix: &str, device: &str) -> Result<String, String> {
    let name = format!("{prefix}{device}");
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'));
    if ok {
        Ok(name)
    } else {
        Err(format!(
            "shadow name {name:?} is not 1..=64 characters of [a-zA-Z0-9:_-]"
        ))
    }
}

/// The device a shadow name belongs to (`None` for shadows that are not ours).
pub fn device_of<'a>(prefix: &str, shadow: &'a str) -> Option<&'a str> {
    shadow.strip_prefix(prefix).filter(|d| !d.is_empty())
}

/// Topic of one shadow operation: `$aws/things/<thing>/shadow/name/<shadow>/<op>`.
pub fn topic(thing: &str, shadow: &str, op: &str) -> String {
    format!("$aws/things/{thing}/shadow/name/{shadow}/{op}")
}

/// The subscriptions for every named shadow of the thing.
pub fn filters(thing: &str) -> Vec<String> {
    [
        "update/accepted",
        "update/rejected",
        "update/delta",
        "get/accepted",
        "get/rejected",
    ]
    .iter()
    .map(|op| topic(thing, "+", op))
    .collect()
}

/// A message on a shadow response topic.
#[derive(Debug, PartialEq)]
pub struct Response<'a> {
    pub shadow: &'a str,
    /// `update/accepted`, `update/rejected`, `update/delta`, `get/accepted`, `get/rejected`.
    pub op: &'a str,
}

pub fn parse_topic<'a>(thing: &str, topic: &'a str) -> Option<Response<'a>> {
    let rest = topic
        .strip_prefix("$aws/things/")?
        .strip_prefix(thing)?
        .strip_prefix("/shadow/name/")?;
    let (shadow, op) = rest.split_once('/')?;
    if shadow.is_empty() {
        return None;
    }
    Some(Response { shadow, op })
}

/// Why an update document cannot be sent.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum DocumentError {
    #[error("shadow document for `{device}` is {bytes} bytes, over AWS IoT's 8 KB limit")]
    TooLarge { device: String, bytes: usize },
}

/// An update: `reported` (the full local state), fields of `desired` to clear, a `clientToken`, and the
/// `version` the hub last saw (optimistic locking; `None` sends no version).
pub fn update_document(
    device: &str,
    reported: Option<&State>,
    clear_desired: &[String],
    client_token: &str,
    version: Option<u64>,
) -> Result<Vec<u8>, DocumentError> {
    let mut state = Map::new();
    if let Some(r) = reported {
        state.insert(
            "reported".into(),
            serde_json::to_value(r).unwrap_or(Value::Null),
        );
    }
    if !clear_desired.is_empty() {
        let cleared: Map<String, Value> = clear_desired
            .iter()
            .map(|f| (f.clone(), Value::Null))
            .collect();
        state.insert("desired".into(), Value::Object(cleared));
    }
    let mut doc = json!({ "state": state, "clientToken": client_token });
    if let Some(v) = version {
        doc["version"] = json!(v);
    }
    let bytes = doc.to_string().into_bytes();
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge {
            device: device.to_owned(),
            bytes: bytes.len(),
        });
    }
    Ok(bytes)
}

/// A shadow document as GET returns it (or the `state`/`metadata` of a delta).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Shadow {
    pub version: Option<u64>,
    pub desired: Map<String, Value>,
    pub reported: Map<String, Value>,
    /// Unix seconds of each desired field's last change (`metadata.desired.<f>.timestamp`).
    pub desired_at: Map<String, Value>,
    /// Unix seconds of each reported field's last change.
    pub reported_at: Map<String, Value>,
}

impl Shadow {
    /// Parses a GET response (`{"state":{"desired","reported"},"metadata":{...},"version"}`).
    pub fn from_get(doc: &Value) -> Shadow {
        let obj = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_default();
        let state = doc.get("state");
        let meta = doc.get("metadata");
        Shadow {
            version: doc.get("version").and_then(Value::as_u64),
            desired: obj(state.and_then(|s| s.get("desired"))),
            reported: obj(state.and_then(|s| s.get("reported"))),
            desired_at: timestamps(meta.and_then(|m| m.get("desired"))),
            reported_at: timestamps(meta.and_then(|m| m.get("reported"))),
        }
    }

    /// Parses a delta message (`{"state":{...},"metadata":{...},"version"}`): its fields are desired.
    pub fn from_delta(doc: &Value) -> Shadow {
        let obj = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_default();
        Shadow {
            version: doc.get("version").and_then(Value::as_u64),
            desired: obj(doc.get("state")),
            desired_at: timestamps(doc.get("metadata")),
            ..Shadow::default()
        }
    }
}

fn timestamps(meta: Option<&Value>) -> Map<String, Value> {
    meta.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(f, v)| Some((f.clone(), v.get("timestamp")?.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// What to do about one device's shadow.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Desired fields to apply (newer than the local change, and different from the local state).
    pub apply: State,
    /// Desired fields older than the latest local change: not applied, cleared in the shadow.
    pub clear: Vec<String>,
    /// Desired fields that could not be parsed (named, with the reason).
    pub invalid: Option<String>,
}

/// Reconciles desired with the local state. `local_changed_secs`: Unix seconds of the device's latest
/// local change, if known (else the reported timestamp of each field stands for it).
pub fn reconcile(shadow: &Shadow, local: &State, local_changed_secs: Option<u64>) -> Plan {
    let mut plan = Plan::default();
    let mut newer = Map::new();
    for (field, value) in &shadow.desired {
        if value.is_null() {
            continue;
        }
        let desired_at = shadow.desired_at.get(field).and_then(Value::as_u64);
        let local_at =
            local_changed_secs.or_else(|| shadow.reported_at.get(field).and_then(Value::as_u64));
        let stale = matches!((desired_at, local_at), (Some(d), Some(l)) if l > d);
        let single: Map<String, Value> = [(field.clone(), value.clone())].into_iter().collect();
        let wanted = match State::from_json_object(&single) {
            Ok(s) => s,
            Err(e) => {
                plan.invalid = Some(e.to_string());
                continue;
            }
        };
        if local.diff(&wanted).is_empty() {
            continue; // already so locally: nothing to apply, nothing stale
        }
        if stale {
            plan.clear.push(field.clone());
        } else {
            newer.insert(field.clone(), value.clone());
        }
    }
    if let Ok(s) = State::from_json_object(&newer) {
        plan.apply = local.diff(&s);
    }
    plan
}

/// The rejection of an update or get: `{"code": 409, "message": "...", "clientToken": "..."}`.
pub fn rejection(doc: &Value) -> (u16, String, Option<String>) {
    (
        doc.get("code").and_then(Value::as_u64).unwrap_or(0) as u16,
        doc.get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        doc.get("clientToken")
            .and_then(Value::as_str)
            .map(str::to_owned),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(v: bool) -> State {
        State {
            on: Some(v),
            ..State::default()
        }
    }

    #[test]
    fn shadow_names_come_from_the_device_id() {
        assert_eq!(shadow_name("", "kitchen-light").unwrap(), "kitchen-light");
        assert_eq!(shadow_name("hb-", "lamp").unwrap(), "hb-lamp");
        assert!(shadow_name("hb-", &"x".repeat(64)).is_err());
        assert_eq!(device_of("hb-", "hb-lamp"), Some("lamp"));
        assert_eq!(device_of("hb-", "other"), None);
        assert_eq!(
            parse_topic("hub", "$aws/things/hub/shadow/name/lamp/update/delta"),
            Some(Response {
                shadow: "lamp",
                op: "update/delta"
            })
        );
        assert_eq!(
            parse_topic("hub", "$aws/things/hubx/shadow/name/lamp/get"),
            None
        );
        assert_eq!(
            filters("hub")[0],
            "$aws/things/hub/shadow/name/+/update/accepted"
        );
    }

    #[test]
    fn update_documents_carry_token_version_and_respect_8_kb() {
        let doc = update_document(
            "lamp",
            Some(&on(true)),
            &["brightness".into()],
            "7-1",
            Some(4),
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&doc).unwrap();
        assert_eq!(
            v,
            json!({"state": {"reported": {"on": true}, "desired": {"brightness": null}},
                   "clientToken": "7-1", "version": 4})
        );
        let long = "x".repeat(MAX_DOCUMENT_BYTES);
        let e = update_document("lamp", Some(&on(true)), &[long], "t", None).unwrap_err();
        assert!(e.to_string().contains("8 KB"), "{e}");
    }

    #[test]
    fn desired_newer_than_the_local_change_is_applied() {
        let shadow = Shadow::from_get(&json!({
            "state": {"desired": {"on": true}, "reported": {"on": false}},
            "metadata": {"desired": {"on": {"timestamp": 200}}, "reported": {"on": {"timestamp": 100}}},
            "version": 9
        }));
        assert_eq!(shadow.version, Some(9));
        let plan = reconcile(&shadow, &on(false), None);
        assert_eq!(plan.apply, on(true));
        assert!(plan.clear.is_empty());
        // With a pending local change older than the desired one: still applied.
        assert_eq!(reconcile(&shadow, &on(false), Some(150)).apply, on(true));
    }

    #[test]
    fn desired_older_than_a_newer_local_change_is_cleared_not_applied() {
        let shadow = Shadow::from_get(&json!({
            "state": {"desired": {"on": true, "brightness": 10}, "reported": {"on": false}},
            "metadata": {"desired": {"on": {"timestamp": 100}, "brightness": {"timestamp": 300}},
                         "reported": {"on": {"timestamp": 100}}},
        }));
        let local = State {
            on: Some(false),
            brightness: Some(50),
            ..State::default()
        };
        let plan = reconcile(&shadow, &local, Some(200));
        assert_eq!(plan.clear, vec!["on".to_owned()]);
        assert_eq!(
            plan.apply,
            State {
                brightness: Some(10),
                ..State::default()
            }
        );
        // Desired equal to the local state: neither applied nor cleared.
        let same = State {
            on: Some(true),
            brightness: Some(10),
            ..State::default()
        };
        assert_eq!(reconcile(&shadow, &same, Some(500)), Plan::default());
    }

    #[test]
    fn deltas_and_rejections_parse() {
        let d = Shadow::from_delta(&json!({"version": 5, "timestamp": 1, "state": {"on": true},
                                           "metadata": {"on": {"timestamp": 1}}}));
        assert_eq!(
            (d.version, d.desired.get("on")),
            (Some(5), Some(&json!(true)))
        );
        assert_eq!(
            rejection(&json!({"code": 409, "message": "Version conflict", "clientToken": "a"})),
            (409, "Version conflict".to_owned(), Some("a".to_owned()))
        );
        let plan = reconcile(&d, &on(false), None);
        assert_eq!(plan.apply, on(true));
        let bad = Shadow::from_delta(&json!({"state": {"brightness": 999}}));
        assert!(reconcile(&bad, &on(false), None).invalid.is_some());
    }
}
