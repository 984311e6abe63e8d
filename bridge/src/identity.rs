//! The identity map: device id → Matter endpoint, UniqueID and controller-written label, allocated upward,
//! never reused, persisted crash-safely in `<storage>/identity.json`.
//!
//! Controllers key rooms, names and automations on endpoint numbers and UniqueID, so a device keeps both
//! for as long as its id exists — across restarts, config reordering and renaming. A removed device keeps
//! its entry: re-adding the same id brings its old endpoint back, and no other device ever gets it.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::config::MAX_LABEL_BYTES;
use crate::persist::{self, PersistError};

/// Endpoint 0 is the root node, 1 the aggregator; bridged devices start here.
pub const FIRST_BRIDGED_ENDPOINT: u16 = 2;
/// The highest valid endpoint number (0xFFFF is the wildcard).
pub const MAX_ENDPOINT: u16 = 0xFFFE;
/// File name of the identity map inside the storage directory.
pub const FILE_NAME: &str = "identity.json";
const FORMAT: u32 = 1;

/// What a device is known as on Matter; never changes for a given device id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub endpoint: u16,
    /// 32 random lowercase hex characters (BridgedDeviceBasicInformation UniqueID).
    pub unique_id: String,
    /// NodeLabel written by a controller, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// Allocating or storing an identity failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Persist(#[from] PersistError),
    #[error(
        "cannot give device `{device}` an endpoint: all endpoints up to 0xFFFE have been used"
    )]
    EndpointsExhausted { device: String },
    #[error("no identity for device `{0}`")]
    Unknown(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    format: u32,
    /// The next endpoint to hand out; `MAX_ENDPOINT + 1` once exhausted.
    next_endpoint: u16,
    devices: BTreeMap<String, Identity>,
}

/// The in-memory identity map bound to its file.
#[derive(Debug)]
pub struct IdentityMap {
    path: PathBuf,
    file: IdentityFile,
    /// When set, every save goes through the persistence writer (so saves made from different
    /// threads reach the disk in the order they were made).
    writer: Option<crate::writer::Writer>,
}

impl IdentityMap {
    /// Loads `<storage_dir>/identity.json`; a missing file is an empty map, a corrupt one an error.
    pub fn load(storage_dir: &Path) -> Result<IdentityMap, IdentityError> {
        let path = storage_dir.join(FILE_NAME);
        let file = match persist::read_json::<IdentityFile>(&path)? {
            Some(file) => {
                check(&file).map_err(|reason| PersistError::Inconsistent {
                    path: path.clone(),
                    reason,
                })?;
                file
            }
            None => IdentityFile {
                format: FORMAT,
                next_endpoint: FIRST_BRIDGED_ENDPOINT,
                devices: BTreeMap::new(),
            },
        };
        Ok(IdentityMap {
            path,
            file,
            writer: None,
        })
    }

    /// Routes every later save through `writer`.
    pub fn with_writer(mut self, writer: crate::writer::Writer) -> IdentityMap {
        self.writer = Some(writer);
        self
    }

    /// The file this map is stored in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The endpoint the next new device will get.
    pub fn next_endpoint(&self) -> u16 {
        self.file.next_endpoint
    }

    pub fn get(&self, id: &str) -> Option<&Identity> {
        self.file.devices.get(id)
    }

