//! Commands for Zigbee2MQTT devices, merged per device with a leading edge: a command for a device
//! that had no `<friendly_name>/set` within the last `merge_ms` goes out at once; one that arrives
//! while that window is still open waits for it to close, merged with every other command of the
//! device that arrives meanwhile into one `/set` payload (later fields win, the latest transition is
//! passed through), and opens the next window. So a single command costs no wait, and a burst (a
//! controller's On + level + colour) costs at most two publishes per window. Each command is
//! answered once the broker acknowledged (PUBACK) the publish that carries it, or refused.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use device_types::State;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::registry::{SourceCommand, SourceCommandError};

pub type Reply = oneshot::Sender<Result<(), SourceCommandError>>;

/// Commands of one device waiting for the merge window to close.
#[derive(Debug)]
pub struct Batch {
    pub patch: State,
    /// Patches of the device's parts, by part name: one `/set` carries them all.
    pub parts: BTreeMap<String, State>,
    pub transition: Option<Duration>,
    pub replies: Vec<Reply>,
    pub due: Instant,
    /// The merge window this batch's publish opens for the next commands of its device.
    pub window: Duration,
}

/// Open merge windows, by device id.
#[derive(Debug, Default)]
pub struct Batches {
    open: HashMap<String, Batch>,
    /// Devices whose last `/set` went out less than a window ago, with when that window closes.
    recent: HashMap<String, Instant>,
}

impl Batches {
    /// Adds a command to its device's batch: due at once when the device's last `/set` is more than
    /// a window old, else when that window closes; a part's command goes into its device's batch.
    pub fn add(&mut self, command: SourceCommand, now: Instant, window: Duration) {
        let (device, part) = command.target();
        let (device, part) = (device.to_owned(), part.map(str::to_owned));
        let SourceCommand {
            patch,
            transition,
            reply,
            ..
        } = command;
        let due = self.recent.get(&device).copied().filter(|t| *t > now);
        let batch = self.open.entry(device).or_insert_with(|| Batch {
            patch: State::default(),
            parts: BTreeMap::new(),
            transition: None,
            replies: Vec::new(),
            due: due.unwrap_or(now),
            window,
        });
        match part {
            Some(part) => {
                let p = batch.parts.entry(part).or_default();
                *p = p.merged(&patch);
            }
            None => batch.patch = batch.patch.merged(&patch),
        }
        if transition.is_some() {
            batch.transition = transition;
        }
        batch.replies.push(reply);
    }

    /// When the next window closes.
    pub fn next_due(&self) -> Option<Instant> {
        self.open.values().map(|b| b.due).min()
    }

    /// The batches that are due, to be published now; each opens its device's next window.
    pub fn take_due(&mut self, now: Instant) -> Vec<(String, Batch)> {
        self.recent.retain(|_, until| *until > now);
        let due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, b)| b.due <= now)
            .map(|(id, _)| id.clone())
            .collect();
        let taken: Vec<(String, Batch)> = due
            .into_iter()
            .filter_map(|id| self.open.remove(&id).map(|b| (id, b)))
            .collect();
        for (id, batch) in &taken {
            if !batch.window.is_zero() {
                self.recent.insert(id.clone(), now + batch.window);
            }
        }
        taken
    }

    /// Refuses every waiting command.
    pub fn fail_all(&mut self, error: &SourceCommandError) {
        for (_, batch) in self.open.drain() {
            answer_all(batch.replies, Err(error.clone()));
        }
    }
}

/// Replies waiting for the PUBACK of the QoS 1 publish that carries their command.
#[derive(Debug, Default)]
pub struct Acks {
    /// One entry per QoS 1 publish queued, in order, until the client reports its packet id.
    queued: VecDeque<Vec<Reply>>,
    sent: HashMap<u16, Vec<Reply>>,
}

impl Acks {
    /// A QoS 1 publish was queued (every QoS 1 publish of the link must be registered here).
    pub fn queued(&mut self, replies: Vec<Reply>) {
        self.queued.push_back(replies);
    }

    /// The client sent the oldest queued QoS 1 publish as packet `pkid`.
    pub fn sent(&mut self, pkid: u16) {
        if let Some(replies) = self.queued.pop_front() {
            self.sent.insert(pkid, replies);
        }
    }

    /// The broker acknowledged `pkid`: the commands it carried are accepted.
    pub fn acked(&mut self, pkid: u16) {
        if let Some(replies) = self.sent.remove(&pkid) {
            answer_all(replies, Ok(()));
        }
    }

    pub fn fail_all(&mut self, error: &SourceCommandError) {
        for replies in self
            .queued
            .drain(..)
            .chain(self.sent.drain().map(|(_, r)| r))
        {
            answer_all(replies, Err(error.clone()));
        }
    }
}

