//! `[[connectors]]` tables: one [`ConnectorConfig`] per connector (tagged by `type`), and the options
//! every connector shares (`[connectors.outbox]` is [`OutboxConfig`] in `outbox/`, `[connectors.retry]` is
//! [`RetryConfig`] in `retry`). Unknown keys are errors.

use serde::{Deserialize, Serialize};

use crate::aws_iot::{AwsIotConfig, AwsIotConnector};
use crate::azure_iot::{AzureIotConfig, AzureIotConnector};
use crate::check::invalid;
use crate::connector::Connector;
use crate::mqtt::{MqttConfig, MqttConnector};
use crate::outbox::OutboxConfig;
use crate::retry::RetryConfig;
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
