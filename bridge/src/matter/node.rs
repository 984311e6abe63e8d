//! The node's shape: endpoint 0 (root), endpoint 1 (aggregator) and one endpoint per bridged
//! device, added and removed at runtime. A composed device's parts are child endpoints of its
//! endpoint: the part's device types (no Bridged Node), its clusters, no Bridged Device Basic
//! Information, a Descriptor with the TagList feature when the part has a tag, and the parent's
//! Descriptor PartsList names them ([`PartsTree`]); the aggregator's PartsList names every
//! bridged endpoint, children included (the full-family pattern). Cluster metadata for each device kind is built once from
//! `device_types::ClusterSpec` (the single description of what a kind serves), taking access rights
//! and qualities from rs-matter's generated cluster tables.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use device_types::{ClusterSpec, Shape, Tag};
use rs_matter::dm::clusters::decl::{
    air_quality, boolean_state, bridged_device_basic_information as bdbi,
    carbon_dioxide_concentration_measurement, color_control, door_lock,
    electrical_energy_measurement, electrical_power_measurement, fan_control, flow_measurement,
    formaldehyde_concentration_measurement, groups, identify, illuminance_measurement,
    level_control, occupancy_sensing, on_off, pm_10_concentration_measurement,
    pm_25_concentration_measurement, power_source, power_topology, pressure_measurement,
    relative_humidity_measurement, scenes_management, smoke_co_alarm, switch,
    temperature_measurement, thermostat,
    total_volatile_organic_compounds_concentration_measurement as tvoc_concentration,
    window_covering,
};
use rs_matter::dm::clusters::desc::{self, ClusterHandler as _};
/// Bridged Node at its Matter 1.6 revision (3: Ecosystem Information and FabricSynchronizedNode,
/// neither of which applies to a plain bridge); rs-matter's constant still says 1.
pub const DEV_TYPE_BRIDGED_NODE: DeviceType = DeviceType {
    dtype: 0x0013,
    drev: 3,
};
/// Aggregator at its Matter 1.6 revision (2: Commissioner Control under FabricSynchronization,
/// which does not apply); rs-matter's constant still says 1.
pub const DEV_TYPE_AGGREGATOR: DeviceType = DeviceType {
    dtype: 0x000E,
    drev: 2,
};
/// Root Node at its Matter 1.6 revision (5: conditions for the Groupcast cluster, provisional in
/// 1.6, so nothing more to serve); rs-matter's constant still says 4.
pub const DEV_TYPE_ROOT_NODE: DeviceType = DeviceType {
    dtype: 0x0016,
    drev: 5,
};
use rs_matter::dm::{Attribute, Cluster, Command, DeviceType, Endpoint, Event, Metadata, Node};

use super::parts::semantic_tags;
pub use super::parts::PartsTree;
use rs_matter::{clusters, devices, root_endpoint};

/// Endpoint of the aggregator that lists every bridged device in its PartsList.
pub const AGGREGATOR_ENDPOINT: u16 = 1;
/// The Descriptor cluster id.
pub const DESCRIPTOR: u32 = 0x001D;
/// The Bridged Device Basic Information cluster id.
pub const BRIDGED_INFO: u32 = 0x0039;
/// Descriptor's PartsList attribute.
pub const PARTS_LIST: u32 = 0x0003;

/// Bridged Device Basic Information attributes this bridge serves.
pub mod bdbi_attr {
    pub const VENDOR_NAME: u32 = 1;
    pub const PRODUCT_NAME: u32 = 3;
    pub const NODE_LABEL: u32 = 5;
    pub const SERIAL_NUMBER: u32 = 15;
    pub const REACHABLE: u32 = 17;
    pub const UNIQUE_ID: u32 = 18;
}

