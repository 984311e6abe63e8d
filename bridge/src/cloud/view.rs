//! The registry as a connector sees it ([`connectors::DeviceView`]): device info and current state.

use connectors::{DeviceInfo, DeviceSnapshot, DeviceView};

use crate::registry::{Device, Registry};

pub struct RegistryView(pub Registry);

impl DeviceView for RegistryView {
    fn devices(&self) -> Vec<DeviceSnapshot> {
        self.0.list().iter().map(snapshot).collect()
    }

    fn device(&self, id: &str) -> Option<DeviceSnapshot> {
        self.0.get(id).as_ref().map(snapshot)
    }
}

pub fn info(d: &Device) -> DeviceInfo {
    DeviceInfo {
        id: d.id.clone(),
        kind: d.kind,
        name: d.name.clone(),
        room: d.room.clone(),
        unique_id: d.unique_id.clone(),
        endpoint: d.endpoint,
    }
}

pub fn snapshot(d: &Device) -> DeviceSnapshot {
    DeviceSnapshot {
        info: info(d),
        state: d.state.clone(),
        version: d.version,
        reachable: d.reachable,
    }
}
