//! The self-hosted MQTT connector: Zigbee2MQTT-style topics ([`topics`]), Home Assistant discovery
//! ([`discovery`]), MQTT 3.1.1 and 5 over TCP or TLS (the shared `link`), configured by [`MqttConfig`].

mod config;
mod connector;
pub mod discovery;
pub mod topics;

pub use config::{MqttConfig, MqttTls, Protocol, Secret};
pub use connector::MqttConnector;
