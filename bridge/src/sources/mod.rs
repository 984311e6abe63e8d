//! Local device sources: the [`DeviceSource`] trait that feeds device state into the registry, and its
//! implementations (today the simulated [`virtual_source::VirtualSource`]).
//!
//! A source owns the link to its devices. It reports what the devices do through
//! [`Registry::apply`](crate::registry::Registry::apply) with [`Origin::Local`](crate::registry::Origin),
//! and stops when the shutdown token is cancelled. A failing source is logged and isolated: it never
//! stops Matter, the API or another source.

pub mod virtual_source;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::registry::{Registry, RegistryError};

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
    /// Short name for logs (`source` field).
    fn name(&self) -> &str;

    /// Runs until `shutdown` is cancelled (then returns `Ok`) or the source fails.
    async fn run(
        self: Box<Self>,
        registry: Registry,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError>;
}
