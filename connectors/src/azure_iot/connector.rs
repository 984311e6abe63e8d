//! The Azure IoT Hub connector's run: connect (SAS or X.509), subscribe, replay the outbox (state →
//! reported PATCH acked on `204` for its `$rid`; events → telemetry acked on PUBACK), then GET the twin
//! and reconcile, then stream; desired PATCHes, direct methods and cloud-to-device messages become
//! registry commands. A SAS connection reconnects with a fresh token before the old one expires.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use device_types::State;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::config::{Auth, AzureIotConfig};
use super::desired::DesiredMemory;
use super::sas;
use super::twin::{self, Incoming};
use crate::connector::{Connector, Session};
use crate::delivery::Deliveries;
use crate::iot_link::{IotEvent, IotLink, IotLinkOptions};
use crate::model::{EventBody, Record};
use crate::mqtt::topics::event_payload;
use crate::outbox::Stored;
use crate::tls::{self, TlsFiles};
use crate::Error;

/// The Azure IoT Hub connector.
pub struct AzureIotConnector {
    config: AzureIotConfig,
    /// The desired properties last seen, kept beside the outbox (loaded at the first run).
    desired: Option<DesiredMemory>,
}

impl AzureIotConnector {
    pub fn new(config: AzureIotConfig) -> AzureIotConnector {
        AzureIotConnector {
            config,
            desired: None,
        }
    }
}

/// Why one connection ended without an error.
enum End {
    Stop,
    Renew,
}

#[async_trait]
impl Connector for AzureIotConnector {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn kind(&self) -> &'static str {
        "azure_iot"
    }

    async fn run(&mut self, session: &mut Session) -> Result<(), Error> {
        if self.desired.is_none() {
            self.desired = Some(DesiredMemory::load(session.outbox.path()));
        }
        let c = &self.config;
        let tls = tls::client_config(
            &c.name,
            &TlsFiles {
                ca_file: Some(&c.ca_file),
                client_cert_file: c.client_cert_file.as_deref(),
                client_key_file: c.client_key_file.as_deref(),
            },
        )?;
        loop {
            let c = &self.config;
            let (password, renew) = match c.auth()? {
                Auth::Sas(key) => {
                    let ttl = c.sas_token_ttl_secs;
                    let se = sas::grid_expiry(unix_secs(), ttl);
                    let resource = sas::device_resource(&c.hub_hostname, &c.device_id);
                    (key.password(&resource, se), Some(sas::renew_at(se, ttl)))
                }
                Auth::X509 => (String::new(), None),
            };
            let window = usize::from(c.max_inflight);
            let opts = IotLinkOptions {
                host: c.host().to_owned(),
                port: c.port,
                client_id: c.device_id.clone(),
                credentials: Some((c.username(), password)),
                tls: tls.clone(),
                keep_alive: Duration::from_secs(c.keep_alive_secs),
                capacity: window * 2 + 64,
            };
            let (link, mut events) = tokio::select! {
                () = session.stop.cancelled() => return Ok(()),
                r = IotLink::connect(opts) => r?,
            };
            session.health.set_connected(true);
            tracing::info!(connector = %c.name, host = %c.host(), port = c.port, device = %c.device_id, "connected to Azure IoT Hub");
            let (out_tx, out_rx) = mpsc::channel(1024);
            let mut run = Run {
                c,
                s: session,
                desired: self.desired.as_mut().expect("loaded above"),
                link,
                window,
                d: Deliveries::default(),
                rids: HashMap::new(),
                next_rid: 1,
                cursor: 0,
                reconciling: false,
                out_tx,
            };
            let end = run.main(&mut events, out_rx, renew).await;
            match end {
                Ok(End::Stop) => {
                    session.health.set_connected(false);
                    return Ok(());
                }
                Ok(End::Renew) => {
                    tracing::info!(connector = %self.config.name, "SAS token renewal: reconnecting with a fresh token");
                }
                Err(e) => {
                    session.health.set_connected(false);
                    return Err(e);
                }
            }
        }
    }
}

/// What a `$rid` was for.
#[derive(Debug, Clone, Copy)]
enum Rid {
    Get,
    /// A reported PATCH for outbox record `seq` (`None`: the reconciliation PATCH).
    Patch(Option<u64>),
}

pub(super) struct Run<'a> {
    pub(super) c: &'a AzureIotConfig,
    pub(super) s: &'a Session,
    desired: &'a mut DesiredMemory,
    link: IotLink,
    window: usize,
    /// What was handed to the link and which records it completes (PUBACKs and `204`s).
    d: Deliveries,
    rids: HashMap<u64, Rid>,
    next_rid: u64,
    cursor: u64,
    /// The twin GET was sent (after the replay caught up).
    reconciling: bool,
    pub(super) out_tx: mpsc::Sender<(String, Vec<u8>)>,
}

