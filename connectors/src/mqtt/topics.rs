//! The topic layout (Zigbee2MQTT style, under a configurable base) and the payload of each topic.
//!
//! | topic | retained | payload |
//! |---|---|---|
//! | `<base>/<device>` | yes | full state JSON, e.g. `{"on":true,"brightness":200}` |
//! | `<base>/<device>/set` | — | (subscribed) partial state JSON |
//! | `<base>/<device>/get` | — | (subscribed) anything: the state is published again |
//! | `<base>/<device>/availability` | yes | `online` / `offline` |
//! | `<base>/bridge/state` | yes | `online` / `offline` (the last will) |
//! | `<base>/bridge/event` | no | `{"id","type","device","at_ms",...}`; `id` is the idempotency key |
//! | `<base>/bridge/response` | no | `{"request_topic","device","status":"ok"|"error","error"?,"state"?}` |

use serde_json::json;

use crate::model::{EventBody, Record};

/// Which request a subscribed topic carries.
#[derive(Debug, PartialEq, Eq)]
pub enum Request<'a> {
    Set(&'a str),
    Get(&'a str),
    /// `<ha prefix>/status`
    HomeAssistantStatus,
}

pub struct Topics {
    pub base: String,
    pub ha_prefix: String,
}

impl Topics {
    pub fn state(&self, device: &str) -> String {
        format!("{}/{device}", self.base)
    }
    pub fn availability(&self, device: &str) -> String {
        format!("{}/{device}/availability", self.base)
    }
    pub fn bridge_state(&self) -> String {
        format!("{}/bridge/state", self.base)
    }
    pub fn event(&self) -> String {
        format!("{}/bridge/event", self.base)
    }
    pub fn response(&self) -> String {
        format!("{}/bridge/response", self.base)
    }
    pub fn set_filter(&self) -> String {
        format!("{}/+/set", self.base)
    }
    pub fn get_filter(&self) -> String {
        format!("{}/+/get", self.base)
    }
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.ha_prefix)
    }

    /// Classifies an incoming topic; `None` for anything we did not ask for.
    pub fn parse<'a>(&self, topic: &'a str) -> Option<Request<'a>> {
        if topic == self.ha_status() {
            return Some(Request::HomeAssistantStatus);
        }
        let rest = topic.strip_prefix(&self.base)?.strip_prefix('/')?;
        let (device, verb) = rest.rsplit_once('/')?;
        if device.is_empty() || device.contains('/') {
            return None;
        }
        match verb {
            "set" => Some(Request::Set(device)),
            "get" => Some(Request::Get(device)),
            _ => None,
        }
    }
}

pub fn availability_payload(reachable: bool) -> &'static str {
    if reachable {
        "online"
    } else {
        "offline"
    }
}

/// The `<base>/bridge/event` payload of an event record (`None` for state records).
pub fn event_payload(record: &Record) -> Option<Vec<u8>> {
    let Record::Event {
        id,
        device,
        body,
        at_ms,
    } = record
    else {
        return None;
    };
    let mut v = serde_json::to_value(body).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("id".into(), json!(id));
        obj.insert("device".into(), json!(device));
        obj.insert("at_ms".into(), json!(at_ms));
    }
    Some(v.to_string().into_bytes())
}

/// A response on `<base>/bridge/response`.
pub fn response_payload(
    request_topic: &str,
    device: &str,
    result: Result<&device_types::State, &str>,
) -> Vec<u8> {
    let v = match result {
        Ok(state) => {
            json!({"request_topic": request_topic, "device": device, "status": "ok", "state": state})
        }
        Err(e) => {
            json!({"request_topic": request_topic, "device": device, "status": "error", "error": e})
        }
    };
    v.to_string().into_bytes()
}

/// Whether a record is an availability event and with which value.
pub fn availability_of(record: &Record) -> Option<bool> {
    match record {
        Record::Event {
            body: EventBody::Availability { reachable },
            ..
        } => Some(*reachable),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_our_request_topics() {
        let t = Topics {
            base: "home/hb".into(),
            ha_prefix: "homeassistant".into(),
        };
        assert_eq!(t.parse("home/hb/lamp/set"), Some(Request::Set("lamp")));
        assert_eq!(t.parse("home/hb/lamp/get"), Some(Request::Get("lamp")));
        assert_eq!(
            t.parse("homeassistant/status"),
            Some(Request::HomeAssistantStatus)
        );
        assert_eq!(t.parse("home/hb/set"), None);
        assert_eq!(t.parse("home/hb//set"), None);
        assert_eq!(t.parse("home/hb/a/b/set"), None);
        assert_eq!(t.parse("home/hbx/lamp/set"), None);
        assert_eq!(t.parse("home/hb/lamp/availability"), None);
    }
}
