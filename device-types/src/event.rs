//! Device events: things that happen on a device without changing its state (a button press).
//!
//! Events are not state: the registry never stores or coalesces them, it broadcasts each one once.
//! JSON form (the API body, the connectors' payload): `{"press": "double"}`, optionally with the
//! button of a multi-button remote, `{"press": "single", "button": "2"}`. `press` is one of
//! `single`, `double`, `triple`, `quadruple`, a count `1..=`[`MAX_PRESS_COUNT`], `long` (a complete
//! long press: pressed, held, released), `hold` (pressed and still held) or `release` (the end of a
//! `hold`). Every error names the field and the value.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validate::ValidationError;
use crate::DeviceKind;

/// The most presses one multi-press event may count.
pub const MAX_PRESS_COUNT: u8 = 8;
/// The longest `button` name accepted.
pub const MAX_BUTTON_LEN: usize = 32;

/// How a momentary button was pressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Press {
    /// Pressed and released `n` times in quick succession (1 = a single press).
    Short(u8),
    /// Pressed, held past the long-press time, released.
    Long,
    /// Pressed and held past the long-press time, not released yet.
    Hold,
    /// Released after a [`Press::Hold`].
    Release,
}

impl Press {
    /// The JSON spelling: `single`/`double`/`triple`/`quadruple` for 1..=4 presses, the count
    /// beyond, `long`, `hold`, `release`.
    pub fn to_json_value(&self) -> Value {
        match self {
            Press::Short(1) => "single".into(),
            Press::Short(2) => "double".into(),
            Press::Short(3) => "triple".into(),
            Press::Short(4) => "quadruple".into(),
            Press::Short(n) => Value::from(*n),
            Press::Long => "long".into(),
            Press::Hold => "hold".into(),
            Press::Release => "release".into(),
        }
    }

    /// Parses the `press` field.
    pub fn from_json_value(v: &Value) -> Result<Press, ValidationError> {
        let reason = format!(
            "must be one of single, double, triple, quadruple, long, hold, release, or a press count 1..={MAX_PRESS_COUNT}"
        );
        match v {
            Value::String(s) => Ok(match s.as_str() {
                "single" => Press::Short(1),
                "double" => Press::Short(2),
                "triple" => Press::Short(3),
                "quadruple" => Press::Short(4),
                "long" => Press::Long,
                "hold" => Press::Hold,
                "release" => Press::Release,
                _ => return Err(ValidationError::new("press", format!("{s:?}"), reason)),
            }),
            Value::Number(n) => match n.as_u64() {
                Some(c) if (1..=u64::from(MAX_PRESS_COUNT)).contains(&c) => {
                    Ok(Press::Short(c as u8))
                }
                _ => Err(ValidationError::new("press", n.to_string(), reason)),
            },
            other => Err(ValidationError::new("press", other.to_string(), reason)),
        }
    }
}

impl std::fmt::Display for Press {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_json_value() {
            Value::String(s) => f.write_str(&s),
            v => write!(f, "{v}"),
        }
    }
}

impl Serialize for Press {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Press {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Press::from_json_value(&v).map_err(serde::de::Error::custom)
    }
}

/// One device event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DeviceEvent {
    /// A momentary button was pressed (Generic Switch).
    Press {
        /// How it was pressed.
        press: Press,
        /// Which button of a multi-button remote, as the source names it (`"2"`, `"left"`);
        /// `None` for a single-button device.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        button: Option<String>,
    },
}

impl DeviceEvent {
    /// A press of the only button.
    pub fn press(press: Press) -> DeviceEvent {
        DeviceEvent::Press {
            press,
            button: None,
        }
    }

    /// The event's name as connectors and logs show it (`press`).
    pub fn name(&self) -> &'static str {
        match self {
            DeviceEvent::Press { .. } => "press",
        }
    }

    /// Parses `{"press": ..., "button"?: ...}` text; errors name the field and the value.
    pub fn from_json(s: &str) -> Result<DeviceEvent, ValidationError> {
        let value: Value = serde_json::from_str(s).map_err(|e| {
            ValidationError::new(
                "$",
                s.chars().take(64).collect::<String>(),
                format!("not valid JSON: {e}"),
            )
        })?;
        match value {
            Value::Object(map) => DeviceEvent::from_json_object(&map),
            other => Err(ValidationError::new(
                "$",
                other.to_string(),
                "must be a JSON object such as {\"press\": \"single\"}",
            )),
        }
    }

    /// Like [`DeviceEvent::from_json`], for an already-parsed JSON object.
    pub fn from_json_object(map: &Map<String, Value>) -> Result<DeviceEvent, ValidationError> {
        let mut press = None;
        let mut button = None;
        for (key, v) in map {
            match key.as_str() {
                "press" => press = Some(Press::from_json_value(v)?),
                "button" => {
                    let name = match v {
                        Value::String(s) if !s.is_empty() && s.len() <= MAX_BUTTON_LEN => s.clone(),
                        Value::Number(n) if n.is_u64() => n.to_string(),
                        other => {
                            return Err(ValidationError::new(
                                "button",
                                other.to_string(),
                                format!("must be a button name of 1..={MAX_BUTTON_LEN} bytes or a button number"),
                            ))
                        }
                    };
                    button = Some(name);
                }
                other => {
                    return Err(ValidationError::new(
                        other,
                        v.to_string(),
                        "unknown event field (fields: press, button)",
                    ))
                }
            }
        }
        let press = press.ok_or_else(|| {
            ValidationError::new("press", "(missing)", "an event needs a `press` field")
        })?;
        Ok(DeviceEvent::Press { press, button })
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

impl<'de> Deserialize<'de> for DeviceEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(map) => {
                DeviceEvent::from_json_object(&map).map_err(serde::de::Error::custom)
            }
            other => Err(serde::de::Error::custom(format!(
                "an event must be a JSON object, not {other}"
            ))),
        }
    }
}

impl DeviceKind {
    /// The events a device of this kind can raise (`press` for a generic switch, none otherwise).
    pub fn event_names(&self) -> &'static [&'static str] {
        match self {
            DeviceKind::GenericSwitch => &["press"],
            _ => &[],
        }
    }

    /// Checks that this kind can raise `event`: a press on a lock is refused, naming the field
    /// and the value.
    pub fn validate_event(&self, event: &DeviceEvent) -> Result<(), ValidationError> {
        let name = event.name();
        if !self.event_names().contains(&name) {
            let value = match event {
                DeviceEvent::Press { press, .. } => press.to_string(),
            };
            let events = self.event_names();
            return Err(ValidationError::new(
                name,
                value,
                if events.is_empty() {
                    format!("a {self} raises no events")
                } else {
                    format!(
                        "event does not apply to a {self} (its events: {})",
                        events.join(", ")
                    )
                },
            ));
        }
        Ok(())
    }
}
