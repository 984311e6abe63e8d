//! `[connectors.outbox]`: the options of one connector's durable store-and-forward queue.

use serde::{Deserialize, Serialize};

use super::DropPolicy;
use crate::check::{in_range, invalid};
use crate::Error;

/// `[connectors.outbox]`: the durable store-and-forward queue of one connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Byte cap of queued events (state is never dropped and not counted). Default 64 MiB.
    pub event_max_bytes: u64,
    /// Events older than this are dropped (counted, logged). Default 7 days.
    pub event_ttl_secs: u64,
    /// What to drop when the cap is reached: `drop_oldest` (default) or `refuse_new`.
    pub drop_policy: DropPolicy,
    /// Cloud commands not applied within this many seconds after they arrived are refused. Default 30.
    pub command_ttl_secs: u64,
    /// While the disk refuses writes (full, I/O errors), new events are held in memory up to this many
    /// bytes (state is always held: one per device); beyond it they are dropped and counted. Default 4 MiB.
    pub memory_max_bytes: u64,
    /// Dead letters kept at most (oldest dropped first, counted). Default 1000.
    pub dead_letter_max_count: u64,
    /// Bytes of dead letters kept at most. Default 4 MiB.
    pub dead_letter_max_bytes: u64,
    /// Dead letters older than this are dropped (counted). Default 2592000 (30 days).
    pub dead_letter_max_age_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            event_max_bytes: 64 * 1024 * 1024,
            event_ttl_secs: 7 * 24 * 3600,
            drop_policy: DropPolicy::DropOldest,
            command_ttl_secs: 30,
            memory_max_bytes: 4 * 1024 * 1024,
            dead_letter_max_count: 1000,
            dead_letter_max_bytes: 4 * 1024 * 1024,
            dead_letter_max_age_secs: 30 * 24 * 3600,
        }
    }
}

impl OutboxConfig {
    pub(crate) fn validate(&self, name: &str) -> Result<(), Error> {
        if self.event_max_bytes < 4096 {
            return Err(invalid(
                name,
                "outbox.event_max_bytes",
                self.event_max_bytes,
                "must be at least 4096",
            ));
        }
        if self.event_ttl_secs == 0 {
            return Err(invalid(name, "outbox.event_ttl_secs", 0, "must not be 0"));
        }
        in_range(
            name,
            "outbox.command_ttl_secs",
            self.command_ttl_secs,
            1..=86_400,
        )?;
        in_range(
            name,
            "outbox.memory_max_bytes",
            self.memory_max_bytes,
            4096..=1 << 30,
        )?;
        in_range(
            name,
            "outbox.dead_letter_max_count",
            self.dead_letter_max_count,
            1..=1_000_000,
        )?;
        in_range(
            name,
            "outbox.dead_letter_max_bytes",
            self.dead_letter_max_bytes,
            4096..=1 << 32,
        )?;
        in_range(
            name,
            "outbox.dead_letter_max_age_secs",
            self.dead_letter_max_age_secs,
            1..=10 * 365 * 86_400,
        )
    }
}