impl Run<'_> {
    async fn main(
        &mut self,
        events: &mut mpsc::Receiver<IotEvent>,
        mut out_rx: mpsc::Receiver<(String, Vec<u8>)>,
        renew: Option<u64>,
    ) -> Result<End, Error> {
        let id = &self.c.device_id;
        self.link.subscribe(twin::TWIN_RES_FILTER)?;
        self.link.subscribe(twin::DESIRED_FILTER)?;
        self.link.subscribe(twin::METHODS_FILTER)?;
        self.link.subscribe(&twin::c2d_filter(id))?;
        let renew_in = renew.map(|at| {
            (SystemTime::UNIX_EPOCH + Duration::from_secs(at))
                .duration_since(SystemTime::now())
                .unwrap_or_default()
        });
        let renewal = tokio::time::sleep(renew_in.unwrap_or(Duration::from_secs(86_400 * 365)));
        tokio::pin!(renewal);
        let mut exhausted = false;
        loop {
            if !exhausted && self.inflight() < self.window {
                let room = self.window - self.inflight();
                let records = self.s.outbox.read_after(self.cursor, room).await?;
                let caught_up = records.len() < room;
                for stored in records {
                    self.cursor = stored.seq;
                    self.publish_record(stored)?;
                }
                if caught_up {
                    exhausted = true;
                    if !self.reconciling {
                        self.reconciling = true;
                        let rid = self.rid(Rid::Get);
                        self.link.publish(&twin::twin_get(rid), Vec::new())?;
                        self.d.handed(None);
                    }
                }
            }
            let room = self.inflight() < self.window;
            tokio::select! {
                biased;
                () = self.s.stop.cancelled() => {
                    self.shutdown(events).await;
                    return Ok(End::Stop);
                }
                ev = events.recv() => {
                    let Some(ev) = ev else {
                        return Err(Error::Connection { reason: "the MQTT event loop stopped".into(), permanent: false });
                    };
                    self.handle(ev)?;
                    while let Ok(ev) = events.try_recv() {
                        self.handle(ev)?;
                    }
                    self.flush_acks().await?;
                }
                Some((topic, payload)) = out_rx.recv() => {
                    self.link.publish(&topic, payload)?;
                    self.d.handed(None);
                }
                () = &mut renewal, if renew.is_some() => {
                    self.shutdown(events).await;
                    return Ok(End::Renew);
                }
                () = self.s.outbox.changed(), if exhausted && room => exhausted = false,
            }
        }
    }

    fn inflight(&self) -> usize {
        self.d.inflight() + self.rids.len()
    }

    fn rid(&mut self, purpose: Rid) -> u64 {
        let rid = self.next_rid;
        self.next_rid += 1;
        self.rids.insert(rid, purpose);
        rid
    }

    /// Publishes one message; `tag` = the outbox seq it acknowledges on PUBACK.
    fn send(&mut self, tag: Option<u64>, topic: &str, payload: Vec<u8>) -> Result<(), Error> {
        if let Some(seq) = tag {
            self.d.expect(seq);
        }
        self.link.publish(topic, payload)?;
        self.d.handed(tag);
        Ok(())
    }

    /// A reported PATCH acknowledged (for `seq`) by its `204`.
    fn patch(&mut self, seq: Option<u64>, body: &Value) -> Result<(), Error> {
        if let Some(seq) = seq {
            self.d.expect(seq);
        }
        let rid = self.rid(Rid::Patch(seq));
        self.send(
            None,
            &twin::reported_patch(rid),
            body.to_string().into_bytes(),
        )
    }

    fn publish_record(&mut self, stored: Stored) -> Result<(), Error> {
        let Stored { seq, record } = stored;
        match &record {
            Record::State { device, state, .. } => {
                self.patch(Some(seq), &twin::reported_state(device, Some(state)))?;
            }
            Record::Event {
                id, device, body, ..
            } => {
                if matches!(body, EventBody::DeviceRemoved) {
                    self.patch(Some(seq), &twin::reported_state(device, None))?;
                }
                let kind = serde_json::to_value(body)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| "event".to_owned());
                let topic = twin::telemetry(
                    &self.c.device_id,
                    &[("$.mid", id), ("type", &kind), ("device", device)],
                );
                let payload = event_payload(&record).unwrap_or_default();
                self.send(Some(seq), &topic, payload)?;
            }
        }
        Ok(())
    }

    fn handle(&mut self, ev: IotEvent) -> Result<(), Error> {
        match ev {
            IotEvent::Sent(pkid) => self.d.sent(pkid),
            IotEvent::Acked(pkid) => {
                let tag = self.d.acked(pkid);
                self.d.done(tag);
            }
            IotEvent::Message { topic, payload } => self.message(&topic, &payload)?,
            IotEvent::Failed(e) => return Err(e),
        }
        Ok(())
    }

    async fn flush_acks(&mut self) -> Result<(), Error> {
        self.d.flush(self.s).await
    }

    fn message(&mut self, topic: &str, payload: &[u8]) -> Result<(), Error> {
        let name = &self.c.name;
        match twin::parse(&self.c.device_id, topic) {
            Some(Incoming::TwinResponse {
                status,
                rid,
                version,
            }) => self.twin_response(status, rid, version, payload)?,
            Some(Incoming::Desired { version }) => match serde_json::from_slice::<Value>(payload) {
                Ok(Value::Object(doc)) => {
                    let version = version.or_else(|| doc.get("$version").and_then(Value::as_u64));
                    self.apply_desired(&doc, version, false);
                }
                _ => {
                    tracing::warn!(connector = %name, "desired PATCH that is not a JSON object ignored")
                }
            },
            Some(Incoming::Method { name: method, rid }) => {
                let (method, rid) = (method.to_owned(), rid.to_owned());
                self.method(&method, &rid, payload);
            }
            Some(Incoming::CloudToDevice { props }) => match twin::parse_c2d(&props, payload) {
                Ok((device, patch)) => {
                    let _ = self.command(device, patch, "cloud-to-device message".to_owned(), None);
                }
                Err(e) => {
                    self.s.health.add_command(true);
                    tracing::warn!(connector = %name, error = %e, "cloud-to-device message refused");
                }
            },
            None => tracing::debug!(connector = %name, "message on an unexpected topic ignored"),
        }
        Ok(())
    }

    fn twin_response(
        &mut self,
        status: u16,
        rid: u64,
        version: Option<u64>,
        payload: &[u8],
    ) -> Result<(), Error> {
        let name = &self.c.name;
        let Some(purpose) = self.rids.remove(&rid) else {
            tracing::debug!(connector = %name, rid, status, "twin response for an unknown $rid ignored");
            return Ok(());
        };
        let retry_later = status == 429 || status >= 500;
        match purpose {
            Rid::Get if status == 200 => {
                let doc: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
                let (desired, reported) = twin::split_twin(&doc);
                let local: Vec<(String, State)> = self
                    .s
                    .devices
                    .devices()
                    .into_iter()
                    .map(|d| (d.info.id, d.state))
                    .collect();
                let patch = twin::reconcile_reported(&reported, &local);
                self.patch(None, &patch)?;
                let version = desired.get("$version").and_then(Value::as_u64);
                self.apply_desired(&desired, version, true);
                tracing::info!(connector = %name, devices = local.len(), desired_version = ?version, "outbox replayed; twin reconciled");
            }
            Rid::Get => {
                return Err(Error::Connection {
                    reason: format!("twin GET answered with status {status}"),
                    permanent: false,
                })
            }
            Rid::Patch(seq) if (200..300).contains(&status) => {
                tracing::trace!(connector = %name, rid, reported_version = ?version, "reported PATCH accepted");
                self.d.done(seq);
            }
            Rid::Patch(_) if retry_later => {
                return Err(Error::Connection {
                    reason: format!("reported PATCH answered with status {status}; retrying"),
                    permanent: false,
                })
            }
            Rid::Patch(seq) => {
                let reason = format!("reported PATCH rejected with status {status}");
                tracing::error!(connector = %name, status, "reported PATCH rejected");
                if let Some(seq) = seq {
                    self.d.dead_letter(self.s, seq, reason);
                }
            }
        }
        Ok(())
    }

    /// Applies the desired fields that changed since the hub last saw them (see [`twin::DesiredSeen`]):
    /// an unchanged desired value is never applied again over a newer local change.
    fn apply_desired(&mut self, doc: &Map<String, Value>, version: Option<u64>, full: bool) {
        let name = &self.c.name;
        let sections = self.desired.seen.changes(doc, version, full);
        self.desired.save();
        for section in sections {
            let Some(current) = self.s.devices.device(&section.device) else {
                tracing::warn!(connector = %name, device = %section.device, "desired properties for an unknown device ignored");
                self.s.health.add_command(true);
                continue;
            };
            match section.patch {
                Ok(patch) => {
                    let diff = current.state.diff(&patch);
                    if !diff.is_empty() {
                        let src = format!("desired $version={}", version.unwrap_or(0));
                        let _ = self.command(section.device, diff, src, None);
                    }
                }
                Err(e) => {
                    self.s.health.add_command(true);
                    tracing::warn!(connector = %name, device = %section.device, error = %e, "desired properties refused");
                }
            }
        }
    }

    /// Stop or renewal: DISCONNECT, give the link a moment to deliver it, keep any acks that arrived.
    async fn shutdown(&mut self, events: &mut mpsc::Receiver<IotEvent>) {
        self.link.disconnect();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(ev) = events.recv().await {
                if matches!(ev, IotEvent::Failed(_)) {
                    break;
                }
                let _ = self.handle(ev);
            }
        })
        .await;
        let _ = self.flush_acks().await;
        tracing::info!(connector = %self.c.name, "disconnected from Azure IoT Hub");
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