const ROOT: Endpoint<'static> = Endpoint {
    device_types: devices!(DEV_TYPE_ROOT_NODE),
    ..root_endpoint!(eth)
};
const AGGREGATOR: Endpoint<'static> = Endpoint::new(
    AGGREGATOR_ENDPOINT,
    devices!(DEV_TYPE_AGGREGATOR),
    clusters!(desc::DescHandler::CLUSTER),
);

/// The rs-matter metadata of one device shape: its device types and server clusters.
pub struct KindMeta {
    pub device_types: &'static [DeviceType],
    pub clusters: &'static [Cluster<'static>],
}

/// The generated, full cluster table for a cluster id this bridge knows how to serve.
fn full_cluster(id: u32) -> Option<&'static Cluster<'static>> {
    Some(match id {
        0x0003 => &identify::FULL_CLUSTER,
        0x0004 => &groups::FULL_CLUSTER,
        0x0006 => &on_off::FULL_CLUSTER,
        0x0008 => &level_control::FULL_CLUSTER,
        0x0045 => &boolean_state::FULL_CLUSTER,
        0x0101 => &door_lock::FULL_CLUSTER,
        0x0102 => &window_covering::FULL_CLUSTER,
        0x0201 => &thermostat::FULL_CLUSTER,
        0x0300 => &color_control::FULL_CLUSTER,
        0x0402 => &temperature_measurement::FULL_CLUSTER,
        0x0405 => &relative_humidity_measurement::FULL_CLUSTER,
        0x0406 => &occupancy_sensing::FULL_CLUSTER,
        0x003B => &switch::FULL_CLUSTER,
        0x0062 => &scenes_management::FULL_CLUSTER,
        0x002F => &power_source::FULL_CLUSTER,
        0x005B => &air_quality::FULL_CLUSTER,
        0x005C => &smoke_co_alarm::FULL_CLUSTER,
        0x0090 => &electrical_power_measurement::FULL_CLUSTER,
        0x0091 => &electrical_energy_measurement::FULL_CLUSTER,
        0x009C => &power_topology::FULL_CLUSTER,
        0x0202 => &fan_control::FULL_CLUSTER,
        0x0400 => &illuminance_measurement::FULL_CLUSTER,
        0x0403 => &pressure_measurement::FULL_CLUSTER,
        0x0404 => &flow_measurement::FULL_CLUSTER,
        0x040D => &carbon_dioxide_concentration_measurement::FULL_CLUSTER,
        0x042A => &pm_25_concentration_measurement::FULL_CLUSTER,
        0x042B => &formaldehyde_concentration_measurement::FULL_CLUSTER,
        0x042D => &pm_10_concentration_measurement::FULL_CLUSTER,
        0x042E => &tvoc_concentration::FULL_CLUSTER,
        _ => return None,
    })
}

/// Build rs-matter cluster metadata from a spec: only the listed attributes (plus the global
/// ones), commands and events are advertised.
pub fn cluster_from_spec(spec: &ClusterSpec) -> Result<Cluster<'static>, String> {
    let full = full_cluster(spec.id).ok_or_else(|| {
        format!(
            "cluster {:#06x} ({}) has no rs-matter table",
            spec.id, spec.name
        )
    })?;
    let attributes = pick(
        full.attributes,
        spec.attributes,
        |a: &Attribute| a.id,
        Attribute::is_system,
    )
    .map_err(|id| format!("cluster {} has no attribute {id:#06x}", spec.name))?;
    let commands = pick(full.commands, spec.commands, |c: &Command| c.id, |_| false)
        .map_err(|id| format!("cluster {} has no command {id:#04x}", spec.name))?;
    let events = pick(full.events, spec.events, |e: &Event| e.id, |_| false)
        .map_err(|id| format!("cluster {} has no event {id:#04x}", spec.name))?;
    let revision = if spec.revision == 0 {
        full.revision
    } else {
        spec.revision
    };
    Ok(Cluster::new(
        spec.id,
        revision,
        spec.feature_map,
        attributes,
        commands,
        events,
        |_, _, _| true,
        |_, _, _| true,
        |_, _, _| true,
    ))
}

