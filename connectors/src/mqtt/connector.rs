//! The MQTT connector's run: connect, announce, replay the outbox in order, reconcile every device's
//! state, then stream new records and answer requests until the link fails or the bridge stops.
//!
//! Acknowledgement: every publish is queued through [`Run::enqueue`] with a tag (the outbox seq, or
//! none); the link reports publishes in queue order with their packet ids, and a record is acked in
//! the outbox only when the PUBACK of each of its messages arrived.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use device_types::State;
use tokio::sync::mpsc;

use super::config::MqttConfig;
use super::discovery;
use super::link::{Link, LinkEvent, LinkOptions};
use super::topics::{self, Request, Topics};
use crate::connector::{short, Connector, Session};
use crate::delivery::Deliveries;
use crate::model::{EventBody, Record};
use crate::outbox::Stored;
use crate::tls::{self, TlsFiles};
use crate::Error;

/// Largest `/set` payload accepted.
const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// Untracked messages (responses, discovery) waiting for the window; responses beyond it are dropped.
const MAX_BACKLOG: usize = 20_000;

/// The self-hosted MQTT connector.
pub struct MqttConnector {
    config: MqttConfig,
    topics: Topics,
    node: String,
}

impl MqttConnector {
    pub fn new(config: MqttConfig) -> MqttConnector {
        let topics = Topics {
            base: config.base_topic.clone(),
            ha_prefix: config.homeassistant_prefix.clone(),
        };
        let node = discovery::node_id(&config.client_id());
        MqttConnector {
            config,
            topics,
            node,
        }
    }
}

#[async_trait]
impl Connector for MqttConnector {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn kind(&self) -> &'static str {
        "mqtt"
    }

    async fn run(&mut self, session: &mut Session) -> Result<(), Error> {
        let c = &self.config;
        let tls = match &c.tls {
            Some(t) => Some(tls::client_config(
                &c.name,
                &TlsFiles {
                    ca_file: Some(&t.ca_file),
                    client_cert_file: t.client_cert_file.as_deref(),
                    client_key_file: t.client_key_file.as_deref(),
                },
            )?),
            None => None,
        };
        let window = usize::from(c.max_inflight);
        let opts = LinkOptions {
            client_id: c.client_id(),
            credentials: c.credentials()?,
            tls,
            will_topic: self.topics.bridge_state(),
            capacity: window * 2 + 64,
            inflight: c.max_inflight,
        };
        let (link, mut events) = tokio::select! {
            () = session.stop.cancelled() => return Ok(()),
            r = Link::connect(c, opts) => r?,
        };
        session.health.set_connected(true);
        tracing::info!(connector = %c.name, host = %c.host, port = c.port(), protocol = ?c.protocol, "connected to the MQTT broker");
        let (resp_tx, resp_rx) = mpsc::channel(1024);
        let mut run = Run {
            m: self,
            s: session,
            link,
            window,
            backlog: VecDeque::new(),
            d: Deliveries::default(),
            cursor: 0,
            reconciled: false,
            resp_tx,
            dropped_responses: 0,
        };
        let result = run.main(&mut events, resp_rx).await;
        session.health.set_connected(false);
        result
    }
}

/// One message waiting to be handed to the link.
struct Outgoing {
    tag: Option<u64>,
    topic: String,
    retain: bool,
    payload: Vec<u8>,
}

struct Run<'a> {
    m: &'a MqttConnector,
    s: &'a Session,
    link: Link,
    window: usize,
    backlog: VecDeque<Outgoing>,
    /// What was handed to the link and which records it completes.
    d: Deliveries,
    cursor: u64,
    reconciled: bool,
    resp_tx: mpsc::Sender<(String, Vec<u8>)>,
    dropped_responses: u64,
}

