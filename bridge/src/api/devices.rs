//! The `/api/devices` routes: list, get, add, remove, read and patch state, set reachability.
//!
//! Each handler parses its input, calls one registry method, and encodes the result (the Device as JSON).
//! Calls that write files (add, remove) run on the blocking pool.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use device_types::{DeviceKind, State as DeviceState};
use serde::Deserialize;

use super::{ApiError, ApiState, EventBody, JsonBody, StateBody};
use crate::config::DeviceConfig;
use crate::identity::MAX_ENDPOINT;
use crate::registry::{CommandOptions, Device, DeviceOrigin, Origin, Registry, RegistryError};

type ApiResult<T> = Result<T, ApiError>;

/// Body of `PUT /api/devices/{id}/reachable`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachableBody {
    pub reachable: bool,
}

fn found(registry: &Registry, id: &str) -> ApiResult<Device> {
    registry
        .get(id)
        .ok_or_else(|| RegistryError::UnknownDevice(id.to_owned()).into())
}

/// Runs a registry call that touches the disk off the async workers.
async fn blocking<T, F>(f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, RegistryError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("internal error: {e}")))?
        .map_err(ApiError::from)
}

pub async fn list(State(state): State<ApiState>) -> Json<Vec<Device>> {
    Json(state.registry.list())
}

pub async fn get(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<Device>> {
    found(&state.registry, &id).map(Json)
}

pub async fn state(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceState>> {
    found(&state.registry, &id).map(|d| Json(d.state))
}

/// `PATCH` (and `PUT`) `/api/devices/{id}/state`: a command for the device, validated and handed to its
/// source; answers once the source accepted it, with the device as the registry then has it (for the
/// virtual and API sources, which confirm at once, the new state; for a real device, its confirmed
/// state until it reports the change).
pub async fn apply(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    StateBody(patch): StateBody,
) -> ApiResult<Json<Device>> {
    let device = state
        .registry
        .command_and_wait(&id, &patch, CommandOptions::from(Origin::Api))
        .await?;
    Ok(Json(device))
}

/// Body of `POST /api/devices`: a [`DeviceConfig`] whose `state` is parsed by `device-types`, so
/// that a bad initial state names the field and the value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddDeviceBody {
    pub id: String,
    pub kind: DeviceKind,
    /// Other kinds and capabilities on the same endpoint (see `DeviceConfig::with`).
    #[serde(default)]
    pub with: device_types::With,
    pub name: String,
    #[serde(default)]
    pub room: Option<String>,
    #[serde(default)]
    pub state: Option<serde_json::Map<String, serde_json::Value>>,
    /// Functions on child endpoints (see `DeviceConfig::parts`).
    #[serde(default)]
    pub parts: Vec<AddPartBody>,
}

/// One entry of `parts` in `POST /api/devices` (a [`device_types::PartSpec`] whose `state` is
/// parsed field by field).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddPartBody {
    pub id: String,
    pub kind: DeviceKind,
    #[serde(default)]
    pub with: device_types::With,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tag: Option<device_types::Tag>,
    #[serde(default)]
    pub state: Option<serde_json::Map<String, serde_json::Value>>,
    /// Refused by validation (parts do not nest), kept so the error names it.
    #[serde(default)]
    pub parts: Option<serde_json::Value>,
}

fn parse_state(
    id: &str,
    state: &Option<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Option<DeviceState>> {
    match state {
        None => Ok(None),
        Some(map) => Ok(Some(DeviceState::from_json_object(map).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("device `{id}`: invalid initial state: {e}"),
            )
        })?)),
    }
}

impl AddDeviceBody {
    pub(super) fn into_spec(self) -> ApiResult<DeviceConfig> {
        let state = parse_state(&self.id, &self.state)?;
        let mut parts = Vec::with_capacity(self.parts.len());
        for p in self.parts {
            let part_id = device_types::parts::part_id(&self.id, &p.id);
            parts.push(device_types::PartSpec {
                state: parse_state(&part_id, &p.state)?,
                id: p.id,
                kind: p.kind,
                with: p.with,
                name: p.name,
                tag: p.tag,
                parts: p.parts.map(|_| device_types::parts::NestedParts),
            });
        }
        Ok(DeviceConfig {
            id: self.id,
            kind: self.kind,
            with: self.with,
            name: self.name,
            room: self.room,
            state,
            parts,
        })
    }
}

/// API adds stop while fewer endpoints than this remain unallocated: endpoints are never reused, so
/// an add/remove loop must not use up the ones config-file devices and sources still need.
pub const ENDPOINT_RESERVE: u32 = 4096;

/// Refuses an add that would pass `api.max_devices` or eat into the endpoint reserve.
fn check_capacity(registry: &Registry, max_devices: usize) -> ApiResult<()> {
    let api_devices = registry
        .list()
        .iter()
        .filter(|d| d.source == DeviceOrigin::Api)
        .count();
    if api_devices >= max_devices {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "{api_devices} devices were added through the API, the most api.max_devices = {max_devices} allows; remove one first or raise the limit"
            ),
        ));
    }
    let remaining = u32::from(MAX_ENDPOINT) + 1 - u32::from(registry.next_endpoint());
    if remaining < ENDPOINT_RESERVE {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "only {remaining} Matter endpoints are left (endpoints are never reused); the last {ENDPOINT_RESERVE} are kept for devices in the config file, so the API adds no more"
            ),
        ));
    }
    Ok(())
}

/// `POST /api/devices`: adds a device; 201 with the device and its `Location`.
pub async fn add(
    State(state): State<ApiState>,
    JsonBody(body): JsonBody<AddDeviceBody>,
) -> ApiResult<impl IntoResponse> {
    let spec = body.into_spec()?;
    let _adding = state.limits.adding.lock().await;
    check_capacity(&state.registry, state.limits.max_devices)?;
    let registry = state.registry.clone();
    let device = blocking(move || registry.add(spec, Origin::Api)).await?;
    let location = format!("/api/devices/{}", device.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(device),
    ))
}

/// `DELETE /api/devices/{id}`: removes an API-added device; answers the removed device.
pub async fn remove(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    let registry = state.registry.clone();
    blocking(move || registry.remove(&id, Origin::Api))
        .await
        .map(Json)
}

/// `POST /api/devices/{id}/events` with a device event (`{"press": "double"}`, optionally
/// `"button"`): validated against the device's kind and broadcast once (Matter Switch events,
/// connectors' event logs, `/api/events`). 202 with `{"device", "event"}`; events are not state.
pub async fn event(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    EventBody(event): EventBody,
) -> ApiResult<impl IntoResponse> {
    state.registry.emit_event(&id, event.clone(), Origin::Api)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "device": id, "event": event })),
    ))
}

/// `PUT /api/devices/{id}/reachable` with `{"reachable": bool}`; answers the updated device.
pub async fn reachable(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReachableBody>,
) -> ApiResult<Json<Device>> {
    state.registry.set_reachable(&id, body.reachable)?;
    found(&state.registry, &id).map(Json)
}
