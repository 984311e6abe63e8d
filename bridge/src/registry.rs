//! The device registry: the single source of truth for every device's state, identity and reachability.
//!
//! Every change enters through [`Registry::apply`] (or add/remove/set_reachable/set_label), is validated
//! by `device-types`, gets a registry-wide monotonically increasing version and an [`Origin`], and is
//! broadcast exactly once as a [`Change`]. The handle is cheap to clone and its methods are synchronous
//! (a std lock inside, never held across an `.await`), so the non-tokio Matter thread can use it too.
//!
//! Devices defined in the config file come from [`DeviceConfig`]s passed to [`Registry::open`]; devices
//! added at run time through the API are kept in `<storage>/devices.json`. Each device's last-known state
//! and its controller-written settings are kept in `<storage>/state.json` (see [`store`]), written by the
//! persistence writer off every hot path; after a restart a device comes back as it was.

mod command;
mod origin;
mod parts;
#[cfg(test)]
mod parts_tests;
mod source_devices;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use device_types::matter::Settings;
use device_types::{DeviceEvent, DeviceKind, Shape, State, Tag, ValidationError, With};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

pub use command::{
    confirm_at_once, CommandOptions, PendingCommand, SourceCommand, SourceCommandError,
    ACCEPT_TIMEOUT, CONFIRM_TIMEOUT, SOURCE_QUEUE,
};
pub use origin::{DeviceOrigin, Origin, API_ROUTE, VIRTUAL_ROUTE};
pub use source_devices::SourceDevice;

use crate::config::{self, ConfigError, DeviceConfig};
use crate::identity::{IdentityError, IdentityMap};
use crate::persist::{self, PersistError};
use crate::writer::Writer;
use parts::all_ids;

/// Capacity of the change channel. A receiver that falls further behind gets `RecvError::Lagged`
/// and must resynchronise from [`Registry::list`].
pub const CHANGE_CAPACITY: usize = 4096;
/// File name of the API-added devices inside the storage directory.
pub const DEVICES_FILE: &str = "devices.json";
const DEVICES_FORMAT: u32 = 1;

/// One device as the rest of the program sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub kind: DeviceKind,
    /// Other kinds and capabilities on the same endpoint.
    #[serde(skip_serializing_if = "With::is_empty")]
    pub with: With,
    pub name: String,
    pub room: Option<String>,
    pub endpoint: u16,
    pub unique_id: String,
    /// NodeLabel written by a Matter controller, if any.
    pub label: Option<String>,
    pub state: State,
    /// Registry-wide version of the last state change (0: unchanged since start).
    pub version: u64,
    pub reachable: bool,
    /// Where the device is defined, and so the source its commands go to.
    pub source: DeviceOrigin,
    /// What the source found on the device but could not map onto the device's kind (e.g.
    /// Zigbee2MQTT exposes), listed so that nothing is dropped silently.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmapped: Vec<String>,
    /// Controller-written configuration attributes (StartUpOnOff, OnLevel, setpoint limits, ...).
    #[serde(skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
    /// For a part (id `<parent>:<part>`): the device it is a part of. Its endpoint is a child
    /// of the parent's, and it is added, removed and made (un)reachable with the parent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// For a part: its position or number (the endpoint's Descriptor TagList).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<Tag>,
    /// The ids of this device's parts, in their configured order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<String>,
    /// The child endpoints its `with` kinds are served on (one per kind, in the kinds' order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facets: Vec<Facet>,
}

/// A `with` kind of a device, served on a child endpoint of the device's own (Matter allows one
/// application device type per endpoint; see `device_types::Shape::facets`). Its endpoint is
/// allocated like a device's (identity key [`facet_key`]): stable, never reused.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Facet {
    pub kind: DeviceKind,
    pub endpoint: u16,
}

/// The identity key of a device's `with` kind: `<id>#<kind>` (`#` is never part of a device id).
pub fn facet_key(id: &str, kind: DeviceKind) -> String {
    format!("{id}#{kind}")
}