/// Keep the items of `all` whose id is in `wanted` (or that `always` keeps); every wanted id must exist.
fn pick<T: Clone>(
    all: &[T],
    wanted: &[u32],
    id: impl Fn(&T) -> u32,
    always: impl Fn(&T) -> bool,
) -> Result<&'static [T], u32> {
    if let Some(missing) = wanted.iter().find(|w| !all.iter().any(|x| id(x) == **w)) {
        return Err(*missing);
    }
    let kept: Vec<T> = all
        .iter()
        .filter(|x| always(x) || wanted.contains(&id(x)))
        .cloned()
        .collect();
    Ok(Box::leak(kept.into_boxed_slice()))
}

/// The Bridged Device Basic Information cluster as served on every bridged endpoint.
fn bridged_info_cluster() -> Cluster<'static> {
    let spec = ClusterSpec {
        id: BRIDGED_INFO,
        name: "BridgedDeviceBasicInformation",
        revision: 0,
        feature_map: 0,
        attributes: &[
            bdbi_attr::VENDOR_NAME,
            bdbi_attr::PRODUCT_NAME,
            bdbi_attr::NODE_LABEL,
            bdbi_attr::SERIAL_NUMBER,
            bdbi_attr::REACHABLE,
            bdbi_attr::UNIQUE_ID,
        ],
        writable: &[bdbi_attr::NODE_LABEL],
        commands: &[],
        generated: &[],
        events: &[bdbi::EventId::ReachableChanged as u32],
    };
    let full = &bdbi::FULL_CLUSTER;
    let attributes = pick(
        full.attributes,
        spec.attributes,
        |a: &Attribute| a.id,
        Attribute::is_system,
    )
    .expect("BDBI attributes exist");
    let events =
        pick(full.events, spec.events, |e: &Event| e.id, |_| false).expect("BDBI events exist");
    Cluster::new(
        BRIDGED_INFO,
        full.revision,
        0,
        attributes,
        &[],
        events,
        |_, _, _| true,
        |_, _, _| true,
        |_, _, _| true,
    )
}

/// What an endpoint is to the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A bridged device: Bridged Node device type, Bridged Device Basic Information.
    Bridged,
    /// A part of a bridged device: neither of those; `tagged` adds the Descriptor TagList.
    Part { tagged: bool },
    /// The device of a non-bridged node (`[[nodes]] bridged = false`): its own device types and
    /// clusters, neither Bridged Node nor Bridged Device Basic Information (the node's Basic
    /// Information describes it).
    Standalone,
}

/// The metadata of a shape, built once per distinct shape and kept for the process's life (a
/// handful of shapes in any real configuration).
#[cfg(test)]
pub fn kind_meta(shape: impl Into<Shape>) -> &'static KindMeta {
    role_meta(shape.into(), Role::Bridged)
}

/// The metadata of a shape for an endpoint of the given role, built once per (shape, role).
pub fn role_meta(shape: Shape, role: Role) -> &'static KindMeta {
    static METAS: OnceLock<Mutex<HashMap<(Shape, Role), &'static KindMeta>>> = OnceLock::new();
    let metas = METAS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut metas = metas.lock().unwrap_or_else(|e| e.into_inner());
    metas.entry((shape, role)).or_insert_with(|| {
        Box::leak(Box::new(build_kind_meta(shape, role).unwrap_or_else(|e| {
            panic!("device-types spec for {shape} does not match rs-matter: {e}")
        })))
    })
}

