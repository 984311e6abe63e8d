//! AWS IoT's HTTPS data plane (`aws-sdk-iotdataplane`, credentials from the standard AWS chain, endpoint
//! configurable) as a delivery-driver [`Transport`]: each message the AWS protocol rules produce for a
//! shadow topic becomes the matching request — `…/update` → `UpdateThingShadow`, `…/get` →
//! `GetThingShadow`, `…/delete` → `DeleteThingShadow`, any other topic → `Publish` — and each answer comes
//! back as the MQTT shadow service would send it (`update/accepted` with the new version, `update/rejected`
//! with `code` 409 or 4xx, `get/accepted`, `get/rejected` 404), with the request's `clientToken`. So the
//! same rules ([`super::run`]) and the same driver run over both transports.
//!
//! Acknowledgement: `2xx` acknowledges the message; `409` is a version conflict (the rules re-read the
//! shadow and update again); any other `4xx` is a permanent rejection (`update/rejected`, or a rejected
//! ack for `Publish`/`DeleteThingShadow`: the record goes to the dead letters with the reason); `5xx`,
//! throttling (`429`), credentials (`401`/`403`), the network or a call over [`CALL_TIMEOUT`] end the run
//! ([`LinkEvent::Failed`]) and the next run replays every record not acknowledged.
//!
//! Order: the calls of one shadow (and of one `Publish` topic) are made one after the other, in the order
//! they were handed over; different shadows proceed in parallel, bounded by the driver's window.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_iotdataplane as dp;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_types::Blob;
use dp::error::ProvideErrorMetadata as _;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::AwsIotConfig;
use super::shadow;
use crate::driver::Transport;
use crate::link::LinkEvent;
use crate::Error;

/// A data-plane call that takes longer than this ends the run (it is retried by the next one).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The request is wrong for good (another 4xx): dead letter.
    Rejected { code: u16, reason: String },
    /// Network, throttling, 5xx, credentials: retry the whole run later.
    Retry(Error),
}

fn classify<E>(e: dp::error::SdkError<E>) -> Fail
where
    E: dp::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().unwrap_or("").to_owned();
    let message = e.message().unwrap_or("").to_owned();
    let text = format!("{}", dp::error::DisplayErrorContext(&e));
    match status {
        Some(409) => Fail::Conflict,
        Some(404) => Fail::NotFound,
        Some(s) if (400..500).contains(&s) && s != 429 && s != 401 && s != 403 => Fail::Rejected {
            code: s,
            reason: format!("{code} {message}").trim().to_owned(),
        },
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

/// Which data-plane call a message becomes.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Update(String),
    Get(String),
    Delete(String),
    Publish(String),
}

impl Call {
    fn of(thing: &str, topic: &str) -> Call {
        match shadow::parse_topic(thing, topic) {
            Some(r) if r.op == "update" => Call::Update(r.shadow.to_owned()),
            Some(r) if r.op == "get" => Call::Get(r.shadow.to_owned()),
            Some(r) if r.op == "delete" => Call::Delete(r.shadow.to_owned()),
            _ => Call::Publish(topic.to_owned()),
        }
    }

    /// Calls with the same lane are made in order.
    fn lane(&self) -> &str {
        match self {
            Call::Update(s) | Call::Get(s) | Call::Delete(s) => s,
            Call::Publish(t) => t,
        }
    }
}

struct Req {
    id: u16,
    call: Call,
    payload: Vec<u8>,
}

