//! `[[connectors]]` tables: one [`ConnectorConfig`] per connector (tagged by `type`), and the options
//! every connector shares ([`OutboxConfig`], [`RetryConfig`]). Unknown keys are errors.

use serde::{Deserialize, Serialize};

use crate::aws_iot::{AwsIotConfig, AwsIotConnector};
use crate::azure_iot::{AzureIotConfig, AzureIotConnector};
use crate::connector::Connector;
use crate::mqtt::{MqttConfig, MqttConnector};
use crate::outbox::DropPolicy;
use crate::Error;

/// One `[[connectors]]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectorConfig {
    /// A self-hosted MQTT broker (mosquitto, EMQX, HiveMQ...).
    Mqtt(MqttConfig),
    /// Azure IoT Hub: the hub is one device identity, one twin section per bridged device.
    AzureIot(AzureIotConfig),
    /// AWS IoT Core: the hub is one thing, one named shadow per bridged device.
    AwsIot(AwsIotConfig),
}

impl ConnectorConfig {
    pub fn name(&self) -> &str {
        match self {
            ConnectorConfig::Mqtt(c) => &c.name,
            ConnectorConfig::AzureIot(c) => &c.name,
            ConnectorConfig::AwsIot(c) => &c.name,
        }
    }

    pub fn outbox(&self) -> &OutboxConfig {
        match self {
            ConnectorConfig::Mqtt(c) => &c.outbox,
            ConnectorConfig::AzureIot(c) => &c.outbox,
            ConnectorConfig::AwsIot(c) => &c.outbox,
        }
    }

    pub fn retry(&self) -> &RetryConfig {
        match self {
            ConnectorConfig::Mqtt(c) => &c.retry,
            ConnectorConfig::AzureIot(c) => &c.retry,
            ConnectorConfig::AwsIot(c) => &c.retry,
        }
    }

    /// Checks every rule the types cannot express (names the connector, the key and the value).
    pub fn validate(&self) -> Result<(), Error> {
        check_name(self.name())?;
        self.outbox().validate(self.name())?;
        self.retry().validate(self.name())?;
        match self {
            ConnectorConfig::Mqtt(c) => c.validate(),
            ConnectorConfig::AzureIot(c) => c.validate(),
            ConnectorConfig::AwsIot(c) => c.validate(),
        }
    }

    /// Builds the connector (no I/O: connecting happens in [`Connector::run`]).
    pub fn build(&self) -> Result<Box<dyn Connector>, Error> {
        self.validate()?;
        Ok(match self {
            ConnectorConfig::Mqtt(c) => Box::new(MqttConnector::new(c.clone())),
            ConnectorConfig::AzureIot(c) => Box::new(AzureIotConnector::new(c.clone())),
            ConnectorConfig::AwsIot(c) => Box::new(AwsIotConnector::new(c.clone())),
        })
    }
}

/// `[connectors.outbox]`: the durable store-and-forward queue of one connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Byte cap of queued events (state is never dropped and not counted). Default 64 MiB.
    pub event_max_bytes: u64,
    /// Events older than this are dropped (counted, logged). Default 7 days.
    pub event_ttl_secs: u64,
    /// What to drop when the cap is reached: `drop_oldest` (default) or `refuse_new`.
    pub drop_policy: DropPolicy,
    /// Cloud commands not applied within this many seconds after they arrived are refused. Default 30.
    pub command_ttl_secs: u64,
    /// While the disk refuses writes (full, I/O errors), new events are held in memory up to this many
    /// bytes (state is always held: one per device); beyond it they are dropped and counted. Default 4 MiB.
    pub memory_max_bytes: u64,
    /// Dead letters kept at most (oldest dropped first, counted). Default 1000.
    pub dead_letter_max_count: u64,
    /// Bytes of dead letters kept at most. Default 4 MiB.
    pub dead_letter_max_bytes: u64,
    /// Dead letters older than this are dropped (counted). Default 2592000 (30 days).
    pub dead_letter_max_age_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            event_max_bytes: 64 * 1024 * 1024,
            event_ttl_secs: 7 * 24 * 3600,
            drop_policy: DropPolicy::DropOldest,
            command_ttl_secs: 30,
            memory_max_bytes: 4 * 1024 * 1024,
            dead_letter_max_count: 1000,
            dead_letter_max_bytes: 4 * 1024 * 1024,
            dead_letter_max_age_secs: 30 * 24 * 3600,
        }
    }
}

impl OutboxConfig {
    fn validate(&self, name: &str) -> Result<(), Error> {
        if self.event_max_bytes < 4096 {
            return Err(invalid(
                name,
                "outbox.event_max_bytes",
                self.event_max_bytes,
                "must be at least 4096",
            ));
        }
        if self.event_ttl_secs == 0 {
            return Err(invalid(name, "outbox.event_ttl_secs", 0, "must not be 0"));
        }
        in_range(
            name,
            "outbox.command_ttl_secs",
            self.command_ttl_secs,
            1..=86_400,
        )?;
        in_range(
            name,
            "outbox.memory_max_bytes",
            self.memory_max_bytes,
            4096..=1 << 30,
        )?;
        in_range(
            name,
            "outbox.dead_letter_max_count",
            self.dead_letter_max_count,
            1..=1_000_000,
        )?;
        in_range(
            name,
            "outbox.dead_letter_max_bytes",
            self.dead_letter_max_bytes,
            4096..=1 << 32,
        )?;
        in_range(
            name,
            "outbox.dead_letter_max_age_secs",
            self.dead_letter_max_age_secs,
            1..=10 * 365 * 86_400,
        )
    }
}

/// `[connectors.retry]`: the backoff between connection attempts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// First delay after a failure, in ms. Default 500.
    pub backoff_min_ms: u64,
    /// Longest delay, in ms (also used at once after a failure a human must fix). Default 60000.
    pub backoff_max_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            backoff_min_ms: 500,
            backoff_max_ms: 60_000,
        }
    }
}

impl RetryConfig {
    fn validate(&self, name: &str) -> Result<(), Error> {
        if self.backoff_min_ms == 0 {
            return Err(invalid(name, "retry.backoff_min_ms", 0, "must not be 0"));
        }
        if self.backoff_max_ms < self.backoff_min_ms {
            return Err(invalid(
                name,
                "retry.backoff_max_ms",
                self.backoff_max_ms,
                "must be at least retry.backoff_min_ms",
            ));
        }
        Ok(())
    }
}

/// Connector names: `[a-z0-9][a-z0-9_-]{0,31}` (used in file names and in `cloud:<name>`).
pub fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            name,
            "name",
            format!("{name:?}"),
            "must match [a-z0-9][a-z0-9_-]{0,31}",
        ))
    }
}

/// `Err` naming `key` unless `value` lies in `range` ("must be between A and B").
pub(crate) fn in_range<T>(
    connector: &str,
    key: &'static str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), Error>
where
    T: PartialOrd + std::fmt::Display,
{
    if range.contains(&value) {
        return Ok(());
    }
    let reason = format!("must be between {} and {}", range.start(), range.end());
    Err(invalid(connector, key, value, &reason))
}

pub(crate) fn invalid(
    connector: &str,
    key: &'static str,
    value: impl ToString,
    reason: &str,
) -> Error {
    Error::Config {
        connector: connector.to_owned(),
        key,
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}
