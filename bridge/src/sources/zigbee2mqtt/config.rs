//! `[[sources]] type = "zigbee2mqtt"`: the broker (as the MQTT connector's), the base topic, which
//! devices to bridge, and per-device overrides.

use std::collections::BTreeMap;
use std::path::PathBuf;

use connectors::mqtt::{MqttTls, Secret};
use device_types::DeviceKind;
use serde::{Deserialize, Serialize};

use crate::config::{check_label, ConfigError};

/// Largest MQTT packet accepted from the broker: a `bridge/devices` of a few thousand devices
/// (about 4 KB each) is legitimate.
pub const DEFAULT_MAX_PACKET: usize = 64 * 1024 * 1024;

/// One Zigbee2MQTT instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zigbee2MqttConfig {
    /// Required. `[a-z0-9][a-z0-9_-]{0,31}`; the source is `zigbee2mqtt:<name>` and its device ids
    /// are `z2m-<name>-<ieee address>`.
    pub name: String,
    /// Required. Broker host name or IP address (for TLS, the name in the broker's certificate).
    pub host: String,
    /// Broker port; default 1883, or 8883 with TLS.
    #[serde(default)]
    pub port: Option<u16>,
    /// Default `hubbridge-z2m-<name>`.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// Password (prefer `password_file`).
    #[serde(default)]
    pub password: Option<Secret>,
    /// File whose first line is the password (read at every connect).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// MQTT keep-alive in seconds, 5..=3600. Default 30.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_secs: u64,
    #[serde(default)]
    pub tls: Option<MqttTls>,
    /// Allow a password over plain TCP (no `[sources.tls]`), where anyone on the path can read it.
    /// Default false: such a config is refused.
    #[serde(default)]
    pub allow_insecure: bool,
    /// Zigbee2MQTT's `mqtt.base_topic`. Default `zigbee2mqtt`.
    #[serde(default = "default_base")]
    pub base_topic: String,
    /// Bridge only these devices (friendly names or IEEE addresses); empty = all.
    #[serde(default)]
    pub include: Vec<String>,
    /// Never bridge these devices (friendly names or IEEE addresses).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Merge window per device, 0..=2000 ms. Default 100. A command for a device that had no `/set`
    /// within the window goes out at once; those arriving while it is open go out together, in one
    /// `/set`, when it closes (see `commands`).
    #[serde(default = "default_merge")]
    pub merge_ms: u64,
    /// Largest MQTT message accepted, in bytes, 1 MiB..=256 MiB. Default 64 MiB.
    #[serde(default = "default_max_packet")]
    pub max_packet_bytes: usize,
    /// Largest device state message handled, in bytes, 1 KiB..=1 MiB; longer ones are logged and
    /// ignored. Default 64 KiB.
    #[serde(default = "default_max_state")]
    pub max_state_bytes: usize,
    /// Per-device overrides, keyed by IEEE address (`0x00158d0001a2b3c4`) or friendly name.
    #[serde(default)]
    pub devices: BTreeMap<String, DeviceOverride>,
}

/// `[sources.devices."<ieee or friendly name>"]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceOverride {
    /// Use this kind instead of the one mapped from the exposes (it must fit what the device has).
    #[serde(default)]
    pub kind: Option<DeviceKind>,
    /// Name shown to controllers instead of the friendly name; at most 32 bytes.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub room: Option<String>,
}

fn default_keep_alive() -> u64 {
    30
}
fn default_base() -> String {
    "zigbee2mqtt".to_owned()
}
fn default_merge() -> u64 {
    100
}
fn default_max_packet() -> usize {
    DEFAULT_MAX_PACKET
}
fn default_max_state() -> usize {
    64 * 1024
}

impl Zigbee2MqttConfig {
    /// The source's name as the registry knows it (`zigbee2mqtt:<name>`).
    pub fn source_name(&self) -> String {
        format!("zigbee2mqtt:{}", self.name)
    }

    pub fn port(&self) -> u16 {
        self.port
            .unwrap_or(if self.tls.is_some() { 8883 } else { 1883 })
    }

