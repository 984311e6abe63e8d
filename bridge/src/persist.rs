//! Crash-safe file writes (temp file, fsync, rename, fsync dir), strict JSON reads that name the file, and
//! the modes that keep secrets private: directories are created 0700 and files 0600 from the first byte
//! (the mode is given to `open`/`mkdir`, never set afterwards), and [`check_storage_modes`] repairs a
//! storage directory whose modes were loosened by hand or by an older version.
//!
//! A reader never turns a torn or corrupt file into an empty default: losing the identity map would give
//! every device a new endpoint and break the user's rooms and automations, so the daemon refuses to start
//! and says which file to look at.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reading or writing one of the daemon's state files failed.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot {op} {path}: {error}")]
    Io {
        op: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    #[error(
        "{path} is corrupt ({error}); hubbridge will not silently reset it — \
         restore it from a backup or move it aside"
    )]
    Corrupt {
        path: PathBuf,
        error: serde_json::Error,
    },
    #[error(
        "{path} is inconsistent ({reason}); hubbridge will not silently reset it — \
         restore it from a backup or move it aside"
    )]
    Inconsistent { path: PathBuf, reason: String },
    /// A write handed to the persistence writer failed there (the reason is the writer's error text).
    #[error("{reason}")]
    Write { path: PathBuf, reason: String },
    #[error("cannot encode {path}: {error}")]
    Encode {
        path: PathBuf,
        error: serde_json::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> PersistError + 'a {
    move |error| PersistError::Io {
        op,
        path: path.to_owned(),
        error,
    }
}

/// Replaces `path` with `bytes` so that after a crash the file holds either the old or the new content.
///
/// Writes a temporary file in the same directory, fsyncs it, renames it over `path`, then fsyncs the
/// directory so the rename itself is durable. A missing directory is created first (and its parent
/// fsynced, so the new directory's entry is durable too).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        ensure_dir(dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));

    let written = (|| {
        let mut file = private_file_options()
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        file.write_all(bytes).map_err(io_err("write", &tmp))?;
        file.sync_all().map_err(io_err("fsync", &tmp))?;
        fs::rename(&tmp, path).map_err(io_err("rename into place", path))
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Removes `path` durably (the directory is fsynced after the unlink); a missing file is not an error.
pub fn remove_durable(path: &Path) -> Result<(), PersistError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("remove", path)(e)),
    }
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => sync_dir(Path::new(".")),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), PersistError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), PersistError> {
    Ok(())
}

/// Whether `name` is one of [`write_atomic`]'s temporary files: `.<file>.tmp.<pid>.<n>`.
fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let mut parts = rest.rsplitn(3, '.');
    let (Some(n), Some(pid), Some(head)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(n) && digits(pid) && head.len() > ".tmp".len() && head.ends_with(".tmp")
}

/// Removes the temporary files that [`write_atomic`] of an earlier run left behind: a crash or power cut
/// between creating one and renaming it into place leaves it (possibly torn, never read), and nothing
/// else would ever remove it, so each cut would leak a file as large as the one being written. Called at
/// startup, before anything of this process writes. Returns the paths removed.
pub fn remove_stale_temp_files(dir: &Path) -> Result<Vec<PathBuf>, PersistError> {
    let mut removed = Vec::new();
    remove_temps(dir, 0, &mut removed)?;
    Ok(removed)
}

fn remove_temps(dir: &Path, depth: usize, removed: &mut Vec<PathBuf>) -> Result<(), PersistError> {
    let mut found = false;
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let kind = entry
            .file_type()
            .map_err(io_err("inspect", &entry.path()))?;
        let path = entry.path();
        if kind.is_dir() && depth < 8 {
            remove_temps(&path, depth + 1, removed)?;
        } else if kind.is_file() && entry.file_name().to_str().is_some_and(is_temp_name) {
            fs::remove_file(&path).map_err(io_err("remove the stale temporary file", &path))?;
            tracing::info!(path = %path.display(), "removed a temporary file an interrupted write left");
            removed.push(path);
            found = true;
        }
    }
    if found {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Serialises `value` as pretty JSON and writes it with [`write_atomic`].
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), PersistError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|error| PersistError::Encode {
        path: path.to_owned(),
        error,
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads a JSON file: `Ok(None)` if it does not exist; an error naming the file if it is torn or corrupt.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, PersistError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("read", path)(e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|error| PersistError::Corrupt {
            path: path.to_owned(),
            error,
        })
}

/// Creates the storage directory (and its parents) if it is missing; every directory it creates is
/// 0700 from the start.
pub fn ensure_dir(dir: &Path) -> Result<(), PersistError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(dir).map_err(io_err("create directory", dir))
}

/// Mode of every directory the daemon creates.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of every file the daemon creates.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Options that create a new file (never an existing one) readable by the owner only.
pub fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(PRIVATE_FILE_MODE);
    }
    options
}

/// Makes every file and directory this process creates private (umask 077), for the files written
/// by code that does not pass a mode itself (the connectors' outboxes). Call once at start.
#[cfg(unix)]
pub fn restrict_umask() {
    // SAFETY: umask(2) only swaps the process's file-mode creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(not(unix))]
pub fn restrict_umask() {}

/// What [`check_storage_modes`] found and repaired.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ModeReport {
    /// Files and directories looked at.
    pub checked: usize,
    /// Paths whose mode was looser than 0600 (files) or 0700 (directories), with the mode they had.
    pub fixed: Vec<(PathBuf, u32)>,
}

