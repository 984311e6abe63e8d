//! The hubbridge daemon as a library: local devices bridged to Matter controllers and cloud connectors.
//!
//! # Layout
//! - [`config`] — the TOML configuration file, its validation and the built-in demo.
//! - [`persist`] — crash-safe file writes and strict JSON reads.
//! - [`identity`] — device id → endpoint and UniqueID, allocated upward, never reused.
//! - [`registry`] — the single source of truth for devices and their state; every change goes through it.
//! - [`sources`] — local device sources feeding the registry (virtual, API, Zigbee2MQTT; transitions).
//! - [`cloud`] — the connector host: feeds each cloud connector's outbox, applies its commands, health.
//! - [`api`] — the local HTTP API and its Server-Sent Events stream.
//! - [`matter`] — the Matter node, on its own thread, behind its transport guard.
//! - [`memory`] — returns start-up garbage to the OS once the daemon is ready.
//! - [`notify`] — systemd readiness (`sd_notify`: READY, STATUS, STOPPING) for a `Type=notify` unit.
//! - [`log_limit`] — rs-matter's log records into tracing, rate-limited per cause.
//! - [`writer`] — the background persistence writer: every durable write, off every hot path.
//! - [`metrics`] — `GET /metrics` (Prometheus text format) and the counters the data path bumps.
//! - [`certs`] — expiry of every configured certificate: health, metrics, log warnings.
//! - [`app`] — the lifecycle: start everything, wait for a signal, stop in order.
//!
//! The binary (`src/main.rs`, `src/cli.rs`) only parses the command line and sets up logging.

pub mod api;
pub mod app;
pub mod certs;
pub mod cloud;
pub mod config;
pub mod identity;
pub mod log_limit;
pub mod matter;
pub mod memory;
pub mod metrics;
pub mod nodes;
pub mod notify;
pub mod persist;
#[cfg(test)]
mod proptests;
pub mod registry;
pub mod sources;
pub mod writer;
