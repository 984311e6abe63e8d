//! The AWS IoT protocol rules for the delivery driver, the same over both transports (MQTT, or the HTTPS
//! data plane that answers on the same shadow topics, see [`super::https`]): replay the outbox (state →
//! shadow `update` with `reported`, a `clientToken` and the last seen `version`, acknowledged on
//! `update/accepted`; events → the events topic, acknowledged on PUBACK or `2xx`), then GET each device's
//! shadow and reconcile ([`shadow::reconcile`]), then stream: `update/delta` → commands; over HTTPS, which
//! cannot push, every shadow is read again every `poll_interval_secs`. With `shadow_reads = "https"` the
//! MQTT transport's reads are `GetThingShadow` calls (a few at a time, answers fed back into the same loop).
//! A `409` (version conflict) re-reads the shadow and sends the update again; any other rejection sends
//! the record to the dead letters.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};

use super::config::AwsIotConfig;
use super::https::{self, Fail};
use super::shadow::{self, Shadow};
use crate::driver::{Cx, Protocol};
use crate::model::{CommandError, EventBody, Record};
use crate::mqtt::topics::event_payload;
use crate::outbox::Stored;
use crate::Error;

/// `GetThingShadow` calls in flight at once when shadows are read over HTTPS.
pub(super) const GET_CONCURRENCY: usize = 8;

/// The HTTPS data plane, when shadows are read there.
pub(super) struct DataPlane {
    pub(super) client: aws_sdk_iotdataplane::Client,
    pub(super) limit: Arc<Semaphore>,
}

/// The answer to one `GetThingShadow`: the device and the shadow document.
type Got = (String, Result<Value, Fail>);

/// A command made from desired fields came back: the device, those fields, and the outcome.
type Applied = (
    String,
    Vec<String>,
    Result<device_types::State, CommandError>,
);

/// What the connector's own tasks report back into the loop.
// Applied carries a State (~350 bytes); notes live only while queued, boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Note {
    Got(Got),
    Applied(Applied),
}

/// A local change older than this (by the wall clock) is taken as this old: a wall clock that jumped
/// forward between the change and now must not make every later desired state look newer.
const MAX_LOCAL_AGE: Duration = Duration::from_secs(24 * 3600);

/// What a `clientToken` stands for.
#[derive(Debug, Clone)]
enum Token {
    /// An update for these outbox records (empty: a reconciliation update).
    Update { device: String, seqs: Vec<u64> },
    /// A read; `poll`: a periodic one (the HTTPS transport), which writes nothing back when the shadow's
    /// reported already is the local state.
    Get { poll: bool },
}

pub(super) struct Run<'a> {
    pub(super) c: &'a AwsIotConfig,
    tokens: HashMap<String, Token>,
    pub(super) next_token: u64,
    /// Last version seen per device shadow.
    pub(super) versions: HashMap<String, u64>,
    /// When each device's latest local change replayed in this connection happened (monotonic: a
    /// wall-clock jump never makes a local change look newer or older than it is).
    pub(super) local_at: HashMap<String, Instant>,
    /// Answers to the commands made from desired state (the fields to clear once applied), and to
    /// `GetThingShadow` calls.
    pub(super) notes: mpsc::UnboundedSender<Note>,
    /// The shadow service's clock (Unix milliseconds, from a message's whole-second `timestamp`) and
    /// when it was learnt: its "now" is that plus the monotonic time since (never the hub's own wall
    /// clock); see `Run::saw_timestamp`.
    pub(super) service_clock: Option<(u64, Instant)>,
    /// Records whose update hit a version conflict, sent again after the fresh GET.
    pub(super) after_get: HashMap<String, Vec<u64>>,
    /// `shadow_reads = "https"`: reads go here, answers come back as [`Note::Got`].
    plane: Option<DataPlane>,
    pub(super) pending_gets: usize,
    /// Devices whose shadow the reconciliation has still to read.
    pub(super) to_read: VecDeque<String>,
    /// `to_read` comes from a periodic poll, not from the reconciliation after a connect.
    polling: bool,
}

