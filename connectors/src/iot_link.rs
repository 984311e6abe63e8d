//! One MQTT 3.1.1 connection to a managed IoT cloud (AWS IoT Core, Azure IoT Hub): TLS always, QoS 1
//! only, never retained, no last will (both clouds have their own presence). [`IotLink::connect`] waits
//! for the CONNACK; a poller task turns the client library's events into [`IotEvent`]s; publishes are
//! queued without waiting and reported back in queue order with their packet ids, so the caller can
//! acknowledge an outbox record only on its PUBACK.
//!
//! (The self-hosted connector's `mqtt::link` also speaks MQTT 5, retains and sets a will; the managed
//! clouds allow none of that, so this is the smaller sibling.)

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Outgoing,
    Packet, QoS, TlsConfiguration, Transport,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::Error;

/// What the connector learns from the connection.
#[derive(Debug)]
pub enum IotEvent {
    /// A publish left, with its packet id, in the order publishes were queued.
    Sent(u16),
    /// The broker acknowledged packet `pkid`.
    Acked(u16),
    /// A message on one of our subscriptions.
    Message { topic: String, payload: Bytes },
    /// The connection failed; the poller has stopped.
    Failed(Error),
}

/// How to connect.
pub struct IotLinkOptions {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// Username and password (Azure SAS); `None` for X.509 only.
    pub credentials: Option<(String, String)>,
    pub tls: Arc<rustls::ClientConfig>,
    pub keep_alive: Duration,
    /// Requests that may wait in the client's channel (the caller bounds its window below this).
    pub capacity: usize,
}

/// A connected session; dropping it stops the poller (and so the connection).
pub struct IotLink {
    client: AsyncClient,
    poller: JoinHandle<()>,
}

impl Drop for IotLink {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl IotLink {
    /// Connects and waits for a successful CONNACK.
    pub async fn connect(
        opts: IotLinkOptions,
    ) -> Result<(IotLink, mpsc::Receiver<IotEvent>), Error> {
        let mut o = MqttOptions::new(&opts.client_id, &opts.host, opts.port);
        o.set_keep_alive(opts.keep_alive)
            .set_clean_session(true)
            .set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                opts.tls.clone(),
            )))
            .set_inflight(u16::try_from(opts.capacity).unwrap_or(u16::MAX).max(1))
            .set_request_channel_capacity(opts.capacity)
            // AWS IoT allows 128 KiB per message, Azure 256 KiB.
            .set_max_packet_size(256 * 1024, 256 * 1024);
        if let Some((u, p)) = &opts.credentials {
            o.set_credentials(u, p);
        }
        let (client, mut ev) = AsyncClient::new(o, opts.capacity);
        ev.network_options.set_connection_timeout(10);
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => break,
                Ok(_) => {}
                Err(e) => return Err(conn_err(&e)),
            }
        }
        let (tx, rx) = mpsc::channel(opts.capacity + 16);
        let poller = tokio::spawn(poll(ev, tx));
        Ok((IotLink { client, poller }, rx))
    }

    /// Queues a QoS 1 publish (never retained); never waits.
    pub fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), Error> {
        self.client
            .try_publish(topic, QoS::AtLeastOnce, false, payload)
            .map_err(|e| Error::Connection {
                reason: format!("cannot queue a publish: {e}"),
                permanent: false,
            })
    }

    /// Queues a QoS 1 subscription.
    pub fn subscribe(&self, filter: &str) -> Result<(), Error> {
        self.client
            .try_subscribe(filter, QoS::AtLeastOnce)
            .map_err(|e| Error::Connection {
                reason: format!("cannot subscribe to {filter}: {e}"),
                permanent: false,
            })
    }

    /// Sends DISCONNECT (best effort).
    pub fn disconnect(&self) {
        let _ = self.client.try_disconnect();
    }
}

fn conn_err(e: &ConnectionError) -> Error {
    match e {
        ConnectionError::ConnectionRefused(code) => Error::Connection {
            reason: match code {
                ConnectReturnCode::BadUserNamePassword => {
                    "the cloud refused the connection: bad credentials".to_owned()
                }
                ConnectReturnCode::NotAuthorized => {
                    "the cloud refused the connection: not authorized".to_owned()
                }
                other => format!("the cloud refused the connection: {other:?}"),
            },
            permanent: true,
        },
        other => {
            let reason = other.to_string();
            let permanent = reason.to_ascii_lowercase().contains("certificate");
            Error::Connection { reason, permanent }
        }
    }
}

async fn poll(mut ev: EventLoop, tx: mpsc::Sender<IotEvent>) {
    loop {
        let out = match ev.poll().await {
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => IotEvent::Sent(pkid),
            Ok(Event::Incoming(Packet::PubAck(ack))) => IotEvent::Acked(ack.pkid),
            Ok(Event::Incoming(Packet::Publish(p))) => IotEvent::Message {
                topic: p.topic,
                payload: p.payload,
            },
            Ok(_) => continue,
            Err(e) => {
                let _ = tx.send(IotEvent::Failed(conn_err(&e))).await;
                return;
            }
        };
        if tx.send(out).await.is_err() {
            return;
        }
    }
}
