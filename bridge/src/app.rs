//! The daemon's lifecycle: open the registry, start Matter, the local sources and the API, wait for a
//! shutdown signal, then stop them in order (inputs first, Matter last).

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiListener, ApiState, Guard, Limits};
use crate::cloud;
use crate::config::{Config, SourceConfig};
use crate::matter;
use crate::persist;
use crate::registry::Registry;
use crate::sources::zigbee2mqtt::Zigbee2MqttSource;
use crate::sources::{ApiSource, DeviceSource, VirtualSource};

/// How long the API and the sources get to stop before they are abandoned.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    run_until(config, shutdown_signal()).await
}

/// Runs the daemon until `shutdown` completes (or the API server fails).
pub async fn run_until(
    mut config: Config,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    config.validate().context("invalid configuration")?;
    let storage = config.bridge.storage_dir.clone();
    let registry = {
        // The registry owns the device list from here on; the config keeps only what the rest needs.
        let devices = std::mem::take(&mut config.devices);
        tokio::task::spawn_blocking(move || {
            secure_storage(&storage)?;
            Registry::open(&storage, &devices)
        })
        .await
        .context("opening the device registry")?
        .with_context(|| {
            format!(
                "cannot open the device registry in {}",
                config.bridge.storage_dir.display()
            )
        })?
    };

    let tokens = if config.api.auth {
        let (dir, names) = (
            config.bridge.storage_dir.clone(),
            config.api.read_only_tokens.clone(),
        );
        let tokens = tokio::task::spawn_blocking(move || api::tokens::Tokens::open(&dir, &names))
            .await
            .context("loading the API tokens")?
            .context("loading the API tokens")?;
        Some(tokens)
    } else {
        tracing::warn!(listen = %config.api.listen, "API authentication is off (api.auth = false): any local user can use the API");
        None
    };
    let tls = match (&config.api.tls_cert, &config.api.tls_key) {
        (Some(cert), Some(key)) => Some(api::server_config(cert, key)?),
        _ => None,
    };
    // Bind before starting anything else, so a busy port fails fast and cleanly.
    let listener = TcpListener::bind(config.api.listen)
        .await
        .with_context(|| format!("cannot listen on {} (api.listen)", config.api.listen))?;
    let listener = ApiListener::new(listener, tls).context("starting the API listener")?;

    let stop = CancellationToken::new();
    // Sources first: their command channels exist before Matter, a cloud or the API can send anything.
    let mut sources = JoinSet::new();
    let mut local: Vec<Box<dyn DeviceSource>> = vec![
        Box::new(VirtualSource::from_config(&config.virtual_)),
        Box::new(ApiSource),
    ];
    for source in &config.sources {
        match source {
            SourceConfig::Zigbee2mqtt(c) => local.push(Box::new(Zigbee2MqttSource::new(c.clone()))),
        }
    }
    for source in local {
        let name = source.name().to_owned();
        let (registry, stop) = (registry.clone(), stop.clone());
        // Attached before the Matter node or the API can send it anything.
        let commands = registry.attach_source(&name);
        sources.spawn(async move {
            match source.run(registry, commands, stop).await {
                Ok(()) => tracing::debug!(source = %name, "source stopped"),
                Err(e) => tracing::error!(source = %name, error = %e, "source failed; the rest keeps running"),
            }
        });
    }

    // Connectors before Matter: a bad outbox file fails startup before anything is running.
    let mut clouds = JoinSet::new();
    let connectors = cloud::start(
        &config.connectors,
        &config.bridge.storage_dir,
        &registry,
        &stop,
        &mut clouds,
    )
    .context("starting the cloud connectors")?;
    // Every configured certificate's expiry: logged now and daily, shown in health and metrics.
    let certificates = crate::certs::Certificates::load(crate::certs::configured(&config));
    clouds.spawn(certificates.clone().watch(stop.clone()));
    // Every Matter node, main first; a node that cannot start stops the ones already started.
    let specs = crate::nodes::NodeSpec::all(&config);
    crate::nodes::log_moves(&config, &registry.list(), registry.writer());
    let mut nodes: Vec<(crate::nodes::NodeSpec, matter::MatterHandle)> = Vec::new();
    for spec in specs {
        match matter::spawn_node(&config, &spec, registry.clone()) {
            Ok(handle) => nodes.push((spec, handle)),
            Err(e) => {
                for (_, started) in nodes {
                    let _ = tokio::task::spawn_blocking(move || started.shutdown()).await;
                }
                return Err(e).context(format!("starting Matter node `{}`", spec.id));
            }
        }
    }
    let matter = &nodes[0].1;
    print_pairing(&matter.pairing().borrow());
    for (spec, handle) in &nodes[1..] {
        print_node_pairing(spec, &handle.pairing().borrow());
    }
    let views: Vec<api::NodeView> = nodes
        .iter()
        .map(|(spec, handle)| api::NodeView {
            id: spec.id.clone(),
            name: spec.name.clone(),
            port: spec.port,
            pairing: handle.pairing(),
            admin: Some(handle.admin()),
            scope: spec.scope.clone(),
            interfaces: spec.interfaces.clone(),
            bridged: spec.bridged,
        })
        .collect();

    let api_state = ApiState {
        registry: registry.clone(),
        pairing: matter.pairing(),
        admin: Some(matter.admin()),
        shutdown: stop.clone(),
        connectors,
        guard: Arc::new(Guard::new(&config.api, tokens)),
        limits: Limits::new(&config.api),
        certificates,
        nodes: Arc::new(views),
    };
    let mut api_task = tokio::spawn(api::serve(listener, api_state));
    for (spec, handle) in &nodes {
        tokio::spawn(matter::controllers::watch(
            registry.clone(),
            spec.scope.clone(),
            handle.pairing(),
            stop.clone(),
        ));
    }

    tracing::info!(
        bridge = %config.bridge.name,
        devices = registry.list().len(),
        api = %config.api.listen,
        "hubbridge running"
    );
    println!(
        "hubbridge ready: API on {}://{}",
        if config.api.tls() { "https" } else { "http" },
        config.api.listen
    );
    crate::notify::ready(matter.pairing());
    crate::memory::release_startup_garbage();

    let mut failure = None;
    tokio::select! {
        () = shutdown => tracing::info!("shutting down"),
        result = &mut api_task => {
            failure = Some(match result {
                Ok(Ok(())) => anyhow::anyhow!("the local API stopped unexpectedly"),
                Ok(Err(e)) => anyhow::Error::new(e).context("the local API failed"),
                Err(e) => anyhow::Error::new(e).context("the local API task failed"),
            });
        }
    }

    crate::notify::notify("STOPPING=1");
    // Inputs first: no new API requests or source updates while Matter goes down.
    stop.cancel();
    if failure.is_none()
        && tokio::time::timeout(STOP_GRACE, &mut api_task)
            .await
            .is_err()
    {
        tracing::warn!("the local API did not stop in time; abandoning open requests");
        api_task.abort();
    }
    let drained = tokio::time::timeout(STOP_GRACE, async {
        while sources.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::warn!("a source did not stop in time; aborting it");
        sources.abort_all();
    }
    let drained = tokio::time::timeout(STOP_GRACE, async {
        while clouds.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::warn!("a cloud connector did not stop in time; aborting it");
        clouds.abort_all();
    }

    // Every node, even when one fails to stop cleanly; the first failure is reported.
    let mut stopped = Ok(());
    for (spec, handle) in nodes {
        let result = tokio::task::spawn_blocking(move || handle.shutdown())
            .await
            .context("stopping a Matter node")
            .and_then(|r| r)
            .with_context(|| format!("stopping Matter node `{}`", spec.id));
        if stopped.is_ok() {
            stopped = result;
        }
    }
    stopped?;
    // Last: everything changed until now is on disk before the process exits.
    let flushing = registry.clone();
    let _ = tokio::task::spawn_blocking(move || flushing.flush()).await;
    tracing::info!("stopped");

    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "signal received"),
        () = term => tracing::info!(signal = "SIGTERM", "signal received"),
    }
}

