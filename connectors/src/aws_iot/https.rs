//! The AWS IoT `https` transport: the data plane only (`aws-sdk-iotdataplane`, credentials from the
//! standard AWS chain, endpoint configurable), for hubs that hold IAM credentials. One run: replay the
//! outbox (state → `UpdateThingShadow` with `reported` and `version`; events → `Publish`), then
//! `GetThingShadow` for every device and reconcile, then poll desired state every `poll_interval_secs`.
//! A `ConflictException` re-reads the shadow and updates again; another 4xx goes to the dead letters.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_iotdataplane as dp;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_types::Blob;
use dp::error::ProvideErrorMetadata as _;
use serde_json::Value;

use super::config::AwsIotConfig;
use super::connector::MAX_PAYLOAD_BYTES;
use super::shadow::{self, Shadow};
use crate::connector::Session;
use crate::model::Record;
use crate::mqtt::topics::event_payload;
use crate::Error;

/// Records read from the outbox per round.
const BATCH: usize = 64;

/// The data-plane client: rustls with ring (the process's one provider), the standard credential chain.
pub(super) async fn client(c: &AwsIotConfig) -> dp::Client {
    crate::tls::install_crypto_provider();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(region) = &c.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    let mut conf = dp::config::Builder::from(&sdk);
    if let Some(url) = c.data_endpoint() {
        conf = conf.endpoint_url(url);
    }
    dp::Client::from_conf(conf.build())
}

/// How a data-plane call failed.
pub(super) enum Fail {
    /// 409: someone else changed the shadow first.
    Conflict,
    /// 404: no such shadow (yet).
    NotFound,
    /// The request is wrong for good (4xx): dead letter.
    Rejected(String),
    /// Network, throttling, 5xx, credentials: retry the whole run later.
    Retry(Error),
}

fn classify<E>(e: dp::error::SdkError<E>) -> Fail
where
    E: dp::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().unwrap_or("").to_owned();
    let text = format!("{}", dp::error::DisplayErrorContext(&e));
    match status {
        Some(409) => Fail::Conflict,
        Some(404) => Fail::NotFound,
        Some(s) if (400..500).contains(&s) && s != 429 && s != 401 && s != 403 => {
            Fail::Rejected(format!("{s} {code}"))
        }
        _ => Fail::Retry(Error::Connection {
            reason: format!("AWS IoT data plane: {text}"),
            permanent: matches!(status, Some(401 | 403)),
        }),
    }
}

/// `GetThingShadow` of one named shadow: its document (`Fail::NotFound` when it does not exist yet).
pub(super) async fn get_document(
    client: &dp::Client,
    thing: &str,
    shadow: &str,
) -> Result<Value, Fail> {
    let out = client
        .get_thing_shadow()
        .thing_name(thing)
        .shadow_name(shadow)
        .send()
        .await
        .map_err(classify)?;
    Ok(out
        .payload()
        .and_then(|b| serde_json::from_slice::<Value>(b.as_ref()).ok())
        .unwrap_or(Value::Null))
}

struct Plane<'a> {
    c: &'a AwsIotConfig,
    s: &'a Session,
    client: dp::Client,
    versions: HashMap<String, u64>,
    local_at: HashMap<String, u64>,
}

pub(super) async fn run(c: &AwsIotConfig, session: &mut Session) -> Result<(), Error> {
    let mut p = Plane {
        c,
        s: session,
        client: client(c).await,
        versions: HashMap::new(),
        local_at: HashMap::new(),
    };
    // Connected = the first call went through.
    let devices = p.s.devices.devices();
    if let Some(first) = devices.first() {
        if let Err(Fail::Retry(e)) = p.get(&first.info.id).await {
            return Err(e);
        }
    }
    p.s.health.set_connected(true);
    tracing::info!(connector = %c.name, thing = %c.thing_name, endpoint = ?c.data_endpoint(), "AWS IoT data plane reachable");
    let result = p.main().await;
    p.s.health.set_connected(false);
    result
}

