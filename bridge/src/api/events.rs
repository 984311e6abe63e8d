//! `GET /api/events`: registry changes as Server-Sent Events, one event per change.
//!
//! The event name is the change's `type` (`state`, `added`, `removed`, `reachable`, `label`, `renamed`,
//! `event` — a device event such as a button press, `{"type":"event","device","endpoint","kind","event":{"press":"double"},"origin"}`) and the data
//! its JSON. A client that falls more than the channel's capacity behind gets a `resync` event
//! (`{"missed": n}`) and should re-read `GET /api/devices`. Streams end when the daemon shuts down.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_lite::Stream;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::ApiState;
use crate::registry::Change;

pub async fn stream(
    State(state): State<ApiState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = state.registry.subscribe();
    let events = futures_lite::stream::unfold(
        (changes, state.shutdown),
        |(mut changes, shutdown)| async move {
            let event = tokio::select! {
                _ = shutdown.cancelled() => return None,
                received = changes.recv() => match received {
                    Ok(change) => to_event(&change),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "event stream client lagged; told to resync");
                        Event::default().event("resync").data(json!({ "missed": missed }).to_string())
                    }
                    Err(RecvError::Closed) => return None,
                },
            };
            Some((Ok(event), (changes, shutdown)))
        },
    );
    Sse::new(events).keep_alive(KeepAlive::default())
}

fn to_event(change: &Change) -> Event {
    let name = match change {
        Change::State { .. } => "state",
        Change::Added(_) => "added",
        Change::Removed { .. } => "removed",
        Change::Reachable { .. } => "reachable",
        Change::Label { .. } => "label",
        Change::Renamed { .. } => "renamed",
        Change::Event { .. } => "event",
    };
    let data = serde_json::to_string(change)
        .unwrap_or_else(|e| json!({ "error": e.to_string() }).to_string());
    let event = Event::default().event(name).data(data);
    match change {
        Change::State { version, .. } => event.id(version.to_string()),
        _ => event,
    }
}