impl Device {
    /// What the device's endpoint serves: its kind plus `with`.
    pub fn shape(&self) -> Shape {
        Shape {
            kind: self.kind,
            with: self.with,
        }
    }

    /// The part's name (the id after `:`) if this device is a part.
    pub fn part_name(&self) -> Option<&str> {
        self.parent.as_ref()?;
        device_types::parts::split_part_id(&self.id).map(|(_, part)| part)
    }
}

/// One change, broadcast once to every subscriber.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
///
/// The large payloads are boxed: the broadcast channel keeps [`CHANGE_CAPACITY`] slots of this
/// size resident, so a small enum saves megabytes.
pub enum Change {
    State {
        device: String,
        endpoint: u16,
        kind: DeviceKind,
        old: Box<State>,
        new: Box<State>,
        version: u64,
        origin: Origin,
    },
    Added(Box<Device>),
    Removed {
        device: String,
        endpoint: u16,
    },
    Reachable {
        device: String,
        endpoint: u16,
        reachable: bool,
    },
    Label {
        device: String,
        endpoint: u16,
        label: Option<String>,
        origin: Origin,
    },
    /// The device's source gave it a new name (the endpoint and UniqueID stay).
    Renamed {
        device: String,
        endpoint: u16,
        name: String,
    },
    /// Something happened on the device (a button press). Not state: never stored, never
    /// coalesced, broadcast exactly once ([`Registry::emit_event`]).
    Event {
        device: String,
        endpoint: u16,
        kind: DeviceKind,
        event: DeviceEvent,
        origin: Origin,
    },
}

/// Why the registry refused a request.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no device with id `{0}`")]
    UnknownDevice(String),
    #[error("device `{device}`: {error}")]
    Invalid {
        device: String,
        error: ValidationError,
    },
    #[error(transparent)]
    InvalidSpec(#[from] ConfigError),
    #[error("a device with id `{0}` already exists")]
    DuplicateId(String),
    #[error(
        "device `{0}` is defined in the config file; remove it from the config file and restart \
         to delete it"
    )]
    DefinedInConfig(String),
    #[error(
        "device `{device}`: label {label:?}: must be at most 32 bytes (the Matter label limit)"
    )]
    LabelTooLong { device: String, label: String },
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Persist(#[from] PersistError),
    #[error("device `{device}`: its source `{source_name}` is not running")]
    SourceDown { device: String, source_name: String },
    #[error("device `{device}`: its source `{source_name}` has too many commands queued")]
    SourceBusy { device: String, source_name: String },
    #[error("device `{device}`: source `{source_name}` refused the command: {error}")]
    Refused {
        device: String,
        source_name: String,
        error: SourceCommandError,
    },
    #[error(
        "device `{device}`: source `{source_name}` did not accept the command within {timeout_ms} ms"
    )]
    NotAccepted {
        device: String,
        source_name: String,
        timeout_ms: u64,
    },
    #[error(
        "device `{device}` is a part of `{parent}`; it is removed, and made reachable or not, \
         with `{parent}`"
    )]
    PartOfDevice { device: String, parent: String },
    #[error("device `{device}` belongs to `{owner}`, not to source `{source_name}`")]
    NotOwned {
        device: String,
        owner: String,
        source_name: String,
    },
}

/// The shared handle; clone it freely.
#[derive(Clone)]
pub struct Registry(Arc<Inner>);

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = self.read();
        f.debug_struct("Registry")
            .field("devices", &shared.devices.len())
            .field("version", &shared.version)
            .finish()
    }
}

struct Inner {
    changes: broadcast::Sender<Change>,
    shared: RwLock<Shared>,
    /// Command channel of each attached source, by route.
    routes: Mutex<HashMap<String, mpsc::Sender<SourceCommand>>>,
    writer: Writer,
    state_path: PathBuf,
    /// One add or remove at a time: they write identity.json and devices.json without holding
    /// `shared` (which the Matter thread reads), so they are ordered by this lock instead.
    admin: Mutex<()>,
    /// What the data path counts for `GET /metrics` (changes by origin here; Matter, sources).
    metrics: Arc<crate::metrics::Counters>,
}