pub fn answer_all(replies: Vec<Reply>, result: Result<(), SourceCommandError>) {
    for reply in replies {
        let _ = reply.send(result.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Origin;

    fn command(
        device: &str,
        patch: State,
        transition: Option<Duration>,
    ) -> (
        SourceCommand,
        oneshot::Receiver<Result<(), SourceCommandError>>,
    ) {
        let (reply, rx) = oneshot::channel();
        (
            SourceCommand {
                device: device.to_owned(),
                part: None,
                patch,
                transition,
                stop: None,
                origin: Origin::Matter,
                reply,
            },
            rx,
        )
    }

    #[test]
    fn a_first_command_goes_at_once_and_the_next_ones_within_its_window_merge() {
        let mut batches = Batches::default();
        let window = Duration::from_millis(100);
        let on = || State {
            on: Some(true),
            ..State::default()
        };
        let t0 = Instant::now();
        let (first, _r) = command("lamp", on(), None);
        batches.add(first, t0, window);
        let due = batches.take_due(t0);
        assert_eq!(due.len(), 1, "no wait for a device that was quiet");
        // Within the window its /set opened: these wait for it to close, merged.
        let (second, _r2) = command("lamp", on(), None);
        let (third, _r3) = command(
            "lamp",
            State {
                brightness: Some(9),
                ..State::default()
            },
            None,
        );
        batches.add(second, t0 + Duration::from_millis(10), window);
        batches.add(third, t0 + Duration::from_millis(60), window);
        assert!(batches.take_due(t0 + Duration::from_millis(99)).is_empty());
        let due = batches.take_due(t0 + window);
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].1.patch.on, due[0].1.patch.brightness),
            (Some(true), Some(9))
        );
        assert_eq!(due[0].1.replies.len(), 2);
        // Another device is not held by the lamp's window.
        let (other, _r4) = command("plug", on(), None);
        batches.add(other, t0 + window, window);
        assert_eq!(batches.take_due(t0 + window).len(), 1);
        // Quiet for a whole window again: at once.
        let (later, _r5) = command("lamp", on(), None);
        batches.add(later, t0 + Duration::from_millis(300), window);
        assert_eq!(batches.take_due(t0 + Duration::from_millis(300)).len(), 1);
    }

    #[test]
    fn commands_within_the_window_merge_and_are_answered_on_puback() {
        let mut batches = Batches::default();
        let window = Duration::from_millis(100);
        // The lamp just had a /set: its window is open.
        let (opener, _r) = command("lamp", State::default(), None);
        let tw = Instant::now();
        batches.add(opener, tw, window);
        batches.take_due(tw);
        let (a, mut ra) = command(
            "lamp",
            State {
                on: Some(true),
                ..State::default()
            },
            None,
        );
        let (b, mut rb) = command(
            "lamp",
            State {
                brightness: Some(20),
                ..State::default()
            },
            Some(Duration::from_millis(500)),
        );
        let t0 = tw;
        batches.add(a, t0, window);
        batches.add(b, t0 + Duration::from_millis(50), window);
        assert!(batches.take_due(t0 + Duration::from_millis(99)).is_empty());
        assert_eq!(batches.next_due(), Some(t0 + window));
        let mut due = batches.take_due(t0 + Duration::from_millis(110));
        assert_eq!(due.len(), 1);
        let (id, batch) = due.pop().unwrap();
        assert_eq!(id, "lamp");
        assert_eq!(
            (batch.patch.on, batch.patch.brightness),
            (Some(true), Some(20))
        );
        assert_eq!(batch.transition, Some(Duration::from_millis(500)));

        let mut acks = Acks::default();
        acks.queued(batch.replies);
        assert!(ra.try_recv().is_err(), "not before the PUBACK");
        acks.sent(7);
        acks.acked(7);
        assert_eq!(ra.try_recv().unwrap(), Ok(()));
        assert_eq!(rb.try_recv().unwrap(), Ok(()));
    }

    #[test]
    fn a_lost_link_refuses_everything_waiting() {
        let mut batches = Batches::default();
        let mut acks = Acks::default();
        let (a, mut ra) = command("a", State::default(), None);
        let (b, mut rb) = command("b", State::default(), None);
        batches.add(a, Instant::now(), Duration::from_secs(1));
        acks.queued(vec![b.reply]);
        batches.fail_all(&SourceCommandError::Down);
        acks.fail_all(&SourceCommandError::Down);
        assert_eq!(ra.try_recv().unwrap(), Err(SourceCommandError::Down));
        assert_eq!(rb.try_recv().unwrap(), Err(SourceCommandError::Down));
    }
}