/// Checks the storage directory and everything in it (symbolic links are not followed): a directory
/// that others can read, write or enter is set to 0700, a file to 0600, each with a warning naming it.
#[cfg(unix)]
pub fn check_storage_modes(dir: &Path) -> Result<ModeReport, PersistError> {
    let mut report = ModeReport::default();
    check_tree(dir, 0, &mut report)?;
    Ok(report)
}

#[cfg(not(unix))]
pub fn check_storage_modes(_dir: &Path) -> Result<ModeReport, PersistError> {
    Ok(ModeReport::default())
}

#[cfg(unix)]
fn check_tree(path: &Path, depth: usize, report: &mut ModeReport) -> Result<(), PersistError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::symlink_metadata(path).map_err(io_err("inspect", path))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    report.checked += 1;
    let mode = meta.permissions().mode() & 0o7777;
    let is_dir = meta.is_dir();
    if mode & 0o077 != 0 {
        let fixed = if is_dir {
            PRIVATE_DIR_MODE
        } else {
            PRIVATE_FILE_MODE
        };
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:04o}"),
            fixed = format!("{fixed:04o}"),
            "storage file readable by other users; restricting it"
        );
        fs::set_permissions(path, fs::Permissions::from_mode(fixed))
            .map_err(io_err("restrict the mode of", path))?;
        report.fixed.push((path.to_owned(), mode));
    }
    // The tree is the daemon's own few levels (storage, matter/, outbox/<connector>/...).
    if is_dir && depth < 8 {
        for entry in fs::read_dir(path).map_err(io_err("list", path))? {
            let entry = entry.map_err(io_err("list", path))?;
            check_tree(&entry.path(), depth + 1, report)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Doc {
        n: u32,
    }

    #[test]
    fn write_then_read_round_trips_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.json");
        write_json(&path, &Doc { n: 1 }).unwrap();
        write_json(&path, &Doc { n: 2 }).unwrap();
        assert_eq!(read_json::<Doc>(&path).unwrap(), Some(Doc { n: 2 }));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("doc.json")]);
    }

    #[test]
    fn stale_temp_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("matter");
        fs::create_dir(&sub).unwrap();
        let stale = [
            dir.path().join(".state.json.tmp.4431.9"),
            sub.join(".k_0100.tmp.12.0"),
        ];
        let kept = [
            dir.path().join("state.json"),
            dir.path().join(".state.json.tmp.x.1"),
            dir.path().join(".tmp.1.2"),
            dir.path().join("state.json.tmp.1.2"),
            sub.join("k_0100"),
        ];
        for p in stale.iter().chain(&kept) {
            fs::write(p, b"x").unwrap();
        }
        let mut removed = remove_stale_temp_files(dir.path()).unwrap();
        removed.sort();
        let mut want = stale.to_vec();
        want.sort();
        assert_eq!(removed, want);
        assert!(stale.iter().all(|p| !p.exists()));
        assert!(kept.iter().all(|p| p.exists()));
    }

    #[test]
    fn missing_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_json::<Doc>(&dir.path().join("nope.json")).unwrap(),
            None
        );
    }

    #[test]
    fn torn_and_corrupt_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in [
            ("empty.json", ""),
            ("torn.json", "{\"n\": 1"),
            ("junk.json", "\0\0\0"),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, content).unwrap();
            let e = read_json::<Doc>(&path).unwrap_err();
            assert!(matches!(e, PersistError::Corrupt { .. }), "{e}");
            assert!(e.to_string().contains(name), "{e}");
        }
    }

    #[test]
    fn missing_directories_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/sub/doc.json");
        write_json(&path, &Doc { n: 3 }).unwrap();
        assert_eq!(read_json::<Doc>(&path).unwrap(), Some(Doc { n: 3 }));
    }

    #[cfg(unix)]
    #[test]
    fn new_files_and_directories_are_private_from_the_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/sub/doc.json");
        write_json(&path, &Doc { n: 1 }).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        assert_eq!(mode(&dir.path().join("state/sub")), 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn loose_modes_are_reported_and_fixed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        ensure_dir(&root.join("matter")).unwrap();
        write_atomic(&root.join("matter/k_0001"), b"x").unwrap();
        write_atomic(&root.join("ok.json"), b"{}").unwrap();
        let set = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
        set(&root, 0o755);
        set(&root.join("matter/k_0001"), 0o644);
        let report = check_storage_modes(&root).unwrap();
        assert_eq!(report.checked, 4);
        let fixed: Vec<_> = report.fixed.iter().map(|(p, m)| (p.clone(), *m)).collect();
        assert_eq!(
            fixed,
            vec![(root.clone(), 0o755), (root.join("matter/k_0001"), 0o644)]
        );
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("matter/k_0001")), 0o600);
        assert!(check_storage_modes(&root).unwrap().fixed.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn unwritable_location_fails_with_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"").unwrap();
        // A regular file where a directory should be.
        let e = write_atomic(&blocker.join("doc.json"), b"{}").unwrap_err();
        assert!(e.to_string().contains("file"), "{e}");
    }
}
