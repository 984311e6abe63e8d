//! The configuration file: its shape (one TOML file, unknown keys rejected), defaults, and validation.
//!
//! Every option is documented in `bridge/hubbridge.example.toml`, which the tests load. The built-in demo
//! configuration (used when `hubbridge run` is given no `--config`) lives in [`demo`].

mod api;
mod demo;
pub mod nodes;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use connectors::ConnectorConfig;

pub use crate::sources::zigbee2mqtt::config::{DeviceOverride, Zigbee2MqttConfig};
use device_types::{DeviceKind, PartSpec, Shape, State, ValidationError, With};
use serde::{Deserialize, Serialize};

pub use api::{check_token_name, ApiConfig};
pub use nodes::{NodeConfig, MAIN_NODE, MAX_NODES};

/// Longest name or label Matter accepts (NodeLabel and friends are `string max 32`), in bytes.
pub const MAX_LABEL_BYTES: usize = 32;
/// Longest device id: `[a-z0-9][a-z0-9_-]{0,63}`.
pub const MAX_ID_LEN: usize = 64;

/// Anything wrong with a configuration file or a device specification.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type (the message names key and line).
    #[error("{error}")]
    Parse { error: Box<toml::de::Error> },
    /// A file that failed to parse or validate; wraps the reason with the file's path.
    #[error("config file {path}: {error}")]
    InFile {
        path: PathBuf,
        error: Box<ConfigError>,
    },
    /// A bridge-wide setting has a value that is not allowed.
    #[error("`{key}` = {value}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
    /// A device specification has a field with a value that is not allowed.
    #[error("device `{id}`: `{field}` = {value}: {reason}")]
    Device {
        id: String,
        field: &'static str,
        value: String,
        reason: String,
    },
    /// A device's initial state does not fit its kind.
    #[error("device `{id}`: invalid initial state: {error}")]
    DeviceState { id: String, error: ValidationError },
    /// A device's `parts` break a rule (the error names the field and the value).
    #[error("device `{id}`: {error}")]
    Part { id: String, error: ValidationError },
    /// Two devices share one id.
    #[error("device id `{0}` is used by more than one device")]
    DuplicateDevice(String),
    /// A `[[connectors]]` table has a value that is not allowed.
    #[error(transparent)]
    Connector(#[from] connectors::Error),
    /// Two connectors share one name.
    #[error("connector name `{0}` is used by more than one connector")]
    DuplicateConnector(String),
    /// A `[[sources]]` table has a value that is not allowed.
    #[error("source `{source_name}`: `{key}` = {value}: {reason}")]
    Source {
        source_name: String,
        key: &'static str,
        value: String,
        reason: String,
    },
    /// Two sources share one name.
    #[error("source name `{0}` is used by more than one source")]
    DuplicateSource(String),
    /// A `[[nodes]]` table has a field with a value that is not allowed.
    #[error("node `{id}`: `{field}` = {value}: {reason}")]
    Node {
        id: String,
        field: &'static str,
        value: String,
        reason: String,
    },
    /// Two `[[nodes]]` share one id.
    #[error("node id `{0}` is used by more than one node")]
    DuplicateNode(String),
}

/// The whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub bridge: BridgeConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default, rename = "virtual")]
    pub virtual_: VirtualConfig,
    #[serde(default)]
    pub devices: Vec<DeviceConfig>,
    /// `[[connectors]]`: cloud connectors, any number (tagged by `type`).
    #[serde(default)]
    pub connectors: Vec<ConnectorConfig>,
    /// `[[sources]]`: device sources besides the virtual one, any number (tagged by `type`).
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// `[[nodes]]`: further Matter nodes, each serving a selection of the devices (see [`nodes`]).
    #[serde(default)]
    pub nodes: Vec<NodeConfig>,
}

