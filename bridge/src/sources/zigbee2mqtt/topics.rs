//! Zigbee2MQTT's MQTT API as this source reads it: which topic is which, and the payload types of
//! the bridge topics (`bridge/state`, `bridge/info`, `bridge/devices`, `bridge/event`,
//! `bridge/response/device/rename|remove`) and of `<friendly_name>/availability`.
//! Fields this source does not use are ignored, so newer Zigbee2MQTT versions still parse.

use serde::Deserialize;
use serde_json::Value;

/// What a message on `<base>/...` is.
#[derive(Debug, PartialEq, Eq)]
pub enum Topic<'a> {
    BridgeState,
    BridgeInfo,
    BridgeDevices,
    BridgeEvent,
    /// `bridge/response/<what>`, e.g. `device/rename`.
    BridgeResponse(&'a str),
    /// Another `bridge/...` topic (groups, logging, extensions, definitions, requests).
    BridgeOther,
    /// `<friendly_name>/availability`.
    Availability(&'a str),
    /// `<friendly_name>`: the device's state.
    State(&'a str),
    /// `<friendly_name>/set`, `/get` (ours, echoed back) or anything outside the base topic.
    Ignored,
}

/// Classifies `topic` under `base` (friendly names may contain `/`).
pub fn parse<'a>(base: &str, topic: &'a str) -> Topic<'a> {
    let Some(rest) = topic.strip_prefix(base).and_then(|r| r.strip_prefix('/')) else {
        return Topic::Ignored;
    };
    if let Some(bridge) = rest.strip_prefix("bridge/") {
        return match bridge {
            "state" => Topic::BridgeState,
            "info" => Topic::BridgeInfo,
            "devices" => Topic::BridgeDevices,
            "event" => Topic::BridgeEvent,
            _ => match bridge.strip_prefix("response/") {
                Some(what) => Topic::BridgeResponse(what),
                None => Topic::BridgeOther,
            },
        };
    }
    if rest.is_empty() {
        return Topic::Ignored;
    }
    if let Some(name) = rest.strip_suffix("/availability") {
        return Topic::Availability(name);
    }
    for suffix in ["/set", "/get"] {
        if rest.ends_with(suffix) || rest.contains(&format!("{suffix}/")) {
            return Topic::Ignored;
        }
    }
    Topic::State(rest)
}

pub fn set_topic(base: &str, friendly_name: &str) -> String {
    format!("{base}/{friendly_name}/set")
}

pub fn get_topic(base: &str, friendly_name: &str) -> String {
    format!("{base}/{friendly_name}/get")
}

/// `online` / `offline`, as JSON `{"state": "online"}` (Zigbee2MQTT 1.x with JSON availability, 2.x)
/// or the legacy plain string.
pub fn online(payload: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    let word = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map.get("state")?.as_str()?.to_owned(),
        Ok(Value::String(s)) => s,
        _ => text.to_owned(),
    };
    match word.as_str() {
        "online" => Some(true),
        "offline" => Some(false),
        _ => None,
    }
}

/// One entry of `bridge/devices`.
#[derive(Clone, Debug, Deserialize)]
pub struct BridgeDevice {
    pub ieee_address: String,
    pub friendly_name: String,
    #[serde(rename = "type", default)]
    pub device_type: String,
    #[serde(default)]
    pub supported: bool,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub interview_completed: bool,
    #[serde(default)]
    pub power_source: Option<String>,
    #[serde(default)]
    pub definition: Option<Definition>,
}

impl BridgeDevice {
    /// Mains or DC powered (answers `/get`; battery devices sleep).
    pub fn mains_powered(&self) -> bool {
        self.power_source
            .as_deref()
            .is_some_and(|p| p.starts_with("Mains") || p == "DC Source")
    }
}

/// `definition` of a device entry.
#[derive(Clone, Debug, Deserialize)]
pub struct Definition {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub vendor: String,
    #[serde(default)]
    pub exposes: Vec<Expose>,
}

/// One expose (a feature tree), as Zigbee2MQTT serialises zigbee-herdsman-converters' classes.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Expose {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub property: Option<String>,
    /// Bit 1: published in state; bit 2: settable (`/set`); bit 4: readable (`/get`).
    #[serde(default)]
    pub access: u8,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub value_on: Option<Value>,
    #[serde(default)]
    pub value_off: Option<Value>,
    #[serde(default)]
    pub value_min: Option<f64>,
    #[serde(default)]
    pub value_max: Option<f64>,
    #[serde(default)]
    pub values: Vec<Value>,
    #[serde(default)]
    pub features: Vec<Expose>,
}

pub const ACCESS_STATE: u8 = 1;
pub const ACCESS_SET: u8 = 2;
pub const ACCESS_GET: u8 = 4;

/// `bridge/info` (only what matters here).
#[derive(Debug, Deserialize)]
pub struct BridgeInfo {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub config: Option<Value>,
}

impl BridgeInfo {
    /// `advanced.output` (1.x) / `advanced.output` in 2.x: `json`, `attribute` or `attribute_and_json`.
    pub fn output(&self) -> Option<&str> {
        self.config
            .as_ref()?
            .get("advanced")?
            .get("output")?
            .as_str()
    }
}

/// `bridge/event`.
#[derive(Debug, Deserialize)]
pub struct BridgeEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub data: EventData,
}

#[derive(Debug, Default, Deserialize)]
pub struct EventData {
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub ieee_address: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// `bridge/response/device/rename` and `.../remove`.
#[derive(Debug, Deserialize)]
pub struct Response {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub data: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_classified_with_slashes_in_friendly_names() {
        let t = |s| parse("z2m", s);
        assert_eq!(t("z2m/bridge/devices"), Topic::BridgeDevices);
        assert_eq!(t("z2m/bridge/state"), Topic::BridgeState);
        assert_eq!(
            t("z2m/bridge/response/device/rename"),
            Topic::BridgeResponse("device/rename")
        );
        assert_eq!(t("z2m/bridge/groups"), Topic::BridgeOther);
        assert_eq!(t("z2m/living/lamp"), Topic::State("living/lamp"));
        assert_eq!(
            t("z2m/living/lamp/availability"),
            Topic::Availability("living/lamp")
        );
        assert_eq!(t("z2m/living/lamp/set"), Topic::Ignored);
        assert_eq!(t("z2m/lamp/set/state"), Topic::Ignored);
        assert_eq!(t("z2m/lamp/get"), Topic::Ignored);
        assert_eq!(t("other/lamp"), Topic::Ignored);
        assert_eq!(t("z2mx/lamp"), Topic::Ignored);
    }

    #[test]
    fn availability_in_every_form() {
        assert_eq!(online(br#"{"state":"online"}"#), Some(true));
        assert_eq!(online(b"offline"), Some(false));
        assert_eq!(online(br#""online""#), Some(true));
        assert_eq!(online(b""), None);
        assert_eq!(online(b"\xff"), None);
        assert_eq!(online(br#"{"state":3}"#), None);
    }
}
