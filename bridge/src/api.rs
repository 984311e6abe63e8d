//! The local HTTP API (axum): JSON in and out, errors as `{"error": "..."}`, change events as Server-Sent Events.
//!
//! Routes:
//! - `GET /api/health`, `GET /api/pairing`, `GET /api/connectors` (health and outbox of each connector), `GET /api/events` (SSE stream of registry changes)
//! - `GET|POST /api/devices`, `GET|DELETE /api/devices/{id}`
//! - `GET|PATCH|PUT /api/devices/{id}/state`, `PUT /api/devices/{id}/reachable`
//!
//! Request bodies must be sent as `Content-Type: application/json` (a browser page cannot send that
//! cross-origin without a preflight, which this API never grants).

mod devices;
mod error;
mod events;
#[cfg(test)]
mod tests;

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use error::{ApiError, JsonBody, StateBody};

use crate::cloud::ConnectorsStatus;
use crate::matter::PairingStatus;
use crate::registry::Registry;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub registry: Registry,
    pub pairing: watch::Receiver<PairingStatus>,
    /// Cancelled at shutdown: ends the server and every open event stream.
    pub shutdown: CancellationToken,
    /// Health and outbox figures of every cloud connector.
    pub connectors: ConnectorsStatus,
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
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
        .fallback(|| async { ApiError::not_found("no such route".to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
}

/// Serves the API on `listener` until `state.shutdown` is cancelled, then drains open requests.
pub async fn serve(listener: TcpListener, state: ApiState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "local API listening");
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn health(State(state): State<ApiState>) -> Json<serde_json::Value> {
    let commissioned = state.pairing.borrow().commissioned;
    Json(json!({
        "status": "ok",
        "devices": state.registry.list().len(),
        "version": state.registry.version(),
        "commissioned": commissioned,
        "connectors": state.connectors.report().iter().map(|c| json!({
            "name": c.name,
            "type": c.kind,
            "connected": c.health.connected,
            "last_error": c.health.last_error,
            "outbox_depth": c.outbox.depth,
            "oldest_age_ms": c.outbox.oldest_age_ms,
            "dropped_events": c.outbox.dropped_events,
        })).collect::<Vec<_>>(),
    }))
}

async fn connectors(State(state): State<ApiState>) -> Json<serde_json::Value> {
    Json(json!({ "connectors": state.connectors.report() }))
}

async fn pairing(State(state): State<ApiState>) -> Json<PairingStatus> {
    Json(state.pairing.borrow().clone())
}
