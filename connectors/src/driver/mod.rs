//! The one delivery driver every connector runs (self-hosted MQTT, AWS IoT over MQTT or over its HTTPS data
//! plane, Azure IoT Hub): one loop, so replay, windowing, acknowledgement, dead letters, size limits and the
//! pacing of reconciliation are written once. It speaks through a [`Transport`]: the MQTT link, or AWS's
//! request/response data plane (`2xx` = acknowledged, see `aws_iot/https.rs`).
//!
//! # The loop ([`drive`])
//! 1. [`Protocol::start`]: subscriptions and anything the cloud needs first (discovery, `online`).
//! 2. Replay: read the outbox in `seq` order, only as many records as the in-flight window has room for;
//!    [`Protocol::record`] turns each into messages through the [`Cx`].
//! 3. Once the replay caught up: [`Protocol::reconcile`] (full state: shadow GETs, the twin GET, retained
//!    state). Its messages wait in the [`Cx`]'s backlog and leave only while the window has room, so 500
//!    devices never overflow the client's request queue; a long job (one read per device) is fed piece by
//!    piece through [`Protocol::more`] whenever the window is idle, so each answer's follow-up (the update
//!    after a shadow read) goes ahead of the next reads.
//! 4. Stream: new records as the outbox changes, messages from the cloud ([`Protocol::message`]), and the
//!    protocol's own notes ([`Protocol::note`]: answers of commands it handed to the bridge); with a
//!    `poll` interval (a transport that cannot push, AWS over HTTPS), [`Protocol::poll`] every interval.
//!
//! # Acknowledgement
//! A record is acknowledged (deleted from the outbox) only once every message it produced was
//! acknowledged by the cloud: each PUBACK, and each application-level answer the protocol waits for
//! ([`Cx::expect`] / [`Cx::done`]: a shadow update's `accepted`, a twin PATCH's `204`). A permanent
//! rejection (an MQTT 5 PUBACK reason, a shadow `rejected`, a 4xx) sends the record to the dead letters,
//! counted, with its reason. A lost connection ends the run; the next run replays everything not
//! acknowledged, in order.
//!
//! # Size limits
//! Every message is checked against the link's packet limit and the protocol's payload limit
//! ([`Limit`]) before it is handed to the client (rumqttc treats an oversized packet as a connection
//! error, so one such record would block the queue forever). A record that cannot be carried goes to the
//! dead letters with a reason naming the device, the size and the limit, and the queue behind it flows.
//!
//! # The window
//! At most `window` messages are in flight: handed to the client and not PUBACKed, or sent and still
//! waiting for an application answer ([`Cx::ask`] / [`Cx::answered`]), plus [`Protocol::pending`] (reads
//! made elsewhere, e.g. AWS `GetThingShadow` over HTTPS).

mod cx;
mod deliveries;
mod transport;

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

pub(crate) use cx::{Cx, Limit};
pub(crate) use transport::Transport;

use crate::connector::Session;
use crate::link::LinkEvent;
use crate::outbox::Stored;
use crate::Error;

/// What one cloud adds to the driver: its protocol rules.
pub(crate) trait Protocol: Send {
    /// Messages the protocol sends itself from tasks it spawned (answers of commands).
    type Note: Send + 'static;

