//! `[[connectors]] type = "azure_iot"`: the hub's one device identity in Azure IoT Hub, how it
//! authenticates (SAS from the device key, or X.509), and the TLS trust anchor.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::sas::DeviceKey;
use crate::check::{in_range, invalid};
use crate::mqtt::Secret;
use crate::outbox::OutboxConfig;
use crate::retry::RetryConfig;
use crate::Error;

/// The MQTT API version Azure IoT Hub is spoken with.
pub const API_VERSION: &str = "2021-04-12";

/// One Azure IoT Hub connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureIotConfig {
    /// Required. `[a-z0-9][a-z0-9_-]{0,31}`; commands from it have origin `cloud:<name>`.
    pub name: String,
    /// Required. The IoT hub's host name, e.g. `my-hub.azure-devices.net` (used in the MQTT username and
    /// the SAS token's resource).
    pub hub_hostname: String,
    /// Required. The hub's device identity (the MQTT client id).
    pub device_id: String,
    /// Where to connect, if not `hub_hostname` (a gateway, a test broker). TLS verifies this name.
    #[serde(default)]
    pub host: Option<String>,
    /// Default 8883.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Required. PEM file of the CA(s) the hub's certificate chains to (DigiCert Global Root G2 and
    /// Microsoft RSA Root CA 2017 for the public cloud).
    pub ca_file: PathBuf,
    /// The device's symmetric key (base64, primary or secondary). Prefer `device_key_file`.
    #[serde(default)]
    pub device_key: Option<Secret>,
    /// File whose first line is the device key (read at every connect).
    #[serde(default)]
    pub device_key_file: Option<PathBuf>,
    /// X.509 authentication instead of a key: the device certificate chain (PEM).
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// The private key of `client_cert_file` (PEM).
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
    /// Lifetime granularity of SAS tokens, 10..=86400 s (short values are for tests). Tokens expire at the end of the next
    /// `sas_token_ttl_secs` period and are renewed (by reconnecting) half a period before. Default 3600.
    #[serde(default = "default_ttl")]
    pub sas_token_ttl_secs: u64,
    /// MQTT keep-alive, 5..=1177 s (Azure's maximum). Default 60.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_secs: u64,
    /// Outbox records in flight (sent, not yet acknowledged), 1..=1000. Default 50.
    #[serde(default = "default_inflight")]
    pub max_inflight: u16,
    #[serde(default)]
    pub outbox: OutboxConfig,
    #[serde(default)]
    pub retry: RetryConfig,
}

fn default_port() -> u16 {
    8883
}
fn default_ttl() -> u64 {
    3600
}
fn default_keep_alive() -> u64 {
    60
}
fn default_inflight() -> u16 {
    50
}

/// How the device proves its identity.
pub enum Auth {
    Sas(DeviceKey),
    X509,
}

impl AzureIotConfig {
    /// The address to connect to.
    pub fn host(&self) -> &str {
        self.host.as_deref().unwrap_or(&self.hub_hostname)
    }

    /// `{hub}/{deviceId}/?api-version=…`
    pub fn username(&self) -> String {
        format!(
            "{}/{}/?api-version={API_VERSION}",
            self.hub_hostname, self.device_id
        )
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let name = &self.name;
        let host_ok = |h: &str| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        };
        if !host_ok(&self.hub_hostname) {
            return Err(invalid(
                name,
                "hub_hostname",
                format!("{:?}", self.hub_hostname),
                "must be a host name such as my-hub.azure-devices.net",
            ));
        }
        // Azure device ids: up to 128 ASCII letters, digits and - . % _ * ? ! ( ) , : = @ $ '
        let id_ok = !self.device_id.is_empty()
            && self.device_id.len() <= 128
            && self
                .device_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.%_*?!(),:=@$'".contains(c));
        if !id_ok {
            return Err(invalid(
                name,
                "device_id",
                format!("{:?}", self.device_id),
                "must be 1..=128 ASCII letters, digits or - . % _ * ? ! ( ) , : = @ $ '",
            ));
        }
        if self.host.as_deref().is_some_and(|h| h.trim().is_empty()) {
            return Err(invalid(name, "host", "\"\"", "must not be empty"));
        }
        if self.port == 0 {
            return Err(invalid(name, "port", 0, "must not be 0"));
        }
        in_range(
            name,
            "sas_token_ttl_secs",
            self.sas_token_ttl_secs,
            10..=86_400,
        )?;
        in_range(name, "keep_alive_secs", self.keep_alive_secs, 5..=1177)?;
        in_range(name, "max_inflight", self.max_inflight, 1..=1000)?;
        let keys =
            usize::from(self.device_key.is_some()) + usize::from(self.device_key_file.is_some());
        let x509 = self.client_cert_file.is_some() || self.client_key_file.is_some();
        if self.client_cert_file.is_some() != self.client_key_file.is_some() {
            return Err(invalid(
                name,
                "client_key_file",
                "(half set)",
                "give both client_cert_file and client_key_file, or neither",
            ));
        }
        match (keys, x509) {
            (1, false) | (0, true) => {}
            (0, false) => {
                return Err(invalid(
                    name,
                    "device_key_file",
                    "(unset)",
                    "give device_key_file (or device_key), or client_cert_file and client_key_file",
                ))
            }
            _ => {
                return Err(invalid(
                    name,
                    "device_key_file",
                    "(set)",
                    "give exactly one of device_key, device_key_file, or an X.509 certificate",
                ))
            }
        }
        if let Some(key) = &self.device_key {
            DeviceKey::from_base64(&key.0)
                .map_err(|e| invalid(name, "device_key", "***", &e.to_string()))?;
        }
        Ok(())
    }

    /// The authentication, reading `device_key_file` now (a rotated key applies at the next connect).
    pub(crate) fn auth(&self) -> Result<Auth, Error> {
        let text = match (&self.device_key, &self.device_key_file) {
            (Some(k), _) => k.0.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .map_err(|e| Error::Credentials {
                    connector: self.name.clone(),
                    what: "device key file",
                    path: file.display().to_string(),
                    reason: e.to_string(),
                })?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, None) => return Ok(Auth::X509),
        };
        let key = DeviceKey::from_base64(&text).map_err(|e| Error::Credentials {
            connector: self.name.clone(),
            what: "device key",
            path: self
                .device_key_file
                .as_ref()
                .map_or_else(|| "(device_key)".to_owned(), |p| p.display().to_string()),
            reason: e.to_string(),
        })?;
        Ok(Auth::Sas(key))
    }
}