/// One `[[sources]]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SourceConfig {
    /// A Zigbee2MQTT instance, through its MQTT broker.
    #[serde(rename = "zigbee2mqtt")]
    Zigbee2mqtt(Zigbee2MqttConfig),
}

impl SourceConfig {
    /// The registry's name of the source (`zigbee2mqtt:<name>`).
    pub fn source_name(&self) -> String {
        match self {
            SourceConfig::Zigbee2mqtt(c) => c.source_name(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        match self {
            SourceConfig::Zigbee2mqtt(c) => c.validate(),
        }
    }
}

/// `[bridge]`: the Matter node itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BridgeConfig {
    /// Node label and the base of the mDNS host name; at most 32 bytes.
    pub name: String,
    /// Matter vendor id; 0xFFF1 is a test vendor id.
    pub vendor_id: u16,
    /// Matter product id.
    pub product_id: u16,
    /// Matter UDP port.
    pub port: u16,
    /// Network interfaces for Matter and mDNS; empty means every non-loopback multicast interface.
    pub interfaces: Vec<String>,
    /// Where identities, fabrics and API-added devices are kept.
    pub storage_dir: PathBuf,
    /// Use the well-known test passcode 20202021 and discriminator 3840 (for tests only).
    pub test_passcode: bool,
    /// Seconds the commissioning window stays closed after too many failed passcode attempts; doubles
    /// with each revocation. 1..=86400, default 60.
    pub commissioning_backoff_secs: u64,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            name: "hubbridge".to_owned(),
            vendor_id: 0xFFF1,
            product_id: 0x8001,
            port: 5540,
            interfaces: Vec::new(),
            storage_dir: PathBuf::from("/var/lib/hubbridge"),
            test_passcode: false,
            commissioning_backoff_secs: 60,
        }
    }
}

/// `[virtual]`: the simulated device source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VirtualConfig {
    /// Let simulated sensors wander (temperature, humidity, occupancy, contact).
    pub drift: bool,
    /// Seconds between two drift steps; 1..=86400.
    pub drift_interval_secs: u64,
    /// Seconds a simulated window covering takes from fully open to fully closed; a move of part of
    /// the way takes that share of it. 0..=600, 0 = at once.
    pub cover_travel_secs: u64,
}

/// Full travel of a simulated window covering: roller shades take 10–30 s; the short end keeps the
/// demo responsive while a controller still sees it move.
pub const DEFAULT_COVER_TRAVEL_SECS: u64 = 10;

impl Default for VirtualConfig {
    fn default() -> Self {
        VirtualConfig {
            drift: false,
            drift_interval_secs: 30,
            cover_travel_secs: DEFAULT_COVER_TRAVEL_SECS,
        }
    }
}

/// One `[[devices]]` entry; also the body of `POST /api/devices`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Stable id, `[a-z0-9][a-z0-9_-]{0,63}`; the device keeps its Matter endpoint as long as the id stays.
    pub id: String,
    pub kind: DeviceKind,
    /// Other kinds and capabilities served on the same endpoint (`["humidity_sensor",
    /// "battery"]`); checked by `device_types::Shape::new` (no overlapping clusters or fields).
    #[serde(default, skip_serializing_if = "With::is_empty")]
    pub with: With,
    /// Name shown to controllers; at most 32 bytes.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Initial state, merged over the kind's default state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// `[[devices.parts]]`: functions on child endpoints of this device (a two-gang switch's
    /// gangs, a remote's buttons). Each becomes a device with id `<id>:<part>`; see
    /// `device_types::parts`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartSpec>,
}

