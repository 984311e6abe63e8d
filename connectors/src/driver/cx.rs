//! What a protocol sees of the driver while it handles a record or a message: [`Cx`] queues messages
//! under the window, counts what each outbox record still waits for, checks sizes, dead-letters.

use std::collections::VecDeque;

use super::deliveries::Deliveries;
use super::Transport;
use crate::connector::{short, Session};
use crate::Error;

/// Untracked messages (responses, discovery) waiting for the window; more are dropped (counted, logged).
const MAX_BACKLOG: usize = 20_000;

/// A size limit and where it comes from (quoted in the dead letter's reason).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit {
    pub bytes: usize,
    pub source: &'static str,
}

/// How a queued message is accounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Part of outbox records (or of nothing): done at its PUBACK.
    Plain,
    /// Waits for an application answer after its PUBACK ([`Cx::answered`]).
    Ask,
    /// A response to a request: dropped when the backlog is full.
    Response,
}

struct Out {
    tag: Option<u64>,
    topic: String,
    retain: bool,
    payload: Vec<u8>,
    kind: Kind,
}

/// The driver's side of one connection, handed to every [`super::Protocol`] call.
pub(crate) struct Cx<'a> {
    pub s: &'a Session,
    pub name: &'a str,
    /// The device of the record being turned into messages (named in a dead letter's reason).
    pub(super) current: Option<String>,
    link: Box<dyn Transport>,
    window: usize,
    limit: Limit,
    backlog: VecDeque<Out>,
    d: Deliveries,
    /// Handed messages still waiting for their application answer.
    answers: usize,
    dropped_responses: u64,
}

impl<'a> Cx<'a> {
    pub(super) fn new(
        s: &'a Session,
        name: &'a str,
        link: Box<dyn Transport>,
        window: usize,
        limit: Limit,
    ) -> Self {
        Cx {
            s,
            name,
            current: None,
            link,
            window: window.max(1),
            limit,
            backlog: VecDeque::new(),
            d: Deliveries::default(),
            answers: 0,
            dropped_responses: 0,
        }
    }

    /// Messages in flight (handed, not PUBACKed) plus answers awaited.
    fn inflight(&self) -> usize {
        self.d.inflight() + self.answers
    }

    /// Room for new outbox records: none while anything waits in the backlog.
    pub(super) fn idle_room(&self, pending: usize) -> usize {
        if !self.backlog.is_empty() {
            return 0;
        }
        self.window.saturating_sub(self.inflight() + pending)
    }

    /// A message that completes (a part of) outbox record `tag`, if any; never dropped.
    pub(crate) fn send(&mut self, tag: Option<u64>, topic: String, retain: bool, payload: Vec<u8>) {
        if let Some(seq) = tag {
            if !self.fits(&[seq], &topic, payload.len(), None) {
                return;
            }
            self.d.expect(seq);
        } else if !self.fits(&[], &topic, payload.len(), None) {
            return;
        }
        self.queue(tag, topic, retain, payload, Kind::Plain);
    }

    /// A request whose application answer counts against the window until [`Cx::answered`].
    pub(crate) fn ask(&mut self, topic: String, payload: Vec<u8>) {
        if self.fits(&[], &topic, payload.len(), None) {
            self.queue(None, topic, false, payload, Kind::Ask);
        }
    }

    /// An answer to a request: dropped (counted, logged) when too many wait.
    pub(crate) fn respond(&mut self, topic: String, retain: bool, payload: Vec<u8>) {
        if self.backlog.len() >= MAX_BACKLOG {
            self.dropped_responses += 1;
            if self.dropped_responses.is_power_of_two() {
                tracing::warn!(connector = %self.name, dropped = self.dropped_responses, "too many responses waiting; dropping some");
            }
            return;
        }
        if self.fits(&[], &topic, payload.len(), None) {
            self.queue(None, topic, retain, payload, Kind::Response);
        }
    }

    fn queue(
        &mut self,
        tag: Option<u64>,
        topic: String,
        retain: bool,
        payload: Vec<u8>,
        kind: Kind,
    ) {
        self.backlog.push_back(Out {
            tag,
            topic,
            retain,
            payload,
            kind,
        });
    }