fn build_kind_meta(shape: Shape, role: Role) -> Result<KindMeta, String> {
    let mut device_types: Vec<DeviceType> = shape
        .device_types()
        .iter()
        .map(|dt| DeviceType {
            dtype: dt.id as u16,
            drev: dt.revision,
        })
        .collect();
    // A bridged_node container's own device type already is Bridged Node; a part has none.
    let has_bridged_node = device_types
        .iter()
        .any(|d| d.dtype == DEV_TYPE_BRIDGED_NODE.dtype);
    if role == Role::Bridged && !has_bridged_node {
        device_types.push(DEV_TYPE_BRIDGED_NODE);
    }
    let device_types: &'static [DeviceType] = Box::leak(device_types.into_boxed_slice());
    let mut clusters = match role {
        Role::Bridged => vec![desc::DescHandler::CLUSTER, bridged_info_cluster()],
        Role::Standalone => vec![desc::DescHandler::CLUSTER],
        Role::Part { tagged: true } => vec![desc::CLUSTER_TAG_LIST],
        Role::Part { tagged: false } => vec![desc::DescHandler::CLUSTER],
    };
    for spec in shape.clusters() {
        clusters.push(cluster_from_spec(spec)?);
    }
    Ok(KindMeta {
        device_types,
        clusters: Box::leak(clusters.into_boxed_slice()),
    })
}

/// The node's endpoints. Mutated only by the bridge's sync loop on the Matter thread, between
/// operations; rs-matter reads it through `Metadata::access`.
pub struct BridgeNode {
    endpoints: RefCell<Vec<Endpoint<'static>>>,
    /// A non-bridged node: no aggregator, its device served as itself ([`Role::Standalone`]).
    standalone: bool,
    /// Parts' parents; leaked once per node so the Descriptor handler can hold it for 'static.
    tree: &'static PartsTree,
}

impl Default for BridgeNode {
    fn default() -> Self {
        Self::new()
    }
}

impl BridgeNode {
    pub fn new() -> Self {
        Self {
            endpoints: RefCell::new(vec![ROOT, AGGREGATOR]),
            standalone: false,
            tree: Box::leak(Box::default()),
        }
    }

    /// A node that is one device rather than a bridge: endpoint 0 and the device's endpoints.
    pub fn standalone() -> Self {
        Self {
            endpoints: RefCell::new(vec![ROOT]),
            standalone: true,
            tree: Box::leak(Box::default()),
        }
    }

    /// Who serves each bridged endpoint's PartsList.
    pub fn tree(&self) -> &'static PartsTree {
        self.tree
    }

    /// Add a bridged endpoint. Returns false if the endpoint already exists.
    pub fn add(&self, endpoint: u16, shape: impl Into<Shape>) -> bool {
        let role = if self.standalone {
            Role::Standalone
        } else {
            Role::Bridged
        };
        let meta = role_meta(shape.into(), role);
        self.insert(Endpoint::new(endpoint, meta.device_types, meta.clusters))
    }

    /// Add a part's endpoint under the bridged endpoint `parent`, with its tag as TagList.
    /// Returns false if the endpoint already exists.
    pub fn add_part(&self, endpoint: u16, shape: Shape, parent: u16, tag: Option<Tag>) -> bool {
        let meta = role_meta(
            shape,
            Role::Part {
                tagged: tag.is_some(),
            },
        );
        let mut ep = Endpoint::new(endpoint, meta.device_types, meta.clusters);
        if let Some(tag) = tag {
            ep = ep.with_tags(semantic_tags(tag));
        }
        if !self.insert(ep) {
            return false;
        }
        self.tree.map().insert(endpoint, parent);
        true
    }

    fn insert(&self, endpoint: Endpoint<'static>) -> bool {
        let mut eps = self.endpoints.borrow_mut();
        match eps.binary_search_by_key(&endpoint.id, |e| e.id) {
            Ok(_) => false,
            Err(pos) => {
                eps.insert(pos, endpoint);
                true
            }
        }
    }

    /// Remove a bridged endpoint. Returns false if it did not exist.
    pub fn remove(&self, endpoint: u16) -> bool {
        if endpoint <= AGGREGATOR_ENDPOINT {
            return false;
        }
        let mut eps = self.endpoints.borrow_mut();
        match eps.binary_search_by_key(&endpoint, |e| e.id) {
            Ok(pos) => {
                eps.remove(pos);
                self.tree.map().remove(&endpoint);
                true
            }
            Err(_) => false,
        }
    }

    pub fn contains(&self, endpoint: u16) -> bool {
        self.endpoints.borrow().iter().any(|e| e.id == endpoint)
    }

    /// The cluster metadata served at (endpoint, cluster), if any.
    pub fn cluster(&self, endpoint: u16, cluster: u32) -> Option<Cluster<'static>> {
        let eps = self.endpoints.borrow();
        let ep = eps.iter().find(|e| e.id == endpoint)?;
        ep.clusters.iter().find(|c| c.id == cluster).cloned()
    }
}