struct Shared {
    /// Devices by endpoint, so listings come out in a stable order.
    devices: BTreeMap<u16, Device>,
    endpoints: HashMap<String, u16>,
    identity: IdentityMap,
    /// Specifications of API-added devices, as stored in devices.json.
    api_devices: Vec<DeviceConfig>,
    devices_path: PathBuf,
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevicesFile {
    format: u32,
    devices: Vec<DeviceConfig>,
}

impl Registry {
    /// Opens the registry: loads the identity map and the API-added devices from `storage_dir` (creating
    /// it if needed), gives every device its identity (allocating and persisting new ones) and builds
    /// each device's initial state. A device id both in the config and in devices.json is the config's.
    pub fn open(storage_dir: &Path, devices: &[DeviceConfig]) -> Result<Registry, RegistryError> {
        persist::ensure_dir(storage_dir)?;
        let writer = Writer::spawn();
        let mut identity = IdentityMap::load(storage_dir)?.with_writer(writer.clone());
        let devices_path = storage_dir.join(DEVICES_FILE);
        let stored = persist::read_json::<DevicesFile>(&devices_path)?;
        if let Some(file) = &stored {
            if file.format != DEVICES_FORMAT {
                return Err(PersistError::Inconsistent {
                    path: devices_path,
                    reason: format!(
                        "unsupported format {} (expected {DEVICES_FORMAT})",
                        file.format
                    ),
                }
                .into());
            }
        }
        let stored = stored.map(|f| f.devices).unwrap_or_default();

        let mut seen = HashSet::new();
        for spec in devices {
            spec.validate()?;
            if !seen.insert(spec.id.clone()) {
                return Err(ConfigError::DuplicateDevice(spec.id.clone()).into());
            }
        }
        let mut api_devices = Vec::with_capacity(stored.len());
        for spec in &stored {
            if seen.contains(&spec.id) {
                tracing::warn!(
                    device = %spec.id,
                    file = %devices_path.display(),
                    "device added through the API is now defined in the config file; the config wins"
                );
                continue;
            }
            spec.validate().map_err(|e| PersistError::Inconsistent {
                path: devices_path.clone(),
                reason: e.to_string(),
            })?;
            seen.insert(spec.id.clone());
            api_devices.push(spec.clone());
        }

        let all = devices
            .iter()
            .map(|s| (s, DeviceOrigin::Config))
            .chain(api_devices.iter().map(|s| (s, DeviceOrigin::Api)));
        let all: Vec<_> = all.collect();
        let ids: Vec<String> = all.iter().flat_map(|(s, _)| all_ids(s)).collect();
        identity.assign(ids.iter().map(String::as_str))?;
        if api_devices.len() != stored.len() {
            save_devices(&devices_path, &api_devices)?;
        }

        let mut shared = Shared {
            devices: BTreeMap::new(),
            endpoints: HashMap::new(),
            identity,
            api_devices: Vec::new(),
            devices_path,
            version: 0,
        };
        let mut stored = store::load(storage_dir)?;
        for device in all
            .into_iter()
            .map(|(spec, source)| shared.build_all(spec, source))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
        {
            let mut device = device;
            if let Some(entry) = stored.remove(&device.id) {
                match store::usable(&entry, device.shape()) {
                    Ok((state, settings)) => {
                        device.state = device.state.merged(&state);
                        device.settings = settings;
                    }
                    Err(reason) => tracing::warn!(
                        device = %device.id,
                        file = %storage_dir.join(store::STATE_FILE).display(),
                        %reason,
                        "stored state not applied; the device starts in its configured state"
                    ),
                }
            }
            // Devices the bridge simulates power up as their StartUp* settings say.
            let start = device_types::matter::settings::start_up_patch(
                device.shape(),
                &device.state,
                &device.settings,
            );
            if !start.is_empty() {
                tracing::info!(device = %device.id, patch = %start.to_json(), "start-up settings applied");
                device.state = device.state.merged(&start);
            }
            shared.insert(device);
        }
        shared.api_devices = api_devices;
        tracing::info!(
            devices = shared.devices.len(),
            next_endpoint = shared.identity.next_endpoint(),
            storage = %storage_dir.display(),
            "registry open"
        );
        let (changes, _) = broadcast::channel(CHANGE_CAPACITY);
        let state_path = storage_dir.join(store::STATE_FILE);
        let registry = Registry(Arc::new(Inner {
            changes,
            shared: RwLock::new(shared),
            routes: Mutex::new(HashMap::new()),
            writer,
            admin: Mutex::new(()),
            state_path,
            metrics: Arc::default(),
        }));
        let weak: Weak<Inner> = Arc::downgrade(&registry.0);
        registry
            .0
            .writer
            .register_snapshot(&registry.0.state_path, move || {
                let Some(inner) = weak.upgrade() else {
                    return Ok(None);
                };
                // Never wait for the registry lock here: its holder may be waiting for this
                // writer (an identity save during an add).
                let shared = match inner.shared.try_read() {
                    Ok(guard) => guard,
                    Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => return Err(crate::writer::Busy),
                };
                Ok(store::encode(
                    shared
                        .devices
                        .values()
                        .map(|d| (d.id.as_str(), d.kind, &d.state, &d.settings)),
                ))
            });
        // Record the state as started (start-up settings may have changed it).
        registry.mark_state_dirty();
        Ok(registry)
    }

