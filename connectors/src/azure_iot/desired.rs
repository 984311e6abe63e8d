//! Desired properties as the hub last saw them, per device and field, and their file beside the outbox:
//! the rule that an old desired value never overrides a newer local change (Azure cannot clear desired
//! properties from the device, and every twin GET returns the whole desired document).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::twin::{desired_sections, DesiredSection};

/// What the hub last saw of the desired properties, per device and field: only fields whose desired value
/// changed since are applied, so an old desired value never overrides a newer local change (Azure cannot
/// clear desired properties from the device side, and every GET returns the whole desired document).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DesiredSeen {
    /// The desired `$version` last processed.
    pub version: Option<u64>,
    pub devices: BTreeMap<String, Map<String, Value>>,
}

impl DesiredSeen {
    /// The sections to apply for a desired document (`full`: a GET; else a PATCH) with `$version`
    /// `version`, keeping only the fields that changed since last seen; records what was seen. A document
    /// not newer than the last one processed yields nothing.
    pub fn changes(
        &mut self,
        doc: &Map<String, Value>,
        version: Option<u64>,
        full: bool,
    ) -> Vec<DesiredSection> {
        if let (Some(v), Some(last)) = (version, self.version) {
            if v <= last {
                return Vec::new();
            }
        }
        if version.is_some() {
            self.version = version;
        }
        let mut changed = Map::new();
        for (device, section) in doc.iter().filter(|(k, _)| !k.starts_with('$')) {
            let seen = self.devices.entry(device.clone()).or_default();
            let fields: Map<String, Value> = match section {
                Value::Object(o) => o
                    .iter()
                    .filter(|(f, _)| !f.starts_with('$'))
                    .map(|(f, v)| (f.clone(), v.clone()))
                    .collect(),
                Value::Null => {
                    seen.clear();
                    continue;
                }
                other => {
                    changed.insert(device.clone(), other.clone());
                    continue;
                }
            };
            let mut delta = Map::new();
            for (f, v) in &fields {
                if seen.get(f) != Some(v) && !v.is_null() {
                    delta.insert(f.clone(), v.clone());
                }
            }
            if full {
                *seen = fields.into_iter().filter(|(_, v)| !v.is_null()).collect();
            } else {
                for (f, v) in fields {
                    if v.is_null() {
                        seen.remove(&f);
                    } else {
                        seen.insert(f, v);
                    }
                }
            }
            if !delta.is_empty() {
                changed.insert(device.clone(), Value::Object(delta));
            }
        }
        if full {
            self.devices.retain(|d, _| doc.contains_key(d));
        }
        self.devices.retain(|_, m| !m.is_empty());
        desired_sections(&changed)
    }
}

/// The desired properties last seen ([`DesiredSeen`]), in `<outbox>.desired.json` (written to a
/// temp file, fsynced, renamed), so a restart does not apply an old desired value over newer local changes.
pub(super) struct DesiredMemory {
    path: PathBuf,
    pub(super) seen: DesiredSeen,
    saved: DesiredSeen,
}

impl DesiredMemory {
    pub(super) fn load(outbox: &std::path::Path) -> DesiredMemory {
        let path = outbox.with_extension("desired.json");
        let seen: DesiredSeen = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        DesiredMemory {
            path,
            saved: seen.clone(),
            seen,
        }
    }

    pub(super) fn save(&mut self) {
        if self.saved == self.seen {
            return;
        }
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_vec(&self.seen).unwrap_or_default();
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        match write() {
            Ok(()) => self.saved = self.seen.clone(),
            Err(e) => {
                tracing::error!(path = %self.path.display(), error = %e, "cannot record the desired properties seen")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use device_types::State;
    use serde_json::json;

    #[test]
    fn only_desired_fields_changed_since_last_seen_are_applied() {
        let mut seen = DesiredSeen::default();
        let doc = |v: Value| v.as_object().unwrap().clone();
        // First GET ever: everything is new.
        let c = seen.changes(
            &doc(json!({"lamp": {"on": true}, "$version": 2})),
            Some(2),
            true,
        );
        assert_eq!(c.len(), 1);
        // A repeated GET of the same version, or an older one: nothing.
        assert!(seen
            .changes(&doc(json!({"lamp": {"on": true}})), Some(2), true)
            .is_empty());
        // A newer GET where only another device changed: the unchanged lamp is not applied again.
        let c = seen.changes(
            &doc(json!({"lamp": {"on": true}, "hall": {"on": true}})),
            Some(3),
            true,
        );
        assert_eq!(
            c.iter().map(|s| s.device.as_str()).collect::<Vec<_>>(),
            ["hall"]
        );
        // A PATCH changing one field of the lamp: only that field.
        let c = seen.changes(&doc(json!({"lamp": {"brightness": 9}})), Some(4), false);
        assert_eq!(
            c[0].patch,
            Ok(State {
                brightness: Some(9),
                ..State::default()
            })
        );
        // Survives a round trip through its file form.
        let back: DesiredSeen =
            serde_json::from_value(serde_json::to_value(&seen).unwrap()).unwrap();
        assert_eq!(back, seen);
    }
}
