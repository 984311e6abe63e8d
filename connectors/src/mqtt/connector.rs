//! The MQTT connector's run: connect, announce, replay the outbox in order, reconcile every device's
//! state, then stream new records and answer requests until the link fails or the bridge stops.
//!
//! The loop, the window and the acknowledgement are the driver's ([`crate::driver`]); this file holds
//! the topic rules: which messages each record, request and reconciliation becomes.

use std::time::Duration;

use async_trait::async_trait;
use device_types::State;
use tokio::sync::mpsc;

use super::config::MqttConfig;
use super::discovery;
use super::topics::{self, Request, Topics};
use crate::connector::{short, Connector, Session};
use crate::driver::{self, Cx, Drive, Limit, Protocol};
use crate::link::{Link, LinkOptions};
use crate::model::{EventBody, Record};
use crate::outbox::Stored;
use crate::tls::{self, TlsFiles};
use crate::Error;

/// Largest `/set` payload accepted.
const MAX_COMMAND_BYTES: usize = 64 * 1024;

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
            host: c.host.clone(),
            port: c.port(),
            protocol: c.protocol,
            client_id: c.client_id(),
            credentials: c.credentials()?,
            tls,
            keep_alive: Duration::from_secs(c.keep_alive_secs),
            will_topic: Some(self.topics.bridge_state()),
            capacity: window * 2 + 64,
            inflight: c.max_inflight,
            max_packet_bytes: c.max_packet_bytes as usize,
            tls_keys: "tls.",
        };
        let (link, mut events) = tokio::select! {
            () = session.stop.cancelled() => return Ok(()),
            r = Link::connect(opts) => r?,
        };
        session.health.set_connected(true);
        tracing::info!(connector = %c.name, host = %c.host, port = c.port(), protocol = ?c.protocol, "connected to the MQTT broker");
        let (resp_tx, mut responses) = mpsc::unbounded_channel();
        let mut run = Run { m: self, resp_tx };
        let drive = Drive {
            session,
            name: &c.name,
            peer: "the MQTT broker",
            link: Box::new(link),
            window,
            limit: Limit {
                bytes: c.max_packet_bytes as usize,
                source: "max_packet_bytes of this connector",
            },
            deadline: None,
            poll: None,
        };
        let result = driver::drive(&mut run, drive, &mut events, &mut responses).await;
        session.health.set_connected(false);
        result.map(|_| ())
    }
}

/// The MQTT protocol rules for the driver.
struct Run<'a> {
    m: &'a MqttConnector,
    /// Answers of commands, published on `<base>/bridge/response`.
    resp_tx: mpsc::UnboundedSender<(String, Vec<u8>)>,
}

impl Protocol for Run<'_> {
    type Note = (String, Vec<u8>);

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<(), Error> {
        self.announce(cx)
    }

    fn record(&mut self, cx: &mut Cx<'_>, stored: Stored) -> Result<(), Error> {
        self.publish_record(cx, stored);
        Ok(())
    }

    fn reconcile(&mut self, cx: &mut Cx<'_>) -> Result<(), Error> {
        self.reconcile_all(cx);
        Ok(())
    }

    fn message(
        &mut self,
        cx: &mut Cx<'_>,
        topic: &str,
        payload: &[u8],
        expiry_secs: Option<u32>,
    ) -> Result<(), Error> {
        self.request(cx, topic, payload, expiry_secs);
        Ok(())
    }

    fn note(&mut self, cx: &mut Cx<'_>, (topic, payload): Self::Note) -> Result<(), Error> {
        cx.respond(topic, false, payload);
        Ok(())
    }

    /// Stop: `bridge/state` offline before DISCONNECT.
    fn stopping(&mut self, cx: &mut Cx<'_>) {
        let topic = self.m.topics.bridge_state();
        cx.publish_now(&topic, true, b"offline".to_vec());
    }
}

