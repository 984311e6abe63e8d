//! Last-known device state and controller-written settings, kept in `<storage>/state.json` so that a
//! restart neither flips lights nor forgets a StartUpOnOff a controller wrote.
//!
//! The registry marks the file dirty on every change; the persistence writer ([`crate::writer`])
//! takes a snapshot under a read lock a little later and writes it off every hot path (no fsync under
//! the registry lock, on a tokio worker or on the Matter thread). A crash loses at most the changes
//! of the last [`crate::writer::DEBOUNCE`].
//!
//! On start the stored state of each device is laid over its configured initial state (the config's
//! `state` is the *initial* state; the last-known one wins), then the StartUp* settings are applied
//! to devices the bridge itself simulates. A stored entry that no longer fits the device (its kind
//! changed in the config) is dropped with a warning naming the device; a file that is not valid
//! JSON stops start-up naming the file, like every other state file.

use std::collections::BTreeMap;
use std::path::Path;

use device_types::matter::Settings;
use device_types::{DeviceKind, Shape, State};
use serde::{Deserialize, Serialize};

use crate::persist::{self, PersistError};

/// File name inside the storage directory.
pub const STATE_FILE: &str = "state.json";
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format: u32,
    devices: BTreeMap<String, StoredDevice>,
}

/// What is kept of one device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredDevice {
    /// Kind when written: an entry of another kind is not applied.
    pub kind: Option<DeviceKind>,
    #[serde(default)]
    pub state: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
}

/// The stored entries by device id (empty when the file does not exist).
pub fn load(storage_dir: &Path) -> Result<BTreeMap<String, StoredDevice>, PersistError> {
    let path = storage_dir.join(STATE_FILE);
    let Some(file) = persist::read_json::<StateFile>(&path)? else {
        return Ok(BTreeMap::new());
    };
    if file.format != FORMAT {
        return Err(PersistError::Inconsistent {
            path,
            reason: format!("unsupported format {} (expected {FORMAT})", file.format),
        });
    }
    Ok(file.devices)
}

/// The stored state and settings that still fit a `kind` device, or why not (for the warning).
pub fn usable(stored: &StoredDevice, shape: Shape) -> Result<(State, Settings), String> {
    let kind = shape.kind;
    if stored.kind.is_some_and(|k| k != kind) {
        return Err(format!(
            "stored for kind {}, the device is now {kind}",
            stored.kind.map(|k| k.to_string()).unwrap_or_default()
        ));
    }
    let state = State::from_json_object(&stored.state).map_err(|e| e.to_string())?;
    shape.validate(&state).map_err(|e| e.to_string())?;
    stored.settings.check(shape).map_err(|e| e.to_string())?;
    Ok((state, stored.settings.clone()))
}

/// The file's content for the given devices: (id, kind, state, settings).
pub fn encode<'a>(
    devices: impl Iterator<Item = (&'a str, DeviceKind, &'a State, &'a Settings)>,
) -> Option<Vec<u8>> {
    let devices = devices
        .map(|(id, kind, state, settings)| {
            let state = match serde_json::to_value(state) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            (
                id.to_owned(),
                StoredDevice {
                    kind: Some(kind),
                    state,
                    settings: settings.persistent(),
                },
            )
        })
        .collect();
    let file = StateFile {
        format: FORMAT,
        devices,
    };
    match serde_json::to_vec(&file) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            Some(bytes)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the device state file");
            None
        }
    }
}