impl Run<'_> {
    async fn main(
        &mut self,
        events: &mut mpsc::Receiver<LinkEvent>,
        mut responses: mpsc::Receiver<(String, Vec<u8>)>,
    ) -> Result<(), Error> {
        self.announce()?;
        let mut exhausted = false;
        loop {
            self.flush()?;
            if !exhausted && self.backlog.is_empty() && self.inflight() < self.window {
                let room = self.window - self.inflight();
                let records = self.s.outbox.read_after(self.cursor, room).await?;
                let caught_up = records.len() < room;
                for stored in records {
                    self.cursor = stored.seq;
                    self.publish_record(stored);
                }
                if caught_up {
                    exhausted = true;
                    if !self.reconciled {
                        self.reconciled = true;
                        self.reconcile();
                        tracing::info!(connector = %self.m.config.name, "outbox replayed; full state reconciled");
                    }
                }
                self.flush()?;
            }
            let can_pump = self.inflight() < self.window && self.backlog.is_empty();
            tokio::select! {
                biased;
                () = self.s.stop.cancelled() => return self.shutdown(events).await,
                ev = events.recv() => {
                    let Some(ev) = ev else {
                        return Err(Error::Connection { reason: "the MQTT event loop stopped".into(), permanent: false });
                    };
                    self.handle(ev)?;
                    let mut n = 0;
                    while let Ok(ev) = events.try_recv() {
                        self.handle(ev)?;
                        n += 1;
                        if n > 4096 { break; }
                    }
                    self.flush_acks().await?;
                }
                Some((topic, payload)) = responses.recv() => {
                    self.enqueue(None, topic, false, payload);
                }
                () = self.s.outbox.changed(), if exhausted && can_pump => exhausted = false,
            }
        }
    }

    fn inflight(&self) -> usize {
        self.d.inflight()
    }

    fn enqueue(&mut self, tag: Option<u64>, topic: String, retain: bool, payload: Vec<u8>) {
        if let Some(seq) = tag {
            self.d.expect(seq);
        } else if self.backlog.len() >= MAX_BACKLOG {
            self.dropped_responses += 1;
            if self.dropped_responses.is_power_of_two() {
                tracing::warn!(connector = %self.m.config.name, dropped = self.dropped_responses, "too many responses waiting; dropping some");
            }
            return;
        }
        self.backlog.push_back(Outgoing {
            tag,
            topic,
            retain,
            payload,
        });
    }

    /// Hands backlog messages to the link while the window has room.
    fn flush(&mut self) -> Result<(), Error> {
        while self.inflight() < self.window {
            let Some(o) = self.backlog.pop_front() else {
                break;
            };
            self.link.publish(&o.topic, o.retain, o.payload)?;
            self.d.handed(o.tag);
        }
        Ok(())
    }

    fn handle(&mut self, ev: LinkEvent) -> Result<(), Error> {
        match ev {
            LinkEvent::Sent(pkid) => self.d.sent(pkid),
            LinkEvent::Acked { pkid, rejected } => {
                let tag = self.d.acked(pkid);
                if let (Some(seq), Some(reason)) = (tag, rejected) {
                    tracing::error!(connector = %self.m.config.name, seq, reason = %reason, "broker rejected a record");
                    self.d.dead_letter(self.s, seq, reason);
                } else {
                    self.d.done(tag);
                }
            }
            LinkEvent::Message {
                topic,
                payload,
                expiry_secs,
            } => self.request(&topic, &payload, expiry_secs),
            LinkEvent::Failed(e) => return Err(e),
        }
        Ok(())
    }

    async fn flush_acks(&mut self) -> Result<(), Error> {
        self.d.flush(self.s).await
    }

    /// Subscriptions, `bridge/state` online, discovery of every device.
    fn announce(&mut self) -> Result<(), Error> {
        let t = &self.m.topics;
        self.link.subscribe(&t.set_filter())?;
        self.link.subscribe(&t.get_filter())?;
        if self.m.config.homeassistant {
            self.link.subscribe(&t.ha_status())?;
        }
        self.enqueue(None, t.bridge_state(), true, b"online".to_vec());
        self.discovery_all();
        Ok(())
    }

    fn discovery_all(&mut self) {
        if !self.m.config.homeassistant {
            return;
        }
        for d in self.s.devices.devices() {
            self.discovery(&d.info);
        }
    }

    fn discovery(&mut self, info: &crate::model::DeviceInfo) {
        // A bridged_node container has no entity of its own; its parts are published.
        if !self.m.config.homeassistant || info.kind == device_types::DeviceKind::BridgedNode {
            return;
        }
        let cfg = discovery::config(info, &self.m.topics, &self.m.node);
        let topic = discovery::config_topic(
            &self.m.config.homeassistant_prefix,
            discovery::component(info.kind),
            &self.m.node,
            &info.id,
        );
        self.enqueue(None, topic, true, cfg.to_string().into_bytes());
    }

    /// After the replay: every device's current state and availability, retained.
    fn reconcile(&mut self) {
        for d in self.s.devices.devices() {
            let t = &self.m.topics;
            let (st, av) = (t.state(&d.info.id), t.availability(&d.info.id));
            self.enqueue(None, st, true, d.state.to_json().into_bytes());
            let payload = topics::availability_payload(d.reachable)
                .as_bytes()
                .to_vec();
            self.enqueue(None, av, true, payload);
        }
    }

    fn publish_record(&mut self, stored: Stored) {
        let Stored { seq, record } = stored;
        let t = &self.m.topics;
        match &record {
            Record::State { device, state, .. } => {
                let topic = t.state(device);
                self.enqueue(Some(seq), topic, true, state.to_json().into_bytes());
            }
            Record::Event { device, body, .. } => {
                let device = device.clone();
                if let Some(reachable) = topics::availability_of(&record) {
                    let topic = t.availability(&device);
                    let payload = topics::availability_payload(reachable).as_bytes().to_vec();
                    self.enqueue(Some(seq), topic, true, payload);
                }
                match body {
                    EventBody::DeviceAdded { info } => {
                        let info = info.clone();
                        self.discovery(&info);
                    }
                    EventBody::DeviceRemoved => self.remove_device(seq, &device),
                    _ => {}
                }
                if let Some(payload) = topics::event_payload(&record) {
                    let topic = self.m.topics.event();
                    self.enqueue(Some(seq), topic, false, payload);
                }
            }
        }
    }

    /// Clears the removed device's retained topics and its discovery configs.
    fn remove_device(&mut self, seq: u64, device: &str) {
        let t = &self.m.topics;
        let (st, av) = (t.state(device), t.availability(device));
        self.enqueue(Some(seq), st, true, Vec::new());
        self.enqueue(Some(seq), av, true, Vec::new());
        if self.m.config.homeassistant {
            for component in discovery::COMPONENTS {
                let topic = discovery::config_topic(
                    &self.m.config.homeassistant_prefix,
                    component,
                    &self.m.node,
                    device,
                );
                self.enqueue(Some(seq), topic, true, Vec::new());
            }
        }
    }

    /// A message on a subscribed topic: `/set`, `/get` or Home Assistant's status.
    fn request(&mut self, topic: &str, payload: &[u8], expiry_secs: Option<u32>) {
        let name = &self.m.config.name;
        match self.m.topics.parse(topic) {
            Some(Request::HomeAssistantStatus) => {
                if payload == b"online" {
                    tracing::info!(connector = %name, "Home Assistant is online: publishing discovery again");
                    self.discovery_all();
                    self.reconcile();
                }
            }
            Some(Request::Get(device)) => match self.s.devices.device(device) {
                Some(d) => {
                    let topic = self.m.topics.state(device);
                    self.enqueue(None, topic, true, d.state.to_json().into_bytes());
                }
                None => self.refuse(topic, device, &format!("no device with id `{device}`")),
            },
            Some(Request::Set(device)) => self.set(topic, device, payload, expiry_secs),
            None => {
                tracing::debug!(connector = %name, topic = %short(topic), "message on an unexpected topic ignored")
            }
        }
    }

    fn set(&mut self, topic: &str, device: &str, payload: &[u8], expiry_secs: Option<u32>) {
        if payload.len() > MAX_COMMAND_BYTES {
            return self.refuse(
                topic,
                device,
                &format!(
                    "payload of {} bytes is larger than {MAX_COMMAND_BYTES}",
                    payload.len()
                ),
            );
        }
        let Ok(text) = std::str::from_utf8(payload) else {
            return self.refuse(topic, device, "payload is not UTF-8 JSON");
        };
        let patch = match State::from_json(text) {
            Ok(p) if p.is_empty() => {
                return self.refuse(topic, device, "empty command: no state field set")
            }
            Ok(p) => p,
            Err(e) => return self.refuse(topic, device, &e.to_string()),
        };
        let mut ttl = Duration::from_secs(self.m.config.outbox.command_ttl_secs);
        if let Some(secs) = expiry_secs {
            ttl = ttl.min(Duration::from_secs(secs.into()));
        }
        let tx = self.resp_tx.clone();
        let (request, dev, response_topic) = (
            topic.to_owned(),
            device.to_owned(),
            self.m.topics.response(),
        );
        let sent = self.s.send_command(
            &self.m.config.name,
            device,
            patch,
            ttl,
            topic.to_owned(),
            move |result| async move {
                let payload = match &result {
                    Ok(state) => topics::response_payload(&request, &dev, Ok(state)),
                    Err(e) => topics::response_payload(&request, &dev, Err(&e.to_string())),
                };
                let _ = tx.try_send((response_topic, payload));
            },
        );
        if !sent {
            // Counted and logged by send_command; the requester still gets an answer.
            self.answer_error(topic, device, "the bridge is busy; command not applied");
        }
    }

    fn refuse(&mut self, topic: &str, device: &str, error: &str) {
        self.s.health.add_command(true);
        tracing::warn!(connector = %self.m.config.name, device = %short(device), error = %short(error), "command refused");
        self.answer_error(topic, device, error);
    }

    /// The error response to a command on `<base>/bridge/response`.
    fn answer_error(&mut self, topic: &str, device: &str, error: &str) {
        let payload = topics::response_payload(topic, device, Err(error));
        let rt = self.m.topics.response();
        self.enqueue(None, rt, false, payload);
    }

    /// Stop: `bridge/state` offline, DISCONNECT, give the link a moment to send both.
    async fn shutdown(&mut self, events: &mut mpsc::Receiver<LinkEvent>) -> Result<(), Error> {
        let topic = self.m.topics.bridge_state();
        let _ = self.link.publish(&topic, true, b"offline".to_vec());
        self.link.disconnect();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(ev) = events.recv().await {
                if matches!(ev, LinkEvent::Failed(_)) {
                    break;
                }
                let _ = self.handle(ev);
            }
        })
        .await;
        let _ = self.flush_acks().await;
        tracing::info!(connector = %self.m.config.name, "disconnected from the MQTT broker");
        Ok(())
    }
}
