//! `GET /metrics`: the bridge's figures in the Prometheus text format (0.0.4), encoded by the
//! `prometheus-client` crate. Nothing is kept here: on each scrape one collector reads what the data path
//! already keeps — the registry's devices, the [`Counters`] bumped at the source (registry, Matter
//! thread, sources), every connector's health and outbox, the certificate check, `/proc/self` — so a
//! scrape costs the reader a few locks for a snapshot and the data path nothing.
//!
//! Every metric, its labels and meaning are listed in README.md, "Metrics and monitoring".

mod collect;
pub mod counters;
pub mod process;

use std::sync::Arc;

use prometheus_client::encoding::prometheus_text;
use tokio::sync::watch;

pub use counters::{Counters, ImFigures, InvokeResult};

use crate::certs::Certificates;
use crate::cloud::ConnectorsStatus;
use crate::matter::PairingStatus;
use crate::registry::Registry;

/// The `Content-Type` of a scrape.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Where a scrape reads from; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<prometheus_client::registry::Registry>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(
        registry: Registry,
        connectors: ConnectorsStatus,
        certificates: Certificates,
        nodes: Vec<(String, watch::Receiver<PairingStatus>)>,
    ) -> Metrics {
        let mut r = prometheus_client::registry::Registry::default();
        r.register_collector(Box::new(collect::Bridge {
            registry,
            connectors,
            certificates,
            nodes,
        }));
        Metrics(Arc::new(r))
    }

    /// One scrape, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail; an encoder error would be a bug in a label value.
        if let Err(e) = prometheus_text::encode(&mut out, &self.0) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}
