//! Which Matter node serves which device, when the config has `[[nodes]]`.
//!
//! Node 0 is `[bridge]` (id `main`); node `i` is the `i`-th `[[nodes]]` entry. A device is on:
//! 1. the node whose `devices` lists its id, else
//! 2. the first node (in file order) whose selectors all match it — each of `rooms`, `kinds` and
//!    `sources` that is given must contain the device's room, kind or source — else
//! 3. the main node.
//!
//! A part (`<device>:<part>`) is on its device's node. Every input is something only the user sets
//! (id, kind, room and source come from the config file, a Zigbee2MQTT override or the API call that
//! added the device), so a device's node changes only when the user edits the selection or the
//! device; each node's start-up shape check then bumps its ConfigurationVersion, and the move is
//! logged (the device leaves one controller's list and has to be added on the other).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, NodeConfig, MAIN_NODE};
use crate::registry::Device;

/// The node selection of the whole config.
#[derive(Debug, Default)]
pub struct Selection {
    nodes: Vec<NodeConfig>,
}

impl Selection {
    pub fn new(nodes: &[NodeConfig]) -> Self {
        Selection {
            nodes: nodes.to_vec(),
        }
    }

    /// The node (0 = main) serving the top-level device `top`.
    pub fn node_of(&self, top: &Device) -> usize {
        if let Some(i) = self.nodes.iter().position(|n| n.devices.contains(&top.id)) {
            return i + 1;
        }
        let source = top.source.to_string();
        self.nodes
            .iter()
            .position(|n| {
                let any = !(n.rooms.is_empty() && n.kinds.is_empty() && n.sources.is_empty());
                any && (n.rooms.is_empty()
                    || top.room.as_ref().is_some_and(|r| n.rooms.contains(r)))
                    && (n.kinds.is_empty() || n.kinds.contains(&top.kind))
                    && (n.sources.is_empty() || n.sources.contains(&source))
            })
            .map_or(0, |i| i + 1)
    }

    /// The node id of node `index`.
    pub fn id(&self, index: usize) -> &str {
        match index {
            0 => MAIN_NODE,
            i => &self.nodes[i - 1].id,
        }
    }

    /// How many nodes there are, main included.
    pub fn len(&self) -> usize {
        self.nodes.len() + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// One node's share of the registry.
#[derive(Clone, Debug)]
pub struct Scope {
    selection: Arc<Selection>,
    index: usize,
}

impl Scope {
    /// Every device (a process with one node, and unit tests).
    pub fn all() -> Self {
        Scope {
            selection: Arc::new(Selection::default()),
            index: 0,
        }
    }

    pub fn new(selection: Arc<Selection>, index: usize) -> Self {
        Scope { selection, index }
    }

    /// This node's index (0 = main).
    pub fn index(&self) -> usize {
        self.index
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        self.selection.id(self.index)
    }

    /// Whether this node serves `device`; `parent` finds a part's device (by id).
    pub fn serves(&self, device: &Device, parent: impl FnOnce(&str) -> Option<Device>) -> bool {
        if self.selection.nodes.is_empty() {
            return true;
        }
        match &device.parent {
            None => self.selection.node_of(device) == self.index,
            Some(p) => parent(p).is_some_and(|top| self.selection.node_of(&top) == self.index),
        }
    }

    /// How many bridged (top-level) devices this node serves, as controllers count them.
    pub fn count(&self, registry: &crate::registry::Registry) -> usize {
        if self.selection.nodes.is_empty() {
            return registry.top_level_count();
        }
        registry.top_level_count_where(|d| self.selection.node_of(d) == self.index)
    }

    /// The devices of `all` this node serves (parts looked up in `all`).
    pub fn filter(&self, all: Vec<Device>) -> Vec<Device> {
        if self.selection.nodes.is_empty() {
            return all;
        }
        let node: HashMap<String, usize> = all
            .iter()
            .filter(|d| d.parent.is_none())
            .map(|d| (d.id.clone(), self.selection.node_of(d)))
            .collect();
        all.into_iter()
            .filter(|d| {
                let top = d.parent.as_ref().unwrap_or(&d.id);
                node.get(top) == Some(&self.index)
            })
            .collect()
    }
}

/// What starting one node needs from the config.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub id: String,
    pub name: String,
    pub port: u16,
    /// Its Matter state: fabrics, commissioning secrets, identity, shape fingerprint.
    pub storage_dir: PathBuf,
    pub test_passcode: bool,
    pub scope: Scope,
    /// Interfaces it is advertised on (its own `interfaces`, else `[bridge].interfaces`; empty: every
    /// non-loopback interface with IPv6).
    pub interfaces: Vec<String>,
    /// A bridge, or (`bridged = false`) its one device served as a node of its own.
    pub bridged: bool,
}

impl NodeSpec {
    /// Every node of `config`, main first.
    pub fn all(config: &Config) -> Vec<NodeSpec> {
        let selection = Arc::new(Selection::new(&config.nodes));
        let mut out = vec![NodeSpec {
            id: MAIN_NODE.to_owned(),
            name: config.bridge.name.clone(),
            port: config.bridge.port,
            storage_dir: config.bridge.storage_dir.clone(),
            test_passcode: config.bridge.test_passcode,
            scope: Scope::new(selection.clone(), 0),
            interfaces: config.bridge.interfaces.clone(),
            bridged: true,
        }];
        for (i, n) in config.nodes.iter().enumerate() {
            out.push(NodeSpec {
                id: n.id.clone(),
                name: n.label().to_owned(),
                port: n.port,
                storage_dir: node_storage(&config.bridge.storage_dir, &n.id),
                // The well-known test code on two nodes would let a manual code reach either one.
                test_passcode: false,
                scope: Scope::new(selection.clone(), i + 1),
                interfaces: if n.interfaces.is_empty() {
                    config.bridge.interfaces.clone()
                } else {
                    n.interfaces.clone()
                },
                bridged: n.bridged,
            });
        }
        out
    }

