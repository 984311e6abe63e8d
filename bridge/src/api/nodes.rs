//! The Matter nodes of this process (`[bridge]` as `main`, then each `[[nodes]]` entry):
//! - `GET /api/nodes`: every node with its port, device count, pairing state (no codes) and the
//!   controller-limit warnings that apply to it;
//! - `GET /api/nodes/{id}/pairing` (codes, admin token), `GET|POST /api/nodes/{id}/pairing/window`,
//!   `GET /api/nodes/{id}/pairing/qr.svg`;
//! - `GET /api/nodes/{id}/fabrics`, `DELETE /api/nodes/{id}/fabrics/{index}`.
//!
//! The `/api/pairing…` and `/api/fabrics…` routes are the main node's.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde_json::json;
use tokio::sync::watch;

use super::fabrics::{self, WindowBody};
use super::{ApiError, ApiState, JsonBody};
use crate::matter::{MatterAdmin, PairingStatus};

type ApiResult<T> = Result<T, ApiError>;

/// One running Matter node, as the API reaches it.
#[derive(Clone)]
pub struct NodeView {
    pub id: String,
    pub name: String,
    pub port: u16,
    pub pairing: watch::Receiver<PairingStatus>,
    pub admin: Option<MatterAdmin>,
    pub scope: crate::nodes::Scope,
    /// Interfaces it is advertised on (empty: every non-loopback interface with IPv6).
    pub interfaces: Vec<String>,
    /// A bridge, or one device served as a node of its own.
    pub bridged: bool,
}

impl NodeView {
    /// Its entry in `GET /api/nodes` (and `/api/health`).
    pub fn summary(&self, registry: &crate::registry::Registry) -> serde_json::Value {
        let p = self.pairing.borrow().clone();
        let devices = self.scope.count(registry);
        json!({
            "id": self.id,
            "name": self.name,
            "port": self.port,
            "interfaces": self.interfaces,
            "bridged": self.bridged,
            "devices": devices,
            "commissioned": p.commissioned,
            "fabrics": p.fabrics,
            "commissioning_window_open": p.commissioning_window_open,
            "controllers": p.controllers,
            "warnings": crate::matter::controllers::limit_warnings(&p.controllers, devices),
        })
    }
}

fn node<'a>(state: &'a ApiState, id: &str) -> ApiResult<&'a NodeView> {
    state.nodes.iter().find(|n| n.id == id).ok_or_else(|| {
        let known: Vec<&str> = state.nodes.iter().map(|n| n.id.as_str()).collect();
        ApiError::not_found(format!(
            "no Matter node {id:?} (nodes: {})",
            known.join(", ")
        ))
    })
}

pub async fn list(State(state): State<ApiState>) -> Json<serde_json::Value> {
    let nodes: Vec<_> = state
        .nodes
        .iter()
        .map(|n| n.summary(&state.registry))
        .collect();
    Json(json!({ "nodes": nodes }))
}

pub async fn pairing(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<PairingStatus>> {
    Ok(Json(node(&state, &id)?.pairing.borrow().clone()))
}

pub async fn window(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    fabrics::window_of(node(&state, &id)?.admin.as_ref()).await
}

pub async fn open_window(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WindowBody>,
) -> ApiResult<Json<serde_json::Value>> {
    fabrics::open_window_of(node(&state, &id)?.admin.as_ref(), body).await
}

pub async fn qr_svg(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    fabrics::qr_svg_of(&node(&state, &id)?.pairing)
}

pub async fn fabrics(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    fabrics::list_of(node(&state, &id)?.admin.as_ref()).await
}

pub async fn remove_fabric(
    State(state): State<ApiState>,
    Path((id, index)): Path<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    fabrics::remove_from(node(&state, &id)?.admin.as_ref(), &index).await
}
