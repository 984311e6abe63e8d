//! Crash-safe key-value store for rs-matter's persisted state (fabrics, ACLs, counters, basic info).
//!
//! One file per key under `<storage>/matter/` (0700), named `k_XXXX` (0600 from the first byte: the
//! fabric blobs hold the operational private key and the IPK). Each file is written to a temp file,
//! fsync'd and renamed over the old one (see `persist::write_atomic`), so a crash leaves either the
//! old or the new blob, never a torn one. Each blob carries a small header (magic, length, CRC-32):
//! a file damaged on disk is reported by name at start-up instead of being silently read as "no
//! fabrics" — a silent factory reset would orphan the hub in every controller.
//!
//! rs-matter calls [`KvBlobStore`] on the Matter thread, which must never wait for a disk. With a
//! [`Writer`] ([`SafeKvStore::with_writer`], as the node runs) `store` and `remove` only hand the new
//! blob to the persistence writer thread (temp, fsync, rename there) and keep it in memory, so a
//! `load` always returns the latest handed-over value whether or not it has reached the disk yet. A
//! write that fails there (disk full, I/O error) leaves the old file, is logged and shown in
//! `/api/health` (`storage`), and is tried again until it lands; the node keeps serving from memory.
//! Without a writer (tests, tools) the writes are synchronous.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rs_matter::error::{Error, ErrorCode};
use rs_matter::persist::KvBlobStore;

use crate::writer::Writer;

const MAGIC: &[u8; 4] = b"HBK1";
const HEADER_LEN: usize = 12;

/// A directory of crash-safe blobs.
#[derive(Debug, Clone)]
pub struct SafeKvStore {
    dir: PathBuf,
    writer: Option<Writer>,
    /// With a writer: the latest blob handed over per key (`None`: removed), what `load` answers.
    latest: HashMap<u16, Option<Vec<u8>>>,
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
            writer: None,
            latest: HashMap::new(),
        }
    }

    /// Writes go through `writer` (off the calling thread); see the module doc.
    pub fn with_writer(mut self, writer: Writer) -> Self {
        self.writer = Some(writer);
        self
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
        if let Some(latest) = self.latest.get(&key) {
            let Some(payload) = latest else {
                return Ok(None);
            };
            if payload.len() > buf.len() {
                tracing::error!(path = %path.display(), len = payload.len(), "Matter state blob larger than the buffer");
                return Err(ErrorCode::NoSpace.into());
            }
            buf[..payload.len()].copy_from_slice(payload);
            return Ok(Some(&buf[..payload.len()]));
        }
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
        if let Some(writer) = &self.writer {
            // The writer creates the directory (0700) if it is missing.
            writer.submit(&path, encode(data));
            self.latest.insert(key, Some(data.to_vec()));
            return Ok(());
        }
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
        if let Some(writer) = &self.writer {
            writer.submit_remove(&path);
            self.latest.insert(key, None);
            return Ok(());
        }
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
    fn through_the_writer_reads_see_the_latest_value_and_files_land() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::spawn();
        let mut kv = SafeKvStore::new(dir.path()).with_writer(writer.clone());
        let mut buf = [0u8; 64];
        kv.store(1, b"first", &mut []).unwrap();
        kv.store(1, b"second", &mut []).unwrap();
        // Read back at once, before the writer need have written anything.
        assert_eq!(kv.load(1, &mut buf).unwrap().unwrap(), b"second");
        kv.store(2, b"gone soon", &mut []).unwrap();
        kv.remove(2, &mut []).unwrap();
        assert!(kv.load(2, &mut buf).unwrap().is_none());
        writer.flush();
        // On disk: the newest blob of key 1, crash-safe format; key 2 removed after its write.
        let mut fresh = SafeKvStore::new(dir.path());
        assert_eq!(fresh.load(1, &mut buf).unwrap().unwrap(), b"second");
        assert!(fresh.load(2, &mut buf).unwrap().is_none());
        assert_eq!(fresh.verify_all().unwrap(), 1);
        writer.stop();
    }

    #[test]
    fn a_failed_write_keeps_the_old_blob_serves_the_new_one_and_lands_later() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::spawn();
        let mut kv = SafeKvStore::new(dir.path()).with_writer(writer.clone());
        let mut buf = [0u8; 64];
        kv.store(3, b"old", &mut []).unwrap();
        writer.flush();
        // Make the directory unwritable in a way root cannot ignore: a file where it should be.
        let matter = dir.path().join("matter");
        let aside = dir.path().join("aside");
        std::fs::rename(&matter, &aside).unwrap();
        std::fs::write(&matter, b"").unwrap();
        kv.store(3, b"new", &mut []).unwrap();
        writer.flush();
        // The node goes on with the new value; the failure is reported; the old blob is untouched.
        assert_eq!(kv.load(3, &mut buf).unwrap().unwrap(), b"new");
        assert!(writer.health().last_error.unwrap().contains("k_0003"));
        assert_eq!(
            decode(&std::fs::read(aside.join("k_0003")).unwrap()).unwrap(),
            b"old"
        );
        std::fs::remove_file(&matter).unwrap();
        std::fs::rename(&aside, &matter).unwrap();
        // Tried again without another store.
        std::thread::sleep(crate::writer::RETRY * 2);
        writer.flush();
        assert_eq!(
            SafeKvStore::new(dir.path())
                .load(3, &mut buf)
                .unwrap()
                .unwrap(),
            b"new"
        );
        assert_eq!(writer.health().last_error, None);
        writer.stop();
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
