//! The connector host: runs every configured cloud connector as an isolated task, feeds each one's
//! durable outbox from the registry's change stream, applies their commands, and reports their health.
//!
//! Per connector: a *feed* task (registry broadcast → outbox, group commit), a *command* task (cloud
//! commands → [`Registry::apply`] with origin `cloud:<name>`, refused once expired) and a *supervisor*
//! that runs the connector, restarts it with exponential backoff and jitter after a failure and rebuilds
//! it after a panic. Nothing here ever blocks the registry or Matter: a slow or dead connector only
//! fills its own outbox.

mod commands;
mod feed;
#[cfg(test)]
mod tests;
mod view;

use std::path::Path;
use std::sync::Arc;

use connectors::retry::Backoff;
use connectors::{Connector, ConnectorConfig, HealthHandle, Outbox, OutboxStats, Session};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::registry::Registry;

/// Sub-directory of the storage directory that holds one outbox file per connector.
pub const OUTBOX_DIR: &str = "outbox";

/// Why the host could not start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Connector(#[from] connectors::Error),
}

/// One connector as the API sees it.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectorReport {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub health: connectors::Health,
    pub outbox: OutboxStats,
}

struct Hosted {
    name: String,
    kind: &'static str,
    outbox: Outbox,
    health: HealthHandle,
}

/// A cheap handle for the API: every connector's health and outbox figures.
#[derive(Clone, Default)]
pub struct ConnectorsStatus(Arc<Vec<Hosted>>);

impl ConnectorsStatus {
    /// Every connector's delivery latency histogram (for the metrics).
    pub fn latencies(&self) -> Vec<(String, connectors::outbox::LatencySnapshot)> {
        self.0
            .iter()
            .map(|h| (h.name.clone(), h.outbox.latency()))
            .collect()
    }

    pub fn report(&self) -> Vec<ConnectorReport> {
        self.0
            .iter()
            .map(|h| ConnectorReport {
                name: h.name.clone(),
                kind: h.kind,
                health: h.health.snapshot(),
                outbox: h.outbox.stats(),
            })
            .collect()
    }
}

/// Opens every connector's outbox and starts its tasks in `tasks`; they end when `stop` is cancelled.
pub fn start(
    configs: &[ConnectorConfig],
    storage_dir: &Path,
    registry: &Registry,
    stop: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Result<ConnectorsStatus, HostError> {
    let mut hosted = Vec::new();
    for config in configs {
        let connector = config.build()?;
        let name = config.name().to_owned();
        let path = storage_dir.join(OUTBOX_DIR).join(format!("{name}.redb"));
        let outbox = Outbox::open(&path, config.outbox().clone())?;
        let health = HealthHandle::default();
        let stats = outbox.stats();
        tracing::info!(
            connector = %name,
            kind = connector.kind(),
            outbox = %path.display(),
            depth = stats.depth,
            "connector configured"
        );
        tasks.spawn(feed::run(
            name.clone(),
            registry.clone(),
            registry.subscribe(),
            outbox.clone(),
            stop.clone(),
        ));
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        tasks.spawn(commands::run(name.clone(), registry.clone(), cmd_rx));
        let session = Session {
            outbox: outbox.clone(),
            commands: cmd_tx,
            devices: Arc::new(view::RegistryView(registry.clone())),
            health: health.clone(),
            stop: stop.clone(),
        };
        hosted.push(Hosted {
            name,
            kind: connector.kind(),
            outbox,
            health,
        });
        tasks.spawn(supervise(config.clone(), connector, session));
    }
    let status = ConnectorsStatus(Arc::new(hosted));
    if !configs.is_empty() {
        tasks.spawn(log_health(status.clone(), stop.clone()));
    }
    Ok(status)
}

/// Every minute, one log line per connector that is down or has records waiting.
async fn log_health(status: ConnectorsStatus, stop: CancellationToken) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        for c in status.report() {
            if c.health.connected && c.outbox.depth == 0 {
                continue;
            }
            tracing::info!(
                connector = %c.name,
                connected = c.health.connected,
                last_error = c.health.last_error.as_deref().unwrap_or(""),
                outbox_depth = c.outbox.depth,
                oldest_age_ms = c.outbox.oldest_age_ms.unwrap_or(0),
                dropped_events = c.outbox.dropped_events,
                outbox_error = c.outbox.storage_error.as_deref().unwrap_or(""),
                "connector health"
            );
        }
    }
}

/// Runs a connector until stop; rebuilds it from its config if it panics.
async fn supervise(config: ConnectorConfig, first: Box<dyn Connector>, session: Session) {
    let name = config.name().to_owned();
    let mut connector = Some(first);
    let mut backoff = Backoff::new(config.retry());
    let session = Arc::new(tokio::sync::Mutex::new(session));
    loop {
        let c = match connector.take() {
            Some(c) => c,
            None => match config.build() {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(connector = %name, error = %e, "cannot rebuild the connector");
                    return;
                }
            },
        };
        let life = tokio::spawn(run_with_backoff(c, session.clone(), config.retry().clone()));
        match life.await {
            Ok(()) => return,
            Err(e) => {
                let s = session.lock().await;
                s.health.set_error(&format!("connector task failed: {e}"));
                tracing::error!(connector = %name, error = %e, "connector task failed; restarting it");
                let delay = backoff.next_delay(false);
                let stop = s.stop.clone();
                drop(s);
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// One connector's life: run, and after each failure record it and wait out the backoff.
async fn run_with_backoff(
    mut connector: Box<dyn Connector>,
    session: Arc<tokio::sync::Mutex<Session>>,
    retry: connectors::RetryConfig,
) {
    let mut session = session.lock().await;
    let mut backoff = Backoff::new(&retry);
    let name = connector.name().to_owned();
    loop {
        let connects_before = session.health.snapshot().connects;
        match connector.run(&mut session).await {
            Ok(()) => return,
            Err(e) => {
                if session.stop.is_cancelled() {
                    return;
                }
                if session.health.snapshot().connects != connects_before {
                    backoff.reset();
                }
                let delay = backoff.next_delay(connectors::retry::is_permanent(&e));
                let message = e.to_string();
                session.health.set_error(&message);
                tracing::warn!(
                    connector = %name,
                    error = %message,
                    retry_in_ms = delay.as_millis() as u64,
                    "connector failed; retrying"
                );
                tokio::select! {
                    () = session.stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}
