//! Registry changes → one connector's outbox. Batches whatever is waiting into one commit (group
//! commit: one fsync for many records under load). If it falls behind the broadcast, the lost events
//! are counted as drops and every device's current state is queued again (state is never lost).
//! While the outbox's disk refuses writes it asks the outbox to recover about once a second; when it
//! has, every device's current state is queued again too.

use connectors::{Entry, EventBody, Outbox};
use device_types::DeviceEvent;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio_util::sync::CancellationToken;

use super::view;
use crate::registry::{Change, Registry};

/// Most changes in one commit.
const MAX_BATCH: usize = 4096;

/// While the outbox's disk refuses writes: how often it is asked to try again.
const RECOVER_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

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
        let faulty = outbox.stats().storage_error.is_some();
        let first = tokio::select! {
            () = stop.cancelled() => None,
            r = rx.recv() => Some(Some(r)),
            () = tokio::time::sleep(RECOVER_EVERY), if faulty => Some(None),
        };
        let mut lagged = 0;
        let stopping = first.is_none();
        match first {
            None | Some(None) => {}
            Some(Some(Ok(change))) => entries(&change, &mut batch),
            Some(Some(Err(RecvError::Lagged(n)))) => lagged += n,
            Some(Some(Err(RecvError::Closed))) => return,
        }
        if faulty && outbox.recover().await {
            tracing::info!(connector = %name, "outbox writable again");
        }
        // Everything already waiting goes into the same commit.
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(change) => entries(&change, &mut batch),
                Err(TryRecvError::Lagged(n)) => lagged += n,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let resync = outbox.take_resync();
        if lagged > 0 {
            tracing::warn!(connector = %name, lost = lagged, "connector feed fell behind the registry; queueing every device's state again");
            outbox.count_lost(lagged);
        }
        if lagged > 0 || resync {
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
            match outbox.push(batch).await {
                Ok(p) if !p.durable => {
                    tracing::debug!(connector = %name, records = n, "outbox disk refuses writes; batch held in memory");
                }
                Ok(_) => {}
                Err(e) => {
                    // Only a failed blocking task gets here (the outbox holds what the disk refuses).
                    tracing::error!(connector = %name, error = %e, records = n, "cannot write to the outbox; records lost");
                    outbox.count_lost(n as u64);
                }
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
            state: device_types::State::clone(new),
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
