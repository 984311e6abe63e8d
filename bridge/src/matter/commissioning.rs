//! Commissioning secrets (setup passcode, discriminator): generated once, persisted crash-safely,
//! and turned into the pairing info a user needs (manual code, QR payload, terminal QR code).

use std::path::{Path, PathBuf};

use rand::RngExt;
use rs_matter::dm::clusters::basic_info::BasicInfoConfig;
use rs_matter::pairing::qr::{no_optional_data, CommFlowType, Qr, QrPayload, QrTextType};
use rs_matter::pairing::DiscoveryCapabilities;
use rs_matter::BasicCommData;
use serde::{Deserialize, Serialize};

/// The file, inside the storage dir, that holds the passcode and discriminator.
pub const FILE_NAME: &str = "commissioning.json";

/// The well-known test passcode of the Matter SDK. Only ever used behind `test_passcode`.
pub const TEST_PASSCODE: u32 = 20202021;
/// The well-known test discriminator of the Matter SDK.
pub const TEST_DISCRIMINATOR: u16 = 3840;

/// Setup passcodes the Matter Core spec (5.1.7.1) forbids.
const INVALID_PASSCODES: [u32; 12] = [
    0, 11111111, 22222222, 33333333, 44444444, 55555555, 66666666, 77777777, 88888888, 99999999,
    12345678, 87654321,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    pub passcode: u32,
    pub discriminator: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum CommissioningError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is corrupt ({reason}); refusing to invent new pairing secrets over it. Restore it from a backup, or delete it to factory-reset pairing")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// True when the passcode is one the spec allows: 1..=99999998 and not a trivial pattern.
pub fn passcode_is_valid(passcode: u32) -> bool {
    (1..=99_999_998).contains(&passcode) && !INVALID_PASSCODES.contains(&passcode)
}

/// A fresh random valid passcode and discriminator.
pub fn generate() -> Secrets {
    let mut rng = rand::rng();
    loop {
        let passcode = rng.random_range(1..=99_999_998u32);
        if passcode_is_valid(passcode) {
            return Secrets {
                passcode,
                discriminator: rng.random_range(0..=0x0FFFu16),
            };
        }
    }
}

/// Load the persisted secrets, or `None` when the file does not exist yet.
/// A corrupt or invalid file is an error, never a silent reset.
pub fn load(storage_dir: &Path) -> Result<Option<Secrets>, CommissioningError> {
    let path = storage_dir.join(FILE_NAME);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CommissioningError::Read { path, source }),
    };
    let secrets: Secrets =
        serde_json::from_slice(&bytes).map_err(|e| CommissioningError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    if !passcode_is_valid(secrets.passcode) || secrets.discriminator > 0x0FFF {
        return Err(CommissioningError::Corrupt {
            path,
            reason: "passcode or discriminator out of range".into(),
        });
    }
    Ok(Some(secrets))
}

/// The secrets to use: the test ones when asked for, else the persisted ones, else new ones
/// (persisted before they are ever shown, so a printed code stays valid after a crash).
pub fn load_or_create(
    storage_dir: &Path,
    test_passcode: bool,
) -> Result<Secrets, CommissioningError> {
    if test_passcode {
        return Ok(Secrets {
            passcode: TEST_PASSCODE,
            discriminator: TEST_DISCRIMINATOR,
        });
    }
    if let Some(secrets) = load(storage_dir)? {
        return Ok(secrets);
    }
    let secrets = generate();
    let path = storage_dir.join(FILE_NAME);
    let bytes = serde_json::to_vec_pretty(&secrets).expect("plain struct serialises");
    crate::persist::write_atomic(&path, &bytes).map_err(|source| CommissioningError::Write {
        path: path.clone(),
        source: std::io::Error::other(source.to_string()),
    })?;
    Ok(secrets)
}

impl Secrets {
    pub fn comm_data(&self) -> BasicCommData {
        BasicCommData {
            password: self.passcode.to_le_bytes().into(),
            discriminator: self.discriminator,
        }
    }

    /// The 11-digit manual pairing code, formatted `XXXX-XXX-XXXX`.
    pub fn manual_code(&self) -> String {
        self.comm_data().compute_pretty_pairing_code().to_string()
    }

    /// The `MT:...` QR payload for on-network (IP) commissioning.
    pub fn qr_payload(&self, dev_det: &BasicInfoConfig<'_>) -> String {
        let payload = QrPayload::new_from_basic_info(
            DiscoveryCapabilities::IP,
            CommFlowType::Standard,
            self.comm_data(),
            dev_det,
            no_optional_data as rs_matter::pairing::qr::NoOptionalData,
        );
        let mut buf = [0u8; 256];
        match payload.as_str(&mut buf) {
            Ok((text, _)) => text.to_string(),
            Err(e) => {
                tracing::error!(error = ?e, "cannot encode the QR payload");
                String::new()
            }
        }
    }
}

