//! The local HTTP API (axum): JSON in and out, errors as `{"error": "..."}`, change events as Server-Sent Events.
//!
//! Every route but `GET /healthz` needs `Authorization: Bearer <token>` (see [`guard`] for the order of
//! the checks: Host header, rate limit, token and its scope); bodies are capped at `api.max_body_bytes`.
//! No CORS headers are ever sent.
//!
//! Routes:
//! - `GET /healthz` (unauthenticated, answers `ok`)
//! - `GET /api/health`, `GET /api/pairing`, `GET /api/connectors` (health and outbox of each connector), `GET /api/events` (SSE stream of registry changes)
//! - `GET|POST /api/devices`, `GET|DELETE /api/devices/{id}`
//! - `GET|PATCH|PUT /api/devices/{id}/state`, `PUT /api/devices/{id}/reachable`
//! - `POST /api/devices/{id}/events` (a device event such as `{"press":"double"}`, 202)
//! - `GET /api/fabrics`, `DELETE /api/fabrics/{index}`; `GET|POST /api/pairing/window`, `GET /api/pairing/qr.svg`
//!   (the main node's)
//! - `GET /api/nodes`; per node `GET /api/nodes/{id}/pairing`, `GET|POST …/pairing/window`,
//!   `GET …/pairing/qr.svg`, `GET …/fabrics`, `DELETE …/fabrics/{index}` (see [`nodes`])
//! - `GET /`, `/app.js`, `/app.css`: the web page's static shell (no token; see [`web`])
//! - `GET /metrics` (Prometheus text format, see [`crate::metrics`]; a read-only token will do)
//!
//! Request bodies must be sent as `Content-Type: application/json` (a browser page cannot send that
//! cross-origin without a preflight, which this API never grants).

mod devices;
mod error;
mod events;
mod fabrics;
pub mod guard;
mod listener;
#[cfg(test)]
mod metrics_tests;
mod nodes;
#[cfg(test)]
mod parts_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;
pub mod tokens;
mod web;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use error::{ApiError, EventBody, JsonBody, StateBody};
pub use guard::{ClientAddr, Guard};
pub use listener::{server_config, ApiListener, TlsSetupError};
pub use nodes::NodeView;

use crate::cloud::ConnectorsStatus;
use crate::matter::{MatterAdmin, PairingStatus};
use crate::registry::Registry;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub registry: Registry,
    pub pairing: watch::Receiver<PairingStatus>,
    /// Fabric management on the Matter thread (`None` without a Matter node: 503).
    pub admin: Option<MatterAdmin>,
    /// Cancelled at shutdown: ends the server and every open event stream.
    pub shutdown: CancellationToken,
    /// Health and outbox figures of every cloud connector.
    pub connectors: ConnectorsStatus,
    /// Host, rate and token checks.
    pub guard: Arc<Guard>,
    /// Limits on what requests may do.
    pub limits: Limits,
    /// Expiry of the configured certificates (health and metrics).
    pub certificates: crate::certs::Certificates,
    /// Every Matter node, main first (`pairing` and `admin` above are the main node's).
    pub nodes: Arc<Vec<NodeView>>,
}

/// Limits on requests, from `[api]`.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Most devices that may exist through the API at once.
    pub max_devices: usize,
    /// Held while a device is added, so two adds cannot both pass the cap.
    pub adding: Arc<tokio::sync::Mutex<()>>,
}