    /// Subscriptions and the first messages of a connection.
    fn start(&mut self, cx: &mut Cx<'_>) -> Result<(), Error>;
    /// One outbox record (in `seq` order) into messages.
    fn record(&mut self, cx: &mut Cx<'_>, stored: Stored) -> Result<(), Error>;
    /// After the replay caught up: the full state reconciliation (or its start: see [`Protocol::more`]).
    fn reconcile(&mut self, cx: &mut Cx<'_>) -> Result<(), Error>;
    /// Called while the outbox is caught up and the window has room: send the next piece of a long job
    /// (one shadow read of hundreds), so its answers and follow-ups go ahead of the rest. `false`: nothing
    /// left.
    fn more(&mut self, _cx: &mut Cx<'_>) -> Result<bool, Error> {
        Ok(false)
    }
    /// A message on one of our subscriptions.
    fn message(
        &mut self,
        cx: &mut Cx<'_>,
        topic: &str,
        payload: &[u8],
        expiry_secs: Option<u32>,
    ) -> Result<(), Error>;
    /// A note from one of the protocol's tasks.
    fn note(&mut self, cx: &mut Cx<'_>, note: Self::Note) -> Result<(), Error>;
    /// Answers awaited outside the link that count against the window.
    fn pending(&self) -> usize {
        0
    }
    /// Every `poll` interval of [`Drive`] (a transport that cannot push desired state): read again.
    fn poll(&mut self, _cx: &mut Cx<'_>) -> Result<(), Error> {
        Ok(())
    }
    /// Stop: last words before DISCONNECT (sent at once, outside the window).
    fn stopping(&mut self, _cx: &mut Cx<'_>) {}
}

/// Why a run ended without an error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The bridge stops.
    Stop,
    /// The deadline passed (Azure: the SAS token is about to expire; reconnect with a fresh one).
    Deadline,
}

/// One connection's worth of driving.
pub(crate) struct Drive<'a> {
    pub session: &'a Session,
    pub name: &'a str,
    /// What the connector calls the other side in its logs (`the MQTT broker`, `AWS IoT`).
    pub peer: &'static str,
    pub link: Box<dyn Transport>,
    pub window: usize,
    /// The protocol's payload limit for messages (the link adds its packet limit).
    pub limit: Limit,
    pub deadline: Option<Instant>,
    /// Call [`Protocol::poll`] this often (`None`: never).
    pub poll: Option<Duration>,
}

/// Runs `p` over one connection until the link fails (`Err`), the bridge stops or the deadline passes.
pub(crate) async fn drive<P: Protocol>(
    p: &mut P,
    d: Drive<'_>,
    events: &mut mpsc::Receiver<LinkEvent>,
    notes: &mut mpsc::UnboundedReceiver<P::Note>,
) -> Result<End, Error> {
    let s = d.session;
    let mut cx = Cx::new(s, d.name, d.link, d.window, d.limit);
    let deadline = tokio::time::sleep_until(
        d.deadline
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365))
            .into(),
    );
    tokio::pin!(deadline);
    let poll_every = d.poll.unwrap_or(Duration::from_secs(86_400));
    let poll = tokio::time::sleep(poll_every);
    tokio::pin!(poll);
    p.start(&mut cx)?;
    let mut cursor = 0;
    let mut exhausted = false;
    let mut reconciled = false;
    loop {
        cx.flush()?;
        if !exhausted && cx.idle_room(p.pending()) > 0 {
            let room = cx.idle_room(p.pending());
            let records = s.outbox.read_after(cursor, room).await?;
            let caught_up = records.len() < room;
            for stored in records {
                cursor = stored.seq;
                cx.current = Some(stored.record.device().to_owned());
                p.record(&mut cx, stored)?;
            }
            cx.current = None;
            if caught_up {
                exhausted = true;
                if !reconciled {
                    reconciled = true;
                    p.reconcile(&mut cx)?;
                    tracing::info!(connector = %d.name, "outbox replayed; reconciling the full state");
                }
            }
            cx.flush()?;
        }
        while exhausted && cx.idle_room(p.pending()) > 0 && p.more(&mut cx)? {
            cx.flush()?;
        }
        cx.flush_acks().await?;
        let can_pump = cx.idle_room(p.pending()) > 0;
        tokio::select! {
            biased;
            () = s.stop.cancelled() => {
                shutdown(p, &mut cx, events, d.peer).await;
                return Ok(End::Stop);
            }
            ev = events.recv() => {
                let Some(ev) = ev else {
                    return Err(Error::Connection { reason: format!("the connection to {} stopped", d.peer), permanent: false });
                };
                handle(p, &mut cx, ev)?;
                let mut n = 0;
                while let Ok(ev) = events.try_recv() {
                    handle(p, &mut cx, ev)?;
                    n += 1;
                    if n > 4096 { break; }
                }
                cx.flush_acks().await?;
            }
            Some(note) = notes.recv() => p.note(&mut cx, note)?,
            () = &mut deadline, if d.deadline.is_some() => {
                shutdown(p, &mut cx, events, d.peer).await;
                return Ok(End::Deadline);
            }
            () = s.outbox.changed(), if exhausted && can_pump => exhausted = false,
            () = &mut poll, if d.poll.is_some() => {
                poll.as_mut().reset((Instant::now() + poll_every).into());
                if reconciled {
                    p.poll(&mut cx)?;
                }
            }
        }
    }
}

fn handle<P: Protocol>(p: &mut P, cx: &mut Cx<'_>, ev: LinkEvent) -> Result<(), Error> {
    match ev {
        LinkEvent::Sent(pkid) => cx.sent(pkid),
        LinkEvent::Acked { pkid, rejected } => cx.acked(pkid, rejected),
        LinkEvent::Message {
            topic,
            payload,
            expiry_secs,
        } => p.message(cx, &topic, &payload, expiry_secs)?,
        LinkEvent::Failed(e) => return Err(e),
    }
    Ok(())
}

/// Stop or deadline: last words, DISCONNECT, give the link a moment to deliver them, keep the acks
/// that arrived meanwhile.
async fn shutdown<P: Protocol>(
    p: &mut P,
    cx: &mut Cx<'_>,
    events: &mut mpsc::Receiver<LinkEvent>,
    peer: &str,
) {
    p.stopping(cx);
    cx.disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(ev) = events.recv().await {
            if matches!(ev, LinkEvent::Failed(_)) {
                break;
            }
            let _ = handle(p, cx, ev);
        }
    })
    .await;
    let _ = cx.flush_acks().await;
    tracing::info!(connector = %cx.name, "disconnected from {peer}");
}
