//! Delivery bookkeeping of the driver: an outbox record is acknowledged
//! (and deleted) only once every message it produced was acknowledged by the cloud — its PUBACKs,
//! and any application-level answers (a twin PATCH's `204`, a shadow update's `accepted`) the
//! connector counts with [`Deliveries::expect`].

use std::collections::{HashMap, VecDeque};

use crate::connector::Session;
use crate::Error;

#[derive(Debug, Default)]
pub(crate) struct Deliveries {
    /// Tags of publishes handed to the MQTT client, not yet reported sent (FIFO, like the client).
    queued: VecDeque<Option<u64>>,
    /// Packet id → tag, waiting for PUBACK.
    awaiting: HashMap<u16, Option<u64>>,
    /// Outbox seq → acknowledgements still missing.
    parts: HashMap<u64, u32>,
    /// Seqs fully delivered, to acknowledge to the outbox in one batch.
    to_ack: Vec<u64>,
}

impl Deliveries {
    /// One more acknowledgement is needed before `seq` is delivered.
    pub(crate) fn expect(&mut self, seq: u64) {
        *self.parts.entry(seq).or_default() += 1;
    }

    /// A message counting for `tag` (if any) was handed to the client.
    pub(crate) fn handed(&mut self, tag: Option<u64>) {
        self.queued.push_back(tag);
    }

    /// The client sent the oldest handed message as packet `pkid` (0: QoS 0, nothing to wait for).
    pub(crate) fn sent(&mut self, pkid: u16) {
        let tag = self.queued.pop_front().flatten();
        if pkid == 0 {
            self.done(tag);
        } else {
            self.awaiting.insert(pkid, tag);
        }
    }

    /// PUBACK for `pkid`: the tag its message counted for. The caller decides between
    /// [`Self::done`] and [`Self::dead_letter`].
    pub(crate) fn acked(&mut self, pkid: u16) -> Option<u64> {
        self.awaiting.remove(&pkid).flatten()
    }

    /// One acknowledgement for `tag` arrived.
    pub(crate) fn done(&mut self, tag: Option<u64>) {
        let Some(seq) = tag else { return };
        if let Some(left) = self.parts.get_mut(&seq) {
            *left -= 1;
            if *left == 0 {
                self.parts.remove(&seq);
                self.to_ack.push(seq);
            }
        }
    }

    /// `seq` is delivered whatever was still expected of it.
    pub(crate) fn done_all(&mut self, seqs: &[u64]) {
        for &seq in seqs {
            self.parts.entry(seq).or_insert(1);
            self.done(Some(seq));
        }
    }

    /// One expected acknowledgement of `seq` will not come (the attempt is repeated and counted
    /// again); at the last one `seq` is forgotten.
    pub(crate) fn retract(&mut self, seq: u64) {
        match self.parts.get_mut(&seq) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                self.parts.remove(&seq);
            }
        }
    }

    /// The cloud rejected `seq` for good: stop counting it and move it to the dead letters.
    pub(crate) fn dead_letter(&mut self, s: &Session, seq: u64, reason: String) {
        self.parts.remove(&seq);
        let outbox = s.outbox.clone();
        tokio::spawn(async move { outbox.dead_letter(seq, reason).await });
    }

    /// Messages handed to the client and not yet acknowledged.
    pub(crate) fn inflight(&self) -> usize {
        self.queued.len() + self.awaiting.len()
    }

    /// Acknowledge every fully delivered record to the outbox, in one batch.
    pub(crate) async fn flush(&mut self, s: &Session) -> Result<(), Error> {
        if self.to_ack.is_empty() {
            return Ok(());
        }
        let seqs = std::mem::take(&mut self.to_ack);
        let n = seqs.len() as u64;
        s.outbox.ack(seqs).await?;
        s.health.add_delivered(n);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_delivered_after_all_its_parts() {
        let mut d = Deliveries::default();
        d.expect(7);
        d.expect(7);
        d.handed(Some(7));
        d.handed(Some(7));
        d.sent(1);
        d.sent(2);
        assert_eq!(d.inflight(), 2);
        let tag = d.acked(1);
        d.done(tag);
        assert!(d.to_ack.is_empty());
        let tag = d.acked(2);
        d.done(tag);
        assert_eq!(d.to_ack, vec![7]);
        assert_eq!(d.inflight(), 0);
    }

    #[test]
    fn qos0_retract_and_done_all() {
        let mut d = Deliveries::default();
        d.expect(1);
        d.handed(Some(1));
        d.sent(0);
        assert_eq!(d.to_ack, vec![1]);
        d.expect(2);
        d.expect(2);
        d.retract(2);
        d.done(Some(2));
        assert_eq!(d.to_ack, vec![1, 2]);
        d.expect(3);
        d.retract(3);
        d.done(Some(3));
        assert_eq!(d.to_ack, vec![1, 2]);
        d.done_all(&[4]);
        assert_eq!(d.to_ack, vec![1, 2, 4]);
    }
}
