//! Devices owned by a source (e.g. `zigbee2mqtt:home`): added, updated and removed at run time by
//! their source, never persisted in devices.json (the source announces them again after a restart),
//! but with identities like every device: a device that comes back gets its endpoint and UniqueID back.

use super::{all_ids, Change, Device, DeviceOrigin, Origin, Registry, RegistryError};
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
        let ids: Vec<String> = valid.iter().flat_map(|d| all_ids(&d.spec)).collect();
        if let Err(e) = self.ensure_identities(ids.iter().map(String::as_str)) {
            errors.push(e);
            return errors;
        }
        let listed: std::collections::HashSet<String> =
            valid.iter().map(|d| d.spec.id.clone()).collect();
        // Parts go with their device.
        for device in self.source_devices(source) {
            if device.parent.is_none() && !listed.contains(&device.id) {
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

    /// Adds a device owned by `source` with its parts, or updates it (name, room, unmapped list;
    /// a new kind, `with` or set of parts re-creates it and its parts on the same endpoints).
    /// Its state starts from the kind's default until the source reports one.
    pub fn upsert_source_device(
        &self,
        source: &str,
        device: SourceDevice,
    ) -> Result<Device, RegistryError> {
        let SourceDevice { spec, unmapped } = device;
        spec.validate()?;
        let ids = all_ids(&spec);
        self.ensure_identities(ids.iter().map(String::as_str))?;
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
            if existing.parent.is_some() {
                return Err(RegistryError::PartOfDevice {
                    device: spec.id.clone(),
                    parent: existing.parent.clone().unwrap_or_default(),
                });
            }
            let existing_parts = existing.parts.clone();
            let part_specs = spec.part_specs();
            let same_parts = existing_parts.len() == part_specs.len()
                && part_specs.iter().all(|(p, part)| {
                    shared
                        .device(&p.id)
                        .is_some_and(|d| d.kind == p.kind && d.with == p.with && d.tag == part.tag)
                });
            let Some(existing) = shared.device_mut(&spec.id) else {
                return Err(RegistryError::UnknownDevice(spec.id.clone()));
            };
            if existing.kind == spec.kind && existing.with == spec.with && same_parts {
                existing.unmapped = unmapped;
                let device = existing.clone();
                let renames: Vec<(String, String, Option<String>)> =
                    std::iter::once((spec.id.clone(), spec.name.clone(), spec.room.clone()))
                        .chain(
                            part_specs
                                .iter()
                                .map(|(p, _)| (p.id.clone(), p.name.clone(), p.room.clone())),
                        )
                        .collect();
                for (id, name, room) in renames {
                    let Some(d) = shared.device_mut(&id) else {
                        continue;
                    };
                    d.room = room;
                    if d.name != name {
                        d.name = name;
                        tracing::info!(device = %d.id, endpoint = d.endpoint, name = %d.name, %source, "device renamed by its source");
                        self.broadcast(Change::Renamed {
                            device: d.id.clone(),
                            endpoint: d.endpoint,
                            name: d.name.clone(),
                        });
                    }
                }
                return Ok(shared.device(&spec.id).cloned().unwrap_or(device));
            }
            let endpoint = existing.endpoint;
            tracing::info!(device = %spec.id, endpoint, kind = %spec.kind, %source, "device changed kind or parts; re-creating it");
            self.remove_with_parts(&mut shared, &spec.id, endpoint, source)?;
        }
        // Already allocated and on disk (`ensure_identities`); identities are never taken away.
        shared.identity.allocate(ids.iter().map(String::as_str))?;
        let mut devices = shared.build_all(&spec, origin)?;
        devices[0].unmapped = unmapped;
        for device in &devices {
            shared.insert(device.clone());
            tracing::info!(device = %device.id, endpoint = device.endpoint, kind = %device.kind, parent = ?device.parent, %source, origin = %Origin::Local, "device added by its source");
            self.broadcast(Change::Added(Box::new(device.clone())));
        }
        Ok(devices.swap_remove(0))
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
        if let Some(parent) = shared.devices.get(&ep).and_then(|d| d.parent.clone()) {
            return Err(RegistryError::PartOfDevice {
                device: id.to_owned(),
                parent,
            });
        }
        self.remove_with_parts(&mut shared, id, ep, source)
    }

    /// Marks every device of `source` reachable or not (e.g. its broker went away).
    pub fn set_source_reachable(&self, source: &str, reachable: bool) {
        // Parts follow their device.
        for device in self.source_devices(source) {
            if device.parent.is_some() {
                continue;
            }
            // Removed in between: nothing to mark.
            let _ = self.set_reachable(&device.id, reachable);
        }
    }
}