impl Config {
    /// Parses and validates a configuration from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Parse { error: Box::new(e) })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a configuration file; errors name the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Config::from_toml_str(&text).map_err(|e| ConfigError::InFile {
            path: path.to_owned(),
            error: Box::new(e),
        })
    }

    /// The built-in demo: one device of each kind, drifting sensors, storage in `./hubbridge-data`.
    pub fn demo() -> Config {
        demo::demo()
    }

    /// Checks every rule the types cannot express. Call again after changing fields by hand.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.bridge.validate()?;
        self.api.validate()?;
        self.virtual_.validate()?;
        let mut seen = HashSet::new();
        for device in &self.devices {
            device.validate()?;
            if !seen.insert(device.id.as_str()) {
                return Err(ConfigError::DuplicateDevice(device.id.clone()));
            }
        }
        let mut names = HashSet::new();
        for connector in &self.connectors {
            connector.validate()?;
            if !names.insert(connector.name()) {
                return Err(ConfigError::DuplicateConnector(connector.name().to_owned()));
            }
        }
        nodes::validate(&self.nodes, self.bridge.port)?;
        let mut names = HashSet::new();
        for source in &self.sources {
            source.validate()?;
            if !names.insert(source.source_name()) {
                return Err(ConfigError::DuplicateSource(source.source_name()));
            }
        }
        Ok(())
    }
}

impl BridgeConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        check_label(&self.name)
            .map_err(|reason| invalid("bridge.name", quoted(&self.name), reason))?;
        if self.vendor_id == 0 {
            return Err(invalid("bridge.vendor_id", "0", "must not be 0"));
        }
        if self.product_id == 0 {
            return Err(invalid("bridge.product_id", "0", "must not be 0"));
        }
        if self.port == 0 {
            return Err(invalid("bridge.port", "0", "must not be 0"));
        }
        check_interfaces(&self.interfaces)
            .map_err(|(name, reason)| invalid("bridge.interfaces", quoted(name), reason))?;
        if self.storage_dir.as_os_str().is_empty() {
            return Err(invalid("bridge.storage_dir", "\"\"", "must not be empty"));
        }
        if !(1..=86_400).contains(&self.commissioning_backoff_secs) {
            return Err(invalid(
                "bridge.commissioning_backoff_secs",
                self.commissioning_backoff_secs.to_string(),
                "must be between 1 and 86400",
            ));
        }
        Ok(())
    }
}

impl VirtualConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=86_400).contains(&self.drift_interval_secs) {
            return Err(invalid(
                "virtual.drift_interval_secs",
                self.drift_interval_secs.to_string(),
                "must be between 1 and 86400",
            ));
        }
        if self.cover_travel_secs > 600 {
            return Err(invalid(
                "virtual.cover_travel_secs",
                self.cover_travel_secs.to_string(),
                "must be between 0 and 600",
            ));
        }
        Ok(())
    }
}

impl DeviceConfig {
    /// Checks the id, the name, the room and the initial state against the kind.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let device_err = |field, value: &str, reason: &str| ConfigError::Device {
            id: self.id.clone(),
            field,
            value: quoted(value),
            reason: reason.to_owned(),
        };
        check_id(&self.id).map_err(|reason| device_err("id", &self.id, reason))?;
        check_label(&self.name).map_err(|reason| device_err("name", &self.name, reason))?;
        if let Some(room) = &self.room {
            check_room(room).map_err(|reason| device_err("room", room, reason))?;
        }
        self.shape()?;
        self.initial_state()?;
        device_types::parts::validate_parts(self.kind, &self.parts).map_err(|error| {
            ConfigError::Part {
                id: self.id.clone(),
                error,
            }
        })?;
        for part in &self.parts {
            if let Some(name) = &part.name {
                check_label(name).map_err(|reason| ConfigError::Part {
                    id: self.id.clone(),
                    error: ValidationError::new("parts.name", quoted(name), reason),
                })?;
            }
        }
        Ok(())
    }

    /// The specification of each part as a device of its own: id `<id>:<part>`, the part's kind,
    /// `with` and state, its name (default `<name> <part>`), the parent's room.
    pub fn part_specs(&self) -> Vec<(DeviceConfig, &PartSpec)> {
        self.parts
            .iter()
            .map(|p| {
                let spec = DeviceConfig {
                    id: device_types::parts::part_id(&self.id, &p.id),
                    kind: p.kind,
                    with: p.with,
                    name: p.name.clone().unwrap_or_else(|| {
                        device_types::parts::default_part_name(&self.name, &p.id)
                    }),
                    room: self.room.clone(),
                    state: p.state.clone(),
                    parts: Vec::new(),
                };
                (spec, p)
            })
            .collect()
    }

    /// The device's shape (kind + `with`), checked.
    pub fn shape(&self) -> Result<Shape, ConfigError> {
        Shape::new(self.kind, self.with).map_err(|e| ConfigError::Device {
            id: self.id.clone(),
            field: "with",
            value: e.value,
            reason: e.reason,
        })
    }

    /// The shape's default state with this device's configured state merged over it, validated.
    pub fn initial_state(&self) -> Result<State, ConfigError> {
        let shape = self.shape()?;
        let state = match &self.state {
            Some(patch) => shape.default_state().merged(patch),
            None => shape.default_state(),
        };
        shape
            .validate(&state)
            .map_err(|error| ConfigError::DeviceState {
                id: self.id.clone(),
                error,
            })?;
        Ok(state)
    }
}

