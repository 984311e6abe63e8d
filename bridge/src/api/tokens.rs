//! API tokens: the admin token in `<storage>/api-token` and the named read-only ones in
//! `<storage>/api-token.<name>`, each 64 random hex characters on one line, created 0600 on first start.
//!
//! The running daemon notices a rotation (`hubbridge token --rotate`) without a restart: every check
//! looks at the file's identity (inode, size, modification time) and re-reads it when that changed.
//! Tokens are compared in constant time and never logged.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rand::RngExt;

use crate::persist::{self, PersistError};

/// File name of the admin token inside the storage directory.
pub const TOKEN_FILE: &str = "api-token";
/// Hex characters in a token (32 random bytes).
pub const TOKEN_LEN: usize = 64;

/// A token file that cannot be read, written or parsed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Persist(#[from] PersistError),
    #[error(
        "{path} is not an API token ({reason}); delete it or run `hubbridge token --rotate` to \
         make a new one"
    )]
    Malformed { path: PathBuf, reason: String },
}

/// What a presented token may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The admin token: everything.
    Admin,
    /// A named read-only token: GET requests, never the pairing code.
    ReadOnly(String),
}

/// Where the token called `name` (None: the admin token) is kept.
pub fn token_path(storage_dir: &Path, name: Option<&str>) -> PathBuf {
    match name {
        None => storage_dir.join(TOKEN_FILE),
        Some(name) => storage_dir.join(format!("{TOKEN_FILE}.{name}")),
    }
}

/// Parses a token file's content: exactly 64 lowercase hex characters, optionally followed by one newline.
pub fn parse_token(path: &Path, bytes: &[u8]) -> Result<String, TokenError> {
    let malformed = |reason: String| TokenError::Malformed {
        path: path.to_owned(),
        reason,
    };
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.len() != TOKEN_LEN {
        return Err(malformed(format!(
            "{} bytes, expected {TOKEN_LEN} hex characters",
            body.len()
        )));
    }
    if let Some(pos) = body
        .iter()
        .position(|b| !(b.is_ascii_digit() || (b'a'..=b'f').contains(b)))
    {
        return Err(malformed(format!(
            "byte {pos} is not a lowercase hex digit"
        )));
    }
    Ok(String::from_utf8(body.to_vec()).expect("hex digits are ASCII"))
}

fn generate() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the token at `path`, creating it (0600, crash-safely) if it does not exist yet.
pub fn load_or_create(path: &Path) -> Result<String, TokenError> {
    match std::fs::read(path) {
        Ok(bytes) => parse_token(path, &bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => rotate(path),
        Err(error) => Err(PersistError::Io {
            op: "read",
            path: path.to_owned(),
            error,
        }
        .into()),
    }
}

/// Replaces the token at `path` with a new random one and returns it.
pub fn rotate(path: &Path) -> Result<String, TokenError> {
    let token = generate();
    persist::write_atomic(path, format!("{token}\n").as_bytes())?;
    Ok(token)
}

/// Compares two byte strings in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One token file and the last value read from it.
#[derive(Debug)]
struct TokenFile {
    path: PathBuf,
    cached: Mutex<(Option<Stamp>, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let ino = 0;
    Some(Stamp {
        ino,
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

impl TokenFile {
    fn open(path: PathBuf) -> Result<TokenFile, TokenError> {
        let token = load_or_create(&path)?;
        let cached = Mutex::new((stamp(&path), token));
        Ok(TokenFile { path, cached })
    }

    /// True when `presented` is this file's current token. A file that went missing or bad keeps
    /// the last good token (and says so), so a botched edit does not lock the owner out.
    fn matches(&self, presented: &[u8]) -> bool {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let now = stamp(&self.path);
        if now != cached.0 {
            match std::fs::read(&self.path)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_token(&self.path, &b).map_err(|e| e.to_string()))
            {
                Ok(token) => {
                    tracing::info!(path = %self.path.display(), "API token file changed; using the new token");
                    cached.1 = token;
                }
                Err(error) => {
                    tracing::warn!(path = %self.path.display(), %error, "cannot re-read the API token; keeping the previous one");
                }
            }
            cached.0 = now;
        }
        same(cached.1.as_bytes(), presented)
    }
}

/// Every token the API accepts.
#[derive(Debug)]
pub struct Tokens {
    admin: TokenFile,
    read_only: Vec<(String, TokenFile)>,
}

impl Tokens {
    /// Loads (creating where missing) the admin token and one read-only token per name.
    pub fn open(storage_dir: &Path, read_only: &[String]) -> Result<Tokens, TokenError> {
        persist::ensure_dir(storage_dir)?;
        let admin = TokenFile::open(token_path(storage_dir, None))?;
        let read_only = read_only
            .iter()
            .map(|name| {
                TokenFile::open(token_path(storage_dir, Some(name))).map(|f| (name.clone(), f))
            })
            .collect::<Result<_, _>>()?;
        Ok(Tokens { admin, read_only })
    }

    /// The scope of a presented token, or `None` when it is no token of ours.
    pub fn scope(&self, presented: &str) -> Option<Scope> {
        let presented = presented.as_bytes();
        if self.admin.matches(presented) {
            return Some(Scope::Admin);
        }
        self.read_only
            .iter()
            .find(|(_, file)| file.matches(presented))
            .map(|(name, _)| Scope::ReadOnly(name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path(), None);
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), TOKEN_LEN);
        assert_eq!(load_or_create(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            load_or_create(&token_path(other.path(), None)).unwrap(),
            first
        );
    }

    #[test]
    fn scopes_and_rotation_seen_without_restart() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::open(dir.path(), &["dashboard".to_owned()]).unwrap();
        let admin = load_or_create(&token_path(dir.path(), None)).unwrap();
        let dash = load_or_create(&token_path(dir.path(), Some("dashboard"))).unwrap();
        assert_eq!(tokens.scope(&admin), Some(Scope::Admin));
        assert_eq!(
            tokens.scope(&dash),
            Some(Scope::ReadOnly("dashboard".into()))
        );
        assert_eq!(tokens.scope(""), None);
        assert_eq!(tokens.scope(&admin[..63]), None);

        let new = rotate(&token_path(dir.path(), None)).unwrap();
        assert_ne!(new, admin);
        assert_eq!(
            tokens.scope(&admin),
            None,
            "the old token stops working at once"
        );
        assert_eq!(tokens.scope(&new), Some(Scope::Admin));

        // A damaged file keeps the last good token instead of locking everyone out.
        std::fs::write(token_path(dir.path(), None), "junk").unwrap();
        assert_eq!(tokens.scope(&new), Some(Scope::Admin));
    }

    #[test]
    fn malformed_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path(), None);
        for (content, expect) in [
            ("", "0 bytes"),
            ("abc\n", "3 bytes"),
            (&"A".repeat(64), "byte 0"),
            (&format!("{}\n\n", "a".repeat(64)), "65 bytes"),
        ] {
            std::fs::write(&path, content).unwrap();
            let e = load_or_create(&path).unwrap_err().to_string();
            assert!(
                e.contains("api-token") && e.contains(expect),
                "{content:?}: {e}"
            );
        }
    }
}
