//! `[[nodes]]`: further Matter nodes served by the same process, each with its own name, port,
//! storage, pairing code and fabrics, and a selection of the registry's devices. The `[bridge]`
//! node (id [`MAIN_NODE`]) serves every device no `[[nodes]]` entry selects.

use std::collections::{HashMap, HashSet};

use device_types::DeviceKind;
use serde::{Deserialize, Serialize};

use super::{check_id, check_label, check_room, quoted, ConfigError};

/// The id of the `[bridge]` node in the API, the CLI and the logs.
pub const MAIN_NODE: &str = "main";
/// Most Matter nodes one process serves (`[bridge]` included).
pub const MAX_NODES: usize = 16;

/// One `[[nodes]]` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Stable key: names the node's storage (`<storage_dir>/nodes/<id>`) and its API routes.
    /// Same rules as a device id; not `main`.
    pub id: String,
    /// Node label and the base of its mDNS host name; at most 32 bytes. Default: the id.
    #[serde(default)]
    pub name: Option<String>,
    /// Matter UDP port: not 0, not `[bridge].port`, not another node's.
    pub port: u16,
    /// Devices selected by id (a composed device's parts follow it). Wins over any other
    /// node's rooms/kinds/sources.
    #[serde(default)]
    pub devices: Vec<String>,
    /// Devices in one of these rooms.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// Devices of one of these kinds (the device's `kind`).
    #[serde(default)]
    pub kinds: Vec<DeviceKind>,
    /// Devices from one of these sources: `config`, `api` or `zigbee2mqtt:<name>`.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Network interfaces this node is advertised on (mDNS); empty: `[bridge].interfaces`.
    #[serde(default)]
    pub interfaces: Vec<String>,
    /// `false`: not a bridge but one device served as a Matter node of its own (no aggregator, no
    /// Bridged Node device type), for controllers that want a device on its own (Apple Home and a
    /// robot vacuum). Selects exactly one device, by id. Default `true`.
    #[serde(default = "yes")]
    pub bridged: bool,
}

fn yes() -> bool {
    true
}

impl NodeConfig {
    /// The node label (its `name`, else its id).
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    fn err(&self, field: &'static str, value: String, reason: &str) -> ConfigError {
        ConfigError::Node {
            id: self.id.clone(),
            field,
            value,
            reason: reason.to_owned(),
        }
    }

    fn validate(&self, bridge_port: u16) -> Result<(), ConfigError> {
        check_id(&self.id).map_err(|r| self.err("id", quoted(&self.id), r))?;
        if self.id == MAIN_NODE {
            return Err(self.err(
                "id",
                quoted(&self.id),
                "is the [bridge] node's id; choose another",
            ));
        }
        if let Some(name) = &self.name {
            check_label(name).map_err(|r| self.err("name", quoted(name), r))?;
        }
        if self.port == 0 {
            return Err(self.err("port", "0".into(), "must not be 0"));
        }
        if self.port == bridge_port {
            return Err(self.err(
                "port",
                self.port.to_string(),
                "is [bridge].port; every node needs its own UDP port",
            ));
        }
        crate::config::check_interfaces(&self.interfaces)
            .map_err(|(name, r)| self.err("interfaces", quoted(name), r))?;
        for d in &self.devices {
            check_id(d).map_err(|r| self.err("devices", quoted(d), r))?;
        }
        for room in &self.rooms {
            check_room(room).map_err(|r| self.err("rooms", quoted(room), r))?;
        }
        for source in &self.sources {
            let known = source == "config"
                || source == "api"
                || source
                    .strip_prefix("zigbee2mqtt:")
                    .is_some_and(|n| !n.is_empty());
            if !known {
                return Err(self.err(
                    "sources",
                    quoted(source),
                    "must be \"config\", \"api\" or \"zigbee2mqtt:<name>\"",
                ));
            }
        }
        if !self.bridged {
            if self.devices.len() != 1 {
                return Err(self.err(
                    "devices",
                    format!("{:?}", self.devices),
                    "a node with bridged = false is one device: list exactly one device id",
                ));
            }
            // Each list as it is written in the config.
            for (field, empty, value) in [
                (
                    "rooms",
                    self.rooms.is_empty(),
                    serde_json::to_string(&self.rooms),
                ),
                (
                    "kinds",
                    self.kinds.is_empty(),
                    serde_json::to_string(&self.kinds),
                ),
                (
                    "sources",
                    self.sources.is_empty(),
                    serde_json::to_string(&self.sources),
                ),
            ] {
                if !empty {
                    let value = value.unwrap_or_else(|_| "[…]".into());
                    return Err(self.err(
                        field,
                        value,
                        "a node with bridged = false selects its one device by id only",
                    ));
                }
            }
        }
        if self.devices.is_empty()
            && self.rooms.is_empty()
            && self.kinds.is_empty()
            && self.sources.is_empty()
        {
            return Err(self.err(
                "devices",
                "[]".into(),
                "the node selects nothing: give devices, rooms, kinds or sources",
            ));
        }
        Ok(())
    }
}

/// Checks every `[[nodes]]` entry and the rules between them.
pub fn validate(nodes: &[NodeConfig], bridge_port: u16) -> Result<(), ConfigError> {
    if nodes.len() >= MAX_NODES {
        return Err(ConfigError::Invalid {
            key: "nodes",
            value: format!("{} entries", nodes.len()),
            reason: format!(
                "at most {} (one process serves at most {MAX_NODES} nodes with [bridge])",
                MAX_NODES - 1
            ),
        });
    }
    let mut ids = HashSet::new();
    let mut ports = HashMap::new();
    let mut claimed: HashMap<&str, &str> = HashMap::new();
    for node in nodes {
        node.validate(bridge_port)?;
        if !ids.insert(node.id.as_str()) {
            return Err(ConfigError::DuplicateNode(node.id.clone()));
        }
        if let Some(other) = ports.insert(node.port, node.id.as_str()) {
            return Err(node.err(
                "port",
                node.port.to_string(),
                &format!("is node `{other}`'s port too"),
            ));
        }
        for d in &node.devices {
            if let Some(other) = claimed.insert(d.as_str(), node.id.as_str()) {
                if other != node.id {
                    return Err(node.err(
                        "devices",
                        quoted(d),
                        &format!("is selected by node `{other}` too; a device is on one node"),
                    ));
                }
            }
        }
    }
    Ok(())
}