impl Limits {
    pub fn new(config: &crate::config::ApiConfig) -> Self {
        Limits {
            max_body_bytes: config.max_body_bytes,
            max_devices: config.max_devices,
            adding: Arc::default(),
        }
    }
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    let checks = state.guard.clone();
    let max_body = state.limits.max_body_bytes;
    Router::new()
        .route(guard::HEALTH_PROBE, get(|| async { "ok" }))
        .route("/api/health", get(health))
        .route("/api/pairing", get(pairing))
        .route("/api/connectors", get(connectors))
        .route("/api/events", get(events::stream))
        .route("/api/devices", get(devices::list).post(devices::add))
        .route(
            "/api/devices/{id}",
            get(devices::get).delete(devices::remove),
        )
        .route(
            "/api/devices/{id}/state",
            get(devices::state)
                .patch(devices::apply)
                .put(devices::apply),
        )
        .route("/api/devices/{id}/reachable", put(devices::reachable))
        .route("/api/devices/{id}/events", post(devices::event))
        .route("/api/fabrics", get(fabrics::list))
        .route(
            "/api/fabrics/{index}",
            axum::routing::delete(fabrics::remove),
        )
        .route(
            "/api/pairing/window",
            get(fabrics::window).post(fabrics::open_window),
        )
        .route("/api/pairing/qr.svg", get(fabrics::qr_svg))
        .route("/api/nodes", get(nodes::list))
        .route("/api/nodes/{id}/pairing", get(nodes::pairing))
        .route(
            "/api/nodes/{id}/pairing/window",
            get(nodes::window).post(nodes::open_window),
        )
        .route("/api/nodes/{id}/pairing/qr.svg", get(nodes::qr_svg))
        .route("/api/nodes/{id}/fabrics", get(nodes::fabrics))
        .route(
            "/api/nodes/{id}/fabrics/{index}",
            axum::routing::delete(nodes::remove_fabric),
        )
        .merge(web::routes())
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::not_found("no such route".to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(checks, guard::check))
        .layer(DefaultBodyLimit::max(max_body))
}

/// Serves the API on `listener` until `state.shutdown` is cancelled, then drains open requests.
pub async fn serve(listener: ApiListener, state: ApiState) -> std::io::Result<()> {
    use axum::serve::Listener as _;
    let shutdown = state.shutdown.clone();
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "local API listening");
    }
    let app = router(state).into_make_service_with_connect_info::<ClientAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn health(State(state): State<ApiState>) -> Json<serde_json::Value> {
    let commissioned = state.pairing.borrow().commissioned;
    let nodes: Vec<serde_json::Value> = state
        .nodes
        .iter()
        .map(|n| n.summary(&state.registry))
        .collect();
    // A paired controller known to handle fewer bridged devices than its node serves, on any node
    // (each warning names its node).
    let warnings: Vec<serde_json::Value> = if state.nodes.is_empty() {
        let paired = state.pairing.borrow().controllers.clone();
        let bridged = state.registry.top_level_count();
        crate::matter::controllers::limit_warnings(&paired, bridged)
            .into_iter()
            .map(|w| json!(w))
            .collect()
    } else {
        nodes
            .iter()
            .flat_map(|n| {
                let id = n["id"].clone();
                n["warnings"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |mut w| {
                        w["node"] = id.clone();
                        w
                    })
            })
            .collect()
    };
    Json(json!({
        "status": "ok",
        "warnings": warnings,
        "nodes": nodes.iter().map(|n| json!({
            "id": n["id"], "commissioned": n["commissioned"], "devices": n["devices"],
        })).collect::<Vec<_>>(),
        "devices": state.registry.list().len(),
        "version": state.registry.version(),
        "commissioned": commissioned,
        // The persistence writer: "disk_full" and "last_error" say plainly when state cannot be saved.
        "storage": state.registry.writer().health(),
        "connectors": state.connectors.report().iter().map(|c| json!({
            "name": c.name,
            "type": c.kind,
            "connected": c.health.connected,
            "last_error": c.health.last_error,
            "outbox_depth": c.outbox.depth,
            "oldest_age_ms": c.outbox.oldest_age_ms,
            "dropped_events": c.outbox.dropped_events,
            // The outbox's disk: "disk full: ..." / "I/O error: ..." while it refuses writes.
            "outbox_disk_full": c.outbox.disk_full,
            "outbox_error": c.outbox.storage_error,
            "outbox_memory_only": c.outbox.memory_only,
        })).collect::<Vec<_>>(),
        // Every configured certificate: path, subject, used_by, not_after, days_left, status.
        "certificates": state.certificates.report(),
    }))
}

/// One Prometheus scrape.
async fn metrics(State(state): State<ApiState>) -> impl axum::response::IntoResponse {
    let metrics = crate::metrics::Metrics::new(
        state.registry,
        state.connectors,
        state.certificates,
        state
            .nodes
            .iter()
            .map(|n| (n.id.clone(), n.pairing.clone()))
            .collect(),
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        metrics.render(),
    )
}

async fn connectors(State(state): State<ApiState>) -> Json<serde_json::Value> {
    Json(json!({ "connectors": state.connectors.report() }))
}

async fn pairing(State(state): State<ApiState>) -> Json<PairingStatus> {
    Json(state.pairing.borrow().clone())
}
