//! When the bridge (re)opens its commissioning window while it has no fabric, and when it must not.
//!
//! rs-matter revokes the window after 20 failed passcode attempts (as the spec asks). Reopening it at
//! once — what the sync loop did — gives a brute-forcer 20 more guesses a second. A window that closes
//! early (before its timeout) with no fabric was revoked that way, so it stays closed for a backoff
//! that starts at `bridge.commissioning_backoff_secs` (default 60 s) and doubles with every revocation,
//! up to 64 times the start, until a controller pairs. A window that simply timed out is reopened at once.

use std::time::{Duration, Instant};

/// What the sync loop should do with the window now.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Leave it as it is.
    Nothing,
    /// Open it.
    Open,
    /// Keep it closed this long still.
    StayClosed(Duration),
    /// It was just revoked: keep it closed for this long (log it once).
    Revoked(Duration),
}

/// The window's history as the sync loop sees it, once a second.
#[derive(Debug)]
pub struct WindowPolicy {
    base: Duration,
    timeout: Duration,
    next_backoff: Duration,
    closed_until: Option<Instant>,
    opened_at: Option<Instant>,
    was_open: bool,
}

/// Growth stops at this multiple of the first backoff.
const MAX_FACTOR: u32 = 64;
/// A window closing this close to its timeout is taken as timed out.
const TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

impl WindowPolicy {
    /// `base`: the first backoff; `timeout`: how long the bridge opens its window for.
    pub fn new(base: Duration, timeout: Duration) -> Self {
        WindowPolicy {
            base,
            timeout,
            next_backoff: base,
            closed_until: None,
            opened_at: None,
            was_open: false,
        }
    }

    /// Looks at the current state: `fabrics` the node has, whether the window is `open`.
    pub fn decide(&mut self, now: Instant, fabrics: usize, open: bool) -> Decision {
        if open {
            if !self.was_open {
                self.opened_at = Some(now);
            }
            self.was_open = true;
            return Decision::Nothing;
        }
        let just_closed = std::mem::replace(&mut self.was_open, false);
        if fabrics > 0 {
            // Paired: whatever happened before is forgiven.
            self.next_backoff = self.base;
            self.closed_until = None;
            return Decision::Nothing;
        }
        if just_closed {
            let early = self
                .opened_at
                .is_some_and(|t| now.duration_since(t) + TIMEOUT_MARGIN < self.timeout);
            if early {
                let backoff = self.next_backoff;
                self.closed_until = Some(now + backoff);
                self.next_backoff = (backoff * 2).min(self.base * MAX_FACTOR);
                return Decision::Revoked(backoff);
            }
        }
        match self.closed_until {
            Some(until) if until > now => Decision::StayClosed(until - now),
            _ => {
                self.closed_until = None;
                Decision::Open
            }
        }
    }

    /// The window was opened at `now` (by the loop, after [`Decision::Open`]).
    pub fn opened(&mut self, now: Instant) {
        self.was_open = true;
        self.opened_at = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);
    const WINDOW: Duration = Duration::from_secs(900);

    #[test]
    fn revoked_window_stays_closed_for_a_doubling_backoff() {
        let t0 = Instant::now();
        let mut p = WindowPolicy::new(MIN, WINDOW);
        let s = Duration::from_secs;
        assert_eq!(p.decide(t0, 0, true), Decision::Nothing);
        // Revoked 10 s after opening: 20 wrong passcodes.
        assert_eq!(p.decide(t0 + s(10), 0, false), Decision::Revoked(s(60)));
        assert_eq!(p.decide(t0 + s(11), 0, false), Decision::StayClosed(s(59)));
        assert_eq!(p.decide(t0 + s(69), 0, false), Decision::StayClosed(s(1)));
        assert_eq!(p.decide(t0 + s(70), 0, false), Decision::Open);
        p.opened(t0 + s(70));
        assert_eq!(p.decide(t0 + s(71), 0, true), Decision::Nothing);
        assert_eq!(p.decide(t0 + s(80), 0, false), Decision::Revoked(s(120)));
        assert_eq!(p.decide(t0 + s(200), 0, false), Decision::Open);
        p.opened(t0 + s(200));
        assert_eq!(p.decide(t0 + s(201), 0, false), Decision::Revoked(s(240)));
        // Growth stops at 64 times the start.
        let mut now = t0 + s(1000);
        let mut last = Duration::ZERO;
        for _ in 0..10 {
            assert_eq!(p.decide(now, 0, false), Decision::Open);
            p.opened(now);
            match p.decide(now + s(1), 0, false) {
                Decision::Revoked(d) => last = d,
                other => panic!("{other:?}"),
            }
            now += last + s(2);
        }
        assert_eq!(last, MIN * 64);
    }

    #[test]
    fn timed_out_window_reopens_at_once_and_pairing_resets_the_backoff() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut p = WindowPolicy::new(MIN, WINDOW);
        p.opened(t0);
        assert_eq!(
            p.decide(t0 + s(900), 0, false),
            Decision::Open,
            "expired, not revoked"
        );
        p.opened(t0 + s(900));
        assert_eq!(p.decide(t0 + s(901), 0, false), Decision::Revoked(s(60)));
        // Commissioned during the backoff through another path: forgiven.
        assert_eq!(p.decide(t0 + s(902), 1, false), Decision::Nothing);
        // The fabric is removed later: a factory-new node opens at once, with the first backoff again.
        assert_eq!(p.decide(t0 + s(2000), 0, false), Decision::Open);
        p.opened(t0 + s(2000));
        assert_eq!(p.decide(t0 + s(2001), 0, false), Decision::Revoked(s(60)));
    }
}