/// Creates the storage directory 0700 if missing, removes the temporary files interrupted writes left,
/// and restricts whatever in it others could read.
fn secure_storage(dir: &Path) -> Result<(), persist::PersistError> {
    persist::ensure_dir(dir)?;
    let removed = persist::remove_stale_temp_files(dir)?;
    if !removed.is_empty() {
        tracing::warn!(
            storage = %dir.display(),
            removed = removed.len(),
            "removed temporary files of writes a crash or power cut interrupted (the files they were \
             replacing keep their previous content)"
        );
    }
    let report = persist::check_storage_modes(dir)?;
    if !report.fixed.is_empty() {
        tracing::warn!(
            storage = %dir.display(),
            fixed = report.fixed.len(),
            "restricted storage files other users could read (directories 0700, files 0600)"
        );
    }
    Ok(())
}

/// A further node's pairing line: its manual code while it is not paired (its QR code is in the web
/// page and at `GET /api/nodes/{id}/pairing/qr.svg`).
fn print_node_pairing(spec: &crate::nodes::NodeSpec, status: &matter::PairingStatus) {
    if status.commissioned {
        println!(
            "Node `{}` ({}, port {}): paired with {} fabric(s).",
            spec.id, spec.name, spec.port, status.fabrics
        );
    } else {
        println!(
            "Node `{}` ({}, port {}): not paired; its pairing code is {}",
            spec.id, spec.name, spec.port, status.manual_code
        );
    }
}

/// Print what a user needs to pair the bridge — the codes and the QR code drawn in the terminal — but
/// only while it is not paired: once it is, the setup code only helps someone who should not pair, and
/// the log may be kept or shipped. `hubbridge pairing` shows it on request.
fn print_pairing(status: &matter::PairingStatus) {
    if status.commissioned {
        println!(
            "Paired with {} fabric(s); `hubbridge pairing` shows the pairing code.",
            status.fabrics
        );
        return;
    }
    let mut out = String::new();
    out.push_str(&status.render());
    for line in matter::render_qr(&status.qr_payload) {
        out.push_str(&line);
        out.push('\n');
    }
    println!("{out}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(storage: &std::path::Path) -> Config {
        let mut config = Config::demo();
        config.bridge.storage_dir = storage.to_owned();
        config
    }

    #[tokio::test]
    async fn busy_api_port_fails_cleanly_before_matter_starts() {
        let dir = tempfile::tempdir().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut config = config(dir.path());
        config.api.listen = taken.local_addr().unwrap();
        let e = run_until(config, std::future::pending()).await.unwrap_err();
        let message = format!("{e:#}");
        assert!(
            message.contains("cannot listen on") && message.contains("api.listen"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn corrupt_identity_map_stops_startup_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("identity.json"), "{\"format\": 1, \"next_").unwrap();
        let e = run_until(config(dir.path()), std::future::pending())
            .await
            .unwrap_err();
        let message = format!("{e:#}");
        assert!(
            message.contains("identity.json") && message.contains("corrupt"),
            "{message}"
        );
        // Never silently reset.
        let kept = std::fs::read_to_string(dir.path().join("identity.json")).unwrap();
        assert_eq!(kept, "{\"format\": 1, \"next_");
    }
}