/// The data plane as the driver's transport (see the module doc).
pub(super) struct HttpsTransport {
    client: dp::Client,
    thing: String,
    tx: mpsc::Sender<LinkEvent>,
    next_id: u16,
    lanes: HashMap<String, mpsc::UnboundedSender<Req>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for HttpsTransport {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// "Connects": one `GetThingShadow` of `probe` (the first device's shadow) must get an answer from AWS
/// (any answer but a network error, 5xx or a credentials refusal). `window` bounds the messages in flight.
pub(super) async fn connect(
    c: &AwsIotConfig,
    probe: Option<String>,
    window: usize,
) -> Result<(HttpsTransport, mpsc::Receiver<LinkEvent>), Error> {
    let client = client(c).await;
    if let Some(name) = probe {
        match tokio::time::timeout(CALL_TIMEOUT, get_document(&client, &c.thing_name, &name)).await
        {
            Err(_) => {
                return Err(Error::Connection {
                    reason: format!(
                        "AWS IoT data plane: no answer within {}s",
                        CALL_TIMEOUT.as_secs()
                    ),
                    permanent: false,
                })
            }
            Ok(Err(Fail::Retry(e))) => return Err(e),
            Ok(_) => {}
        }
    }
    // Each message yields at most three events (sent, an answer, its ack); `window` of them are in flight.
    let (tx, rx) = mpsc::channel(window * 4 + 64);
    let t = HttpsTransport {
        client,
        thing: c.thing_name.clone(),
        tx,
        next_id: 0,
        lanes: HashMap::new(),
        tasks: Vec::new(),
    };
    Ok((t, rx))
}

impl Transport for HttpsTransport {
    fn publish(&mut self, topic: &str, _retain: bool, payload: Vec<u8>) -> Result<(), Error> {
        // Packet ids 1..=65535 (0 would mean "nothing to wait for"); the window is far below 65535.
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        let id = self.next_id;
        let full = |_| Error::Connection {
            reason: "cannot queue a data-plane call (the driver's window overflowed)".into(),
            permanent: false,
        };
        self.tx.try_send(LinkEvent::Sent(id)).map_err(full)?;
        let call = Call::of(&self.thing, topic);
        let lane = call.lane().to_owned();
        let req = Req { id, call, payload };
        let req = match self.lanes.get(&lane) {
            Some(l) => match l.send(req) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(req)) => req,
            },
            None => req,
        };
        let (ltx, lrx) = mpsc::unbounded_channel();
        let _ = ltx.send(req);
        self.lanes.insert(lane, ltx);
        self.tasks.push(tokio::spawn(run_lane(
            self.client.clone(),
            self.thing.clone(),
            lrx,
            self.tx.clone(),
        )));
        Ok(())
    }

    fn subscribe(&mut self, _filter: &str) -> Result<(), Error> {
        // Answers come back on the response topics without a subscription.
        Ok(())
    }

    fn max_payload(&self, _topic: &str) -> usize {
        // The protocol's limits (128 KB per Publish, 8 KB per shadow document) are the driver's `Limit`
        // and the shadow rules'; HTTP adds none below them.
        usize::MAX
    }

    fn limit_source(&self) -> &'static str {
        "the AWS IoT data plane"
    }

    fn disconnect(&mut self) {}
}

/// One lane: its calls one after the other; stops at the first failure that ends the run.
async fn run_lane(
    client: dp::Client,
    thing: String,
    mut rx: mpsc::UnboundedReceiver<Req>,
    tx: mpsc::Sender<LinkEvent>,
) {
    while let Some(req) = rx.recv().await {
        let events = match tokio::time::timeout(CALL_TIMEOUT, call(&client, &thing, req)).await {
            Ok(events) => events,
            Err(_) => vec![LinkEvent::Failed(Error::Connection {
                reason: format!(
                    "AWS IoT data plane: no answer within {}s",
                    CALL_TIMEOUT.as_secs()
                ),
                permanent: false,
            })],
        };
        let failed = events.iter().any(|e| matches!(e, LinkEvent::Failed(_)));
        for ev in events {
            if tx.send(ev).await.is_err() {
                return;
            }
        }
        if failed {
            return;
        }
    }
}

/// A shadow response as the MQTT shadow service would publish it.
fn answer(thing: &str, shadow: &str, op: &str, doc: Value) -> LinkEvent {
    LinkEvent::Message {
        topic: shadow::topic(thing, shadow, op),
        payload: doc.to_string().into_bytes().into(),
        expiry_secs: None,
    }
}

fn with_token(mut doc: Value, token: &Value) -> Value {
    if !doc.is_object() {
        doc = json!({});
    }
    if doc.get("clientToken").is_none() && !token.is_null() {
        doc["clientToken"] = token.clone();
    }
    doc
}

fn rejection(code: u16, message: &str, token: &Value) -> Value {
    json!({ "code": code, "message": message, "clientToken": token })
}