    /// The main node alone (`hubbridge pairing`, tests).
    pub fn main(config: &Config) -> NodeSpec {
        Self::all(config).swap_remove(0)
    }
}

/// Where node `id` keeps its Matter state.
pub fn node_storage(storage_dir: &Path, id: &str) -> PathBuf {
    storage_dir.join("nodes").join(id)
}

/// Remembers which node served each device at the last start and logs the devices that moved
/// (`<storage_dir>/node-assignment.json`).
pub fn log_moves(config: &Config, devices: &[Device], writer: &crate::writer::Writer) {
    let path = config.bridge.storage_dir.join("node-assignment.json");
    let selection = Selection::new(&config.nodes);
    let now: std::collections::BTreeMap<&str, &str> = devices
        .iter()
        .filter(|d| d.parent.is_none())
        .map(|d| (d.id.as_str(), selection.id(selection.node_of(d))))
        .collect();
    let before: HashMap<String, String> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    for (device, node) in &now {
        if let Some(old) = before.get(*device).filter(|old| old != node) {
            tracing::warn!(
                device,
                from = %old,
                to = node,
                "device moved to another Matter node by the config: it leaves the controllers of \
                 node `{old}`; add it on node `{node}`'s controller (re-pair that device)"
            );
        }
    }
    if before.len() != now.len()
        || now
            .iter()
            .any(|(d, n)| before.get(*d).map(String::as_str) != Some(*n))
    {
        match serde_json::to_vec_pretty(&now) {
            Ok(bytes) => writer.submit(&path, bytes),
            Err(e) => tracing::warn!(error = %e, "cannot record the node assignment"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::DeviceOrigin;
    use device_types::DeviceKind;

    fn node(id: &str, port: u16) -> NodeConfig {
        NodeConfig {
            id: id.into(),
            name: None,
            port,
            devices: vec![],
            rooms: vec![],
            kinds: vec![],
            sources: vec![],
            interfaces: vec![],
            bridged: true,
        }
    }

    fn device(id: &str, kind: DeviceKind, room: Option<&str>, source: DeviceOrigin) -> Device {
        Device {
            id: id.into(),
            kind,
            with: Default::default(),
            name: id.into(),
            room: room.map(str::to_owned),
            endpoint: 2,
            unique_id: String::new(),
            label: None,
            state: device_types::Shape::from(kind).default_state(),
            version: 0,
            reachable: true,
            source,
            unmapped: Vec::new(),
            settings: Default::default(),
            parent: None,
            tag: None,
            parts: Vec::new(),
            facets: Vec::new(),
        }
    }

    #[test]
    fn id_beats_attributes_and_the_first_matching_node_wins() {
        let mut kitchen = node("kitchen", 5541);
        kitchen.rooms = vec!["Kitchen".into()];
        kitchen.kinds = vec![DeviceKind::OnOffLight];
        let mut vacuum = node("vacuum", 5542);
        vacuum.devices = vec!["lamp".into()];
        let mut z2m = node("zigbee", 5543);
        z2m.sources = vec!["zigbee2mqtt:home".into()];
        let s = Selection::new(&[kitchen, vacuum, z2m]);
        let light = |id, room| device(id, DeviceKind::OnOffLight, room, DeviceOrigin::Config);
        assert_eq!(s.node_of(&light("a", Some("Kitchen"))), 1);
        // Rooms and kinds both given: both must match.
        assert_eq!(
            s.node_of(&device(
                "b",
                DeviceKind::ContactSensor,
                Some("Kitchen"),
                DeviceOrigin::Config
            )),
            0
        );
        assert_eq!(s.node_of(&light("c", None)), 0);
        // Listed by id on node 2, though node 1's selectors match it too.
        assert_eq!(s.node_of(&light("lamp", Some("Kitchen"))), 2);
        let z = device(
            "z",
            DeviceKind::ContactSensor,
            None,
            DeviceOrigin::Source("zigbee2mqtt:home".into()),
        );
        assert_eq!(s.node_of(&z), 3);
        assert_eq!(s.id(3), "zigbee");
        assert_eq!(s.id(0), "main");
    }

    #[test]
    fn a_part_is_on_its_devices_node() {
        let mut n = node("gang", 5541);
        n.devices = vec!["switch".into()];
        let selection = Arc::new(Selection::new(&[n]));
        let parent = device(
            "switch",
            DeviceKind::BridgedNode,
            None,
            DeviceOrigin::Config,
        );
        let mut part = device(
            "switch:l1",
            DeviceKind::OnOffLight,
            None,
            DeviceOrigin::Config,
        );
        part.parent = Some("switch".into());
        let other = device("other", DeviceKind::OnOffLight, None, DeviceOrigin::Config);
        let on_gang = Scope::new(selection.clone(), 1);
        let on_main = Scope::new(selection, 0);
        assert!(on_gang.serves(&part, |_| Some(parent.clone())));
        assert!(!on_main.serves(&part, |_| Some(parent.clone())));
        let all = vec![parent.clone(), part.clone(), other.clone()];
        let ids = |v: Vec<Device>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(ids(on_gang.filter(all.clone())), ["switch", "switch:l1"]);
        assert_eq!(ids(on_main.filter(all)), ["other"]);
        // A part whose device is unknown is served nowhere.
        assert!(!on_gang.serves(&part, |_| None));
    }
}