    /// The persistence writer every durable write of the daemon goes through.
    pub fn writer(&self) -> &Writer {
        &self.0.writer
    }

    /// Waits until every change so far is on disk (shutdown, tests).
    pub fn flush(&self) {
        self.0.writer.flush();
    }

    fn mark_state_dirty(&self) {
        self.0.writer.mark_dirty(&self.0.state_path);
    }

    fn read(&self) -> RwLockReadGuard<'_, Shared> {
        // A panic elsewhere while holding the lock leaves consistent data (every mutation is
        // validated before it is written), so a poisoned lock is still usable.
        self.0.shared.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Shared> {
        self.0.shared.write().unwrap_or_else(|e| e.into_inner())
    }

    fn admin(&self) -> MutexGuard<'_, ()> {
        self.0.admin.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes devices.json through the persistence writer and waits for it (never under `shared`).
    fn save_devices(&self, path: &Path, devices: &[DeviceConfig]) -> Result<(), PersistError> {
        self.0.writer.write_json_blocking(
            path,
            &DevicesFile {
                format: DEVICES_FORMAT,
                devices: devices.to_vec(),
            },
        )
    }

    fn routes(&self) -> MutexGuard<'_, HashMap<String, mpsc::Sender<SourceCommand>>> {
        self.0.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn broadcast(&self, change: Change) {
        if let Change::State { origin, .. } = &change {
            self.0.metrics.change(origin);
        }
        // No subscriber is not an error.
        let _ = self.0.changes.send(change);
    }

    /// The counters the data path bumps for `GET /metrics`.
    pub fn metrics(&self) -> &Arc<crate::metrics::Counters> {
        &self.0.metrics
    }

    /// (source, devices, reachable devices) for every source that has devices, without copying them.
    pub fn counts_by_source(&self) -> Vec<(String, usize, usize)> {
        let shared = self.read();
        let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for d in shared.devices.values() {
            let c = counts.entry(d.source.to_string()).or_default();
            c.0 += 1;
            c.1 += usize::from(d.reachable);
        }
        counts.into_iter().map(|(s, (n, r))| (s, n, r)).collect()
    }

    /// How many devices are top-level — bridged devices as controllers count them (a part is in its
    /// device) — without copying them.
    pub fn top_level_count(&self) -> usize {
        self.read()
            .devices
            .values()
            .filter(|d| d.parent.is_none())
            .count()
    }

    /// How many top-level devices `keep` is true for, without copying them.
    pub fn top_level_count_where(&self, keep: impl Fn(&Device) -> bool) -> usize {
        self.read()
            .devices
            .values()
            .filter(|d| d.parent.is_none() && keep(d))
            .count()
    }