impl Metadata for BridgeNode {
    fn access<F, R>(&self, f: F) -> R
    where
        F: FnOnce(&Node<'_>) -> R,
    {
        let eps = self.endpoints.borrow();
        f(&Node::new(&eps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use device_types::DeviceKind;

    #[test]
    fn every_kind_has_rs_matter_metadata() {
        for &kind in DeviceKind::ALL {
            let meta = kind_meta(kind);
            // Bridged Node last (a bridged_node's own type is it, listed once).
            assert_eq!(
                meta.device_types.last().unwrap().dtype,
                DEV_TYPE_BRIDGED_NODE.dtype
            );
            let bridged = meta.device_types.iter().filter(|d| d.dtype == 0x0013);
            assert_eq!(bridged.count(), 1, "{kind}");
            assert!(meta.clusters.iter().any(|c| c.id == DESCRIPTOR));
            assert!(meta.clusters.iter().any(|c| c.id == BRIDGED_INFO));
            for spec in kind.clusters() {
                let c = meta.clusters.iter().find(|c| c.id == spec.id).unwrap();
                for w in spec.writable {
                    let attr = c.attributes.iter().find(|a| a.id == *w).unwrap();
                    assert!(
                        attr.access.contains(rs_matter::dm::Access::WRITE),
                        "{kind}: {}.{w:#x} is writable in device-types but not in the Matter IDL",
                        spec.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_standalone_node_serves_its_device_as_itself() {
        let node = BridgeNode::standalone();
        assert!(node.add(2, DeviceKind::OnOffLight));
        node.access(|n| {
            let ids: Vec<u16> = n.endpoints.iter().map(|e| e.id).collect();
            assert_eq!(ids, vec![0, 2], "no aggregator");
            let ep = &n.endpoints[1];
            assert!(ep.device_types.iter().any(|d| d.dtype == 0x0100));
            assert!(ep
                .device_types
                .iter()
                .all(|d| d.dtype != DEV_TYPE_BRIDGED_NODE.dtype));
            assert!(ep.clusters.iter().any(|c| c.id == DESCRIPTOR));
            assert!(ep.clusters.iter().all(|c| c.id != BRIDGED_INFO));
            assert!(ep.clusters.iter().any(|c| c.id == 0x0006));
        });
        // The bridged form of the same kind is unchanged.
        let bridge = BridgeNode::new();
        assert!(bridge.add(2, DeviceKind::OnOffLight));
        assert!(bridge.cluster(2, BRIDGED_INFO).is_some());
    }

    #[test]
    fn endpoints_stay_sorted_and_unique() {
        let node = BridgeNode::new();
        assert!(node.add(5, DeviceKind::OnOffLight));
        assert!(node.add(3, DeviceKind::ContactSensor));
        assert!(!node.add(3, DeviceKind::ContactSensor));
        node.access(|n| {
            let ids: Vec<u16> = n.endpoints.iter().map(|e| e.id).collect();
            assert_eq!(ids, vec![0, 1, 3, 5]);
        });
        assert!(node.remove(3));
        assert!(!node.remove(3));
        assert!(!node.remove(0));
        assert!(node.contains(5) && !node.contains(3));
    }
}