impl<'a> Run<'a> {
    pub(super) fn new(
        c: &'a AwsIotConfig,
        notes: mpsc::UnboundedSender<Note>,
        plane: Option<DataPlane>,
    ) -> Run<'a> {
        Run {
            c,
            tokens: HashMap::new(),
            next_token: 1,
            versions: HashMap::new(),
            local_at: HashMap::new(),
            notes,
            service_clock: None,
            after_get: HashMap::new(),
            plane,
            pending_gets: 0,
            to_read: VecDeque::new(),
            polling: false,
        }
    }
}

impl Protocol for Run<'_> {
    type Note = Note;

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<(), Error> {
        for filter in shadow::filters(&self.c.thing_name) {
            cx.subscribe(&filter)?;
        }
        Ok(())
    }

    fn record(&mut self, cx: &mut Cx<'_>, stored: Stored) -> Result<(), Error> {
        self.publish_record(cx, stored)
    }

    /// Every device's shadow is read (the driver's window paces the GETs), then reconciled.
    fn reconcile(&mut self, cx: &mut Cx<'_>) -> Result<(), Error> {
        let devices = cx.s.devices.devices();
        tracing::info!(connector = %self.c.name, devices = devices.len(), over = ?self.c.shadow_reads(), "reading every shadow");
        self.to_read = devices.into_iter().map(|d| d.info.id).collect();
        self.polling = false;
        Ok(())
    }

    /// The HTTPS transport cannot push deltas: every shadow is read again (unless the last round of
    /// reads has not finished), desired state newer than the local change is applied.
    fn poll(&mut self, cx: &mut Cx<'_>) -> Result<(), Error> {
        if self.to_read.is_empty() {
            self.to_read =
                cx.s.devices
                    .devices()
                    .into_iter()
                    .map(|d| d.info.id)
                    .collect();
            self.polling = true;
        }
        Ok(())
    }

    /// One more shadow read of the reconciliation, while the window is idle.
    fn more(&mut self, cx: &mut Cx<'_>) -> Result<bool, Error> {
        let Some(device) = self.to_read.pop_front() else {
            return Ok(false);
        };
        self.get(cx, &device)?;
        Ok(true)
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

    fn note(&mut self, cx: &mut Cx<'_>, note: Note) -> Result<(), Error> {
        match note {
            Note::Applied((device, fields, result)) => self.applied(cx, &device, &fields, result),
            Note::Got((device, answer)) => {
                self.pending_gets -= 1;
                self.got(cx, &device, answer)
            }
        }
    }

    fn pending(&self) -> usize {
        self.pending_gets
    }
}

