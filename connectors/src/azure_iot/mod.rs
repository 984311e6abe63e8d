//! The Azure IoT Hub connector: the hub is one device identity; its twin holds one property section
//! per bridged device. MQTT 3.1.1 over TLS on 8883 (the shared delivery driver and link), SAS tokens ([`sas`]) or
//! X.509, the twin and method surface as pure functions ([`twin`]), configured by [`AzureIotConfig`].

mod config;
mod connector;
mod desired;
mod methods;
pub mod sas;
pub mod twin;

pub use config::{AzureIotConfig, API_VERSION};
pub use connector::AzureIotConnector;
