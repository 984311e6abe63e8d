//! What crosses the boundary between the bridge and a connector: device snapshots, outbox records and
//! cloud commands. Plain data with a stable JSON form (outbox records are stored as JSON).

use std::time::{Instant, SystemTime};

use device_types::{DeviceKind, State};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// A device's identity and presentation, as a cloud needs it (discovery, shadows, twins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub id: String,
    pub kind: DeviceKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    pub unique_id: String,
    pub endpoint: u16,
}

/// A device with its current state, for reconciliation after a reconnect and for `get` requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceSnapshot {
    pub info: DeviceInfo,
    pub state: State,
    pub version: u64,
    pub reachable: bool,
}

/// What the host pushes into an outbox; the outbox assigns the sequence number and event id.
#[derive(Clone, Debug, PartialEq)]
// State carries every kind's optional fields (~350 bytes); these values are short-lived or
// queued briefly, so boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Entry {
    /// The device's full current state (coalesced: only the latest per device is kept).
    State {
        device: String,
        state: State,
        version: u64,
        origin: String,
    },
    /// An event (ordered, capped, with a TTL and an idempotency key).
    Event { device: String, body: EventBody },
}

/// The kinds of event a connector forwards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// The device became reachable or unreachable.
    Availability { reachable: bool },
    /// A device was added (at run time, or seen for the first time by this connector).
    DeviceAdded { info: DeviceInfo },
    /// A device was removed.
    DeviceRemoved,
    /// A Matter controller set or cleared the device's label.
    Label { label: Option<String> },
    /// Anything else a source reports (button press, alarm): a name and free-form data.
    Other {
        name: String,
        #[serde(default)]
        data: serde_json::Value,
    },
    /// A button of a generic switch was pressed (`single`, `double`, `triple`, `quadruple`, a
    /// count, `long`, `hold`, `release`); `button` names the button of a multi-button remote.
    Press {
        press: device_types::Press,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        button: Option<String>,
    },
}

/// One stored record (the JSON value of an outbox row).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
// State carries every kind's optional fields (~350 bytes); these values are short-lived or
// queued briefly, so boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Record {
    State {
        device: String,
        state: State,
        version: u64,
        origin: String,
        /// Unix milliseconds when the change was queued.
        at_ms: u64,
    },
    Event {
        /// Idempotency key: unique per connector and stable across replays and restarts.
        id: String,
        device: String,
        #[serde(flatten)]
        body: EventBody,
        at_ms: u64,
    },
}

impl Record {
    pub fn at_ms(&self) -> u64 {
        match self {
            Record::State { at_ms, .. } | Record::Event { at_ms, .. } => *at_ms,
        }
    }

    pub fn device(&self) -> &str {
        match self {
            Record::State { device, .. } | Record::Event { device, .. } => device,
        }
    }
}

/// A command from a cloud: a partial state for one device, valid until `expires_at`.
#[derive(Debug)]
pub struct Command {
    pub device: String,
    pub patch: State,
    /// After this instant the host refuses the command instead of applying it late.
    /// Monotonic: a wall-clock jump (NTP on a hub without a hardware clock) neither expires a fresh
    /// command nor keeps an old one.
    pub expires_at: Instant,
    /// Where it came from, for logs (a topic, a method name); never a secret.
    pub source: String,
    /// The host's answer: the device's new state, or why nothing changed.
    pub reply: oneshot::Sender<Result<State, CommandError>>,
}

/// Why a command changed nothing.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("no device with id `{0}`")]
    UnknownDevice(String),
    #[error("{0}")]
    Invalid(String),
    #[error("command expired {late_ms} ms before it could be applied")]
    Expired { late_ms: u64 },
    #[error("the bridge is shutting down")]
    Unavailable,
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
