//! One MQTT connection, protocol 3.1.1 or 5, behind one small interface: [`Link::connect`] waits for the
//! CONNACK, then a poller task turns the client library's events into [`LinkEvent`]s, and
//! [`Link::publish`] / [`Link::subscribe`] queue requests without waiting (the caller bounds its
//! in-flight window, so the request channel never fills).

use std::time::Duration;

use bytes::Bytes;
use rumqttc::{QoS, TlsConfiguration, Transport};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::{MqttConfig, Protocol};
use crate::Error;

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

enum Client {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

/// A connected session.
pub struct Link {
    client: Client,
    poller: JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

/// Options shared by both protocol versions.
pub struct LinkOptions {
    pub client_id: String,
    pub credentials: Option<(String, String)>,
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    pub will_topic: String,
    pub capacity: usize,
    pub inflight: u16,
}

impl Link {
    /// Connects and waits for a successful CONNACK; on success returns the link and its event stream.
    pub async fn connect(
        config: &MqttConfig,
        opts: LinkOptions,
    ) -> Result<(Link, mpsc::Receiver<LinkEvent>), Error> {
        let transport = match &opts.tls {
            Some(tls) => Transport::tls_with_config(TlsConfiguration::Rustls(tls.clone())),
            None => Transport::tcp(),
        };
        let keep_alive = Duration::from_secs(config.keep_alive_secs);
        let (tx, rx) = mpsc::channel(opts.capacity);
        let (client, poller) = match config.protocol {
            Protocol::V311 => {
                let mut o = rumqttc::MqttOptions::new(&opts.client_id, &config.host, config.port());
                o.set_keep_alive(keep_alive)
                    .set_clean_session(true)
                    .set_transport(transport)
                    .set_inflight(opts.inflight)
                    .set_request_channel_capacity(opts.capacity)
                    .set_max_packet_size(1024 * 1024, 1024 * 1024)
                    .set_last_will(rumqttc::LastWill::new(
                        &opts.will_topic,
                        "offline",
                        QoS::AtLeastOnce,
                        true,
                    ));
                if let Some((u, p)) = &opts.credentials {
                    o.set_credentials(u, p);
                }
                let (client, mut ev) = rumqttc::AsyncClient::new(o, opts.capacity);
                ev.network_options.set_connection_timeout(10);
                wait_connack_v4(&mut ev).await?;
                (Client::V4(client), tokio::spawn(poll_v4(ev, tx)))
            }
            Protocol::V5 => {
                use rumqttc::v5::mqttbytes::v5::LastWill;
                let mut o =
                    rumqttc::v5::MqttOptions::new(&opts.client_id, &config.host, config.port());
                o.set_keep_alive(keep_alive)
                    .set_clean_start(true)
                    .set_transport(transport)
                    .set_outgoing_inflight_upper_limit(opts.inflight)
                    .set_request_channel_capacity(opts.capacity)
                    .set_max_packet_size(Some(1024 * 1024))
                    .set_connection_timeout(10)
                    .set_last_will(LastWill::new(
                        &opts.will_topic,
                        "offline",
                        rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                        true,
                        None,
                    ));
                if let Some((u, p)) = &opts.credentials {
                    o.set_credentials(u, p);
                }
                let (client, mut ev) = rumqttc::v5::AsyncClient::new(o, opts.capacity);
                wait_connack_v5(&mut ev).await?;
                (Client::V5(client), tokio::spawn(poll_v5(ev, tx)))
            }
        };
        Ok((Link { client, poller }, rx))
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

fn conn_err(e: impl std::fmt::Display, refused: Option<String>) -> Error {
    match refused {
        Some(reason) => Error::Connection {
            reason,
            permanent: true,
        },
        None => {
            let text = e.to_string();
            // Certificate problems need a human: say what to check, and retry slowly.
            let hint = if text.contains("CertificateRequired") {
                Some("the broker requires a client certificate (set tls.client_cert_file and tls.client_key_file)")
            } else if text.contains("UnknownIssuer") || text.contains("BadSignature") {
                Some("the broker's certificate is not signed by tls.ca_file")
            } else if text.contains("NotValidForName") {
                Some("the broker's certificate does not name `host`")
            } else if text.contains("BadCertificate") || text.contains("UnknownCA") {
                Some("the broker rejected our client certificate")
            } else {
                None
            };
            match hint {
                Some(hint) => Error::Connection {
                    reason: format!("TLS: {hint} ({text})"),
                    permanent: true,
                },
                None => Error::Connection {
                    reason: text,
                    permanent: false,
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

async fn wait_connack_v4(ev: &mut rumqttc::EventLoop) -> Result<(), Error> {
    use rumqttc::{Event, Packet};
    loop {
        match ev.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(conn_err(&e, refusal_v4(&e))),
        }
    }
}

async fn wait_connack_v5(ev: &mut rumqttc::v5::EventLoop) -> Result<(), Error> {
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::Event;
    loop {
        match ev.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(conn_err(&e, refusal_v5(&e))),
        }
    }
}

async fn poll_v4(mut ev: rumqttc::EventLoop, tx: mpsc::Sender<LinkEvent>) {
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
                    .send(LinkEvent::Failed(conn_err(&e, refusal_v4(&e))))
                    .await;
                return;
            }
        };
        if tx.send(out).await.is_err() {
            return;
        }
    }
}

async fn poll_v5(mut ev: rumqttc::v5::EventLoop, tx: mpsc::Sender<LinkEvent>) {
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
                    .send(LinkEvent::Failed(conn_err(&e, refusal_v5(&e))))
                    .await;
                return;
            }
        };
        if tx.send(out).await.is_err() {
            return;
        }
    }
}