    /// Makes sure every id has an identity, allocating new ones upward in the given order, and
    /// persists the map once if anything was allocated. On error nothing changes.
    pub fn assign<'a>(
        &mut self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), IdentityError> {
        let before = self.file.clone();
        self.allocate(ids)?;
        if self.file != before {
            if let Err(e) = self.save() {
                self.file = before;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Like [`IdentityMap::assign`] but in memory only; the caller saves with
    /// [`IdentityMap::queue_save`]. A new identity kept in memory after a failed save is harmless
    /// (endpoint numbers only ever go up; the next save carries it).
    pub fn allocate<'a>(
        &mut self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), IdentityError> {
        let before = self.file.clone();
        let mut rng = rand::rng();
        for id in ids {
            if self.file.devices.contains_key(id) {
                continue;
            }
            let endpoint = self.file.next_endpoint;
            if endpoint > MAX_ENDPOINT {
                self.file = before;
                return Err(IdentityError::EndpointsExhausted {
                    device: id.to_owned(),
                });
            }
            self.file.next_endpoint = endpoint + 1;
            let bytes: [u8; 16] = rng.random();
            let unique_id = bytes.iter().map(|b| format!("{b:02x}")).collect();
            self.file.devices.insert(
                id.to_owned(),
                Identity {
                    endpoint,
                    unique_id,
                    label: None,
                },
            );
        }
        Ok(())
    }

    /// Queues the map as it is now on the persistence writer (in the order of every other save of
    /// it) and returns the outcome to wait for, so the caller can release its locks first. Without a
    /// writer it saves at once.
    pub fn queue_save(&self) -> Result<crate::writer::Pending, IdentityError> {
        match &self.writer {
            Some(writer) => {
                let bytes = crate::writer::json_bytes(&self.path, &self.file)?;
                // Retried after a failure: the map in memory stays the truth (allocations are
                // kept, labels were acknowledged).
                Ok(writer.submit_waiting(&self.path, bytes, true))
            }
            None => {
                persist::write_json(&self.path, &self.file)?;
                Ok(crate::writer::Pending::done(&self.path))
            }
        }
    }

    /// Sets or clears the controller-written label and queues the save on the persistence writer
    /// without waiting for it (a label must never make the Matter thread wait for an fsync; a failed
    /// save is logged and reported in the writer's health). Without a writer it saves at once.
    /// Returns whether it changed. The caller checks the length.
    pub fn set_label_deferred(
        &mut self,
        id: &str,
        label: Option<String>,
    ) -> Result<bool, IdentityError> {
        let Some(writer) = self.writer.clone() else {
            return self.set_label(id, label);
        };
        if self.replace_label(id, label)?.is_none() {
            return Ok(false);
        }
        let bytes = crate::writer::json_bytes(&self.path, &self.file)?;
        writer.submit(&self.path, bytes);
        Ok(true)
    }

    /// Sets or clears the controller-written label and persists it. Returns whether it changed.
    /// The caller checks the length.
    pub fn set_label(&mut self, id: &str, label: Option<String>) -> Result<bool, IdentityError> {
        let Some(old) = self.replace_label(id, label)? else {
            return Ok(false);
        };
        if let Err(e) = self.save() {
            if let Some(identity) = self.file.devices.get_mut(id) {
                identity.label = old;
            }
            return Err(e);
        }
        Ok(true)
    }

    /// Puts `label` in memory: `Ok(None)` when it already was the label, else the label it replaced.
    fn replace_label(
        &mut self,
        id: &str,
        label: Option<String>,
    ) -> Result<Option<Option<String>>, IdentityError> {
        let identity = self
            .file
            .devices
            .get_mut(id)
            .ok_or_else(|| IdentityError::Unknown(id.to_owned()))?;
        if identity.label == label {
            return Ok(None);
        }
        Ok(Some(std::mem::replace(&mut identity.label, label)))
    }

    fn save(&self) -> Result<(), IdentityError> {
        match &self.writer {
            Some(writer) => writer.write_json_blocking(&self.path, &self.file)?,
            None => persist::write_json(&self.path, &self.file)?,
        }
        Ok(())
    }
}

/// Rejects a file that would break the never-reuse promise if trusted.
fn check(file: &IdentityFile) -> Result<(), String> {
    if file.format != FORMAT {
        return Err(format!(
            "unsupported format {} (expected {FORMAT})",
            file.format
        ));
    }
    if file.next_endpoint < FIRST_BRIDGED_ENDPOINT {
        return Err(format!(
            "next_endpoint {} is below {FIRST_BRIDGED_ENDPOINT}",
            file.next_endpoint
        ));
    }
    let mut endpoints = HashSet::new();
    for (id, identity) in &file.devices {
        let ep = identity.endpoint;
        if ep < FIRST_BRIDGED_ENDPOINT || ep >= file.next_endpoint {
            return Err(format!(
                "device `{id}` has endpoint {ep}, outside {FIRST_BRIDGED_ENDPOINT}..{}",
                file.next_endpoint
            ));
        }
        if !endpoints.insert(ep) {
            return Err(format!(
                "endpoint {ep} is given to more than one device (again at `{id}`)"
            ));
        }
        let uid = &identity.unique_id;
        if uid.len() != 32 || !uid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "device `{id}` has unique_id {uid:?}, not 32 hex characters"
            ));
        }
        if identity
            .label
            .as_ref()
            .is_some_and(|l| l.len() > MAX_LABEL_BYTES)
        {
            return Err(format!(
                "device `{id}` has a label longer than {MAX_LABEL_BYTES} bytes"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(map: &IdentityMap, ids: &[&str]) -> Vec<u16> {
        ids.iter().map(|id| map.get(id).unwrap().endpoint).collect()
    }

    #[test]
    fn allocation_starts_at_two_and_is_stable_across_reload_and_reorder() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = IdentityMap::load(dir.path()).unwrap();
        map.assign(["a", "b", "c"]).unwrap();
        assert_eq!(endpoints(&map, &["a", "b", "c"]), [2, 3, 4]);
        let uid_b = map.get("b").unwrap().unique_id.clone();
        assert_eq!(uid_b.len(), 32);
        assert!(uid_b.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(uid_b, map.get("a").unwrap().unique_id);

        let mut reloaded = IdentityMap::load(dir.path()).unwrap();
        reloaded.assign(["c", "new", "b", "a"]).unwrap();
        assert_eq!(endpoints(&reloaded, &["a", "b", "c", "new"]), [2, 3, 4, 5]);
        assert_eq!(reloaded.get("b").unwrap().unique_id, uid_b);
        assert_eq!(reloaded.next_endpoint(), 6);
    }

    #[test]
    fn removed_devices_keep_their_endpoint_and_it_is_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = IdentityMap::load(dir.path()).unwrap();
        map.assign(["a", "b"]).unwrap();
        let uid_a = map.get("a").unwrap().unique_id.clone();
        // Next start: "a" is gone from the config, "c" is new.
        let mut map = IdentityMap::load(dir.path()).unwrap();
        map.assign(["b", "c"]).unwrap();
        assert_eq!(endpoints(&map, &["b", "c"]), [3, 4]);
        // "a" comes back: same endpoint, same UniqueID.
        let mut map = IdentityMap::load(dir.path()).unwrap();
        map.assign(["a", "b", "c"]).unwrap();
        assert_eq!(endpoints(&map, &["a"]), [2]);
        assert_eq!(map.get("a").unwrap().unique_id, uid_a);
    }

    #[test]
    fn labels_persist() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = IdentityMap::load(dir.path()).unwrap();
        map.assign(["a"]).unwrap();
        assert!(map.set_label("a", Some("Lamp".into())).unwrap());
        assert!(!map.set_label("a", Some("Lamp".into())).unwrap());
        let map = IdentityMap::load(dir.path()).unwrap();
        assert_eq!(map.get("a").unwrap().label.as_deref(), Some("Lamp"));
        let mut map = map;
        assert!(matches!(
            map.set_label("zz", None),
            Err(IdentityError::Unknown(_))
        ));
    }

    #[test]
    fn exhaustion_is_an_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = IdentityMap::load(dir.path()).unwrap();
        map.file.next_endpoint = MAX_ENDPOINT;
        map.assign(["last"]).unwrap();
        assert_eq!(map.get("last").unwrap().endpoint, 0xFFFE);
        let e = map.assign(["x", "y"]).unwrap_err();
        assert!(matches!(e, IdentityError::EndpointsExhausted { ref device } if device == "x"));
        assert!(map.get("x").is_none());
        // The exhausted map still reloads.
        let map = IdentityMap::load(dir.path()).unwrap();
        assert_eq!(map.next_endpoint(), 0xFFFF);
    }

    #[test]
    fn corrupt_or_inconsistent_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "{\"format\":1,\"next_endpoint\":").unwrap();
        let e = IdentityMap::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("identity.json") && e.contains("corrupt"), "{e}");

        let uid = "0".repeat(32);
        let dup = format!(
            r#"{{"format":1,"next_endpoint":4,"devices":{{
                "a":{{"endpoint":2,"unique_id":"{uid}"}},"b":{{"endpoint":2,"unique_id":"{uid}"}}}}}}"#
        );
        std::fs::write(&path, dup).unwrap();
        let e = IdentityMap::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("identity.json") && e.contains("endpoint 2"),
            "{e}"
        );

        let ahead = format!(
            r#"{{"format":1,"next_endpoint":3,"devices":{{"a":{{"endpoint":7,"unique_id":"{uid}"}}}}}}"#
        );
        std::fs::write(&path, ahead).unwrap();
        let e = IdentityMap::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("endpoint 7"), "{e}");
    }
}
