//! Expiry of every certificate the configuration names: connector and source CAs and client
//! certificates, and the API's own TLS certificate. Read at start and again every day (a rotated file
//! is picked up); each certificate's days left go to `GET /api/health` (`certificates`), to the metrics
//! (`hubbridge_certificate_expiry_seconds`) and to the log — a warning from [`WARN_DAYS`] days before
//! `notAfter`, an error once it has passed.
//!
//! Expiry is wall-clock time by nature (certificates carry UTC dates), so this is one of the few places
//! that reads `SystemTime`; the re-check interval runs on tokio's monotonic clock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connectors::ConnectorConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use x509_cert::der::Decode;

use crate::config::{Config, SourceConfig};

/// Warn this many days before a certificate expires (the deployment checklist asks for 30 days' notice).
pub const WARN_DAYS: i64 = 30;
/// How often the files are read again and the figures recomputed.
pub const RECHECK_EVERY: Duration = Duration::from_secs(24 * 3600);

/// A certificate file the configuration names, and who uses it (`connector home: tls.ca_file`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFile {
    pub path: PathBuf,
    pub used_by: Vec<String>,
}

/// Every certificate file of `config`, each once, with everyone who uses it.
pub fn configured(config: &Config) -> Vec<CertFile> {
    let mut files: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let mut add = |path: Option<&Path>, user: String| {
        if let Some(p) = path {
            files.entry(p.to_owned()).or_default().push(user);
        }
    };
    for c in &config.connectors {
        let who = |key: &str| format!("connector {}: {key}", c.name());
        match c {
            ConnectorConfig::Mqtt(m) => {
                if let Some(tls) = &m.tls {
                    add(Some(&tls.ca_file), who("tls.ca_file"));
                    add(tls.client_cert_file.as_deref(), who("tls.client_cert_file"));
                }
            }
            ConnectorConfig::AwsIot(a) => {
                add(a.ca_file.as_deref(), who("ca_file"));
                add(a.client_cert_file.as_deref(), who("client_cert_file"));
            }
            ConnectorConfig::AzureIot(a) => {
                add(Some(&a.ca_file), who("ca_file"));
                add(a.client_cert_file.as_deref(), who("client_cert_file"));
            }
        }
    }
    for s in &config.sources {
        let SourceConfig::Zigbee2mqtt(z) = s;
        if let Some(tls) = &z.tls {
            let who = |key: &str| format!("source {}: {key}", s.source_name());
            add(Some(&tls.ca_file), who("tls.ca_file"));
            add(tls.client_cert_file.as_deref(), who("tls.client_cert_file"));
        }
    }
    add(config.api.tls_cert.as_deref(), "api: tls_cert".to_owned());
    files
        .into_iter()
        .map(|(path, used_by)| CertFile { path, used_by })
        .collect()
}

/// How a certificate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Valid,
    /// Within [`WARN_DAYS`] of `notAfter`.
    ExpiresSoon,
    Expired,
    /// The file is missing or holds no certificate we can read.
    Unreadable,
}

/// One certificate (a file may hold a chain: one entry per certificate in it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CertStatus {
    pub path: String,
    pub used_by: Vec<String>,
    /// RFC 4514 subject (`CN=broker,O=Home`), when readable.
    pub subject: Option<String>,
    /// `notAfter` in RFC 3339 (UTC).
    pub not_after: Option<String>,
    /// Seconds since the Unix epoch of `notAfter`.
    pub not_after_unix: Option<i64>,
    /// Whole days left, towards zero (negative once expired a day or more ago), as of the last check.
    pub days_left: Option<i64>,
    pub status: Standing,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CertStatus {
    /// Seconds left at `now` (negative once expired).
    pub fn seconds_left(&self, now: SystemTime) -> Option<i64> {
        Some(self.not_after_unix? - unix(now))
    }
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// The standing of a certificate with `seconds_left`.
pub fn standing(seconds_left: i64) -> Standing {
    if seconds_left <= 0 {
        Standing::Expired
    } else if seconds_left <= WARN_DAYS * 86_400 {
        Standing::ExpiresSoon
    } else {
        Standing::Valid
    }
}

/// Reads every certificate in `file` and rates it at `now`.
pub fn read(file: &CertFile, now: SystemTime) -> Vec<CertStatus> {
    let path = file.path.display().to_string();
    let unreadable = |error: String| CertStatus {
        path: path.clone(),
        used_by: file.used_by.clone(),
        subject: None,
        not_after: None,
        not_after_unix: None,
        days_left: None,
        status: Standing::Unreadable,
        error: Some(error),
    };
    let ders: Vec<CertificateDer<'static>> = match CertificateDer::pem_file_iter(&file.path)
        .and_then(|certs| certs.collect::<Result<_, _>>())
    {
        Ok(d) => d,
        Err(e) => return vec![unreadable(e.to_string())],
    };
    if ders.is_empty() {
        return vec![unreadable("no PEM certificate in the file".to_owned())];
    }
    ders.iter()
        .map(|der| match x509_cert::Certificate::from_der(der.as_ref()) {
            Err(e) => unreadable(format!("not an X.509 certificate: {e}")),
            Ok(cert) => {
                let tbs = cert.tbs_certificate();
                let not_after = tbs.validity().not_after;
                let at = not_after.to_unix_duration().as_secs() as i64;
                let left = at - unix(now);
                CertStatus {
                    path: path.clone(),
                    used_by: file.used_by.clone(),
                    subject: Some(tbs.subject().to_string()),
                    not_after: Some(not_after.to_date_time().to_string()),
                    not_after_unix: Some(at),
                    // Whole days, towards zero: 1.9 days left is 1; expired 3.2 days ago is -3.
                    days_left: Some(left / 86_400),
                    status: standing(left),
                    error: None,
                }
            }
        })
        .collect()
}

/// The certificates of the running bridge, as of the last check; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Certificates {
    files: Arc<Vec<CertFile>>,
    last: Arc<RwLock<Vec<CertStatus>>>,
}

