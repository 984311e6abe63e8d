//! The AWS IoT connector: the hub is one thing; each bridged device is a named shadow of it (name =
//! prefix + device id). Both transports — MQTT over mutual TLS, or the HTTPS data plane — run the shared
//! delivery driver; this folder holds the config ([`AwsIotConfig`]), the shadow rules as pure functions
//! ([`shadow`]), the rules over a connection (`run`, `desired`) and the data plane as a transport (`https`).

mod config;
mod connector;
mod desired;
mod https;
mod run;
pub mod shadow;

pub use config::{AwsIotConfig, Transport};
pub use connector::AwsIotConnector;
