//! Devices owned by a source (e.g. `zigbee2mqtt:home`): added, updated and removed at run time by
//! their source, never persisted in devices.json (the source announces them again after a restart),
//! but with identities like every device: a device that comes back gets its endpoint and UniqueID back.

use super::{Change, Device, DeviceOrigin, Origin, Registry, RegistryError};
use crate::config::DeviceConfig;

/// One device as its source describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceDevice {
    pub spec: DeviceConfig,
    /// What the source found but could not map (listed in the API and the log).
    pub unmapped: Vec<String>,
}

impl Registry {
    /// The devices `source` owns, ordered by endpoint.
    pub fn source_devices(&self, source: &str) -> Vec<Device> {
        self.read()
            .devices
            .values()
            .filter(|d| matches!(&d.source, DeviceOrigin::Source(s) if s == source))
            .cloned()
            .collect()
    }

    /// Makes the devices `source` owns exactly `devices`: adds the new ones (identities allocated in
    /// one write), updates the changed ones, removes the ones no longer listed. A device whose spec
    /// is invalid, or whose id another source or the config already uses, is skipped with an error
    /// in the returned list; the others still go in.
    pub fn sync_source_devices(
        &self,
        source: &str,
        devices: Vec<SourceDevice>,
    ) -> Vec<RegistryError> {
        let mut errors = Vec::new();
        let mut valid = Vec::with_capacity(devices.len());
        for device in devices {
            match device.spec.validate() {
                Ok(()) => valid.push(device),
                Err(e) => errors.push(RegistryError::InvalidSpec(e)),
            }
        }
        if let Err(e) = self.ensure_identities(valid.iter().map(|d| d.spec.id.as_str())) {
            errors.push(e);
            return errors;
        }
        let listed: std::collections::HashSet<String> =
            valid.iter().map(|d| d.spec.id.clone()).collect();
        for device in self.source_devices(source) {
            if !listed.contains(&device.id) {
                if let Err(e) = self.remove_source_device(source, &device.id) {
                    errors.push(e);
                }
            }
        }
        for device in valid {
            if let Err(e) = self.upsert_source_device(source, device) {
                errors.push(e);
            }
        }
        errors
    }

    /// Adds a device owned by `source`, or updates it (name, room, unmapped list; a new kind
    /// re-creates it on the same endpoint). Its state starts from the kind's default until the
    /// source reports one.
    pub fn upsert_source_device(
        &self,
        source: &str,
        device: SourceDevice,
    ) -> Result<Device, RegistryError> {
        let SourceDevice { spec, unmapped } = device;
        spec.validate()?;
        self.ensure_identities([spec.id.as_str()])?;
        let mut shared = self.write();
        let origin = DeviceOrigin::Source(source.to_owned());
        if let Some(existing) = shared.device_mut(&spec.id) {
            if existing.source != origin {
                return Err(RegistryError::NotOwned {
                    device: spec.id.clone(),
                    owner: existing.source.to_string(),
                    source_name: source.to_owned(),
                });
            }
            if existing.kind == spec.kind && existing.with == spec.with {
                existing.unmapped = unmapped;
                existing.room = spec.room.clone();
                let renamed = existing.name != spec.name;
                existing.name = spec.name.clone();
                let device = existing.clone();
                if renamed {
                    tracing::info!(device = %device.id, endpoint = device.endpoint, name = %device.name, %source, "device renamed by its source");
                    self.broadcast(Change::Renamed {
                        device: device.id.clone(),
                        endpoint: device.endpoint,
                        name: device.name.clone(),
                    });
                }
                return Ok(device);
            }
            let endpoint = existing.endpoint;
            shared.endpoints.remove(&spec.id);
            shared.devices.remove(&endpoint);
            tracing::info!(device = %spec.id, endpoint, kind = %spec.kind, %source, "device changed kind; re-creating it");
            self.broadcast(Change::Removed {
                device: spec.id.clone(),
                endpoint,
            });
        }
        // Already allocated and on disk (`ensure_identities`); identities are never taken away.
        shared.identity.allocate([spec.id.as_str()])?;
        let mut device = shared.build(&spec, origin)?;
        device.unmapped = unmapped;
        shared.insert(device.clone());
        tracing::info!(device = %device.id, endpoint = device.endpoint, kind = %device.kind, %source, origin = %Origin::Local, "device added by its source");
        self.broadcast(Change::Added(device.clone()));
        Ok(device)
    }

    /// Gives every id without one an identity and waits until identity.json has it, holding the
    /// registry lock only to allocate and queue the save, not while it is written (the Matter thread
    /// reads the registry meanwhile). After a failed save the identities stay allocated in memory
    /// and the save is retried in the background.
    fn ensure_identities<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), RegistryError> {
        let saved = {
            let mut shared = self.write();
            let new: Vec<&str> = ids
                .into_iter()
                .filter(|id| shared.identity.get(id).is_none())
                .collect();
            if new.is_empty() {
                return Ok(());
            }
            shared.identity.allocate(new)?;
            shared.identity.queue_save()?
        };
        saved.wait()?;
        Ok(())
    }

    /// Removes a device owned by `source` (it keeps its identity for when it comes back).
    pub fn remove_source_device(&self, source: &str, id: &str) -> Result<Device, RegistryError> {
        let mut shared = self.write();
        let ep = *shared
            .endpoints
            .get(id)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        let owner = shared.devices.get(&ep).map(|d| d.source.clone());
        if owner != Some(DeviceOrigin::Source(source.to_owned())) {
            return Err(RegistryError::NotOwned {
                device: id.to_owned(),
                owner: owner.map(|o| o.to_string()).unwrap_or_default(),
                source_name: source.to_owned(),
            });
        }
        shared.endpoints.remove(id);
        let device = shared
            .devices
            .remove(&ep)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        tracing::info!(device = id, endpoint = ep, %source, "device removed by its source");
        self.broadcast(Change::Removed {
            device: id.to_owned(),
            endpoint: ep,
        });
        Ok(device)
    }

    /// Marks every device of `source` reachable or not (e.g. its broker went away).
    pub fn set_source_reachable(&self, source: &str, reachable: bool) {
        for device in self.source_devices(source) {
            // Removed in between: nothing to mark.
            let _ = self.set_reachable(&device.id, reachable);
        }
    }
}
