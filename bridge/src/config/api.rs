//! `[api]`: the local HTTP API's listen address and its protection (tokens, Host names, limits, TLS).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{invalid, quoted, ConfigError};

/// Longest read-only token name.
pub const MAX_TOKEN_NAME_LEN: usize = 32;

/// `[api]`: the local HTTP API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address the API listens on; loopback by default.
    pub listen: SocketAddr,
    /// Require `Authorization: Bearer <token>` on every route but `GET /healthz`. Can only be switched
    /// off while `listen` is a loopback address.
    pub auth: bool,
    /// Host names (or addresses) the API answers to besides loopback names and the listen address;
    /// any other `Host` header gets 421 (a DNS-rebinding guard).
    pub host_names: Vec<String>,
    /// Names of extra read-only tokens (for dashboards); each is kept in `<storage>/api-token.<name>`.
    pub read_only_tokens: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests per second one client address may make on average.
    pub rate_limit_per_second: u32,
    /// Requests one client address may make in a burst.
    pub rate_limit_burst: u32,
    /// Most devices that may exist through `POST /api/devices` at once.
    pub max_devices: usize,
    /// PEM certificate chain: with `tls_key`, the API is served over HTTPS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            auth: true,
            host_names: Vec::new(),
            read_only_tokens: Vec::new(),
            max_body_bytes: 65_536,
            rate_limit_per_second: 1000,
            rate_limit_burst: 2000,
            max_devices: 256,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl ApiConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.auth && !self.listen.ip().is_loopback() {
            return Err(invalid(
                "api.auth",
                "false",
                format!(
                    "authentication cannot be switched off while api.listen = \"{}\" is not a \
                     loopback address (anyone on the network could unlock doors and read the \
                     pairing code); set auth = true or listen on 127.0.0.1",
                    self.listen
                ),
            ));
        }
        let mut seen = HashSet::new();
        for name in &self.host_names {
            check_host_name(name)
                .map_err(|reason| invalid("api.host_names", quoted(name), reason))?;
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(invalid("api.host_names", quoted(name), "listed twice"));
            }
        }
        let mut seen = HashSet::new();
        for name in &self.read_only_tokens {
            check_token_name(name)
                .map_err(|reason| invalid("api.read_only_tokens", quoted(name), reason))?;
            if !seen.insert(name) {
                return Err(invalid(
                    "api.read_only_tokens",
                    quoted(name),
                    "listed twice",
                ));
            }
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(invalid(
                "api.max_body_bytes",
                self.max_body_bytes.to_string(),
                "must be between 1024 and 16777216",
            ));
        }
        if !(1..=1_000_000).contains(&self.rate_limit_per_second) {
            return Err(invalid(
                "api.rate_limit_per_second",
                self.rate_limit_per_second.to_string(),
                "must be between 1 and 1000000",
            ));
        }
        if !(1..=1_000_000).contains(&self.rate_limit_burst) {
            return Err(invalid(
                "api.rate_limit_burst",
                self.rate_limit_burst.to_string(),
                "must be between 1 and 1000000",
            ));
        }
        if self.max_devices > 10_000 {
            return Err(invalid(
                "api.max_devices",
                self.max_devices.to_string(),
                "must be at most 10000",
            ));
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => {
                return Err(invalid(
                    "api.tls_key",
                    "(missing)",
                    "api.tls_cert is set: set api.tls_key to its private key too",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "api.tls_cert",
                    "(missing)",
                    "api.tls_key is set: set api.tls_cert to its certificate too",
                ))
            }
            (Some(cert), Some(key)) => {
                for (key_name, path) in [("api.tls_cert", cert), ("api.tls_key", key)] {
                    if path.as_os_str().is_empty() {
                        return Err(invalid(key_name, "\"\"", "must not be empty"));
                    }
                }
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// True when the API is served over HTTPS.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some()
    }
}

/// A host name or IP literal as it appears in a `Host` header (without the port).
fn check_host_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("must not be empty");
    }
    if name.len() > 253 {
        return Err("must be at most 253 characters");
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(
            "must be a host name (letters, digits, '-', '.') or an IP address, without a port",
        );
    }
    Ok(())
}

/// A read-only token name: `[a-z0-9][a-z0-9_-]{0,31}` (it becomes part of a file name).
pub fn check_token_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("must not be empty"),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            return Err("must start with a lowercase letter or a digit")
        }
        Some(_) => {}
    }
    if name.len() > MAX_TOKEN_NAME_LEN {
        return Err("must be at most 32 characters");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err("may contain only a-z, 0-9, '-' and '_'");
    }
    Ok(())
}
