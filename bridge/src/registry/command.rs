//! The command path: a command from Matter, a cloud or the API is validated against the device's kind
//! and handed to the device's source over that source's channel; the caller learns whether the source
//! accepted it. The registry's state is never changed by a command: it changes when the source reports
//! the device's confirmed state with [`Origin::Local`] through [`Registry::apply`].
//!
//! Between acceptance and confirmation the registry (and so the API, the SSE stream and the clouds)
//! shows the last confirmed state; a Matter controller is shown the target until the device confirms,
//! or until [`CONFIRM_TIMEOUT`] passes, when the Matter side rolls back to the confirmed state and
//! reports it (see `matter::handler`). A confirmation is never turned back into a command.

use std::time::Duration;

use device_types::State;
use tokio::sync::{mpsc, oneshot};

use super::{Origin, Registry, RegistryError};

/// Commands a source may have queued before the registry refuses more with [`RegistryError::SourceBusy`].
pub const SOURCE_QUEUE: usize = 256;
/// How long a caller waits for the source's acceptance before it answers with a failure.
/// Well inside a Matter controller's invoke timeout (the CHIP SDK's default is 10 s or more).
pub const ACCEPT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a controller is shown an accepted command's target without the device confirming it.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// How a command is to be carried out.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandOptions {
    /// Transition time requested by the controller (Matter TransitionTime), if any: the source
    /// moves the patch's numeric fields there over this time, reporting the way.
    pub transition: Option<Duration>,
    /// Stop the movement of these state fields where they are now (Level Control Stop, Color
    /// Control StopMoveStep, Window Covering StopMotion); usually with an empty patch.
    pub stop: Option<&'static [&'static str]>,
    /// Who sent it (never [`Origin::Local`]: that is a source's report).
    pub origin: Origin,
}

impl CommandOptions {
    pub fn from(origin: Origin) -> CommandOptions {
        CommandOptions {
            transition: None,
            stop: None,
            origin,
        }
    }
}

/// One command as its source receives it.
#[derive(Debug)]
pub struct SourceCommand {
    pub device: String,
    /// For a part (`device` = `<parent>:<part>`): the part's name, so that a source that
    /// actuates whole devices (Zigbee2MQTT) addresses the right gang of the parent.
    pub part: Option<String>,
    /// Only the fields the sender wants changed, already validated against the device's kind.
    pub patch: State,
    pub transition: Option<Duration>,
    /// Fields whose running movement stops where it is (see [`CommandOptions::stop`]).
    pub stop: Option<&'static [&'static str]>,
    pub origin: Origin,
    /// The source's answer: `Ok` once it has handed the command to the device's link
    /// (for Zigbee2MQTT, the broker's PUBACK of the `/set`).
    pub reply: oneshot::Sender<Result<(), SourceCommandError>>,
}

impl SourceCommand {
    /// `(device id, part name)` the source actuates: the parent's id and the part for a part,
    /// else the device's own id.
    pub fn target(&self) -> (&str, Option<&str>) {
        match (&self.part, device_types::parts::split_part_id(&self.device)) {
            (Some(part), Some((parent, _))) => (parent, Some(part.as_str())),
            _ => (self.device.as_str(), None),
        }
    }

    /// Answers the sender (who may have given up waiting: that is not an error).
    pub fn answer(self, result: Result<(), SourceCommandError>) {
        let _ = self.reply.send(result);
    }
}

/// Why a source refused a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceCommandError {
    #[error("the source is not connected to its devices")]
    Down,
    #[error("the device is unreachable")]
    Unreachable,
    #[error("{0}")]
    Refused(String),
}

/// What [`Registry::prepare`] gives: (route, the route's queue, the command, its answer).
type Prepared = (
    String,
    mpsc::Sender<SourceCommand>,
    SourceCommand,
    oneshot::Receiver<Result<(), SourceCommandError>>,
);

/// A command handed to a source, waiting for its answer.
#[derive(Debug)]
pub struct PendingCommand {
    device: String,
    source: String,
    rx: oneshot::Receiver<Result<(), SourceCommandError>>,
}

