//! The [`Connector`] trait every cloud implements, the [`Session`] the host hands to each run, and the
//! shared [`HealthHandle`] a connector reports through.
//!
//! A connector is restarted by the host after every failed run (exponential backoff with jitter, see
//! [`crate::retry`]); one `run` is one connection: connect, replay the outbox in order, reconcile the full
//! current state, then stream new records and accept commands until the link fails or the host stops.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use device_types::State;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::model::{Command, CommandError, DeviceSnapshot};
use crate::outbox::Outbox;
use crate::Error;

/// A cloud connector. Adding a cloud = implement this, plus a config variant in [`crate::config`].
#[async_trait]
pub trait Connector: Send + 'static {
    /// The configured name (`cloud:<name>` is the origin of its commands).
    fn name(&self) -> &str;

    /// The connector type as written in the config (`mqtt`, `aws_iot`, `azure_iot`).
    fn kind(&self) -> &'static str;

    /// One connection, from connect to failure or stop. Returns `Ok(())` only when `session.stop` was
    /// cancelled; any error makes the host record it in the health and run again after a backoff.
    /// Must acknowledge an outbox record only after the cloud acknowledged it.
    async fn run(&mut self, session: &mut Session) -> Result<(), Error>;
}

/// Read access to the bridge's devices (implemented by the host over the registry).
pub trait DeviceView: Send + Sync + 'static {
    /// Every device with its current state.
    fn devices(&self) -> Vec<DeviceSnapshot>;
    /// One device, if it exists.
    fn device(&self, id: &str) -> Option<DeviceSnapshot>;
}

/// What a connector gets for each run.
pub struct Session {
    /// This connector's durable outbox: read in order, ack after the cloud acked.
    pub outbox: Outbox,
    /// Commands for the registry; the host checks expiry and answers on the command's reply channel.
    pub commands: mpsc::Sender<Command>,
    /// The bridge's devices, for reconciliation and `get` requests.
    pub devices: Arc<dyn DeviceView>,
    /// Where to report connected / last error.
    pub health: HealthHandle,
    /// Cancelled when the bridge shuts down.
    pub stop: CancellationToken,
}

impl Session {
    /// Hands a cloud command for `device` to the bridge without waiting for it (it expires after `ttl`).
    /// The outcome is counted in the health and a refusal is logged under `connector`; then `answered`
    /// gets it (the connector's reply to the cloud, if it has one). `false` when the bridge's command
    /// queue is full: counted as refused and logged; `answered` is not called.
    pub fn send_command<F, Fut>(
        &self,
        connector: &str,
        device: &str,
        patch: State,
        ttl: Duration,
        source: String,
        answered: F,
    ) -> bool
    where
        F: FnOnce(Result<State, CommandError>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let command = Command {
            device: device.to_owned(),
            patch,
            // The connector's clock (the outbox's): monotonic, so a wall-clock jump never expires it.
            expires_at: self.outbox.clock().now() + ttl,
            source,
            reply,
        };
        if self.commands.try_send(command).is_err() {
            self.health.add_command(true);
            if let Some(suppressed) = crate::log_limit::allow(connector, line!()) {
                tracing::warn!(connector, device = %short(device), suppressed, "the bridge is busy; command not applied");
            }
            return false;
        }
        let (health, connector, device) =
            (self.health.clone(), connector.to_owned(), device.to_owned());
        tokio::spawn(async move {
            let result = answer.await.unwrap_or(Err(CommandError::Unavailable));
            health.add_command(result.is_err());
            if let Err(e) = &result {
                if let Some(suppressed) = crate::log_limit::allow(&connector, line!()) {
                    tracing::warn!(connector = %connector, device = %short(&device), error = %short(&e.to_string()), suppressed, "cloud command refused");
                }
            }
            answered(result).await;
        });
        true
    }
}

/// Logs never carry more than 80 characters of anything a peer sent.
pub(crate) fn short(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.escape_debug().to_string()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>().escape_debug())
    }
}

/// Health a connector reports (the host adds the outbox figures).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Health {
    pub connected: bool,
    /// The latest failure, never containing a secret.
    pub last_error: Option<String>,
    /// Unix milliseconds of the latest failure.
    pub last_error_at_ms: Option<u64>,
    /// Unix milliseconds of the latest successful connect.
    pub connected_since_ms: Option<u64>,
    /// How many runs ended in an error, and how many connected.
    pub failures: u64,
    pub connects: u64,
    /// Records delivered (acknowledged by the cloud) since start.
    pub delivered: u64,
    /// Bytes handed to the cloud since start: topic and payload of every message the driver hands to
    /// its link (an MQTT publish, or an AWS data-plane HTTPS request: shadow topic and body).
    pub bytes_sent: u64,
    /// Commands received from the cloud, and how many of them were refused.
    pub commands: u64,
    pub commands_refused: u64,
}

/// A cheap, clonable handle on one connector's [`Health`].
#[derive(Clone, Debug, Default)]
pub struct HealthHandle(Arc<Mutex<Health>>);

impl HealthHandle {
    pub fn snapshot(&self) -> Health {
        self.lock().clone()
    }

    pub fn set_connected(&self, connected: bool) {
        let mut h = self.lock();
        if connected && !h.connected {
            h.connected_since_ms = Some(crate::model::now_ms());
            h.connects += 1;
        }
        if !connected {
            h.connected_since_ms = None;
        }
        h.connected = connected;
    }

    pub fn set_error(&self, error: &str) {
        let mut h = self.lock();
        h.connected = false;
        h.connected_since_ms = None;
        h.failures += 1;
        h.last_error = Some(error.to_owned());
        h.last_error_at_ms = Some(crate::model::now_ms());
    }

    pub fn add_delivered(&self, n: u64) {
        self.lock().delivered += n;
    }

    pub fn add_bytes_sent(&self, n: u64) {
        if n > 0 {
            self.lock().bytes_sent += n;
        }
    }

    pub fn add_command(&self, refused: bool) {
        let mut h = self.lock();
        h.commands += 1;
        if refused {
            h.commands_refused += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Health> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The expiry of a command received now with a time-to-live of `ttl`.
pub fn expiry(ttl: std::time::Duration) -> Instant {
    Instant::now() + ttl
}
