//! API errors as `{"error": "..."}` with a fitting status, and the JSON body extractors that turn bad
//! JSON into a clear 400 naming the field (or 415 without a JSON content type, 413 when too large).
//!
//! Bodies are parsed strictly: the top level must be a JSON object (serde would read a struct from an
//! array: `[false]` as `{"reachable": false}`), and `null` is refused everywhere, naming the field —
//! no body of this API gives `null` a meaning; leave a field out instead.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use device_types::{DeviceEvent, State};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::identity::IdentityError;
use crate::registry::RegistryError;

/// An error answer: a status and a message naming what was wrong.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn not_found(message: String) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), error = %self.message, "API request failed");
        }
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let status = match &e {
            RegistryError::UnknownDevice(_) => StatusCode::NOT_FOUND,
            RegistryError::Invalid { .. }
            | RegistryError::InvalidSpec(_)
            | RegistryError::LabelTooLong { .. } => StatusCode::BAD_REQUEST,
            RegistryError::DuplicateId(_)
            | RegistryError::DefinedInConfig(_)
            | RegistryError::Identity(IdentityError::EndpointsExhausted { .. }) => {
                StatusCode::CONFLICT
            }
            RegistryError::Identity(_) | RegistryError::Persist(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            RegistryError::NotOwned { .. } | RegistryError::PartOfDevice { .. } => {
                StatusCode::CONFLICT
            }
            RegistryError::SourceDown { .. }
            | RegistryError::SourceBusy { .. }
            | RegistryError::Refused { .. } => StatusCode::SERVICE_UNAVAILABLE,
            RegistryError::NotAccepted { .. } => StatusCode::GATEWAY_TIMEOUT,
        };
        ApiError::new(status, e.to_string())
    }
}

/// A JSON request body. Unlike `axum::Json`, every rejection is an [`ApiError`] whose message says what
/// is wrong and where (`at `state.brightness`: invalid type ...`).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        parse(&bytes).map(JsonBody)
    }
}

/// A state patch body, parsed by `device-types` so that every error names the field and the value
/// (``invalid value 300 for field `brightness`: must be 1..=254``).
#[derive(Debug)]
pub struct StateBody(pub State);

impl<S: Send + Sync> FromRequest<S> for StateBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        parse_state(&bytes).map(StateBody)
    }
}

/// A device event body (`{"press": "double"}`), parsed by `device-types` so that every error names
/// the field and the value.
#[derive(Debug)]
pub struct EventBody(pub DeviceEvent);

impl<S: Send + Sync> FromRequest<S> for EventBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| bad("invalid JSON body: not UTF-8".to_owned()))?;
        if text.trim().is_empty() {
            return Err(bad("invalid JSON body: the body is empty".to_owned()));
        }
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text) {
            reject_nulls(&map, "").map_err(|e| bad(format!("invalid event: {e}")))?;
        }
        DeviceEvent::from_json(text)
            .map(EventBody)
            .map_err(|e| bad(format!("invalid event: {e}")))
    }
}

/// Parses a state patch body: a JSON object of state fields, no `null`, each field checked by
/// `device-types` (the error names the field and the value).
pub fn parse_state(bytes: &[u8]) -> Result<State, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
    let text =
        std::str::from_utf8(bytes).map_err(|_| bad("invalid JSON body: not UTF-8".to_owned()))?;
    if text.trim().is_empty() {
        return Err(bad("invalid JSON body: the body is empty".to_owned()));
    }
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        // device-types words the syntax error (and names it "not valid JSON").
        Err(_) => return State::from_json(text).map_err(|e| bad(format!("invalid state: {e}"))),
    };
    let serde_json::Value::Object(map) = value else {
        return Err(bad(format!(
            "invalid state: the body must be a JSON object of state fields, not {}",
            kind_of(&value)
        )));
    };
    reject_nulls(&map, "").map_err(|e| bad(format!("invalid state: {e}")))?;
    State::from_json_object(&map).map_err(|e| bad(format!("invalid state: {e}")))
}

/// The JSON type of a value, for error messages.
fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Refuses `null` anywhere in an object, naming the field's path (`state.brightness`).
pub fn reject_nulls(
    map: &serde_json::Map<String, serde_json::Value>,
    prefix: &str,
) -> Result<(), String> {
    for (key, value) in map {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            serde_json::Value::Null => {
                return Err(format!(
                    "field `{path}`: null is not accepted (leave the field out instead)"
                ))
            }
            serde_json::Value::Object(inner) => reject_nulls(inner, &path)?,
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if item.is_null() {
                        return Err(format!("field `{path}[{i}]`: null is not accepted"));
                    }
                    if let serde_json::Value::Object(inner) = item {
                        reject_nulls(inner, &format!("{path}[{i}]"))?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The raw body of a request that declares JSON; 415 if it does not, 413 if it is too large.
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    if !is_json(req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected a JSON body with `Content-Type: application/json`",
        ));
    }
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                e.status(),
                "request body too large (more than api.max_body_bytes)",
            )
        } else {
            ApiError::new(e.status(), e.body_text())
        }
    })
}

/// Parses a JSON body; the error message names the path of the offending field, if any.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("invalid JSON body: the body is empty".to_owned()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid JSON body: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(bad(format!(
            "invalid JSON body: expected a JSON object, not {}",
            kind_of(&value)
        )));
    };
    reject_nulls(&map, "").map_err(|e| bad(format!("invalid JSON body: {e}")))?;
    serde_path_to_error::deserialize(serde_json::Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        if path.is_empty() || path == "." {
            bad(format!("invalid JSON body: {}", e.inner()))
        } else {
            bad(format!("invalid JSON body: at `{path}`: {}", e.inner()))
        }
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}