impl Plane<'_> {
    async fn main(&mut self) -> Result<(), Error> {
        let poll = Duration::from_secs(self.c.poll_interval_secs);
        self.replay().await?;
        self.reconcile_all().await?;
        tracing::info!(connector = %self.c.name, "outbox replayed; every shadow reconciled");
        loop {
            tokio::select! {
                biased;
                () = self.s.stop.cancelled() => return Ok(()),
                () = self.s.outbox.changed() => self.replay().await?,
                () = tokio::time::sleep(poll) => {
                    self.replay().await?;
                    self.reconcile_all().await?;
                }
            }
        }
    }

    async fn replay(&mut self) -> Result<(), Error> {
        let mut cursor = 0;
        loop {
            let records = self.s.outbox.read_after(cursor, BATCH).await?;
            let done = records.len() < BATCH;
            for stored in records {
                cursor = stored.seq;
                let outcome = match &stored.record {
                    Record::State {
                        device,
                        state,
                        at_ms,
                        ..
                    } => {
                        self.local_at.insert(device.clone(), at_ms / 1000);
                        self.update(device, state, &[]).await
                    }
                    Record::Event { .. } => self.publish(&stored.record).await,
                };
                match outcome {
                    Ok(()) => {
                        self.s.outbox.ack(vec![stored.seq]).await?;
                        self.s.health.add_delivered(1);
                    }
                    Err(Fail::Rejected(reason)) => {
                        tracing::error!(connector = %self.c.name, device = %stored.record.device(), reason = %reason, "record rejected by AWS IoT");
                        self.s.outbox.dead_letter(stored.seq, reason).await?;
                    }
                    Err(Fail::Retry(e)) => return Err(e),
                    Err(Fail::Conflict | Fail::NotFound) => {
                        // Only an event's Publish can end here (updates handle both): keep it for later.
                        return Err(Error::Connection {
                            reason: "AWS IoT refused a publish (409/404); retrying".into(),
                            permanent: false,
                        });
                    }
                }
            }
            if done {
                return Ok(());
            }
        }
    }

    async fn publish(&self, record: &Record) -> Result<(), Fail> {
        let payload = event_payload(record).unwrap_or_default();
        if payload.len() > MAX_PAYLOAD_BYTES {
            // Would be refused by AWS for good: a dead letter now, and the queue behind it flows.
            return Err(Fail::Rejected(format!(
                "record for device `{}`: message of {} bytes is over the limit of {MAX_PAYLOAD_BYTES} bytes \
                 (AWS IoT Core: an MQTT message payload is at most 128 KB)",
                record.device(),
                payload.len()
            )));
        }
        self.client
            .publish()
            .topic(self.c.events_topic())
            .qos(1)
            .payload(Blob::new(payload))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// `UpdateThingShadow` with `version`; on a conflict, GET (fresh version) and try once more.
    async fn update(
        &mut self,
        device: &str,
        state: &device_types::State,
        clear: &[String],
    ) -> Result<(), Fail> {
        let name = shadow::shadow_name(&self.c.shadow_prefix, device).map_err(Fail::Rejected)?;
        for attempt in 0..3 {
            let token = format!("hb-{}", crate::model::now_ms());
            let version = self.versions.get(device).copied();
            let doc = shadow::update_document(device, Some(state), clear, &token, version)
                .map_err(|e| Fail::Rejected(e.to_string()))?;
            let sent = self
                .client
                .update_thing_shadow()
                .thing_name(&self.c.thing_name)
                .shadow_name(&name)
                .payload(Blob::new(doc))
                .send()
                .await;
            match sent.map_err(classify) {
                Ok(out) => {
                    let v = out
                        .payload()
                        .and_then(|b| serde_json::from_slice::<Value>(b.as_ref()).ok())
                        .and_then(|v| v.get("version").and_then(Value::as_u64));
                    match v {
                        Some(v) => self.versions.insert(device.to_owned(), v),
                        None => self.versions.remove(device),
                    };
                    return Ok(());
                }
                Err(Fail::Conflict) if attempt < 2 => {
                    tracing::info!(connector = %self.c.name, device, "shadow version conflict; reading it again");
                    self.versions.remove(device);
                    match self.get(device).await {
                        Ok(_) | Err(Fail::NotFound) => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(Fail::Conflict) => {
                    return Err(Fail::Retry(Error::Connection {
                        reason: format!("shadow of `{device}` keeps changing (version conflicts)"),
                        permanent: false,
                    }))
                }
                Err(Fail::NotFound) => return Err(Fail::Rejected("404 shadow not found".into())),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn get(&mut self, device: &str) -> Result<Shadow, Fail> {
        let name = shadow::shadow_name(&self.c.shadow_prefix, device).map_err(Fail::Rejected)?;
        let doc = get_document(&self.client, &self.c.thing_name, &name).await?;
        let sh = Shadow::from_get(&doc);
        if let Some(v) = sh.version {
            self.versions.insert(device.to_owned(), v);
        }
        Ok(sh)
    }

    /// GET every device's shadow; apply newer desired, clear stale desired, write reported (local wins).
    async fn reconcile_all(&mut self) -> Result<(), Error> {
        for d in self.s.devices.devices() {
            let id = d.info.id.clone();
            let sh = match self.get(&id).await {
                Ok(sh) => Some(sh),
                Err(Fail::NotFound) => None,
                Err(Fail::Retry(e)) => return Err(e),
                Err(Fail::Rejected(r)) => {
                    tracing::error!(connector = %self.c.name, device = %id, reason = %r, "shadow cannot be read");
                    continue;
                }
                Err(Fail::Conflict) => continue,
            };
            let local_at = self.local_at.get(&id).copied();
            let plan = sh
                .as_ref()
                .map(|sh| shadow::reconcile(sh, &d.state, local_at))
                .unwrap_or_default();
            if let Some(e) = &plan.invalid {
                self.s.health.add_command(true);
                tracing::warn!(connector = %self.c.name, device = %id, error = %e, "desired state refused");
            }
            let reported_same = sh.as_ref().is_some_and(|sh| {
                serde_json::to_value(&d.state)
                    .ok()
                    .and_then(|v| v.as_object().cloned())
                    == Some(sh.reported.clone())
            });
            if !plan.clear.is_empty() || !reported_same {
                match self.update(&id, &d.state, &plan.clear).await {
                    Ok(()) => {}
                    Err(Fail::Retry(e)) => return Err(e),
                    Err(Fail::Rejected(r)) => {
                        tracing::error!(connector = %self.c.name, device = %id, reason = %r, "shadow update rejected")
                    }
                    Err(Fail::Conflict | Fail::NotFound) => {}
                }
            }
            if !plan.apply.is_empty() {
                self.command(&id, plan.apply);
            }
        }
        self.local_at.clear();
        Ok(())
    }

    fn command(&self, device: &str, patch: device_types::State) {
        let ttl = Duration::from_secs(self.c.outbox.command_ttl_secs);
        let source = "shadow desired (https poll)".to_owned();
        let _ = self
            .s
            .send_command(&self.c.name, device, patch, ttl, source, |_| async {});
    }
}