    /// Every device, ordered by endpoint.
    pub fn list(&self) -> Vec<Device> {
        self.read().devices.values().cloned().collect()
    }

    /// The endpoint the next new device id will get (`MAX_ENDPOINT + 1` once all are used).
    pub fn next_endpoint(&self) -> u16 {
        self.read().identity.next_endpoint()
    }

    pub fn get(&self, id: &str) -> Option<Device> {
        self.read().device(id).cloned()
    }

    pub fn by_endpoint(&self, endpoint: u16) -> Option<Device> {
        self.read().devices.get(&endpoint).cloned()
    }

    /// The newest version handed out so far.
    pub fn version(&self) -> u64 {
        self.read().version
    }

    /// Merges `patch` into the device's state, validates the result against its kind, and if anything
    /// changed bumps the version and broadcasts one [`Change::State`]. A patch that changes nothing
    /// is not an error: it returns the device unchanged and broadcasts nothing.
    pub fn apply(&self, id: &str, patch: &State, origin: Origin) -> Result<Device, RegistryError> {
        let mut shared = self.write();
        let shared = &mut *shared;
        let ep = *shared
            .endpoints
            .get(id)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        let device = shared
            .devices
            .get_mut(&ep)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        let new = device.state.merged(patch);
        device
            .shape()
            .validate(&new)
            .map_err(|error| RegistryError::Invalid {
                device: id.to_owned(),
                error,
            })?;
        if device.state.diff(&new).is_empty() {
            return Ok(device.clone());
        }
        shared.version += 1;
        let old = std::mem::replace(&mut device.state, new);
        device.version = shared.version;
        tracing::debug!(device = id, endpoint = ep, version = device.version, %origin, "state changed");
        let change = Change::State {
            device: id.to_owned(),
            endpoint: ep,
            kind: device.kind,
            old: Box::new(old),
            new: Box::new(device.state.clone()),
            version: device.version,
            origin,
        };
        let device = device.clone();
        // Sent under the lock so subscribers see versions in order.
        self.broadcast(change);
        self.mark_state_dirty();
        Ok(device)
    }

    /// Reports an event of a device (a button press): validated against the device's kind (a press
    /// on a lock is refused, naming the field and the value), then broadcast once as
    /// [`Change::Event`]. Events are not state: nothing is stored, versioned or persisted.
    pub fn emit_event(
        &self,
        id: &str,
        event: DeviceEvent,
        origin: Origin,
    ) -> Result<Device, RegistryError> {
        let shared = self.read();
        let device = shared
            .device(id)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        device
            .kind
            .validate_event(&event)
            .map_err(|error| RegistryError::Invalid {
                device: id.to_owned(),
                error,
            })?;
        tracing::debug!(device = id, endpoint = device.endpoint, event = %event.to_json(), %origin, "device event");
        // Sent under the lock, like state changes, so subscribers see one order.
        self.broadcast(Change::Event {
            device: id.to_owned(),
            endpoint: device.endpoint,
            kind: device.kind,
            event,
            origin,
        });
        Ok(device.clone())
    }

    /// Stores a controller-written setting (already range-checked by `device-types`) and persists
    /// it with the device's state. `None` stores null. Returns the device as it is now.
    pub fn set_setting(
        &self,
        id: &str,
        cluster: u32,
        attr: u32,
        value: Option<i64>,
        origin: Origin,
    ) -> Result<Device, RegistryError> {
        let mut shared = self.write();
        let device = shared
            .device_mut(id)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        if device.settings.get(cluster, attr) != Some(value) {
            device.settings.set(cluster, attr, value);
            tracing::debug!(device = id, cluster, attr, ?value, %origin, "setting stored");
            let persistent = device_types::matter::settings::setting_spec(cluster, attr)
                .is_some_and(|s| s.persistent);
            if persistent {
                self.mark_state_dirty();
            }
        }
        Ok(device.clone())
    }