/// Checks a device id against `[a-z0-9][a-z0-9_-]{0,63}`.
pub fn check_id(id: &str) -> Result<(), &'static str> {
    let mut chars = id.chars();
    match chars.next() {
        None => return Err("must not be empty"),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            return Err("must start with a lowercase letter or a digit")
        }
        Some(_) => {}
    }
    if id.len() > MAX_ID_LEN {
        return Err("must be at most 64 characters");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err("may contain only a-z, 0-9, '-' and '_'");
    }
    Ok(())
}

/// Longest room name, in bytes of UTF-8. A room travels into Home Assistant discovery (`suggested_area`),
/// DeviceAdded events and cloud documents: bounded so no record can outgrow a connector's limits.
pub const MAX_ROOM_LEN: usize = 64;

/// Checks a room: not blank, at most [`MAX_ROOM_LEN`] bytes, no control characters.
pub fn check_room(room: &str) -> Result<(), &'static str> {
    if room.trim().is_empty() {
        return Err("must not be empty (leave it out instead)");
    }
    if room.len() > MAX_ROOM_LEN {
        return Err("must be at most 64 bytes of UTF-8");
    }
    if room.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(())
}

/// Checks a list of network interface names (Linux: 1..=15 bytes, no '/', ':' or whitespace; each once).
/// On error, the offending name and the reason.
pub fn check_interfaces(names: &[String]) -> Result<(), (&str, &'static str)> {
    let mut seen = HashSet::new();
    for name in names {
        if name.trim().is_empty() {
            return Err((name, "interface names must not be empty"));
        }
        if name.len() > 15 {
            return Err((name, "interface names are at most 15 bytes"));
        }
        if name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
        {
            return Err((name, "interface names have no '/', ':' or spaces"));
        }
        if !seen.insert(name) {
            return Err((name, "listed twice"));
        }
    }
    Ok(())
}

/// Checks a name or label against Matter's limit: not blank, at most 32 bytes of UTF-8.
pub fn check_label(label: &str) -> Result<(), &'static str> {
    if label.trim().is_empty() {
        return Err("must not be empty");
    }
    if label.len() > MAX_LABEL_BYTES {
        return Err("must be at most 32 bytes (the Matter label limit)");
    }
    Ok(())
}

fn invalid(key: &'static str, value: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.into(),
        reason: reason.into(),
    }
}

/// A value quoted for an error message, with control characters escaped.
/// A value quoted for an error message; a long one (a 1.5 MB room) is cut to its first 64 characters.
fn quoted(value: &str) -> String {
    if value.chars().count() <= 64 {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(64).collect();
    format!("{head:?}… ({} bytes)", value.len())
}
