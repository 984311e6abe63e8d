//! The Azure IoT Hub connector's run: connect (SAS or X.509), subscribe, replay the outbox (state →
//! reported PATCH acked on `204` for its `$rid`; events → telemetry acked on PUBACK), then GET the twin
//! and reconcile, then stream; desired PATCHes, direct methods and cloud-to-device messages become
//! registry commands. A SAS connection reconnects with a fresh token before the old one expires.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use device_types::State;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::config::{Auth, AzureIotConfig};
use super::desired::DesiredMemory;
use super::sas;
use super::twin::{self, Incoming};
use crate::connector::{short, Connector, Session};
use crate::driver::{self, Cx, Drive, End, Limit, Protocol};
use crate::link::{Link, LinkOptions, Protocol as MqttVersion};
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
            let opts = LinkOptions {
                host: c.host().to_owned(),
                port: c.port,
                protocol: MqttVersion::V311,
                client_id: c.device_id.clone(),
                credentials: Some((c.username(), password)),
                tls: Some(tls.clone()),
                keep_alive: Duration::from_secs(c.keep_alive_secs),
                will_topic: None,
                capacity: window * 2 + 64,
                inflight: u16::try_from(window * 2 + 64).unwrap_or(u16::MAX),
                max_packet_bytes: MAX_MESSAGE_BYTES + 64 * 1024,
                tls_keys: "",
            };
            let (link, mut events) = tokio::select! {
                () = session.stop.cancelled() => return Ok(()),
                r = Link::connect(opts) => r?,
            };
            session.health.set_connected(true);
            tracing::info!(connector = %c.name, host = %c.host(), port = c.port, device = %c.device_id, "connected to Azure IoT Hub");
            let (out_tx, mut out_rx) = mpsc::unbounded_channel();
            let mut run = Run {
                c,
                desired: self.desired.as_mut().expect("loaded above"),
                rids: HashMap::new(),
                next_rid: 1,
                out_tx,
            };
            let deadline = renew.map(|at| {
                let left = (SystemTime::UNIX_EPOCH + Duration::from_secs(at))
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                Instant::now() + left
            });
            let drive = Drive {
                session,
                name: &c.name,
                peer: "Azure IoT Hub",
                link: Box::new(link),
                window,
                limit: Limit {
                    bytes: MAX_MESSAGE_BYTES,
                    source: "Azure IoT Hub: a device-to-cloud message is at most 256 KB",
                },
                deadline,
                poll: None,
            };
            let end = driver::drive(&mut run, drive, &mut events, &mut out_rx).await;
            match end {
                Ok(End::Stop) => {
                    session.health.set_connected(false);
                    return Ok(());
                }
                Ok(End::Deadline) => {
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

/// Azure IoT Hub's limit on one device-to-cloud message ("IoT Hub quotas and throttling": 256 KB).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Azure IoT Hub's limit on a twin's reported properties ("IoT Hub quotas and throttling", device twin:
/// 32 KB); one record's PATCH must fit in it.
const TWIN_LIMIT: Limit = Limit {
    bytes: twin::MAX_REPORTED_BYTES,
    source: "Azure IoT Hub: a twin's reported properties are at most 32 KB",
};

/// What a `$rid` was for.
#[derive(Debug, Clone, Copy)]
enum Rid {
    Get,
    /// A reported PATCH for outbox record `seq` (`None`: the reconciliation PATCH).
    Patch(Option<u64>),
}

pub(super) struct Run<'a> {
    pub(super) c: &'a AzureIotConfig,
    desired: &'a mut DesiredMemory,
    rids: HashMap<u64, Rid>,
    next_rid: u64,
    /// Direct-method answers from command tasks.
    pub(super) out_tx: mpsc::UnboundedSender<(String, Vec<u8>)>,
}

impl Protocol for Run<'_> {
    type Note = (String, Vec<u8>);

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<(), Error> {
        cx.subscribe(twin::TWIN_RES_FILTER)?;
        cx.subscribe(twin::DESIRED_FILTER)?;
        cx.subscribe(twin::METHODS_FILTER)?;
        cx.subscribe(&twin::c2d_filter(&self.c.device_id))
    }

    fn record(&mut self, cx: &mut Cx<'_>, stored: Stored) -> Result<(), Error> {
        self.publish_record(cx, stored);
        Ok(())
    }

    /// The twin GET; its answer brings the reconciliation PATCHes.
    fn reconcile(&mut self, cx: &mut Cx<'_>) -> Result<(), Error> {
        let rid = self.rid(Rid::Get);
        cx.ask(twin::twin_get(rid), Vec::new());
        Ok(())
    }

    fn message(
        &mut self,
        cx: &mut Cx<'_>,
        topic: &str,
        payload: &[u8],
        _expiry_secs: Option<u32>,
    ) -> Result<(), Error> {
        self.on_message(cx, topic, payload)
    }

    fn note(&mut self, cx: &mut Cx<'_>, (topic, payload): Self::Note) -> Result<(), Error> {
        cx.respond(topic, false, payload);
        Ok(())
    }
}

