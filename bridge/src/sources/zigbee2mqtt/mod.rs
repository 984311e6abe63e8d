//! The Zigbee2MQTT source: the devices of one Zigbee2MQTT instance, read from and commanded through
//! its MQTT API. One file per role: [`config`], [`topics`] (topics and payload types), [`bindings`]
//! (the mapping's types), [`mapping`] (exposes → kind and bindings; [`enums`] and [`fan`] for
//! their exposes), [`convert`] (values both ways; [`fan`] for fans), [`commands`] (merge window,
//! PUBACK acceptance), [`devices`] (the device table and the bridge topics), [`link`] (MQTT).
//!
//! Identity is keyed by IEEE address: device ids are `z2m-<name>-<ieee>`, so a rename keeps the
//! endpoint and UniqueID and a device that leaves and joins again gets its endpoint back. The
//! source reconnects with backoff (1 s doubling to 30 s); while the broker is away every device is
//! unreachable and commands are refused at once. Nothing the broker sends can stop the source: bad
//! input is logged with the device and the field and changes nothing.

pub mod action;
pub mod bindings;
pub mod buttons;
#[cfg(test)]
mod buttons_tests;
pub mod commands;
pub mod config;
pub mod convert;
pub mod coverage;
pub mod devices;
pub mod enums;
pub mod fan;
pub mod link;
pub mod mapping;
pub mod parts;
#[cfg(test)]
mod parts_tests;
#[cfg(test)]
mod tests;
pub mod topics;

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::commands::{Acks, Batches};
use self::config::Zigbee2MqttConfig;
use self::devices::DeviceTable;
use self::link::{Link, LinkEvent};
use super::{DeviceSource, SourceError};
use crate::registry::{Registry, SourceCommand, SourceCommandError};

const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long a connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One Zigbee2MQTT instance as a device source.
pub struct Zigbee2MqttSource {
    config: Zigbee2MqttConfig,
    name: String,
}

impl Zigbee2MqttSource {
    pub fn new(config: Zigbee2MqttConfig) -> Zigbee2MqttSource {
        let name = config.source_name();
        Zigbee2MqttSource { config, name }
    }
}

/// What one connection needs besides the link.
pub(crate) struct Session<'a> {
    pub config: &'a Zigbee2MqttConfig,
    pub source: &'a str,
    pub registry: &'a Registry,
    pub devices: &'a mut DeviceTable,
    pub link: &'a Link,
    pub batches: Batches,
    pub acks: Acks,
    /// `bridge/state`: Zigbee2MQTT itself is running.
    pub bridge_online: bool,
}

#[async_trait]
impl DeviceSource for Zigbee2MqttSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(
        self: Box<Self>,
        registry: Registry,
        mut commands: mpsc::Receiver<SourceCommand>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let mut devices = DeviceTable::default();
        let mut backoff = BACKOFF_START;
        registry.metrics().source_connected(&self.name, false);
        tracing::info!(source = %self.name, host = %self.config.host, port = self.config.port(), base_topic = %self.config.base_topic, "started");
        loop {
            let outcome = self
                .session(&registry, &mut devices, &mut commands, &shutdown)
                .await;
            registry.set_source_reachable(&self.name, false);
            registry.metrics().source_connected(&self.name, false);
            match outcome {
                Ended::Shutdown => break,
                Ended::Failed { error, was_up } => {
                    if was_up {
                        backoff = BACKOFF_START;
                    }
                    tracing::warn!(source = %self.name, error = %error, retry_in_ms = backoff.as_millis() as u64, "broker connection lost; its devices are unreachable");
                }
            }
            // Wait out the backoff, refusing commands meanwhile.
            let wake = tokio::time::sleep(backoff);
            tokio::pin!(wake);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = &mut wake => break,
                    command = commands.recv() => match command {
                        Some(c) => c.answer(Err(SourceCommandError::Down)),
                        None => return Ok(()),
                    },
                }
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        tracing::info!(source = %self.name, "stopped");
        Ok(())
    }
}

enum Ended {
    Shutdown,
    Failed { error: String, was_up: bool },
}

