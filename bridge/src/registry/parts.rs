//! Composed devices in the registry: a device and its parts (devices `<id>:<part>`) are built,
//! given identities and removed together; see `device_types::parts` for the rules.

use super::{Change, Device, DeviceConfig, DeviceOrigin, Registry, RegistryError, Shared};

impl Registry {
    /// Takes a device and its parts out of `shared`, broadcasting [`Change::Removed`] for each
    /// (the parts first, so a parent never goes while a child still names it).
    pub(super) fn remove_with_parts(
        &self,
        shared: &mut Shared,
        id: &str,
        ep: u16,
        by: &str,
    ) -> Result<Device, RegistryError> {
        let parts = shared
            .devices
            .get(&ep)
            .map(|d| d.parts.clone())
            .unwrap_or_default();
        for part in parts.iter().rev() {
            if let Some(part_ep) = shared.endpoints.remove(part) {
                shared.devices.remove(&part_ep);
                tracing::info!(device = %part, endpoint = part_ep, parent = id, by, "part removed with its device");
                self.broadcast(Change::Removed {
                    device: part.clone(),
                    endpoint: part_ep,
                });
            }
        }
        shared.endpoints.remove(id);
        let device = shared
            .devices
            .remove(&ep)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        tracing::info!(device = id, endpoint = ep, by, "device removed");
        self.broadcast(Change::Removed {
            device: id.to_owned(),
            endpoint: ep,
        });
        Ok(device)
    }
}

impl Shared {
    /// Builds a device and its parts (the device first); every identity must already be assigned.
    pub(super) fn build_all(
        &self,
        spec: &DeviceConfig,
        source: DeviceOrigin,
    ) -> Result<Vec<Device>, RegistryError> {
        let mut parent = self.build(spec, source.clone())?;
        let mut devices = Vec::with_capacity(1 + spec.parts.len());
        let mut parts = Vec::with_capacity(spec.parts.len());
        for (part_spec, part) in spec.part_specs() {
            let mut device = self.build(&part_spec, source.clone())?;
            device.parent = Some(spec.id.clone());
            device.tag = part.tag;
            parts.push(device);
        }
        parent.parts = parts.iter().map(|p| p.id.clone()).collect();
        devices.push(parent);
        devices.extend(parts);
        Ok(devices)
    }
}

/// The identity keys a specification brings: the device's id and its facets' keys, then each
/// part's id and its facets' keys.
pub(super) fn all_ids(spec: &DeviceConfig) -> Vec<String> {
    let mut ids = Vec::new();
    let mut push = |s: &DeviceConfig| {
        ids.push(s.id.clone());
        ids.extend(s.with.kinds().map(|k| super::facet_key(&s.id, k)));
    };
    push(spec);
    for (part, _) in spec.part_specs() {
        push(&part);
    }
    ids
}
