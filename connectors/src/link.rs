//! The one MQTT link every MQTT-based connector uses: protocol 3.1.1 or 5, TCP or TLS, optional last will;
//! the delivery driver's MQTT [`crate::driver::Transport`].
//! [`Link::connect`] waits for the CONNACK, then a poller task turns the client library's events into
//! [`LinkEvent`]s; [`Link::publish`] / [`Link::subscribe`] queue requests without waiting. The caller
//! (the delivery driver, [`crate::driver`]) bounds its in-flight window below the request channel's
//! capacity, so the channel never fills, and it learns each publish's packet id in queue order, so it can
//! acknowledge an outbox record only on its PUBACK.
//!
//! The managed clouds (AWS IoT Core, Azure IoT Hub) connect with 3.1.1 over TLS, no will, never retained;
//! the self-hosted connector may use 5, retains state and sets `bridge/state` as its will.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rumqttc::{QoS, TlsConfiguration, Transport};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::Error;

/// MQTT protocol version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    #[default]
    #[serde(rename = "3.1.1")]
    V311,
    #[serde(rename = "5")]
    V5,
}

/// What the connector needs to know from the connection.
#[derive(Debug)]
pub enum LinkEvent {
    /// A publish left, with its packet id (0 for QoS 0), in the order publishes were queued.
    Sent(u16),
    /// The broker acknowledged packet `pkid`; `rejected` is a v5 reason for refusing it.
    Acked { pkid: u16, rejected: Option<String> },
    /// A message on one of our subscriptions.
    Message {
        topic: String,
        payload: Bytes,
        /// MQTT 5 message expiry interval (seconds), if the sender set one.
        expiry_secs: Option<u32>,
    },
    /// The connection failed; the poller has stopped.
    Failed(Error),
}

/// How to connect.
pub struct LinkOptions {
    pub host: String,
    pub port: u16,
    pub protocol: Protocol,
    pub client_id: String,
    /// Username and password (Azure: the SAS token); `None` for anonymous or X.509 only.
    pub credentials: Option<(String, String)>,
    /// `None`: plain TCP.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub keep_alive: Duration,
    /// A retained `offline` on this topic if the connection dies (the managed clouds allow none).
    pub will_topic: Option<String>,
    /// Requests that may wait in the client's channel (the caller bounds its window below this).
    pub capacity: usize,
    /// Publishes in flight the client allows (the caller's window).
    pub inflight: u16,
    /// Largest packet we send or accept (rumqttc fails the whole connection on a larger one).
    pub max_packet_bytes: usize,
    /// Where the TLS file options live in this connector's config (`tls.` for MQTT, empty for AWS and
    /// Azure), so a certificate error names the key to fix.
    pub tls_keys: &'static str,
}