impl Zigbee2MqttSource {
    async fn session(
        &self,
        registry: &Registry,
        devices: &mut DeviceTable,
        commands: &mut mpsc::Receiver<SourceCommand>,
        shutdown: &CancellationToken,
    ) -> Ended {
        let (link, mut events) = match Link::connect(&self.config) {
            Ok(l) => l,
            Err(error) => {
                return Ended::Failed {
                    error,
                    was_up: false,
                }
            }
        };
        // Wait for the CONNACK, refusing commands meanwhile.
        let connect = tokio::time::sleep(CONNECT_TIMEOUT);
        tokio::pin!(connect);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ended::Shutdown,
                _ = &mut connect => return Ended::Failed { error: "no CONNACK in time".into(), was_up: false },
                command = commands.recv() => match command {
                    Some(c) => c.answer(Err(SourceCommandError::Down)),
                    None => return Ended::Shutdown,
                },
                event = events.recv() => match event {
                    Some(LinkEvent::Connected) => break,
                    Some(LinkEvent::Failed(error)) => return Ended::Failed { error, was_up: false },
                    None => return Ended::Failed { error: "connection closed".into(), was_up: false },
                    Some(_) => {}
                },
            }
        }
        let filter = format!("{}/#", self.config.base_topic);
        if let Err(error) = link.subscribe(&filter) {
            return Ended::Failed {
                error,
                was_up: false,
            };
        }
        tracing::info!(source = %self.name, topic = %filter, "connected to the broker");
        registry.metrics().source_connected(&self.name, true);
        let mut session = Session {
            config: &self.config,
            source: &self.name,
            registry,
            devices,
            link: &link,
            batches: Batches::default(),
            acks: Acks::default(),
            bridge_online: true,
        };
        session.devices.new_session();
        session.update_reachability();
        let window = Duration::from_millis(self.config.merge_ms);
        let ended = loop {
            let due = session.batches.next_due();
            tokio::select! {
                _ = shutdown.cancelled() => break Ended::Shutdown,
                command = commands.recv() => match command {
                    Some(c) => {
                        session.on_command(c, window);
                        // A command for a quiet device is due at once (leading edge).
                        session.flush(tokio::time::Instant::now());
                    }
                    None => break Ended::Shutdown,
                },
                _ = async { tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)).await }, if due.is_some() => {
                    session.flush(tokio::time::Instant::now());
                }
                event = events.recv() => match event {
                    Some(LinkEvent::Message { topic, payload }) => session.on_message(&topic, &payload),
                    Some(LinkEvent::Sent(pkid)) => session.acks.sent(pkid),
                    Some(LinkEvent::Acked(pkid)) => session.acks.acked(pkid),
                    Some(LinkEvent::Connected) => {}
                    Some(LinkEvent::Failed(error)) => break Ended::Failed { error, was_up: true },
                    None => break Ended::Failed { error: "connection closed".into(), was_up: true },
                },
            }
        };
        session.batches.fail_all(&SourceCommandError::Down);
        session.acks.fail_all(&SourceCommandError::Down);
        ended
    }
}

impl Session<'_> {
    /// A command from the registry: refused at once when the device cannot be reached, else put in
    /// its device's merge window.
    fn on_command(&mut self, command: SourceCommand, window: Duration) {
        let (target, part) = command.target();
        let mapping = self.devices.by_id(target).and_then(|device| {
            parts::mapping_for(&device.mapping, &device.parts, part).map(|m| (device, m))
        });
        let Some((device, mapping)) = mapping else {
            let id = command.device.clone();
            command.answer(Err(SourceCommandError::Refused(format!(
                "device `{id}` is not known to this Zigbee2MQTT source"
            ))));
            return;
        };
        if !self.reachable(device) {
            tracing::info!(source = %self.source, device = %command.device, "command refused: the device is unreachable");
            command.answer(Err(SourceCommandError::Unreachable));
            return;
        }
        if let Some(fields) = command.stop {
            // A stop goes out at once: it must not wait behind (or merge into) a move.
            let payload = convert::stop_payload(mapping, fields);
            if payload.is_empty() {
                command.answer(Ok(()));
                return;
            }
            let topic = topics::set_topic(&self.config.base_topic, &device.friendly_name);
            let body = serde_json::Value::Object(payload).to_string();
            tracing::debug!(source = %self.source, device = %command.device, %topic, payload = %body, "publishing stop");
            let reply = command.reply;
            match self.link.publish(topic, true, body.into_bytes()) {
                Ok(()) => self.acks.queued(vec![reply]),
                Err(e) => {
                    let _ = reply.send(Err(SourceCommandError::Refused(format!(
                        "cannot publish: {e}"
                    ))));
                }
            }
            return;
        }
        let (payload, missing) = convert::to_set(mapping, &command.patch, None);
        if !missing.is_empty() {
            command.answer(Err(SourceCommandError::Refused(format!(
                "the device has no settable property for {}",
                missing.join(", ")
            ))));
            return;
        }
        if payload.is_empty() {
            // Nothing the device takes (e.g. only color_mode): done.
            command.answer(Ok(()));
            return;
        }
        self.batches
            .add(command, tokio::time::Instant::now(), window);
    }

    /// Publishes every batch whose merge window closed.
    fn flush(&mut self, now: tokio::time::Instant) {
        for (id, batch) in self.batches.take_due(now) {
            let Some(device) = self.devices.by_id(&id) else {
                commands::answer_all(
                    batch.replies,
                    Err(SourceCommandError::Refused("the device left".into())),
                );
                continue;
            };
            let (mut payload, _) = convert::to_set(&device.mapping, &batch.patch, batch.transition);
            for (part, patch) in &batch.parts {
                if let Some(m) = parts::mapping_for(&device.mapping, &device.parts, Some(part)) {
                    payload.extend(convert::to_set(m, patch, batch.transition).0);
                }
            }
            let topic = topics::set_topic(&self.config.base_topic, &device.friendly_name);
            let body = serde_json::Value::Object(payload).to_string();
            tracing::debug!(source = %self.source, device = %id, %topic, payload = %body, "publishing command");
            match self.link.publish(topic, true, body.into_bytes()) {
                Ok(()) => self.acks.queued(batch.replies),
                Err(e) => commands::answer_all(
                    batch.replies,
                    Err(SourceCommandError::Refused(format!("cannot publish: {e}"))),
                ),
            }
        }
    }
}
