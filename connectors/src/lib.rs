//! Cloud connectors of hubbridge: the [`Connector`] trait, the durable per-connector [`Outbox`], and the
//! implementations (self-hosted MQTT, AWS IoT Core, Azure IoT Hub).
//!
//! # Layout
//! - [`model`] — what crosses the bridge/connector boundary: device snapshots, outbox records, commands.
//! - [`connector`] — the [`Connector`] trait, the [`Session`] a host hands to each run, [`HealthHandle`].
//! - [`outbox`] — durable store-and-forward (redb): coalesced state, ordered events, acks, drops.
//! - [`clock`] — monotonic and wall time behind a trait (expiry, TTL, local-change-wins never read the wall clock).
//! - [`retry`] — the one place that decides retry vs permanent failure, and the backoff.
//! - [`tls`] — the process-wide rustls crypto provider (ring) and PEM loading.
//! - [`config`] — `[[connectors]]` tables: [`ConnectorConfig`] (each cloud's options in its folder; the
//!   shared ones in [`outbox::OutboxConfig`] and [`retry::RetryConfig`]).
//! - `driver` — the one delivery loop every connector runs: replay in order, bounded window, ack on the
//!   cloud's ack, dead letters, size limits, paced reconciliation. A cloud implements its `Protocol` trait;
//!   it speaks through a `Transport`.
//! - `link` — the one MQTT connection (3.1.1 or 5, TCP or TLS), the driver's MQTT transport (AWS's HTTPS
//!   data plane is the other, in `aws_iot`).
//! - [`mqtt`] — the self-hosted MQTT connector (Zigbee2MQTT-style topics, Home Assistant discovery).
//! - [`aws_iot`] — AWS IoT Core (named shadows; MQTT, or the HTTPS data plane as a driver transport).
//! - [`azure_iot`] — Azure IoT Hub (one twin, telemetry, direct methods, cloud-to-device).
//!
//! # Flow
//! The bridge's connector host turns every registry change into [`model::Entry`]s and pushes them into
//! each connector's outbox (group commit, one fsync per batch). A connector's [`Connector::run`] reads the
//! outbox in order, publishes, and acknowledges a record only when the cloud acknowledged it (PUBACK).
//! Commands from the cloud go back to the host as [`model::Command`]s with an expiry.

pub mod aws_iot;
pub mod azure_iot;
mod check;
pub mod clock;
pub mod config;
pub mod connector;
mod driver;
mod link;
pub mod log_limit;
pub mod model;
pub mod mqtt;
pub mod outbox;
pub mod retry;
pub mod tls;

pub use clock::{Clock, SystemClock, TestClock};
pub use config::ConnectorConfig;
pub use connector::{Connector, DeviceView, Health, HealthHandle, Session};
pub use model::{Command, CommandError, DeviceInfo, DeviceSnapshot, Entry, EventBody, Record};
pub use outbox::OutboxConfig;
pub use outbox::{DropNote, DropPolicy, Drops, Outbox, OutboxStats, Pushed, Stored};
pub use retry::RetryConfig;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A connector option has a value that is not allowed (names the connector and the key).
    #[error("connector `{connector}`: `{key}` = {value}: {reason}")]
    Config {
        connector: String,
        key: &'static str,
        value: String,
        reason: String,
    },
    /// A certificate, key or CA file could not be read or parsed.
    #[error("connector `{connector}`: {what} {path}: {reason}")]
    Credentials {
        connector: String,
        what: &'static str,
        path: String,
        reason: String,
    },
    /// The outbox store failed (I/O, corruption).
    #[error("outbox {path}: {reason}")]
    Outbox { path: String, reason: String },
    /// The connection to the cloud failed or was refused; `permanent` failures need a human
    /// (wrong password, untrusted certificate) but are still retried with the longest backoff.
    #[error("{reason}")]
    Connection { reason: String, permanent: bool },
    /// The host went away (shutdown).
    #[error("the connector host stopped")]
    HostGone,
}