enum Client {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

/// A connected session; dropping it stops the poller (and so the connection).
pub struct Link {
    client: Client,
    poller: JoinHandle<()>,
    max_packet_bytes: usize,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl Link {
    /// Connects and waits for a successful CONNACK; on success returns the link and its event stream.
    pub async fn connect(opts: LinkOptions) -> Result<(Link, mpsc::Receiver<LinkEvent>), Error> {
        let transport = match &opts.tls {
            Some(tls) => Transport::tls_with_config(TlsConfiguration::Rustls(tls.clone())),
            None => Transport::tcp(),
        };
        let (tx, rx) = mpsc::channel(opts.capacity + 16);
        let max = opts.max_packet_bytes;
        let (client, poller, max_packet_bytes) = match opts.protocol {
            Protocol::V311 => {
                let mut o = rumqttc::MqttOptions::new(&opts.client_id, &opts.host, opts.port);
                o.set_keep_alive(opts.keep_alive)
                    .set_clean_session(true)
                    .set_transport(transport)
                    .set_inflight(opts.inflight.max(1))
                    .set_request_channel_capacity(opts.capacity)
                    .set_max_packet_size(max, max);
                if let Some(topic) = &opts.will_topic {
                    o.set_last_will(rumqttc::LastWill::new(
                        topic,
                        "offline",
                        QoS::AtLeastOnce,
                        true,
                    ));
                }
                if let Some((u, p)) = &opts.credentials {
                    o.set_credentials(u, p);
                }
                let (client, mut ev) = rumqttc::AsyncClient::new(o, opts.capacity);
                ev.network_options.set_connection_timeout(10);
                wait_connack_v4(&mut ev, opts.tls_keys).await?;
                (
                    Client::V4(client),
                    tokio::spawn(poll_v4(ev, tx, opts.tls_keys)),
                    max,
                )
            }
            Protocol::V5 => {
                use rumqttc::v5::mqttbytes::v5::LastWill;
                let mut o = rumqttc::v5::MqttOptions::new(&opts.client_id, &opts.host, opts.port);
                o.set_keep_alive(opts.keep_alive)
                    .set_clean_start(true)
                    .set_transport(transport)
                    .set_outgoing_inflight_upper_limit(opts.inflight.max(1))
                    .set_request_channel_capacity(opts.capacity)
                    .set_max_packet_size(Some(u32::try_from(max).unwrap_or(u32::MAX)))
                    .set_connection_timeout(10);
                if let Some(topic) = &opts.will_topic {
                    o.set_last_will(LastWill::new(
                        topic,
                        "offline",
                        rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                        true,
                        None,
                    ));
                }
                if let Some((u, p)) = &opts.credentials {
                    o.set_credentials(u, p);
                }
                let (client, mut ev) = rumqttc::v5::AsyncClient::new(o, opts.capacity);
                let broker_max = wait_connack_v5(&mut ev, opts.tls_keys).await?;
                // The broker's Maximum Packet Size (CONNACK property) bounds what we may send.
                let max = broker_max.map_or(max, |b| max.min(b as usize));
                (
                    Client::V5(client),
                    tokio::spawn(poll_v5(ev, tx, opts.tls_keys)),
                    max,
                )
            }
        };
        let link = Link {
            client,
            poller,
            max_packet_bytes,
        };
        Ok((link, rx))
    }

    /// The largest payload a publish on `topic` can carry over this connection: the packet limit (ours,
    /// and the broker's when it announced one) less the PUBLISH header (topic, packet id, properties).
    pub fn max_payload(&self, topic: &str) -> usize {
        self.max_packet_bytes.saturating_sub(topic.len() + 16)
    }

    /// Queues a QoS 1 publish; never waits. Fails only if the request channel is full or closed.
    pub fn publish(&self, topic: &str, retain: bool, payload: Vec<u8>) -> Result<(), Error> {
        let r = match &self.client {
            Client::V4(c) => c
                .try_publish(topic, QoS::AtLeastOnce, retain, payload)
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .try_publish(
                    topic,
                    rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                    retain,
                    payload,
                )
                .map_err(|e| e.to_string()),
        };
        r.map_err(|reason| Error::Connection {
            reason: format!("cannot queue a publish: {reason}"),
            permanent: false,
        })
    }

    /// Queues a QoS 1 subscription.
    pub fn subscribe(&self, filter: &str) -> Result<(), Error> {
        let r = match &self.client {
            Client::V4(c) => c
                .try_subscribe(filter, QoS::AtLeastOnce)
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .try_subscribe(filter, rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
                .map_err(|e| e.to_string()),
        };
        r.map_err(|reason| Error::Connection {
            reason: format!("cannot subscribe to {filter}: {reason}"),
            permanent: false,
        })
    }

    /// Sends DISCONNECT (best effort: the will is not published after a clean disconnect).
    pub fn disconnect(&self) {
        let _ = match &self.client {
            Client::V4(c) => c.try_disconnect().map_err(|e| e.to_string()),
            Client::V5(c) => c.try_disconnect().map_err(|e| e.to_string()),
        };
    }
}

fn conn_err(e: impl std::fmt::Display, refused: Option<String>, keys: &str) -> Error {
    match refused {
        Some(reason) => Error::Connection {
            reason,
            permanent: true,
        },
        None => {
            let text = e.to_string();
            // Certificate problems need a human: say what to check, and retry slowly.
            let hint = if text.contains("CertificateRequired") {
                Some(format!("the broker requires a client certificate (set {keys}client_cert_file and {keys}client_key_file)"))
            } else if text.contains("UnknownIssuer") || text.contains("BadSignature") {
                Some(format!(
                    "the broker's certificate is not signed by {keys}ca_file"
                ))
            } else if text.contains("NotValidForName") {
                Some("the broker's certificate does not name the configured host".to_owned())
            } else if text.contains("BadCertificate") || text.contains("UnknownCA") {
                Some("the broker rejected our client certificate".to_owned())
            } else {
                None
            };
            match hint {
                Some(hint) => Error::Connection {
                    reason: format!("TLS: {hint} ({text})"),
                    permanent: true,
                },
                None => Error::Connection {
                    permanent: text.to_ascii_lowercase().contains("certificate"),
                    reason: text,
                },
            }
        }
    }
}

fn refusal_v4(e: &rumqttc::ConnectionError) -> Option<String> {
    use rumqttc::ConnectReturnCode as C;
    match e {
        rumqttc::ConnectionError::ConnectionRefused(code) => Some(match code {
            C::BadUserNamePassword => {
                "broker refused the connection: bad username or password".into()
            }
            C::NotAuthorized => {
                "broker refused the connection: not authorized (check username and password)".into()
            }
            other => format!("broker refused the connection: {other:?}"),
        }),
        _ => None,
    }
}

fn refusal_v5(e: &rumqttc::v5::ConnectionError) -> Option<String> {
    use rumqttc::v5::mqttbytes::v5::ConnectReturnCode as C;
    match e {
        rumqttc::v5::ConnectionError::ConnectionRefused(code) => Some(match code {
            C::BadUserNamePassword => {
                "broker refused the connection: bad username or password".into()
            }
            C::NotAuthorized => {
                "broker refused the connection: not authorized (check username and password)".into()
            }
            other => format!("broker refused the connection: {other:?}"),
        }),
        _ => None,
    }
}

async fn wait_connack_v4(ev: &mut rumqttc::EventLoop, keys: &str) -> Result<(), Error> {
    use rumqttc::{Event, Packet};
    loop {
        match ev.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(conn_err(&e, refusal_v4(&e), keys)),
        }
    }
}

/// Waits for the CONNACK; returns the broker's Maximum Packet Size if it announced one.
async fn wait_connack_v5(
    ev: &mut rumqttc::v5::EventLoop,
    keys: &str,
) -> Result<Option<u32>, Error> {
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::Event;
    loop {
        match ev.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                return Ok(ack.properties.and_then(|p| p.max_packet_size))
            }
            Ok(_) => {}
            Err(e) => return Err(conn_err(&e, refusal_v5(&e), keys)),
        }
    }
}