    /// Adds a device at run time (through the API); it is persisted in devices.json and survives restarts.
    ///
    /// It answers once the device's identity and specification are on disk; the registry lock is
    /// held only for the in-memory steps, never while those files are written (the Matter thread
    /// and every reader go on meanwhile; the device appears when both writes landed).
    pub fn add(&self, spec: DeviceConfig, origin: Origin) -> Result<Device, RegistryError> {
        spec.validate()?;
        let _admin = self.admin();
        let (devices, identity_saved, devices_path, mut specs) = {
            let mut shared = self.write();
            if shared.endpoints.contains_key(&spec.id) {
                return Err(RegistryError::DuplicateId(spec.id));
            }
            let ids = all_ids(&spec);
            shared.identity.allocate(ids.iter().map(String::as_str))?;
            let devices = shared.build_all(&spec, DeviceOrigin::Api)?;
            // Always saved: an identity allocated by an add whose save failed is still only in memory.
            let saved = shared.identity.queue_save()?;
            (
                devices,
                saved,
                shared.devices_path.clone(),
                shared.api_devices.clone(),
            )
        };
        identity_saved.wait()?;
        specs.push(spec.clone());
        self.save_devices(&devices_path, &specs)?;
        let mut shared = self.write();
        shared.api_devices.push(spec);
        // The parent first, so its endpoint exists when its parts name it.
        for device in &devices {
            shared.insert(device.clone());
            tracing::info!(device = %device.id, endpoint = device.endpoint, parent = ?device.parent, %origin, "device added");
            self.broadcast(Change::Added(Box::new(device.clone())));
        }
        self.mark_state_dirty();
        Ok(devices
            .into_iter()
            .next()
            .expect("build_all returns the device first"))
    }

    /// Removes an API-added device (persisted). Config-defined devices are refused with
    /// [`RegistryError::DefinedInConfig`]. The device keeps its identity for a later re-add.
    pub fn remove(&self, id: &str, origin: Origin) -> Result<Device, RegistryError> {
        let _admin = self.admin();
        let (devices_path, mut specs, pos) = {
            let shared = self.read();
            let pos = shared.removable(id)?;
            (shared.devices_path.clone(), shared.api_devices.clone(), pos)
        };
        // devices.json is written without the registry lock; the device serves until it landed.
        specs.remove(pos);
        self.save_devices(&devices_path, &specs)?;
        let mut shared = self.write();
        let ep = *shared
            .endpoints
            .get(id)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        shared.api_devices.retain(|s| s.id != id);
        self.remove_with_parts(&mut shared, id, ep, &origin.to_string())
    }

    /// Marks a device (and its parts) reachable or not; broadcasts [`Change::Reachable`] for each
    /// whose reachability changed. A part follows its parent: setting it alone is refused.
    pub fn set_reachable(&self, id: &str, reachable: bool) -> Result<(), RegistryError> {
        let mut shared = self.write();
        let device = shared
            .device_mut(id)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        if let Some(parent) = &device.parent {
            return Err(RegistryError::PartOfDevice {
                device: id.to_owned(),
                parent: parent.clone(),
            });
        }
        let mut ids = vec![id.to_owned()];
        ids.extend(device.parts.iter().cloned());
        for id in ids {
            let Some(device) = shared.device_mut(&id) else {
                continue;
            };
            if device.reachable == reachable {
                continue;
            }
            device.reachable = reachable;
            let endpoint = device.endpoint;
            tracing::info!(device = %id, endpoint, reachable, "reachability changed");
            self.broadcast(Change::Reachable {
                device: id,
                endpoint,
                reachable,
            });
        }
        Ok(())
    }

