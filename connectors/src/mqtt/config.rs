//! `[[connectors]] type = "mqtt"`: broker address, protocol, credentials, TLS, topics, Home Assistant.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::check::{in_range, invalid};
use crate::outbox::OutboxConfig;
use crate::retry::RetryConfig;
use crate::Error;

pub use crate::link::Protocol;

/// A secret from the config file: never printed (Debug and serialisation show `***`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// `[connectors.tls]`: TLS with server verification (always on).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttTls {
    /// Required. PEM file of the CA(s) that signed the broker's certificate.
    pub ca_file: PathBuf,
    /// PEM client certificate chain, for brokers that require client certificates (with `client_key_file`).
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
}

/// One MQTT connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// Required. `[a-z0-9][a-z0-9_-]{0,31}`; commands from it have origin `cloud:<name>`.
    pub name: String,
    /// Required. Broker host name or IP address (for TLS, the name in the broker's certificate).
    pub host: String,
    /// Broker port; default 1883, or 8883 with TLS.
    #[serde(default)]
    pub port: Option<u16>,
    /// `"3.1.1"` (default) or `"5"`.
    #[serde(default)]
    pub protocol: Protocol,
    /// Default `hubbridge-<name>`.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// Password (prefer `password_file`: the config file may be world-readable).
    #[serde(default)]
    pub password: Option<Secret>,
    /// File whose first line is the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// MQTT keep-alive in seconds, 5..=3600. Default 30.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_secs: u64,
    /// Topic prefix; default `hubbridge`.
    #[serde(default = "default_base")]
    pub base_topic: String,
    /// Publish Home Assistant MQTT discovery. Default true.
    #[serde(default = "yes")]
    pub homeassistant: bool,
    /// Home Assistant discovery prefix. Default `homeassistant`.
    #[serde(default = "default_ha_prefix")]
    pub homeassistant_prefix: String,
    /// Publishes awaiting PUBACK at once, 1..=1000. Default 100.
    #[serde(default = "default_inflight")]
    pub max_inflight: u16,
    /// Largest MQTT packet sent or accepted, 1024..=268435455. Default 1 MiB. With MQTT 5 the broker's
    /// Maximum Packet Size (CONNACK) lowers it; a record that does not fit goes to the dead letters.
    #[serde(default = "default_max_packet")]
    pub max_packet_bytes: u32,
    #[serde(default)]
    pub tls: Option<MqttTls>,
    /// Allow a password over plain TCP (no `[connectors.tls]`), where anyone on the path can read it.
    /// Default false: such a config is refused.
    #[serde(default)]
    pub allow_insecure: bool,
    #[serde(default)]
    pub outbox: OutboxConfig,
    #[serde(default)]
    pub retry: RetryConfig,
}

fn default_keep_alive() -> u64 {
    30
}
fn default_base() -> String {
    "hubbridge".to_owned()
}
fn yes() -> bool {
    true
}
fn default_ha_prefix() -> String {
    "homeassistant".to_owned()
}
fn default_inflight() -> u16 {
    100
}
fn default_max_packet() -> u32 {
    1024 * 1024
}

impl MqttConfig {
    pub fn port(&self) -> u16 {
        self.port
            .unwrap_or(if self.tls.is_some() { 8883 } else { 1883 })
    }

    pub fn client_id(&self) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| format!("hubbridge-{}", self.name))
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let name = &self.name;
        if self.host.trim().is_empty() {
            return Err(invalid(name, "host", "\"\"", "must not be empty"));
        }
        if self.port == Some(0) {
            return Err(invalid(name, "port", 0, "must not be 0"));
        }
        in_range(name, "keep_alive_secs", self.keep_alive_secs, 5..=3600)?;
        for (key, topic) in [
            ("base_topic", &self.base_topic),
            ("homeassistant_prefix", &self.homeassistant_prefix),
        ] {
            if topic.is_empty()
                || topic.starts_with('/')
                || topic.ends_with('/')
                || topic.contains(['+', '#', '\0'])
            {
                return Err(invalid(
                    name,
                    key,
                    format!("{topic:?}"),
                    "must be a non-empty topic without wildcards or leading/trailing '/'",
                ));
            }
        }
        in_range(name, "max_inflight", self.max_inflight, 1..=1000)?;
        in_range(
            name,
            "max_packet_bytes",
            self.max_packet_bytes,
            1024..=268_435_455,
        )?;
        if self.password.is_some() && self.password_file.is_some() {
            return Err(invalid(
                name,
                "password_file",
                "(set)",
                "give either password or password_file, not both",
            ));
        }
        if (self.password.is_some() || self.password_file.is_some()) && self.username.is_none() {
            return Err(invalid(
                name,
                "username",
                "(unset)",
                "a password needs a username",
            ));
        }
        let has_password = self.password.is_some() || self.password_file.is_some();
        if has_password && self.tls.is_none() && !self.allow_insecure {
            return Err(invalid(
                name,
                "tls",
                "(unset)",
                "a password would be sent over plain TCP: add a [connectors.tls] table, or set \
                 allow_insecure = true to accept that",
            ));
        }
        if let Some(tls) = &self.tls {
            if tls.client_cert_file.is_some() != tls.client_key_file.is_some() {
                return Err(invalid(
                    name,
                    "tls.client_key_file",
                    "(half set)",
                    "give both tls.client_cert_file and tls.client_key_file, or neither",
                ));
            }
        }
        Ok(())
    }

    /// Username and password, reading `password_file` now (so a rotated password applies at reconnect).
    pub(crate) fn credentials(&self) -> Result<Option<(String, String)>, Error> {
        let Some(user) = &self.username else {
            return Ok(None);
        };
        let password = match (&self.password, &self.password_file) {
            (Some(p), _) => p.0.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .map_err(|e| Error::Credentials {
                    connector: self.name.clone(),
                    what: "password file",
                    path: file.display().to_string(),
                    reason: e.to_string(),
                })?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, None) => String::new(),
        };
        Ok(Some((user.clone(), password)))
    }
}