impl Run<'_> {
    fn token(&mut self, t: Token) -> String {
        let token = format!("hb-{}", self.next_token);
        self.next_token += 1;
        self.tokens.insert(token.clone(), t);
        token
    }

    fn shadow_of(&self, device: &str) -> Option<String> {
        match shadow::shadow_name(&self.c.shadow_prefix, device) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(connector = %self.c.name, device, error = %e, "device cannot have a shadow");
                None
            }
        }
    }

    fn get(&mut self, cx: &mut Cx<'_>, device: &str) -> Result<(), Error> {
        let Some(name) = self.shadow_of(device) else {
            return Ok(());
        };
        if let Some(plane) = &self.plane {
            let (client, limit, tx) = (
                plane.client.clone(),
                plane.limit.clone(),
                self.notes.clone(),
            );
            let (thing, device) = (self.c.thing_name.clone(), device.to_owned());
            self.pending_gets += 1;
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let answer = https::get_document(&client, &thing, &name).await;
                let _ = tx.send(Note::Got((device, answer)));
            });
            return Ok(());
        }
        let token = self.token(Token::Get { poll: self.polling });
        let topic = shadow::topic(&self.c.thing_name, &name, "get");
        cx.ask(
            topic,
            json!({ "clientToken": token }).to_string().into_bytes(),
        );
        Ok(())
    }

    /// An update of `device`'s shadow: `reported` = its current local state (or `state`), `clear` = stale
    /// desired fields; acknowledges `seqs` when accepted.
    pub(super) fn update(
        &mut self,
        cx: &mut Cx<'_>,
        device: &str,
        state: Option<&device_types::State>,
        clear: &[String],
        seqs: Vec<u64>,
    ) -> Result<(), Error> {
        let Some(name) = self.shadow_of(device) else {
            for seq in seqs {
                cx.dead_letter(seq, "the device id cannot name a shadow".to_owned());
            }
            return Ok(());
        };
        let current = cx.s.devices.device(device).map(|d| d.state);
        let Some(reported) = state.cloned().or(current) else {
            // The device is gone: nothing to report; its removal event deletes the shadow.
            cx.done_all(&seqs);
            return Ok(());
        };
        let version = self.versions.get(device).copied();
        tracing::debug!(connector = %self.c.name, device, ?version, "shadow update");
        let token = self.token(Token::Update {
            device: device.to_owned(),
            seqs: seqs.clone(),
        });
        match shadow::update_document(device, Some(&reported), clear, &token, version) {
            Ok(doc) => {
                let topic = shadow::topic(&self.c.thing_name, &name, "update");
                if !cx.fits(&seqs, &topic, doc.len(), None) {
                    self.tokens.remove(&token);
                    return Ok(());
                }
                for &seq in &seqs {
                    cx.expect(seq);
                }
                cx.ask(topic, doc);
                Ok(())
            }
            Err(e) => {
                self.tokens.remove(&token);
                tracing::error!(connector = %self.c.name, device, error = %e, "shadow update not sent");
                for seq in seqs {
                    cx.dead_letter(seq, e.to_string());
                }
                Ok(())
            }
        }
    }

    fn publish_record(&mut self, cx: &mut Cx<'_>, stored: Stored) -> Result<(), Error> {
        let Stored { seq, record } = stored;
        match &record {
            Record::State {
                device,
                state,
                at_ms,
                ..
            } => {
                let clock = cx.s.outbox.clock();
                let now = clock.now();
                let age = clock
                    .wall_ms()
                    .saturating_sub(*at_ms)
                    .min(MAX_LOCAL_AGE.as_millis() as u64);
                let at = now.checked_sub(Duration::from_millis(age)).unwrap_or(now);
                self.local_at.insert(device.clone(), at);
                self.update(cx, device, Some(state), &[], vec![seq])?;
            }
            Record::Event { device, body, .. } => {
                if matches!(body, EventBody::DeviceRemoved) {
                    if let Some(name) = self.shadow_of(device) {
                        let topic = shadow::topic(&self.c.thing_name, &name, "delete");
                        cx.send(Some(seq), topic, false, Vec::new());
                    }
                }
                let payload = event_payload(&record).unwrap_or_default();
                cx.send(Some(seq), self.c.events_topic(), false, payload);
            }
        }
        Ok(())
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, topic: &str, payload: &[u8]) -> Result<(), Error> {
        let Some(resp) = shadow::parse_topic(&self.c.thing_name, topic) else {
            return Ok(());
        };
        let Some(device) = shadow::device_of(&self.c.shadow_prefix, resp.shadow) else {
            return Ok(());
        };
        let device = device.to_owned();
        let doc: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
        let token = doc
            .get("clientToken")
            .and_then(Value::as_str)
            .and_then(|t| self.tokens.remove(t));
        if token.is_some() {
            cx.answered();
        }
        if let Some(v) = doc.get("version").and_then(Value::as_u64) {
            self.versions.insert(device.clone(), v);
        }
        tracing::debug!(connector = %self.c.name, device = %device, op = resp.op, version = ?doc.get("version"), "shadow message");
        self.saw_timestamp(&doc);
        match resp.op {
            "update/accepted" => {
                if let Some(Token::Update { seqs, .. }) = token {
                    for seq in seqs {
                        cx.done(seq);
                    }
                }
            }
            "update/rejected" => {
                let (code, message, _) = shadow::rejection(&doc);
                let Some(Token::Update { device, seqs }) = token else {
                    return Ok(());
                };
                if code == 409 {
                    tracing::info!(connector = %self.c.name, device = %device, "shadow version conflict; reading it again");
                    self.versions.remove(&device);
                    for seq in &seqs {
                        // This attempt is over; the update after the GET counts again.
                        cx.retract(*seq);
                    }
                    self.after_get
                        .entry(device.clone())
                        .or_default()
                        .extend(seqs);
                    self.get(cx, &device)?;
                } else {
                    tracing::error!(connector = %self.c.name, device = %device, code, message = %message, "shadow update rejected");
                    for seq in seqs {
                        cx.dead_letter(seq, format!("shadow update rejected: {code} {message}"));
                    }
                }
            }
            "update/delta" => {
                // Judged by the local-change time too: a delta older than a local change is not
                // applied (it is cleared instead).
                let delta = Shadow::from_delta(&doc);
                let local = self.local_secs(cx, &device, &doc);
                let clear = self.apply_desired(cx, &device, &delta, local, "update/delta");
                if !clear.is_empty() {
                    self.update(cx, &device, None, &clear, Vec::new())?;
                }
            }
            "get/accepted" => {
                let Some(Token::Get { poll }) = token else {
                    return Ok(()); // someone else's GET
                };
                self.read(cx, &device, Some(&doc), "shadow GET", poll)?;
            }
            "get/rejected" => {
                let Some(Token::Get { poll }) = token else {
                    return Ok(());
                };
                // 404: no shadow yet; the update creates it.
                self.read(cx, &device, None, "shadow GET", poll)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// A shadow read is back (`None`: there is no shadow yet): apply newer desired, then write reported with
    /// the version just read, clearing stale desired, and completing the records that waited for the read.
    /// A periodic read (`poll`) writes nothing when there is nothing to change.
    fn read(
        &mut self,
        cx: &mut Cx<'_>,
        device: &str,
        doc: Option<&Value>,
        source: &str,
        poll: bool,
    ) -> Result<(), Error> {
        let clear = match doc {
            Some(doc) => {
                let sh = Shadow::from_get(doc);
                let local_at = self.local_secs(cx, device, doc);
                self.apply_desired(cx, device, &sh, local_at, source)
            }
            None => Vec::new(),
        };
        let seqs = self.after_get.remove(device).unwrap_or_default();
        if poll && clear.is_empty() && seqs.is_empty() {
            let reported = doc.map(|d| Shadow::from_get(d).reported);
            let local =
                cx.s.devices
                    .device(device)
                    .and_then(|d| serde_json::to_value(&d.state).ok());
            if let (Some(r), Some(Value::Object(l))) = (reported, local) {
                if r == l {
                    return Ok(());
                }
            }
        }
        self.update(cx, device, None, &clear, seqs)
    }

    /// A `GetThingShadow` answer (`shadow_reads = "https"`).
    fn got(
        &mut self,
        cx: &mut Cx<'_>,
        device: &str,
        answer: Result<Value, Fail>,
    ) -> Result<(), Error> {
        match answer {
            Ok(doc) => {
                if let Some(v) = doc.get("version").and_then(Value::as_u64) {
                    self.versions.insert(device.to_owned(), v);
                }
                self.read(cx, device, Some(&doc), "GetThingShadow", false)
            }
            Err(Fail::NotFound) => self.read(cx, device, None, "GetThingShadow", false),
            Err(Fail::Retry(e)) => Err(e),
            Err(Fail::Rejected { reason, .. }) => {
                tracing::error!(connector = %self.c.name, device, reason = %reason, "GetThingShadow refused; reporting without reading");
                self.read(cx, device, None, "GetThingShadow", false)
            }
            Err(Fail::Conflict) => self.read(cx, device, None, "GetThingShadow", false),
        }
    }
}