    /// Sets (or with `None` or an empty string, clears) the controller-written label; at most 32 bytes,
    /// persisted in identity.json. Broadcasts [`Change::Label`] if it changed.
    pub fn set_label(
        &self,
        id: &str,
        label: Option<String>,
        origin: Origin,
    ) -> Result<(), RegistryError> {
        let label = label.filter(|l| !l.is_empty());
        if let Some(l) = &label {
            if l.len() > config::MAX_LABEL_BYTES {
                return Err(RegistryError::LabelTooLong {
                    device: id.to_owned(),
                    label: l.clone(),
                });
            }
        }
        let mut shared = self.write();
        if !shared.endpoints.contains_key(id) {
            return Err(RegistryError::UnknownDevice(id.to_owned()));
        }
        if !shared.identity.set_label_deferred(id, label.clone())? {
            return Ok(());
        }
        let device = shared
            .device_mut(id)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        device.label = label.clone();
        let endpoint = device.endpoint;
        tracing::info!(device = id, endpoint, %origin, "label changed");
        self.broadcast(Change::Label {
            device: id.to_owned(),
            endpoint,
            label,
            origin,
        });
        Ok(())
    }

    /// Subscribes to every change from now on. The channel holds [`CHANGE_CAPACITY`] changes; a receiver
    /// that lags further gets `RecvError::Lagged` and must resynchronise with [`Registry::list`].
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.0.changes.subscribe()
    }
}

impl Shared {
    /// Where an API-added device sits in `api_devices`; why it cannot be removed otherwise.
    fn removable(&self, id: &str) -> Result<usize, RegistryError> {
        let ep = *self
            .endpoints
            .get(id)
            .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
        if let Some(parent) = self.devices.get(&ep).and_then(|d| d.parent.clone()) {
            return Err(RegistryError::PartOfDevice {
                device: id.to_owned(),
                parent,
            });
        }
        if let Some(pos) = self.api_devices.iter().position(|s| s.id == id) {
            return Ok(pos);
        }
        if let Some(DeviceOrigin::Source(owner)) = self.devices.get(&ep).map(|d| &d.source) {
            return Err(RegistryError::NotOwned {
                device: id.to_owned(),
                owner: owner.clone(),
                source_name: "api".to_owned(),
            });
        }
        Err(RegistryError::DefinedInConfig(id.to_owned()))
    }

    fn device(&self, id: &str) -> Option<&Device> {
        self.devices.get(self.endpoints.get(id)?)
    }

    fn device_mut(&mut self, id: &str) -> Option<&mut Device> {
        let ep = self.endpoints.get(id)?;
        self.devices.get_mut(ep)
    }

    fn insert(&mut self, device: Device) {
        self.endpoints.insert(device.id.clone(), device.endpoint);
        self.devices.insert(device.endpoint, device);
    }

    /// Builds a device from its specification; its identity must already be assigned.
    fn build(&self, spec: &DeviceConfig, source: DeviceOrigin) -> Result<Device, RegistryError> {
        let identity = self
            .identity
            .get(&spec.id)
            .ok_or_else(|| IdentityError::Unknown(spec.id.clone()))?;
        Ok(Device {
            id: spec.id.clone(),
            kind: spec.kind,
            with: spec.with,
            name: spec.name.clone(),
            room: spec.room.clone(),
            endpoint: identity.endpoint,
            unique_id: identity.unique_id.clone(),
            label: identity.label.clone(),
            state: spec.initial_state()?,
            version: 0,
            reachable: true,
            source,
            unmapped: Vec::new(),
            settings: Settings::default(),
            parent: None,
            tag: None,
            parts: Vec::new(),
            facets: spec
                .with
                .kinds()
                .map(|kind| {
                    let key = facet_key(&spec.id, kind);
                    let identity = self.identity.get(&key).ok_or(IdentityError::Unknown(key))?;
                    Ok(Facet {
                        kind,
                        endpoint: identity.endpoint,
                    })
                })
                .collect::<Result<_, IdentityError>>()?,
        })
    }
}

fn save_devices(path: &Path, devices: &[DeviceConfig]) -> Result<(), PersistError> {
    persist::write_json(
        path,
        &DevicesFile {
            format: DEVICES_FORMAT,
            devices: devices.to_vec(),
        },
    )
}

impl Drop for Inner {
    /// A registry going away (shutdown, tests) leaves every queued write on disk.
    fn drop(&mut self) {
        self.writer.flush();
    }
}
