//! The source of the devices added through the API: the integrator behind the API is their link, so a
//! command for one (from Matter, a cloud or the API itself) is accepted at once and confirmed with
//! [`Origin::Local`](crate::registry::Origin), exactly like the virtual source; transitions run
//! over time here ([`super::motion`]).

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::motion::{Motions, STEP};
use super::{DeviceSource, SourceError};
use tokio::sync::mpsc;

use crate::registry::{Registry, SourceCommand, API_ROUTE};

/// See the module documentation.
#[derive(Debug, Default)]
pub struct ApiSource;

#[async_trait]
impl DeviceSource for ApiSource {
    fn name(&self) -> &str {
        API_ROUTE
    }

    async fn run(
        self: Box<Self>,
        registry: Registry,
        mut commands: mpsc::Receiver<SourceCommand>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let mut motions = Motions::new();
        let mut steps = tokio::time::interval(STEP);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                command = commands.recv() => match command {
                    Some(command) => motions.handle(&registry, command, tokio::time::Instant::now()),
                    None => return Ok(()),
                },
                _ = steps.tick(), if motions.is_moving() => {
                    motions.step(&registry, tokio::time::Instant::now());
                }
            }
        }
    }
}