/// Makes one call; returns the events that report its outcome.
async fn call(client: &dp::Client, thing: &str, req: Req) -> Vec<LinkEvent> {
    let Req { id, call, payload } = req;
    let token = serde_json::from_slice::<Value>(&payload)
        .ok()
        .and_then(|v| v.get("clientToken").cloned())
        .unwrap_or(Value::Null);
    let acked = |rejected: Option<String>| LinkEvent::Acked { pkid: id, rejected };
    match call {
        Call::Update(name) => {
            let sent = client
                .update_thing_shadow()
                .thing_name(thing)
                .shadow_name(&name)
                .payload(Blob::new(payload))
                .send()
                .await
                .map_err(classify);
            let (op, doc) = match sent {
                Ok(out) => {
                    let doc = out
                        .payload()
                        .and_then(|b| serde_json::from_slice::<Value>(b.as_ref()).ok())
                        .unwrap_or(Value::Null);
                    ("update/accepted", with_token(doc, &token))
                }
                Err(Fail::Conflict) => (
                    "update/rejected",
                    rejection(409, "Version conflict", &token),
                ),
                Err(Fail::NotFound) => (
                    "update/rejected",
                    rejection(404, "no such thing or shadow", &token),
                ),
                Err(Fail::Rejected { code, reason }) => {
                    ("update/rejected", rejection(code, &reason, &token))
                }
                Err(Fail::Retry(e)) => return vec![LinkEvent::Failed(e)],
            };
            vec![acked(None), answer(thing, &name, op, doc)]
        }
        Call::Get(name) => {
            let (op, doc) = match get_document(client, thing, &name).await {
                Ok(doc) => ("get/accepted", with_token(doc, &token)),
                Err(Fail::NotFound) => (
                    "get/rejected",
                    rejection(
                        404,
                        &format!("No shadow exists with name: '{name}'"),
                        &token,
                    ),
                ),
                Err(Fail::Conflict) => ("get/rejected", rejection(409, "Conflict", &token)),
                Err(Fail::Rejected { code, reason }) => {
                    ("get/rejected", rejection(code, &reason, &token))
                }
                Err(Fail::Retry(e)) => return vec![LinkEvent::Failed(e)],
            };
            vec![acked(None), answer(thing, &name, op, doc)]
        }
        Call::Delete(name) => {
            let done = client
                .delete_thing_shadow()
                .thing_name(thing)
                .shadow_name(&name)
                .send()
                .await
                .map_err(classify);
            match done {
                Ok(_) | Err(Fail::NotFound) => vec![acked(None)],
                Err(Fail::Retry(e)) => vec![LinkEvent::Failed(e)],
                Err(Fail::Conflict) => vec![acked(Some("DeleteThingShadow refused: 409".into()))],
                Err(Fail::Rejected { code, reason }) => vec![acked(Some(format!(
                    "DeleteThingShadow refused: {code} {reason}"
                )))],
            }
        }
        Call::Publish(topic) => {
            let done = client
                .publish()
                .topic(&topic)
                .qos(1)
                .payload(Blob::new(payload))
                .send()
                .await
                .map_err(classify);
            match done {
                Ok(_) => vec![acked(None)],
                Err(Fail::Retry(e)) => vec![LinkEvent::Failed(e)],
                Err(Fail::Conflict) => vec![acked(Some("Publish refused: 409".into()))],
                Err(Fail::NotFound) => vec![acked(Some("Publish refused: 404".into()))],
                Err(Fail::Rejected { code, reason }) => {
                    vec![acked(Some(format!("Publish refused: {code} {reason}")))]
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_topics_become_their_calls_and_lanes() {
        let t = |op| shadow::topic("hub", "hall-light", op);
        assert_eq!(
            Call::of("hub", &t("update")),
            Call::Update("hall-light".into())
        );
        assert_eq!(Call::of("hub", &t("get")), Call::Get("hall-light".into()));
        assert_eq!(
            Call::of("hub", &t("delete")),
            Call::Delete("hall-light".into())
        );
        let ev = Call::of("hub", "hubbridge/hub/events");
        assert_eq!(ev, Call::Publish("hubbridge/hub/events".into()));
        assert_eq!(ev.lane(), "hubbridge/hub/events");
        // Another thing's shadow topic is just a topic to publish to.
        assert!(matches!(Call::of("other", &t("update")), Call::Publish(_)));
    }

    #[test]
    fn answers_carry_the_request_token() {
        let token = json!("hb-7");
        let doc = with_token(json!({ "version": 3 }), &token);
        assert_eq!(doc, json!({ "version": 3, "clientToken": "hb-7" }));
        assert_eq!(
            rejection(409, "Version conflict", &token)["code"],
            json!(409)
        );
        assert_eq!(with_token(Value::Null, &token)["clientToken"], token);
    }
}