impl PendingCommand {
    /// The source's answer. A source that drops the command without answering counts as down.
    /// Runtime-agnostic (the Matter thread awaits it too); callers add their own timeout.
    pub async fn accepted(self) -> Result<(), RegistryError> {
        match self.rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(RegistryError::Refused {
                device: self.device,
                source_name: self.source,
                error,
            }),
            Err(_) => Err(RegistryError::SourceDown {
                device: self.device,
                source_name: self.source,
            }),
        }
    }

    pub fn device(&self) -> &str {
        &self.device
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

impl Registry {
    /// Connects a source: commands for devices whose [`super::DeviceOrigin::route`] is `route` are
    /// sent to the returned receiver from now on (replacing an earlier attachment of that name).
    pub fn attach_source(&self, route: &str) -> mpsc::Receiver<SourceCommand> {
        let (tx, rx) = mpsc::channel(SOURCE_QUEUE);
        self.routes().insert(route.to_owned(), tx);
        rx
    }

    /// Validates `patch` against the device (merged over its current state, checked against its
    /// kind), refuses it if the device's source is not attached or is full, else hands it to the
    /// source, which decides whether the device can be reached. Never blocks; await
    /// [`PendingCommand::accepted`] for the answer.
    pub fn command(
        &self,
        id: &str,
        patch: &State,
        options: CommandOptions,
    ) -> Result<PendingCommand, RegistryError> {
        let (route, tx, command, rx) = self.prepare(id, patch, &options)?;
        match tx.try_send(command) {
            Ok(()) => Ok(self.handed(id, route, &options, rx)),
            Err(mpsc::error::TrySendError::Full(_)) => Err(RegistryError::SourceBusy {
                device: id.to_owned(),
                source_name: route,
            }),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(RegistryError::SourceDown {
                device: id.to_owned(),
                source_name: route,
            }),
        }
    }

    /// [`Registry::command`] for a caller that can wait (on tokio): when the source's queue is full
    /// it waits for room, up to `deadline`, instead of refusing the command as busy — a cloud's burst
    /// ("everything off" for 300 devices) is carried out rather than partly refused. Commands handed
    /// over one after the other reach the source in that order.
    pub async fn command_when_room(
        &self,
        id: &str,
        patch: &State,
        options: CommandOptions,
        deadline: std::time::Instant,
    ) -> Result<PendingCommand, RegistryError> {
        let (route, tx, command, rx) = self.prepare(id, patch, &options)?;
        let room = tokio::time::timeout_at(deadline.into(), tx.reserve()).await;
        match room {
            Ok(Ok(permit)) => {
                permit.send(command);
                Ok(self.handed(id, route, &options, rx))
            }
            Ok(Err(_)) => Err(RegistryError::SourceDown {
                device: id.to_owned(),
                source_name: route,
            }),
            Err(_) => Err(RegistryError::SourceBusy {
                device: id.to_owned(),
                source_name: route,
            }),
        }
    }

    /// The source route of device `id` (commands for devices of one route go to one queue).
    pub fn route_of(&self, id: &str) -> Option<String> {
        self.read().device(id).map(|d| d.source.route().to_owned())
    }

    /// The checks of a command and what it is sent as.
    fn prepare(
        &self,
        id: &str,
        patch: &State,
        options: &CommandOptions,
    ) -> Result<Prepared, RegistryError> {
        let (route, part) = {
            let shared = self.read();
            let device = shared
                .device(id)
                .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()))?;
            device
                .shape()
                .validate(&device.state.merged(patch))
                .map_err(|error| RegistryError::Invalid {
                    device: id.to_owned(),
                    error,
                })?;
            (
                device.source.route().to_owned(),
                device.part_name().map(str::to_owned),
            )
        };
        let Some(tx) = self.routes().get(&route).cloned() else {
            return Err(RegistryError::SourceDown {
                device: id.to_owned(),
                source_name: route,
            });
        };
        let (reply, rx) = oneshot::channel();
        let command = SourceCommand {
            device: id.to_owned(),
            part,
            patch: patch.clone(),
            transition: options.transition,
            stop: options.stop,
            origin: options.origin.clone(),
            reply,
        };
        Ok((route, tx, command, rx))
    }

    fn handed(
        &self,
        id: &str,
        route: String,
        options: &CommandOptions,
        rx: oneshot::Receiver<Result<(), SourceCommandError>>,
    ) -> PendingCommand {
        self.metrics().command(&options.origin);
        tracing::debug!(device = id, source = %route, origin = %options.origin, "command handed to its source");
        PendingCommand {
            device: id.to_owned(),
            source: route,
            rx,
        }
    }

    /// [`Registry::command`], then waits (on tokio) up to [`ACCEPT_TIMEOUT`] for the source's answer,
    /// and returns the device as the registry then has it.
    pub async fn command_and_wait(
        &self,
        id: &str,
        patch: &State,
        options: CommandOptions,
    ) -> Result<super::Device, RegistryError> {
        let pending = self.command(id, patch, options)?;
        self.wait_accepted(pending).await
    }

    /// Waits (on tokio) up to [`ACCEPT_TIMEOUT`] for the source's answer to `pending`, and returns the
    /// device as the registry then has it.
    pub async fn wait_accepted(
        &self,
        pending: PendingCommand,
    ) -> Result<super::Device, RegistryError> {
        let id = pending.device().to_owned();
        let source = pending.source().to_owned();
        match tokio::time::timeout(ACCEPT_TIMEOUT, pending.accepted()).await {
            Ok(Ok(())) => self.get(&id).ok_or(RegistryError::UnknownDevice(id)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RegistryError::NotAccepted {
                device: id,
                source_name: source,
                timeout_ms: ACCEPT_TIMEOUT.as_millis() as u64,
            }),
        }
    }
}

/// Serves a source whose devices have no link to actuate (the virtual source, API devices): every
/// command is accepted at once and confirmed by applying it with [`Origin::Local`] before answering.
pub fn confirm_at_once(registry: &Registry, command: SourceCommand) {
    let result = match registry.apply(&command.device, &command.patch, Origin::Local) {
        Ok(_) => Ok(()),
        Err(e) => Err(SourceCommandError::Refused(e.to_string())),
    };
    command.answer(result);
}
