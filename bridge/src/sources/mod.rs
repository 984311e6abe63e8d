//! Local device sources: the [`DeviceSource`] trait that feeds device state into the registry and
//! actuates devices, and its implementations: the simulated [`virtual_source::VirtualSource`] (config
//! devices), [`api_source::ApiSource`] (API-added devices) and [`zigbee2mqtt`].
//!
//! A source owns the link to its devices. It receives the commands for its devices on the channel the
//! registry routes them to ([`SourceCommand`]), answers each (accepted, or why not), and reports what
//! the devices do through [`Registry::apply`](crate::registry::Registry::apply) with
//! [`Origin::Local`](crate::registry::Origin). It stops when the shutdown token is cancelled. A failing
//! source is logged and isolated: it never stops Matter, the API or another source.

pub mod api_source;
pub mod motion;
pub mod virtual_source;
pub mod zigbee2mqtt;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use tokio::sync::mpsc;

use crate::registry::{Registry, RegistryError, SourceCommand};

pub use api_source::ApiSource;
pub use virtual_source::VirtualSource;

/// Why a source stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source `{source_name}`: {error}")]
    Registry {
        source_name: String,
        error: RegistryError,
    },
}

/// Something that keeps devices' state in the registry up to date.
#[async_trait]
pub trait DeviceSource: Send {
    /// Its name: the `source` field of logs, and the route of its devices' commands
    /// ([`DeviceOrigin::route`](crate::registry::DeviceOrigin::route)).
    fn name(&self) -> &str;

    /// Runs until `shutdown` is cancelled (then returns `Ok`) or the source fails. `commands` is the
    /// channel [`Registry::attach_source`] made for its name before it started, so no command sent
    /// while it starts up is lost.
    async fn run(
        self: Box<Self>,
        registry: Registry,
        commands: mpsc::Receiver<SourceCommand>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError>;
}