    /// Whether a payload of `len` bytes on `topic` can be carried: under the link's packet limit, the
    /// protocol's payload limit and `extra` (e.g. a shadow or twin document limit). If not, `seqs` go to
    /// the dead letters with a reason naming the device, the size and the limit, and `false`.
    pub(crate) fn fits(
        &mut self,
        seqs: &[u64],
        topic: &str,
        len: usize,
        extra: Option<Limit>,
    ) -> bool {
        let link = Limit {
            bytes: self.link.max_payload(topic),
            source: self.link.limit_source(),
        };
        let mut limit = if link.bytes < self.limit.bytes {
            link
        } else {
            self.limit
        };
        if let Some(e) = extra {
            if e.bytes < limit.bytes {
                limit = e;
            }
        }
        if len <= limit.bytes {
            return true;
        }
        let device = self.current.as_deref().unwrap_or("-");
        let reason = format!(
            "record for device `{}`: message of {len} bytes is over the limit of {} bytes ({})",
            short(device),
            limit.bytes,
            limit.source
        );
        tracing::error!(connector = %self.name, device = %short(device), bytes = len, limit = limit.bytes, "record too large for the cloud; dead-lettered");
        for &seq in seqs {
            self.dead_letter(seq, reason.clone());
        }
        false
    }

    /// One more acknowledgement (an application answer) is needed before `seq` is delivered.
    pub(crate) fn expect(&mut self, seq: u64) {
        self.d.expect(seq);
    }

    /// One acknowledgement of `seq` arrived.
    pub(crate) fn done(&mut self, seq: u64) {
        self.d.done(Some(seq));
    }

    /// `seqs` are delivered whatever was still expected of them.
    pub(crate) fn done_all(&mut self, seqs: &[u64]) {
        self.d.done_all(seqs);
    }

    /// One expected acknowledgement of `seq` will not come (the attempt is repeated and counted again).
    pub(crate) fn retract(&mut self, seq: u64) {
        self.d.retract(seq);
    }

    /// The answer to an [`Cx::ask`] arrived.
    pub(crate) fn answered(&mut self) {
        self.answers = self.answers.saturating_sub(1);
    }

    /// The cloud rejected `seq` for good: the dead letters, counted, with `reason`.
    pub(crate) fn dead_letter(&mut self, seq: u64, reason: String) {
        self.d.dead_letter(self.s, seq, reason);
    }

    pub(crate) fn subscribe(&mut self, filter: &str) -> Result<(), Error> {
        self.link.subscribe(filter)
    }

    /// Sends at once, outside the window (last words at shutdown).
    pub(crate) fn publish_now(&mut self, topic: &str, retain: bool, payload: Vec<u8>) {
        let bytes = (topic.len() + payload.len()) as u64;
        if self.link.publish(topic, retain, payload).is_ok() {
            self.s.health.add_bytes_sent(bytes);
        }
    }

    pub(super) fn disconnect(&mut self) {
        self.link.disconnect();
    }

    /// Hands backlog messages to the link while the window has room.
    pub(super) fn flush(&mut self) -> Result<(), Error> {
        let mut bytes = 0;
        let result = self.hand_over(&mut bytes);
        self.s.health.add_bytes_sent(bytes);
        result
    }

    fn hand_over(&mut self, bytes: &mut u64) -> Result<(), Error> {
        while self.inflight() < self.window {
            let Some(o) = self.backlog.pop_front() else {
                break;
            };
            let size = (o.topic.len() + o.payload.len()) as u64;
            self.link.publish(&o.topic, o.retain, o.payload)?;
            *bytes += size;
            self.d.handed(o.tag);
            if o.kind == Kind::Ask {
                self.answers += 1;
            }
        }
        Ok(())
    }

    pub(super) fn sent(&mut self, pkid: u16) {
        self.d.sent(pkid);
    }

    pub(super) fn acked(&mut self, pkid: u16, rejected: Option<String>) {
        let tag = self.d.acked(pkid);
        match (tag, rejected) {
            (Some(seq), Some(reason)) => {
                tracing::error!(connector = %self.name, seq, reason = %reason, "the cloud rejected a record");
                self.dead_letter(seq, reason);
            }
            (tag, _) => self.d.done(tag),
        }
    }

    pub(super) async fn flush_acks(&mut self) -> Result<(), Error> {
        self.d.flush(self.s).await
    }
}