impl Run<'_> {
    fn rid(&mut self, purpose: Rid) -> u64 {
        let rid = self.next_rid;
        self.next_rid += 1;
        self.rids.insert(rid, purpose);
        rid
    }

    /// A reported PATCH acknowledged (for `seq`) by its `204`.
    fn patch(&mut self, cx: &mut Cx<'_>, seq: Option<u64>, body: &Value) {
        let payload = body.to_string().into_bytes();
        let seqs: Vec<u64> = seq.into_iter().collect();
        let rid = self.next_rid;
        let topic = twin::reported_patch(rid);
        if !cx.fits(&seqs, &topic, payload.len(), Some(TWIN_LIMIT)) {
            return;
        }
        if let Some(seq) = seq {
            cx.expect(seq);
        }
        self.rid(Rid::Patch(seq));
        cx.ask(topic, payload);
    }

    fn publish_record(&mut self, cx: &mut Cx<'_>, stored: Stored) {
        let Stored { seq, record } = stored;
        match &record {
            Record::State { device, state, .. } => {
                self.patch(cx, Some(seq), &twin::reported_state(device, Some(state)));
            }
            Record::Event {
                id, device, body, ..
            } => {
                if matches!(body, EventBody::DeviceRemoved) {
                    self.patch(cx, Some(seq), &twin::reported_state(device, None));
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
                cx.send(Some(seq), topic, false, payload);
            }
        }
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, topic: &str, payload: &[u8]) -> Result<(), Error> {
        let name = &self.c.name;
        match twin::parse(&self.c.device_id, topic) {
            Some(Incoming::TwinResponse {
                status,
                rid,
                version,
            }) => self.twin_response(cx, status, rid, version, payload)?,
            Some(Incoming::Desired { version }) => match serde_json::from_slice::<Value>(payload) {
                Ok(Value::Object(doc)) => {
                    let version = version.or_else(|| doc.get("$version").and_then(Value::as_u64));
                    self.apply_desired(cx, &doc, version, false);
                }
                _ => {
                    tracing::warn!(connector = %name, "desired PATCH that is not a JSON object ignored")
                }
            },
            Some(Incoming::Method { name: method, rid }) => {
                let (method, rid) = (method.to_owned(), rid.to_owned());
                self.method(cx, &method, &rid, payload);
            }
            Some(Incoming::CloudToDevice { props }) => match twin::parse_c2d(&props, payload) {
                Ok((device, patch)) => {
                    let _ = self.command(
                        cx,
                        device,
                        patch,
                        "cloud-to-device message".to_owned(),
                        None,
                    );
                }
                Err(e) => {
                    cx.s.health.add_command(true);
                    if let Some(suppressed) = crate::log_limit::allow(name, line!()) {
                        tracing::warn!(connector = %name, error = %e, suppressed, "cloud-to-device message refused");
                    }
                }
            },
            None => tracing::debug!(connector = %name, "message on an unexpected topic ignored"),
        }
        Ok(())
    }

    fn twin_response(
        &mut self,
        cx: &mut Cx<'_>,
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
        cx.answered();
        let retry_later = status == 429 || status >= 500;
        match purpose {
            Rid::Get if status == 200 => {
                let doc: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
                let (desired, reported) = twin::split_twin(&doc);
                let local: Vec<(String, State)> =
                    cx.s.devices
                        .devices()
                        .into_iter()
                        .map(|d| (d.info.id, d.state))
                        .collect();
                let patch = twin::reconcile_reported(&reported, &local);
                let parts = twin::split_patch(patch, twin::MAX_PATCH_BYTES);
                tracing::debug!(connector = %name, parts = parts.len(), "reconciliation PATCHes");
                for part in parts {
                    self.patch(cx, None, &part);
                }
                let version = desired.get("$version").and_then(Value::as_u64);
                self.apply_desired(cx, &desired, version, true);
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
                if let Some(seq) = seq {
                    cx.done(seq);
                }
            }
            Rid::Patch(_) if retry_later => {
                return Err(Error::Connection {
                    reason: format!("reported PATCH answered with status {status}; retrying"),
                    permanent: false,
                })
            }
            Rid::Patch(seq) => {
                // IoT Hub says why in the body (`{"message": ...}`): a twin over 32 KB, a bad name...
                let why = serde_json::from_slice::<Value>(payload)
                    .ok()
                    .and_then(|v| v.get("Message").or(v.get("message")).cloned())
                    .and_then(|m| m.as_str().map(short));
                let reason = match &why {
                    Some(why) => format!("reported PATCH rejected with status {status}: {why}"),
                    None => format!("reported PATCH rejected with status {status}"),
                };
                // One per record when the twin is full: limited, the rest counted.
                if let Some(suppressed) = crate::log_limit::allow(name, line!()) {
                    tracing::error!(connector = %name, status, reason = why.as_deref().unwrap_or(""), suppressed, "reported PATCH rejected");
                }
                if let Some(seq) = seq {
                    cx.dead_letter(seq, reason);
                }
            }
        }
        Ok(())
    }

    /// Applies the desired fields that changed since the hub last saw them (see [`twin::DesiredSeen`]):
    /// an unchanged desired value is never applied again over a newer local change.
    fn apply_desired(
        &mut self,
        cx: &mut Cx<'_>,
        doc: &Map<String, Value>,
        version: Option<u64>,
        full: bool,
    ) {
        let name = &self.c.name;
        let sections = self.desired.seen.changes(doc, version, full);
        self.desired.save();
        for section in sections {
            let Some(current) = cx.s.devices.device(&section.device) else {
                tracing::warn!(connector = %name, device = %section.device, "desired properties for an unknown device ignored");
                cx.s.health.add_command(true);
                continue;
            };
            match section.patch {
                Ok(patch) => {
                    let diff = current.state.diff(&patch);
                    if !diff.is_empty() {
                        let src = format!("desired $version={}", version.unwrap_or(0));
                        let _ = self.command(cx, section.device, diff, src, None);
                    }
                }
                Err(e) => {
                    cx.s.health.add_command(true);
                    tracing::warn!(connector = %name, device = %section.device, error = %e, "desired properties refused");
                }
            }
        }
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