async fn poll_v4(mut ev: rumqttc::EventLoop, tx: mpsc::Sender<LinkEvent>, keys: &'static str) {
    use rumqttc::{Event, Outgoing, Packet};
    loop {
        let out = match ev.poll().await {
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => LinkEvent::Sent(pkid),
            Ok(Event::Incoming(Packet::PubAck(ack))) => LinkEvent::Acked {
                pkid: ack.pkid,
                rejected: None,
            },
            Ok(Event::Incoming(Packet::Publish(p))) => LinkEvent::Message {
                topic: p.topic,
                payload: p.payload,
                expiry_secs: None,
            },
            Ok(_) => continue,
            Err(e) => {
                let _ = tx
                    .send(LinkEvent::Failed(conn_err(&e, refusal_v4(&e), keys)))
                    .await;
                return;
            }
        };
        if tx.send(out).await.is_err() {
            return;
        }
    }
}

async fn poll_v5(mut ev: rumqttc::v5::EventLoop, tx: mpsc::Sender<LinkEvent>, keys: &'static str) {
    use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason};
    use rumqttc::v5::Event;
    use rumqttc::Outgoing;
    loop {
        let out = match ev.poll().await {
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => LinkEvent::Sent(pkid),
            Ok(Event::Incoming(Packet::PubAck(ack))) => LinkEvent::Acked {
                pkid: ack.pkid,
                rejected: match ack.reason {
                    PubAckReason::Success | PubAckReason::NoMatchingSubscribers => None,
                    other => Some(format!("{other:?}")),
                },
            },
            Ok(Event::Incoming(Packet::Publish(p))) => LinkEvent::Message {
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                expiry_secs: p
                    .properties
                    .as_ref()
                    .and_then(|pr| pr.message_expiry_interval),
                payload: p.payload,
            },
            Ok(_) => continue,
            Err(e) => {
                let _ = tx
                    .send(LinkEvent::Failed(conn_err(&e, refusal_v5(&e), keys)))
                    .await;
                return;
            }
        };
        if tx.send(out).await.is_err() {
            return;
        }
    }
}

impl crate::driver::Transport for Link {
    fn publish(&mut self, topic: &str, retain: bool, payload: Vec<u8>) -> Result<(), Error> {
        Link::publish(self, topic, retain, payload)
    }

    fn subscribe(&mut self, filter: &str) -> Result<(), Error> {
        Link::subscribe(self, filter)
    }

    fn max_payload(&self, topic: &str) -> usize {
        Link::max_payload(self, topic)
    }

    fn limit_source(&self) -> &'static str {
        "the Maximum Packet Size of this MQTT connection (ours or the broker's), less the PUBLISH header"
    }

    fn disconnect(&mut self) {
        Link::disconnect(self);
    }
}
