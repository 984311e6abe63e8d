//! The driver's transport seam: what a message goes out through and how its fate comes back. The MQTT
//! link ([`crate::link::Link`]) is one; AWS IoT's HTTPS data plane (request/response, `2xx` = acknowledged)
//! is the other. Both report through the same [`LinkEvent`](crate::link::LinkEvent) stream, so the replay / window / acknowledge
//! loop of [`super::drive`] is written once for every cloud and every transport.

use crate::Error;

/// One connection's way out, as the driver sees it.
///
/// Contract (what [`super::drive`] relies on): every [`Transport::publish`] that returns `Ok` yields, on
/// the event stream, one [`LinkEvent::Sent`](crate::link::LinkEvent::Sent) with a packet id, in the order of the publishes (id 0: done
/// at once, nothing to wait for), then later one [`LinkEvent::Acked`](crate::link::LinkEvent::Acked) for that id — `rejected: Some(reason)`
/// when the cloud refused the message for good (the record goes to the dead letters). A failure that
/// needs a new connection (network, 5xx, throttling, credentials) is a [`LinkEvent::Failed`](crate::link::LinkEvent::Failed): the run ends
/// and the next one replays everything not acknowledged. Application answers (a shadow's `accepted`) come
/// as [`LinkEvent::Message`](crate::link::LinkEvent::Message)s on the topics the protocol subscribed to.
pub(crate) trait Transport: Send {
    /// Queues one message without waiting. `Err` only when the transport cannot take it (its queue is
    /// full or closed): the run ends and is retried.
    fn publish(&mut self, topic: &str, retain: bool, payload: Vec<u8>) -> Result<(), Error>;
    /// Asks for the messages on `filter` (a request/response transport answers on the response topics
    /// without being asked: nothing to do).
    fn subscribe(&mut self, filter: &str) -> Result<(), Error>;
    /// The largest payload a message on `topic` can carry over this connection.
    fn max_payload(&self, topic: &str) -> usize;
    /// Where [`Transport::max_payload`] comes from (quoted in a dead letter's reason).
    fn limit_source(&self) -> &'static str;
    /// Ends the connection politely (best effort).
    fn disconnect(&mut self);
}