/// Render a QR payload as text lines (Unicode half blocks) for a terminal. Plain text: rs-matter ends
/// every Unicode line with an ANSI reset (`ESC[0m`) that the half blocks do not need, and that would land
/// in journald or a log file when stdout is not a terminal; it is stripped.
pub fn render_qr(text: &str) -> Vec<String> {
    let mut tmp = vec![0u8; 4096];
    let mut out = vec![0u8; 4096];
    let Ok(qr) = Qr::compute(text, &mut tmp, &mut out) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let mut line_buf = vec![0u8; 4096];
    for y in qr.lines_range(QrTextType::Unicode, 2) {
        if let Ok((line, _)) =
            qr.line_as_str(QrTextType::Unicode, 2, false, false, y, &mut line_buf)
        {
            lines.push(line.replace("\x1b[0m", ""));
        }
    }
    lines
}

/// Render a QR payload as a standalone SVG image (black modules on white, a 4-module quiet zone),
/// for the web page. `None` when the text does not fit a QR code.
pub fn qr_svg(text: &str) -> Option<String> {
    let mut tmp = vec![0u8; 4096];
    let mut out = vec![0u8; 4096];
    let qr = Qr::compute(text, &mut tmp, &mut out).ok()?;
    let size = qr.size() as i32;
    const BORDER: i32 = 4;
    let full = size + 2 * BORDER;
    // One path: a run of dark modules per row is one rectangle.
    let mut path = String::new();
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !qr.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < size && qr.get_module(x, y) {
                x += 1;
            }
            path.push_str(&format!(
                "M{} {}h{}v1h-{}z",
                start + BORDER,
                y + BORDER,
                x - start,
                x - start
            ));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"Matter pairing QR code\">\
         <rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_qr_code_is_plain_text() {
        let lines = render_qr("MT:Y.K9042C00KA0648G00");
        assert!(lines.len() > 10, "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains('\x1b')), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains('\u{2588}')), "{lines:?}");
    }

    #[test]
    fn generated_secrets_are_valid() {
        for _ in 0..10_000 {
            let s = generate();
            assert!(passcode_is_valid(s.passcode), "{}", s.passcode);
            assert!(s.discriminator <= 0x0FFF);
        }
    }

    #[test]
    fn forbidden_passcodes_are_rejected() {
        for p in INVALID_PASSCODES {
            assert!(!passcode_is_valid(p));
        }
        assert!(!passcode_is_valid(99_999_999));
        assert!(!passcode_is_valid(100_000_000));
        assert!(passcode_is_valid(TEST_PASSCODE));
    }

    #[test]
    fn persisted_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path(), false).unwrap();
        let b = load_or_create(dir.path(), false).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.passcode, TEST_PASSCODE);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"{\"passcode\": 123").unwrap();
        let err = load_or_create(dir.path(), false).unwrap_err().to_string();
        assert!(err.contains("commissioning.json"), "{err}");
        assert!(err.contains("corrupt"), "{err}");
    }

    #[test]
    fn qr_svg_draws_every_dark_module_of_the_code() {
        let text = "MT:Y.K9042C00KA0648G00";
        let svg = qr_svg(text).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        let mut tmp = vec![0u8; 4096];
        let mut out = vec![0u8; 4096];
        let qr = Qr::compute(text, &mut tmp, &mut out).unwrap();
        let dark = (0..qr.size() as i32)
            .flat_map(|y| (0..qr.size() as i32).map(move |x| (x, y)))
            .filter(|(x, y)| qr.get_module(*x, *y))
            .count();
        // Sum the widths of the row runs: each `hN` is N dark modules.
        let drawn: usize = svg
            .split('h')
            .skip(1)
            .filter_map(|s| s.split('v').next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(drawn, dark);
        let full = qr.size() + 8;
        assert!(
            svg.contains(&format!("viewBox=\"0 0 {full} {full}\"")),
            "{svg}"
        );
    }

    #[test]
    fn manual_code_matches_sdk_vector() {
        // The Matter SDK's own vector: passcode 20202021, discriminator 3840 -> 3497-011-2332.
        let s = Secrets {
            passcode: TEST_PASSCODE,
            discriminator: TEST_DISCRIMINATOR,
        };
        assert_eq!(s.manual_code(), "3497-011-2332");
    }
}
