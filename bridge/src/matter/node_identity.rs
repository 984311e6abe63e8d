//! The node's own identity — Basic Information SerialNumber and UniqueID, and the mDNS host name —
//! random per installation, made once and kept in `<storage>/node-identity.json` (0600) beside the
//! commissioning data.
//!
//! The rule for installs made before this file existed (when the three were hashes of the storage
//! path, the same for every hub using the default `/var/lib/hubbridge`): a commissioned install
//! keeps the values its controllers already know — the path-derived ones are written to the file
//! once and never recomputed, so moving the directory no longer changes them. An install without a
//! fabric has nothing to keep and gets random values.

use std::path::{Path, PathBuf};

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::persist::{self, PersistError};

/// The file, inside the storage dir, that holds the node identity.
pub const FILE_NAME: &str = "node-identity.json";
const FORMAT: u32 = 1;

/// What the node is known as; never changes once written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredIdentity {
    pub format: u32,
    /// Basic Information SerialNumber: 1..=32 printable ASCII characters.
    pub serial: String,
    /// Basic Information UniqueID: 1..=32 printable ASCII characters.
    pub unique_id: String,
    /// mDNS host name (without `.local`): 1..=63 letters, digits and '-'.
    pub host_name: String,
    /// How the values were made: `random`, or `storage-path` for an install migrated with the
    /// values its controllers knew.
    pub origin: IdentityOrigin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityOrigin {
    Random,
    StoragePath,
}

/// The identity file is damaged or cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum NodeIdentityError {
    #[error(transparent)]
    Persist(#[from] PersistError),
    #[error(
        "{path}: `{field}` = {value:?}: {reason}; hubbridge will not invent a new identity over it \
         (controllers know the node by it) — restore it from a backup"
    )]
    Invalid {
        path: PathBuf,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

impl StoredIdentity {
    /// Checks every field, naming the first bad one.
    pub fn check(&self, path: &Path) -> Result<(), NodeIdentityError> {
        let bad = |field, value: &str, reason| NodeIdentityError::Invalid {
            path: path.to_owned(),
            field,
            value: value.chars().take(80).collect(),
            reason,
        };
        if self.format != FORMAT {
            return Err(bad(
                "format",
                &self.format.to_string(),
                "unsupported format (expected 1)",
            ));
        }
        for (field, value) in [("serial", &self.serial), ("unique_id", &self.unique_id)] {
            if value.is_empty() || value.len() > 32 {
                return Err(bad(field, value, "must be 1 to 32 characters"));
            }
            if !value.chars().all(|c| c.is_ascii_graphic()) {
                return Err(bad(field, value, "must be printable ASCII without spaces"));
            }
        }
        let host = &self.host_name;
        if host.is_empty()
            || host.len() > 63
            || host.starts_with('-')
            || !host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(bad(
                "host_name",
                host,
                "must be 1 to 63 letters, digits and '-', not starting with '-'",
            ));
        }
        Ok(())
    }

    fn random() -> StoredIdentity {
        let mut rng = rand::rng();
        let serial: u64 = rng.random::<u64>() & 0xFF_FFFF_FFFF;
        let unique: u64 = rng.random();
        let host: u64 = rng.random::<u64>() & 0xFFFF_FFFF_FFFF;
        StoredIdentity {
            format: FORMAT,
            serial: format!("HB{serial:010X}"),
            unique_id: format!("{unique:016X}"),
            host_name: format!("{host:012X}"),
            origin: IdentityOrigin::Random,
        }
    }

    /// The values versions before this file derived from the storage path (kept for migration).
    pub fn from_storage_path(storage_dir: &Path) -> StoredIdentity {
        let dir = std::fs::canonicalize(storage_dir).unwrap_or_else(|_| storage_dir.to_owned());
        let seed = dir.display().to_string();
        let hash = fnv1a(seed.as_bytes());
        StoredIdentity {
            format: FORMAT,
            serial: format!("HB{:010X}", hash & 0xFF_FFFF_FFFF),
            unique_id: format!("{hash:016X}"),
            host_name: format!("{:012X}", hash & 0xFFFF_FFFF_FFFF),
            origin: IdentityOrigin::StoragePath,
        }
    }
}

/// FNV-1a, as the earlier versions used.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Parses the identity file's content (strict: unknown fields and bad values are errors naming them).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<StoredIdentity, NodeIdentityError> {
    let identity: StoredIdentity =
        serde_json::from_slice(bytes).map_err(|error| PersistError::Corrupt {
            path: path.to_owned(),
            error,
        })?;
    identity.check(path)?;
    Ok(identity)
}

/// The stored identity; on first use, made and stored (see the module doc for which values).
/// `commissioned`: the storage holds at least one fabric.
pub fn load_or_create(
    storage_dir: &Path,
    commissioned: bool,
) -> Result<StoredIdentity, NodeIdentityError> {
    let path = storage_dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => return parse(&path, &bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(PersistError::Io {
                op: "read",
                path,
                error,
            }
            .into())
        }
    }
    let identity = if commissioned {
        tracing::info!(path = %path.display(), "commissioned install without a stored node identity: keeping the serial number, UniqueID and host name its controllers know");
        StoredIdentity::from_storage_path(storage_dir)
    } else {
        StoredIdentity::random()
    };
    persist::write_json(&path, &identity)?;
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_installs_get_distinct_random_identities_that_stay() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ia = load_or_create(a.path(), false).unwrap();
        let ib = load_or_create(b.path(), false).unwrap();
        assert_eq!(ia.origin, IdentityOrigin::Random);
        assert_ne!(ia.serial, ib.serial);
        assert_ne!(ia.unique_id, ib.unique_id);
        assert_ne!(ia.host_name, ib.host_name);
        assert_eq!(
            load_or_create(a.path(), true).unwrap(),
            ia,
            "stored, not recomputed"
        );
        ia.check(Path::new("x")).unwrap();
    }

    #[test]
    fn commissioned_installs_keep_their_path_derived_identity_even_when_moved() {
        let dir = tempfile::tempdir().unwrap();
        let old = StoredIdentity::from_storage_path(dir.path());
        let migrated = load_or_create(dir.path(), true).unwrap();
        assert_eq!(migrated, old);
        assert_eq!(migrated.origin, IdentityOrigin::StoragePath);
        let moved = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join(FILE_NAME), moved.path().join(FILE_NAME)).unwrap();
        assert_eq!(
            load_or_create(moved.path(), true).unwrap().unique_id,
            old.unique_id
        );
    }

    #[test]
    fn bad_files_are_named_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let good = serde_json::to_value(StoredIdentity::random()).unwrap();
        for (field, value, expect) in [
            ("serial", serde_json::json!(""), "`serial`"),
            (
                "unique_id",
                serde_json::json!("x".repeat(33)),
                "`unique_id`",
            ),
            ("host_name", serde_json::json!("a.b"), "`host_name`"),
            ("format", serde_json::json!(2), "`format`"),
            ("evil", serde_json::json!(1), "evil"),
        ] {
            let mut doc = good.clone();
            doc[field] = value;
            std::fs::write(&path, doc.to_string()).unwrap();
            let e = load_or_create(dir.path(), false).unwrap_err().to_string();
            assert!(e.contains(FILE_NAME) && e.contains(expect), "{field}: {e}");
        }
        std::fs::write(&path, "{").unwrap();
        assert!(load_or_create(dir.path(), false).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{");
    }
}
