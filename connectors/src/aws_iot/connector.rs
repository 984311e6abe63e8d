//! The AWS IoT connector: one connection of either transport, run by the shared delivery driver with
//! the AWS protocol rules ([`super::run`]). `mqtt`: MQTT over mutual TLS through the shared link (shadow
//! reads over MQTT, or `GetThingShadow` with `shadow_reads = "https"`). `https`: the data plane as the
//! driver's transport ([`super::https`]), every shadow read again every `poll_interval_secs`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, Semaphore};

use super::config::{AwsIotConfig, ShadowReads, Transport};
use super::https;
use super::run::{DataPlane, Run, GET_CONCURRENCY};
use super::shadow;
use crate::connector::{Connector, Session};
use crate::driver::{self, Drive, Limit};
use crate::link::{Link, LinkOptions, Protocol as MqttVersion};
use crate::tls::{self, TlsFiles};
use crate::Error;

/// The AWS IoT connector.
pub struct AwsIotConnector {
    config: AwsIotConfig,
}

impl AwsIotConnector {
    pub fn new(config: AwsIotConfig) -> AwsIotConnector {
        AwsIotConnector { config }
    }
}

#[async_trait]
impl Connector for AwsIotConnector {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn kind(&self) -> &'static str {
        "aws_iot"
    }

    async fn run(&mut self, session: &mut Session) -> Result<(), Error> {
        let c = &self.config;
        let window = usize::from(c.max_inflight);
        let (notes_tx, mut notes) = mpsc::unbounded_channel();
        let connected = tokio::select! {
            () = session.stop.cancelled() => return Ok(()),
            r = connect(c, session, window) => r?,
        };
        let (link, mut events, plane, poll, peer) = connected;
        session.health.set_connected(true);
        tracing::info!(connector = %c.name, transport = ?c.transport, endpoint = %opts_host(c), thing = %c.thing_name, "connected to {peer}");
        let mut run = Run::new(c, notes_tx, plane);
        let drive = Drive {
            session,
            name: &c.name,
            peer,
            link,
            window,
            limit: Limit {
                bytes: MAX_PAYLOAD_BYTES,
                source: "AWS IoT Core: a message payload is at most 128 KB",
            },
            deadline: None,
            poll,
        };
        let result = driver::drive(&mut run, drive, &mut events, &mut notes).await;
        session.health.set_connected(false);
        result.map(|_| ())
    }
}

/// What a connection is made of: the transport and its events, the data plane for `shadow_reads =
/// "https"`, the poll interval (HTTPS only) and what the logs call the other side.
type Connected = (
    Box<dyn driver::Transport>,
    mpsc::Receiver<crate::link::LinkEvent>,
    Option<DataPlane>,
    Option<Duration>,
    &'static str,
);

async fn connect(c: &AwsIotConfig, s: &Session, window: usize) -> Result<Connected, Error> {
    if c.transport == Transport::Https {
        let probe = s
            .devices
            .devices()
            .first()
            .and_then(|d| shadow::shadow_name(&c.shadow_prefix, &d.info.id).ok());
        let (t, events) = https::connect(c, probe, window).await?;
        let poll = Duration::from_secs(c.poll_interval_secs);
        return Ok((
            Box::new(t),
            events,
            None,
            Some(poll),
            "the AWS IoT data plane",
        ));
    }
    let tls = tls::client_config(
        &c.name,
        &TlsFiles {
            ca_file: c.ca_file.as_deref(),
            client_cert_file: c.client_cert_file.as_deref(),
            client_key_file: c.client_key_file.as_deref(),
        },
    )?;
    let plane = match c.shadow_reads() {
        ShadowReads::Https => Some(DataPlane {
            client: https::client(c).await,
            limit: Arc::new(Semaphore::new(GET_CONCURRENCY)),
        }),
        ShadowReads::Mqtt => None,
    };
    let opts = LinkOptions {
        host: c.endpoint.clone().unwrap_or_default(),
        port: c.port,
        protocol: MqttVersion::V311,
        client_id: c.client_id(),
        credentials: None,
        tls: Some(tls),
        keep_alive: Duration::from_secs(c.keep_alive_secs),
        will_topic: None,
        capacity: window * 2 + 64,
        inflight: u16::try_from(window * 2 + 64).unwrap_or(u16::MAX),
        max_packet_bytes: MAX_PAYLOAD_BYTES + 64 * 1024,
        tls_keys: "",
    };
    let (link, events) = Link::connect(opts).await?;
    Ok((Box::new(link), events, plane, None, "AWS IoT"))
}

/// AWS IoT Core's limit on one MQTT message payload ("AWS IoT Core endpoints and quotas", message
/// broker: 128 KB); a shadow update is further limited to [`shadow::MAX_DOCUMENT_BYTES`].
pub(crate) const MAX_PAYLOAD_BYTES: usize = 128 * 1024;

fn opts_host(c: &AwsIotConfig) -> String {
    match c.transport {
        Transport::Https => c.data_endpoint().unwrap_or_default(),
        Transport::Mqtt => format!("{}:{}", c.endpoint.as_deref().unwrap_or(""), c.port),
    }
}
