//! The fabric and pairing-window routes: `GET /api/fabrics`, `DELETE /api/fabrics/{index}`,
//! `GET|POST /api/pairing/window`, `GET /api/pairing/qr.svg`.
//!
//! Each handler asks the Matter thread through [`crate::matter::MatterAdmin`] and encodes its answer.
//! The window and the QR image carry the setup code, so (like `GET /api/pairing`) they need the admin
//! token; the fabric list does not.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiState, JsonBody};
use crate::matter::{AdminError, MatterAdmin};

type ApiResult<T> = Result<T, ApiError>;

/// How long `POST /api/pairing/window` opens the window for unless told (the spec's maximum).
pub const DEFAULT_WINDOW_SECS: u64 = 900;

/// Body of `POST /api/pairing/window` (every field optional: `{}`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    /// Seconds the window stays open (180..=900).
    pub timeout_secs: Option<u64>,
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let status = match &e {
            AdminError::NoSuchFabric(_) => StatusCode::NOT_FOUND,
            AdminError::BadTimeout(_) => StatusCode::BAD_REQUEST,
            AdminError::Unavailable | AdminError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Matter(_) => StatusCode::CONFLICT,
        };
        ApiError::new(status, e.to_string())
    }
}

fn admin(admin: Option<&MatterAdmin>) -> ApiResult<&MatterAdmin> {
    admin.ok_or_else(|| AdminError::Unavailable.into())
}

pub async fn list(State(state): State<ApiState>) -> ApiResult<Json<serde_json::Value>> {
    list_of(state.admin.as_ref()).await
}

pub(super) async fn list_of(a: Option<&MatterAdmin>) -> ApiResult<Json<serde_json::Value>> {
    let fabrics = admin(a)?.fabrics().await?;
    Ok(Json(json!({ "fabrics": fabrics })))
}

pub async fn remove(
    State(state): State<ApiState>,
    Path(index): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    remove_from(state.admin.as_ref(), &index).await
}

pub(super) async fn remove_from(
    a: Option<&MatterAdmin>,
    index: &str,
) -> ApiResult<Json<serde_json::Value>> {
    let index: u8 = index.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("fabric index {index:?}: must be a number 1..=254"),
        )
    })?;
    let removed = admin(a)?.remove(index).await?;
    Ok(Json(json!({ "removed": removed })))
}

pub async fn window(State(state): State<ApiState>) -> ApiResult<Json<serde_json::Value>> {
    window_of(state.admin.as_ref()).await
}

pub(super) async fn window_of(a: Option<&MatterAdmin>) -> ApiResult<Json<serde_json::Value>> {
    let window = admin(a)?.window().await?;
    Ok(Json(json!(window)))
}

pub async fn open_window(
    State(state): State<ApiState>,
    JsonBody(body): JsonBody<WindowBody>,
) -> ApiResult<Json<serde_json::Value>> {
    open_window_of(state.admin.as_ref(), body).await
}

pub(super) async fn open_window_of(
    a: Option<&MatterAdmin>,
    body: WindowBody,
) -> ApiResult<Json<serde_json::Value>> {
    let secs = body.timeout_secs.unwrap_or(DEFAULT_WINDOW_SECS);
    let window = admin(a)?.open_window(secs).await?;
    Ok(Json(json!(window)))
}

/// The pairing QR code as an SVG image.
pub async fn qr_svg(State(state): State<ApiState>) -> ApiResult<Response> {
    qr_svg_of(&state.pairing)
}

pub(super) fn qr_svg_of(
    pairing: &tokio::sync::watch::Receiver<crate::matter::PairingStatus>,
) -> ApiResult<Response> {
    let payload = pairing.borrow().qr_payload.clone();
    if payload.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the bridge has no pairing code yet",
        ));
    }
    let svg = crate::matter::qr_svg(&payload)
        .ok_or_else(|| ApiError::internal("the QR payload cannot be drawn as a QR code"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}
