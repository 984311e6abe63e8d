//! The AWS IoT connector: the hub is one thing; each bridged device is a named shadow of it (name =
//! prefix + device id). MQTT over mutual TLS for live traffic (the shared delivery driver and link), the shadow rules
//! as pure functions ([`shadow`]), configured by [`AwsIotConfig`].

mod config;
mod connector;
mod desired;
mod https;
pub mod shadow;

pub use config::{AwsIotConfig, Transport};
pub use connector::AwsIotConnector;
