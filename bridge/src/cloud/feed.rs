//! Registry changes → one connector's outbox. Batches whatever is waiting into one commit (group
//! commit: one fsync for many records under load). If it falls behind the broadcast, the lost events
//! are counted as drops and every device's current state is queued again (state is never lost).

use connectors::{Entry, EventBody, Outbox};
use device_types::DeviceEvent;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio_util::sync::CancellationToken;

use super::view;
use crate::registry::{Change, Registry};

/// Most changes in one commit.
const MAX_BATCH: usize = 4096;

/// `rx` must be subscribed before `start` returns, so no change made after it is missed.
pub async fn run(
    name: String,
    registry: Registry,
    mut rx: broadcast::Receiver<Change>,
    outbox: Outbox,
    stop: CancellationToken,
) {
    loop {
        let mut batch = Vec::new();
        let first = tokio::select! {
            () = stop.cancelled() => None,
            r = rx.recv() => Some(r),
        };
        let mut lagged = 0;
        let stopping = first.is_none();
        match first {
            None => {}
            Some(Ok(change)) => entries(&change, &mut batch),
            Some(Err(RecvError::Lagged(n))) => lagged += n,
            Some(Err(RecvError::Closed)) => return,
        }
        // Everything already waiting goes into the same commit.
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(change) => entries(&change, &mut batch),
                Err(TryRecvError::Lagged(n)) => lagged += n,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if lagged > 0 {
            tracing::warn!(connector = %name, lost = lagged, "connector feed fell behind the registry; queueing every device's state again");
            outbox.count_lost(lagged);
            for d in registry.list() {
                batch.push(Entry::State {
                    device: d.id.clone(),
                    state: d.state.clone(),
                    version: d.version,
                    origin: "local".to_owned(),
                });
            }
        }
        if !batch.is_empty() {
            let n = batch.len();
            if let Err(e) = outbox.push(batch).await {
                // The disk is failing: nothing better to do than say so loudly and go on.
                tracing::error!(connector = %name, error = %e, records = n, "cannot write to the outbox; records lost");
                outbox.count_lost(n as u64);
            }
        }
        if stopping {
            return;
        }
    }
}

fn entries(change: &Change, out: &mut Vec<Entry>) {
    match change {
        Change::State {
            device,
            new,
            version,
            origin,
            ..
        } => out.push(Entry::State {
            device: device.clone(),
            state: new.clone(),
            version: *version,
            origin: origin.to_string(),
        }),
        Change::Added(d) => {
            out.push(Entry::Event {
                device: d.id.clone(),
                body: EventBody::DeviceAdded {
                    info: view::info(d),
                },
            });
            out.push(Entry::State {
                device: d.id.clone(),
                state: d.state.clone(),
                version: d.version,
                origin: "api".to_owned(),
            });
        }
        Change::Removed { device, .. } => out.push(Entry::Event {
            device: device.clone(),
            body: EventBody::DeviceRemoved,
        }),
        Change::Reachable {
            device, reachable, ..
        } => out.push(Entry::Event {
            device: device.clone(),
            body: EventBody::Availability {
                reachable: *reachable,
            },
        }),
        // The connectors' device info is refreshed from the registry view on reconnect.
        Change::Renamed { .. } => {}
        Change::Label { device, label, .. } => out.push(Entry::Event {
            device: device.clone(),
            body: EventBody::Label {
                label: label.clone(),
            },
        }),
        // Device events go on the ordered event log, never into the coalesced state.
        Change::Event { device, event, .. } => match event {
            DeviceEvent::Press { press, button } => out.push(Entry::Event {
                device: device.clone(),
                body: EventBody::Press {
                    press: *press,
                    button: button.clone(),
                },
            }),
        },
    }
}