impl Run<'_> {
    /// Subscriptions, `bridge/state` online, discovery of every device.
    fn announce(&mut self, cx: &mut Cx<'_>) -> Result<(), Error> {
        let t = &self.m.topics;
        cx.subscribe(&t.set_filter())?;
        cx.subscribe(&t.get_filter())?;
        if self.m.config.homeassistant {
            cx.subscribe(&t.ha_status())?;
        }
        cx.send(None, t.bridge_state(), true, b"online".to_vec());
        self.discovery_all(cx);
        Ok(())
    }

    fn discovery_all(&mut self, cx: &mut Cx<'_>) {
        if !self.m.config.homeassistant {
            return;
        }
        for d in cx.s.devices.devices() {
            self.discovery(cx, &d.info);
        }
    }

    fn discovery(&mut self, cx: &mut Cx<'_>, info: &crate::model::DeviceInfo) {
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
        cx.send(None, topic, true, cfg.to_string().into_bytes());
    }

    /// After the replay: every device's current state and availability, retained.
    fn reconcile_all(&mut self, cx: &mut Cx<'_>) {
        for d in cx.s.devices.devices() {
            let t = &self.m.topics;
            let (st, av) = (t.state(&d.info.id), t.availability(&d.info.id));
            cx.send(None, st, true, d.state.to_json().into_bytes());
            let payload = topics::availability_payload(d.reachable)
                .as_bytes()
                .to_vec();
            cx.send(None, av, true, payload);
        }
    }

    fn publish_record(&mut self, cx: &mut Cx<'_>, stored: Stored) {
        let Stored { seq, record } = stored;
        let t = &self.m.topics;
        match &record {
            Record::State { device, state, .. } => {
                let topic = t.state(device);
                cx.send(Some(seq), topic, true, state.to_json().into_bytes());
            }
            Record::Event { device, body, .. } => {
                let device = device.clone();
                if let Some(reachable) = topics::availability_of(&record) {
                    let topic = t.availability(&device);
                    let payload = topics::availability_payload(reachable).as_bytes().to_vec();
                    cx.send(Some(seq), topic, true, payload);
                }
                match body {
                    EventBody::DeviceAdded { info } => {
                        let info = info.clone();
                        self.discovery(cx, &info);
                    }
                    EventBody::DeviceRemoved => self.remove_device(cx, seq, &device),
                    _ => {}
                }
                if let Some(payload) = topics::event_payload(&record) {
                    let topic = self.m.topics.event();
                    cx.send(Some(seq), topic, false, payload);
                }
            }
        }
    }

    /// Clears the removed device's retained topics and its discovery configs.
    fn remove_device(&mut self, cx: &mut Cx<'_>, seq: u64, device: &str) {
        let t = &self.m.topics;
        let (st, av) = (t.state(device), t.availability(device));
        cx.send(Some(seq), st, true, Vec::new());
        cx.send(Some(seq), av, true, Vec::new());
        if self.m.config.homeassistant {
            for component in discovery::COMPONENTS {
                let topic = discovery::config_topic(
                    &self.m.config.homeassistant_prefix,
                    component,
                    &self.m.node,
                    device,
                );
                cx.send(Some(seq), topic, true, Vec::new());
            }
        }
    }

    /// A message on a subscribed topic: `/set`, `/get` or Home Assistant's status.
    fn request(&mut self, cx: &mut Cx<'_>, topic: &str, payload: &[u8], expiry_secs: Option<u32>) {
        let name = &self.m.config.name;
        match self.m.topics.parse(topic) {
            Some(Request::HomeAssistantStatus) => {
                if payload == b"online" {
                    tracing::info!(connector = %name, "Home Assistant is online: publishing discovery again");
                    self.discovery_all(cx);
                    self.reconcile_all(cx);
                }
            }
            Some(Request::Get(device)) => match cx.s.devices.device(device) {
                Some(d) => {
                    let topic = self.m.topics.state(device);
                    cx.respond(topic, true, d.state.to_json().into_bytes());
                }
                None => self.refuse(cx, topic, device, &format!("no device with id `{device}`")),
            },
            Some(Request::Set(device)) => self.set(cx, topic, device, payload, expiry_secs),
            None => {
                tracing::debug!(connector = %name, topic = %short(topic), "message on an unexpected topic ignored")
            }
        }
    }

    fn set(
        &mut self,
        cx: &mut Cx<'_>,
        topic: &str,
        device: &str,
        payload: &[u8],
        expiry_secs: Option<u32>,
    ) {
        if payload.len() > MAX_COMMAND_BYTES {
            return self.refuse(
                cx,
                topic,
                device,
                &format!(
                    "payload of {} bytes is larger than {MAX_COMMAND_BYTES}",
                    payload.len()
                ),
            );
        }
        let Ok(text) = std::str::from_utf8(payload) else {
            return self.refuse(cx, topic, device, "payload is not UTF-8 JSON");
        };
        let patch = match State::from_json(text) {
            Ok(p) if p.is_empty() => {
                return self.refuse(cx, topic, device, "empty command: no state field set")
            }
            Ok(p) => p,
            Err(e) => return self.refuse(cx, topic, device, &e.to_string()),
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
        let sent = cx.s.send_command(
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
                let _ = tx.send((response_topic, payload));
            },
        );
        if !sent {
            // Counted and logged by send_command; the requester still gets an answer.
            self.answer_error(cx, topic, device, "the bridge is busy; command not applied");
        }
    }

    fn refuse(&mut self, cx: &mut Cx<'_>, topic: &str, device: &str, error: &str) {
        cx.s.health.add_command(true);
        if let Some(suppressed) = crate::log_limit::allow(&self.m.config.name, line!()) {
            tracing::warn!(connector = %self.m.config.name, device = %short(device), error = %short(error), suppressed, "command refused");
        }
        self.answer_error(cx, topic, device, error);
    }

    /// The error response to a command on `<base>/bridge/response`.
    fn answer_error(&mut self, cx: &mut Cx<'_>, topic: &str, device: &str, error: &str) {
        let payload = topics::response_payload(topic, device, Err(error));
        let rt = self.m.topics.response();
        cx.respond(rt, false, payload);
    }
}