impl Certificates {
    /// Reads every file of `files` now and logs what needs attention.
    pub fn load(files: Vec<CertFile>) -> Certificates {
        let certs = Certificates {
            files: Arc::new(files),
            last: Arc::default(),
        };
        certs.check(SystemTime::now());
        certs
    }

    /// Reads the files again, rates them at `now`, logs, and keeps the result.
    pub fn check(&self, now: SystemTime) -> Vec<CertStatus> {
        let all: Vec<CertStatus> = self.files.iter().flat_map(|f| read(f, now)).collect();
        for c in &all {
            log(c);
        }
        *self.last.write().unwrap_or_else(|e| e.into_inner()) = all.clone();
        all
    }

    /// The result of the last check.
    pub fn report(&self) -> Vec<CertStatus> {
        self.last.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Checks again every [`RECHECK_EVERY`] until `stop`.
    pub async fn watch(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(RECHECK_EVERY);
        tick.tick().await;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.check(SystemTime::now());
        }
    }
}

fn log(c: &CertStatus) {
    let used_by = c.used_by.join(", ");
    let subject = c.subject.as_deref().unwrap_or("");
    let not_after = c.not_after.as_deref().unwrap_or("");
    let days_left = c.days_left.unwrap_or(0);
    match c.status {
        Standing::Expired => tracing::error!(
            path = %c.path, %subject, %used_by, %not_after, days_left,
            "certificate EXPIRED: replace it (TLS connections that present or check it will fail)"
        ),
        Standing::ExpiresSoon => tracing::warn!(
            path = %c.path, %subject, %used_by, %not_after, days_left,
            "certificate expires in {days_left} day(s): renew it"
        ),
        Standing::Unreadable => tracing::warn!(
            path = %c.path, %used_by, error = c.error.as_deref().unwrap_or(""),
            "cannot read certificate to check its expiry"
        ),
        Standing::Valid => tracing::info!(
            path = %c.path, %subject, %used_by, %not_after, days_left,
            "certificate valid"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate valid `days` days, made by openssl (installed by tests/e2e/install.sh).
    fn openssl_cert(dir: &Path, days: u32) -> PathBuf {
        let (key, cert) = (dir.join("k.pem"), dir.join(format!("c{days}.pem")));
        let out = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args([
                "-days",
                &days.to_string(),
                "-subj",
                "/O=hubbridge/CN=hub test",
            ])
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        cert
    }

    #[test]
    fn days_left_and_standing_follow_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let file = CertFile {
            path: openssl_cert(dir.path(), 45),
            used_by: vec!["connector home: tls.ca_file".into()],
        };
        let now = SystemTime::now();
        let [c] = read(&file, now).try_into().unwrap();
        // RFC 4514 writes the RDNs last first: openssl's `/O=…/CN=…` reads `CN=…,O=…`.
        assert_eq!(c.subject.as_deref(), Some("CN=hub test,O=hubbridge"));
        assert_eq!(c.status, Standing::Valid);
        assert!(matches!(c.days_left, Some(44 | 45)), "{:?}", c.days_left);
        assert!(c.not_after.as_deref().unwrap().ends_with('Z'));
        // 20 days on: inside the warning window.
        let later = now + Duration::from_secs(20 * 86_400);
        let [c] = read(&file, later).try_into().unwrap();
        assert_eq!(c.status, Standing::ExpiresSoon);
        assert!(matches!(c.days_left, Some(24 | 25)), "{:?}", c.days_left);
        // After notAfter: expired, days negative.
        let after = now + Duration::from_secs(46 * 86_400);
        let [c] = read(&file, after).try_into().unwrap();
        assert_eq!(c.status, Standing::Expired);
        assert_eq!(c.days_left, Some(-1));
        assert!(c.seconds_left(after).unwrap() < 0);
    }

    #[test]
    fn a_missing_or_empty_file_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        for path in [dir.path().join("missing.pem"), empty] {
            let file = CertFile {
                path,
                used_by: vec!["api: tls_cert".into()],
            };
            let [c] = read(&file, SystemTime::now()).try_into().unwrap();
            assert_eq!(c.status, Standing::Unreadable);
            assert!(c.error.is_some());
        }
    }

    #[test]
    fn every_configured_certificate_is_listed_once_with_its_users() {
        let text = r#"
[api]
tls_cert = "/etc/hb/api.pem"
tls_key = "/etc/hb/api.key"

[[connectors]]
type = "mqtt"
name = "home"
host = "mqtt.lan"
[connectors.tls]
ca_file = "/etc/hb/ca.pem"
client_cert_file = "/etc/hb/client.pem"
client_key_file = "/etc/hb/client.key"

[[sources]]
type = "zigbee2mqtt"
name = "z"
host = "mqtt.lan"
[sources.tls]
ca_file = "/etc/hb/ca.pem"
"#;
        let config: Config = toml::from_str(text).unwrap();
        let files = configured(&config);
        let by_path = |p: &str| files.iter().find(|f| f.path == Path::new(p)).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(
            by_path("/etc/hb/ca.pem").used_by,
            [
                "connector home: tls.ca_file",
                "source zigbee2mqtt:z: tls.ca_file"
            ]
        );
        assert_eq!(by_path("/etc/hb/api.pem").used_by, ["api: tls_cert"]);
    }
}
