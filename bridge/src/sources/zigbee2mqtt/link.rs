//! The MQTT link to Zigbee2MQTT's broker (MQTT 3.1.1, TCP or TLS through the connectors crate's TLS
//! helper): [`Link::connect`] starts a session and a poller task that turns the client library's
//! events into [`LinkEvent`]s; [`Link::publish`] queues without waiting. Incoming packets up to
//! `max_packet_bytes` are accepted, so a `bridge/devices` of several MB gets through.

use std::time::Duration;

use bytes::Bytes;
use rumqttc::{Event, Incoming, Outgoing, QoS, TlsConfiguration, Transport};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::Zigbee2MqttConfig;

/// Requests the client may hold before `publish` refuses (the source then fails the command).
const REQUEST_CAPACITY: usize = 1024;

#[derive(Debug)]
pub enum LinkEvent {
    /// CONNACK received: subscribe now.
    Connected,
    /// A QoS 1 publish left with this packet id (in the order publishes were queued).
    Sent(u16),
    /// The broker acknowledged packet `pkid`.
    Acked(u16),
    Message {
        topic: String,
        payload: Bytes,
    },
    /// The connection failed or was refused; the poller has stopped.
    Failed(String),
}

pub struct Link {
    client: rumqttc::AsyncClient,
    poller: JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl Link {
    /// Starts connecting; the first event is `Connected` or `Failed`.
    pub fn connect(
        config: &Zigbee2MqttConfig,
    ) -> Result<(Link, mpsc::Receiver<LinkEvent>), String> {
        let mut options =
            rumqttc::MqttOptions::new(config.client_id(), &config.host, config.port());
        options
            .set_keep_alive(Duration::from_secs(config.keep_alive_secs))
            .set_clean_session(true)
            .set_max_packet_size(config.max_packet_bytes, 1 << 20)
            .set_request_channel_capacity(REQUEST_CAPACITY)
            .set_inflight(100);
        if let Some((user, password)) = config.credentials()? {
            options.set_credentials(user, password);
        }
        if let Some(tls) = &config.tls {
            let files = connectors::tls::TlsFiles {
                ca_file: Some(&tls.ca_file),
                client_cert_file: tls.client_cert_file.as_deref(),
                client_key_file: tls.client_key_file.as_deref(),
            };
            let tls = connectors::tls::client_config(&config.source_name(), &files)
                .map_err(|e| e.to_string())?;
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
        }
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, REQUEST_CAPACITY);
        // A `/set` is one small packet that a lamp waits for: without TCP_NODELAY it can sit behind
        // an unacknowledged PUBACK until the broker's delayed ACK (~40 ms on Linux).
        eventloop.network_options.set_tcp_nodelay(true);
        let (tx, rx) = mpsc::channel(1024);
        let poller = tokio::spawn(async move {
            loop {
                let event = match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                        if ack.code == rumqttc::ConnectReturnCode::Success {
                            LinkEvent::Connected
                        } else {
                            let _ = tx
                                .send(LinkEvent::Failed(format!(
                                    "broker refused the connection: {:?}",
                                    ack.code
                                )))
                                .await;
                            return;
                        }
                    }
                    Ok(Event::Incoming(Incoming::Publish(p))) => LinkEvent::Message {
                        topic: p.topic,
                        payload: p.payload,
                    },
                    Ok(Event::Incoming(Incoming::PubAck(ack))) => LinkEvent::Acked(ack.pkid),
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) if pkid != 0 => {
                        LinkEvent::Sent(pkid)
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        let _ = tx.send(LinkEvent::Failed(e.to_string())).await;
                        return;
                    }
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        Ok((Link { client, poller }, rx))
    }

    pub fn subscribe(&self, filter: &str) -> Result<(), String> {
        self.client
            .try_subscribe(filter, QoS::AtLeastOnce)
            .map_err(|e| e.to_string())
    }

    /// Queues a publish; QoS 1 publishes are reported as `Sent` then `Acked`.
    pub fn publish(&self, topic: String, qos1: bool, payload: Vec<u8>) -> Result<(), String> {
        let qos = if qos1 {
            QoS::AtLeastOnce
        } else {
            QoS::AtMostOnce
        };
        self.client
            .try_publish(topic, qos, false, payload)
            .map_err(|e| e.to_string())
    }
}
