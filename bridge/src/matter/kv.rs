//! Crash-safe key-value store for rs-matter's persisted state (fabrics, ACLs, counters, basic info).
//!
//! One file per key under `<storage>/matter/` (0700), named `k_XXXX` (0600 from the first byte: the
//! fabric blobs hold the operational private key and the IPK). Each file is written to a temp file,
//! fsync'd and renamed over the old one (see `persist::write_atomic`), so a crash leaves either the
//! old or the new blob, never a torn one. Each blob carries a small header (magic, length, CRC-32):
//! a file damaged on disk is reported by name at start-up instead of being silently read as "no
//! fabrics" — a silent factory reset would orphan the hub in every controller.

use std::path::{Path, PathBuf};

use rs_matter::error::{Error, ErrorCode};
use rs_matter::persist::KvBlobStore;

const MAGIC: &[u8; 4] = b"HBK1";
const HEADER_LEN: usize = 12;

/// A directory of crash-safe blobs.
#[derive(Debug, Clone)]
pub struct SafeKvStore {
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("{path} is damaged ({reason}); refusing to start with partial Matter state. Restore the storage dir from a backup, or remove {dir} to factory-reset the Matter node (every controller must then re-commission it)")]
pub struct KvCorrupt {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub reason: String,
}

impl SafeKvStore {
    pub fn new(storage_dir: &Path) -> Self {
        Self {
            dir: storage_dir.join("matter"),
        }
    }

    fn key_path(&self, key: u16) -> PathBuf {
        self.dir.join(format!("k_{key:04x}"))
    }

    /// Check every blob before rs-matter sees any of them, naming the first damaged file.
    pub fn verify_all(&self) -> Result<usize, KvCorrupt> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(0);
        };
        let mut count = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with("k_") || name.len() != 6 {
                continue;
            }
            let path = entry.path();
            let bytes = std::fs::read(&path).map_err(|e| self.corrupt(&path, e.to_string()))?;
            decode(&bytes).map_err(|reason| self.corrupt(&path, reason))?;
            count += 1;
        }
        Ok(count)
    }

    fn corrupt(&self, path: &Path, reason: String) -> KvCorrupt {
        KvCorrupt {
            path: path.to_path_buf(),
            dir: self.dir.clone(),
            reason,
        }
    }
}

/// Wrap a blob: magic, little-endian length, CRC-32 of the payload, payload.
pub fn encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// Unwrap a blob, checking its header and checksum.
pub fn decode(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!("{} bytes is shorter than the header", bytes.len()));
    }
    if &bytes[..4] != MAGIC {
        return Err("bad magic".into());
    }
    let len = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    let payload = &bytes[HEADER_LEN..];
    if payload.len() != len {
        return Err(format!("length {} but header says {len}", payload.len()));
    }
    if crc32fast::hash(payload) != crc {
        return Err("checksum mismatch".into());
    }
    Ok(payload)
}

impl KvBlobStore for SafeKvStore {
    fn load<'a>(&mut self, key: u16, buf: &'a mut [u8]) -> Result<Option<&'a [u8]>, Error> {
        let path = self.key_path(key);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot read Matter state");
                return Err(ErrorCode::StdIoError.into());
            }
        };
        let payload = match decode(&bytes) {
            Ok(payload) => payload,
            Err(reason) => {
                tracing::error!(path = %path.display(), %reason, "damaged Matter state");
                return Err(ErrorCode::InvalidData.into());
            }
        };
        if payload.len() > buf.len() {
            tracing::error!(path = %path.display(), len = payload.len(), "Matter state blob larger than the buffer");
            return Err(ErrorCode::NoSpace.into());
        }
        buf[..payload.len()].copy_from_slice(payload);
        Ok(Some(&buf[..payload.len()]))
    }

    fn store(&mut self, key: u16, data: &[u8], _buf: &mut [u8]) -> Result<(), Error> {
        let path = self.key_path(key);
        if let Err(e) = crate::persist::ensure_dir(&self.dir) {
            tracing::error!(path = %self.dir.display(), error = %e, "cannot create the Matter state dir");
            return Err(ErrorCode::StdIoError.into());
        }
        crate::persist::write_atomic(&path, &encode(data)).map_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "cannot persist Matter state");
            Error::from(ErrorCode::StdIoError)
        })
    }

    fn remove(&mut self, key: u16, _buf: &mut [u8]) -> Result<(), Error> {
        let path = self.key_path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot remove Matter state");
                Err(ErrorCode::StdIoError.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let mut kv = SafeKvStore::new(dir.path());
        let mut buf = [0u8; 64];
        assert!(kv.load(1, &mut buf).unwrap().is_none());
        kv.store(1, b"fabric", &mut []).unwrap();
        assert_eq!(kv.load(1, &mut buf).unwrap().unwrap(), b"fabric");
        assert_eq!(kv.verify_all().unwrap(), 1);
        kv.remove(1, &mut []).unwrap();
        assert!(kv.load(1, &mut buf).unwrap().is_none());
    }

    #[test]
    fn damaged_blob_is_named_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut kv = SafeKvStore::new(dir.path());
        kv.store(7, b"some fabric data", &mut []).unwrap();
        let path = dir.path().join("matter").join("k_0007");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let err = kv.verify_all().unwrap_err().to_string();
        assert!(err.contains("k_0007") && err.contains("checksum"), "{err}");
        let mut buf = [0u8; 64];
        assert!(kv.load(7, &mut buf).is_err());
        // Truncated (torn by something other than us) is caught too.
        std::fs::write(&path, &bytes[..5]).unwrap();
        assert!(kv.verify_all().is_err());
    }
}