    pub fn client_id(&self) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| format!("hubbridge-z2m-{}", self.name))
    }

    /// Username and password, reading `password_file` now (so a rotated password applies at reconnect).
    pub fn credentials(&self) -> Result<Option<(String, String)>, String> {
        let Some(user) = &self.username else {
            return Ok(None);
        };
        let password = match (&self.password, &self.password_file) {
            (Some(p), _) => p.0.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .map_err(|e| format!("password_file {}: {e}", file.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, None) => String::new(),
        };
        Ok(Some((user.clone(), password)))
    }

    /// Whether the device with this IEEE address and friendly name is bridged.
    pub fn wanted(&self, ieee: &str, friendly_name: &str) -> bool {
        let hit = |list: &[String]| {
            list.iter()
                .any(|e| e.eq_ignore_ascii_case(ieee) || e == friendly_name)
        };
        (self.include.is_empty() || hit(&self.include)) && !hit(&self.exclude)
    }

    /// The override for a device, by IEEE address first, then friendly name.
    pub fn override_for(&self, ieee: &str, friendly_name: &str) -> Option<&DeviceOverride> {
        self.devices
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(ieee))
            .or_else(|| self.devices.iter().find(|(k, _)| *k == friendly_name))
            .map(|(_, v)| v)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &'static str, value: String, reason: &str| ConfigError::Source {
            source_name: self.name.clone(),
            key,
            value,
            reason: reason.to_owned(),
        };
        if !valid_name(&self.name) {
            return Err(err(
                "name",
                format!("{:?}", self.name),
                "must match [a-z0-9][a-z0-9_-]{0,31}",
            ));
        }
        if self.host.trim().is_empty() {
            return Err(err("host", "\"\"".into(), "must not be empty"));
        }
        if self.port == Some(0) {
            return Err(err("port", "0".into(), "must not be 0"));
        }
        if !(5..=3600).contains(&self.keep_alive_secs) {
            return Err(err(
                "keep_alive_secs",
                self.keep_alive_secs.to_string(),
                "must be between 5 and 3600",
            ));
        }
        let topic = &self.base_topic;
        if topic.is_empty()
            || topic.starts_with('/')
            || topic.ends_with('/')
            || topic.contains(['+', '#', '\0'])
        {
            return Err(err(
                "base_topic",
                format!("{topic:?}"),
                "must be a non-empty topic without wildcards or leading/trailing '/'",
            ));
        }
        if self.merge_ms > 2000 {
            return Err(err(
                "merge_ms",
                self.merge_ms.to_string(),
                "must be between 0 and 2000",
            ));
        }
        if !(1 << 20..=256 << 20).contains(&self.max_packet_bytes) {
            return Err(err(
                "max_packet_bytes",
                self.max_packet_bytes.to_string(),
                "must be between 1048576 (1 MiB) and 268435456 (256 MiB)",
            ));
        }
        if !(1 << 10..=1 << 20).contains(&self.max_state_bytes) {
            return Err(err(
                "max_state_bytes",
                self.max_state_bytes.to_string(),
                "must be between 1024 and 1048576",
            ));
        }
        if self.password.is_some() && self.password_file.is_some() {
            return Err(err(
                "password_file",
                "(set)".into(),
                "give either password or password_file, not both",
            ));
        }
        if (self.password.is_some() || self.password_file.is_some()) && self.username.is_none() {
            return Err(err(
                "username",
                "(unset)".into(),
                "a password needs a username",
            ));
        }
        let has_password = self.password.is_some() || self.password_file.is_some();
        if has_password && self.tls.is_none() && !self.allow_insecure {
            return Err(err(
                "tls",
                "(unset)".into(),
                "a password would be sent over plain TCP: add a [sources.tls] table, or set \
                 allow_insecure = true to accept that",
            ));
        }
        if let Some(tls) = &self.tls {
            if tls.client_cert_file.is_some() != tls.client_key_file.is_some() {
                return Err(err(
                    "tls.client_key_file",
                    "(half set)".into(),
                    "give both tls.client_cert_file and tls.client_key_file, or neither",
                ));
            }
        }
        for (key, o) in &self.devices {
            if let Some(name) = &o.name {
                check_label(name).map_err(|reason| ConfigError::Source {
                    source_name: self.name.clone(),
                    key: "devices.<device>.name",
                    value: format!("{key:?}: {name:?}"),
                    reason: reason.to_owned(),
                })?;
            }
            if let Some(room) = &o.room {
                crate::config::check_room(room).map_err(|reason| ConfigError::Source {
                    source_name: self.name.clone(),
                    key: "devices.<device>.room",
                    value: format!("{key:?}: {:?}", room.chars().take(40).collect::<String>()),
                    reason: reason.to_owned(),
                })?;
            }
        }
        Ok(())
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
