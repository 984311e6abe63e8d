//! `[[connectors]] type = "aws_iot"`: the hub's thing, its X.509 identity for MQTT over mutual TLS, the
//! data-plane endpoint for the `https` transport, the shadow naming and the events topic.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::shadow;
use crate::check::{in_range, invalid};
use crate::outbox::OutboxConfig;
use crate::retry::RetryConfig;
use crate::Error;

/// How the hub talks to AWS IoT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// MQTT over mutual TLS (X.509): live deltas, shadow GET/update over MQTT (default).
    #[default]
    Mqtt,
    /// The HTTPS data plane only (IAM credentials from the standard AWS chain), polling desired state.
    Https,
}

/// Where the `mqtt` transport reads shadows (after every (re)connect and after a version conflict).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShadowReads {
    /// The shadow `get` topic over the MQTT connection (no AWS credentials needed).
    Mqtt,
    /// `GetThingShadow` on the HTTPS data plane (credentials from the standard AWS chain); updates, deltas
    /// and events stay on MQTT.
    Https,
}

/// One AWS IoT connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsIotConfig {
    /// Required. `[a-z0-9][a-z0-9_-]{0,31}`; commands from it have origin `cloud:<name>`.
    pub name: String,
    /// Required. The hub's thing name.
    pub thing_name: String,
    /// `mqtt` (default) or `https`.
    #[serde(default)]
    pub transport: Transport,
    /// MQTT: the account's device data endpoint, e.g. `abc123-ats.iot.eu-west-1.amazonaws.com`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `mqtt` transport: where shadows are read, `mqtt` (default) or `https` (`GetThingShadow`).
    #[serde(default)]
    pub shadow_reads: Option<ShadowReads>,
    /// MQTT port. Default 8883.
    #[serde(default = "default_port")]
    pub port: u16,
    /// MQTT client id. Default: the thing name.
    #[serde(default)]
    pub client_id: Option<String>,
    /// MQTT: PEM of the Amazon root CA (AmazonRootCA1.pem).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// MQTT: the thing's certificate (PEM).
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// MQTT: the certificate's private key (PEM).
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
    /// HTTPS: the data-plane endpoint URL. Default `https://<endpoint>`.
    #[serde(default)]
    pub data_endpoint: Option<String>,
    /// HTTPS: the AWS region (else from the standard AWS configuration chain).
    #[serde(default)]
    pub region: Option<String>,
    /// HTTPS: seconds between two polls of every shadow's desired state, 1..=86400. Default 30.
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    /// Named shadow = this prefix + the device id (stable across restarts). Default empty.
    #[serde(default)]
    pub shadow_prefix: String,
    /// Topic events are published to. Default `hubbridge/<thing_name>/events`.
    #[serde(default)]
    pub events_topic: Option<String>,
    /// MQTT keep-alive, 30..=1200 s (AWS IoT's range). Default 60.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_secs: u64,
    /// Outbox records sent and not yet acknowledged, 1..=1000. Default 50.
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
fn default_poll() -> u64 {
    30
}
fn default_keep_alive() -> u64 {
    60
}
fn default_inflight() -> u16 {
    50
}

impl AwsIotConfig {
    pub fn client_id(&self) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| self.thing_name.clone())
    }

    pub fn events_topic(&self) -> String {
        self.events_topic
            .clone()
            .unwrap_or_else(|| format!("hubbridge/{}/events", self.thing_name))
    }

    /// Where shadows are read: always the data plane for the `https` transport.
    pub fn shadow_reads(&self) -> ShadowReads {
        match self.transport {
            Transport::Https => ShadowReads::Https,
            Transport::Mqtt => self.shadow_reads.unwrap_or(ShadowReads::Mqtt),
        }
    }

    pub fn data_endpoint(&self) -> Option<String> {
        self.data_endpoint
            .clone()
            .or_else(|| self.endpoint.as_ref().map(|e| format!("https://{e}")))
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let name = &self.name;
        let thing_ok = !self.thing_name.is_empty()
            && self.thing_name.len() <= 128
            && self
                .thing_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'));
        if !thing_ok {
            return Err(invalid(
                name,
                "thing_name",
                format!("{:?}", self.thing_name),
                "must be 1..=128 characters of [a-zA-Z0-9:_-]",
            ));
        }
        if shadow::shadow_name(&self.shadow_prefix, "x").is_err() || self.shadow_prefix.len() > 32 {
            return Err(invalid(
                name,
                "shadow_prefix",
                format!("{:?}", self.shadow_prefix),
                "must be at most 32 characters of [a-zA-Z0-9:_-]",
            ));
        }
        if let Some(t) = &self.events_topic {
            if t.is_empty() || t.starts_with('$') || t.contains(['+', '#', '\0']) {
                return Err(invalid(
                    name,
                    "events_topic",
                    format!("{t:?}"),
                    "must be a non-empty topic without wildcards, not starting with '$'",
                ));
            }
        }
        if self.port == 0 {
            return Err(invalid(name, "port", 0, "must not be 0"));
        }
        in_range(name, "keep_alive_secs", self.keep_alive_secs, 30..=1200)?;
        in_range(
            name,
            "poll_interval_secs",
            self.poll_interval_secs,
            1..=86_400,
        )?;
        in_range(name, "max_inflight", self.max_inflight, 1..=1000)?;
        match self.transport {
            Transport::Mqtt => {
                if self.endpoint.as_deref().is_none_or(|e| e.trim().is_empty()) {
                    return Err(invalid(
                        name,
                        "endpoint",
                        "(unset)",
                        "the mqtt transport needs the account's IoT endpoint",
                    ));
                }
                for (key, v) in [
                    ("ca_file", &self.ca_file),
                    ("client_cert_file", &self.client_cert_file),
                    ("client_key_file", &self.client_key_file),
                ] {
                    if v.is_none() {
                        return Err(invalid(
                            name,
                            key,
                            "(unset)",
                            "the mqtt transport needs ca_file, client_cert_file and client_key_file",
                        ));
                    }
                }
            }
            Transport::Https => {
                if self.shadow_reads == Some(ShadowReads::Mqtt) {
                    return Err(invalid(
                        name,
                        "shadow_reads",
                        "\"mqtt\"",
                        "the https transport reads shadows over https only",
                    ));
                }
                if self.data_endpoint().is_none() {
                    return Err(invalid(
                        name,
                        "data_endpoint",
                        "(unset)",
                        "the https transport needs data_endpoint (or endpoint)",
                    ));
                }
            }
        }
        Ok(())
    }
}
