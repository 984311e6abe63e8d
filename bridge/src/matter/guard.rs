//! The Matter transport guard: every datagram rs-matter reads passes here first, so that nobody who
//! has no session can use or exhaust what established controllers need.
//!
//! rs-matter 0.4.1 answers Interaction Model requests on the unsecured session (after one
//! PBKDFParamRequest or Sigma1 from an address, a ReadRequest gets a cleartext status that tells
//! which endpoints and clusters exist), and every session-establishment exchange a peer starts and
//! never finishes pins an unsecured session and one of its 8 responder handlers for the whole
//! retransmission cycle (16 such starts knock a paired controller's reads off for seconds). The
//! guard, in front of it:
//! - drops every message on the unsecured session (session id 0, unicast) that is not the Secure
//!   Channel protocol (vendor-specific protocols included): the unsecured session is for session
//!   establishment only;
//! - bounds session establishment: a PBKDFParamRequest (PASE) or Sigma1 (CASE) that starts a new
//!   exchange is admitted only while fewer than [`Limits::in_flight_total`] establishments are in
//!   flight (and [`Limits::in_flight_per_address`] from its address), and within a rate
//!   ([`Limits::starts_per_sec`], per address [`Limits::starts_per_sec_per_address`]). An
//!   establishment leaves the count when its peer sends the exchange's last message (Pake3,
//!   Sigma3, a StatusReport) or after [`Limits::hold`]. Retransmissions of an admitted start pass;
//! - drops datagrams too short or malformed to be Matter messages before rs-matter logs them;
//! - counts what it dropped, by cause, and says so in one log line per cause every
//!   [`REPORT_EVERY`], never one line per datagram.
//!
//! Messages on secured sessions pass untouched: rs-matter authenticates them.

use std::collections::HashMap;
use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

use async_io::Async;
use rs_matter::error::Error;
use rs_matter::transport::network::{Address, NetworkReceive};

/// How often the guard reports what it dropped (when it dropped anything).
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Secure Channel opcodes (Matter 1.6 §4.11.1).
mod opcode {
    pub const PBKDF_PARAM_REQUEST: u8 = 0x20;
    pub const PASE_PAKE3: u8 = 0x24;
    pub const CASE_SIGMA1: u8 = 0x30;
    pub const CASE_SIGMA3: u8 = 0x32;
    pub const STATUS_REPORT: u8 = 0x40;
}

/// The bounds on session establishment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub in_flight_total: usize,
    pub in_flight_per_address: usize,
    pub starts_per_sec: f64,
    pub starts_per_sec_per_address: f64,
    /// How long an unfinished establishment counts (rs-matter's retransmission cycle, with margin).
    pub hold: Duration,
}

impl Default for Limits {
    /// Half of rs-matter's 8 responder handlers at most for establishments, two per address (a
    /// controller commissioning does PASE then CASE); a legitimate controller starts one
    /// establishment every few seconds at most.
    fn default() -> Limits {
        Limits {
            in_flight_total: 4,
            in_flight_per_address: 2,
            starts_per_sec: 10.0,
            starts_per_sec_per_address: 3.0,
            hold: Duration::from_secs(15),
        }
    }
}

/// Why a datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Drop {
    /// Too short, wrong version, reserved flags: not a Matter message.
    Malformed,
    /// Not Secure Channel on the unsecured session (Interaction Model, BDX, vendor protocols).
    NotSecureChannel,
    /// A session establishment over the in-flight bound.
    TooManyEstablishments,
    /// A session establishment over the rate.
    EstablishmentRate,
}

impl Drop {
    fn describe(self) -> &'static str {
        match self {
            Drop::Malformed => "malformed datagrams",
            Drop::NotSecureChannel => {
                "messages other than session establishment on the unsecured session"
            }
            Drop::TooManyEstablishments => "session establishments over the in-flight limit",
            Drop::EstablishmentRate => "session establishments over the rate limit",
        }
    }
}

/// What the guard does with one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Drop(Drop),
}

/// The part of a datagram the guard reads: only for the unsecured session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Message {
    /// A secured (or group) session: rs-matter's to judge.
    Secured,
    Unsecured {
        initiator: bool,
        secure_channel: bool,
        opcode: u8,
        exchange: u16,
    },
}

/// Reads the message and protocol headers (Matter 1.6 §4.4) of a datagram.
fn parse(data: &[u8]) -> Option<Message> {
    let flags = *data.first()?;
    if flags >> 4 != 0 || flags & 0x08 != 0 {
        return None; // version 0 only; bit 3 reserved
    }
    let session = u16::from_le_bytes([*data.get(1)?, *data.get(2)?]);
    let sec_flags = *data.get(3)?;
    if session != 0 || sec_flags & 0x03 != 0 {
        return Some(Message::Secured);
    }
    if sec_flags & 0x80 != 0 {
        return None; // privacy needs a session key
    }
    let mut at = 8; // flags, session id, security flags, message counter
    if flags & 0x04 != 0 {
        at += 8; // source node id
    }
    at += match flags & 0x03 {
        0 => 0,
        1 => 8,
        2 => 2,
        _ => return None,
    };
    if sec_flags & 0x20 != 0 {
        let len = u16::from_le_bytes([*data.get(at)?, *data.get(at + 1)?]) as usize;
        at += 2 + len;
    }
    let exch_flags = *data.get(at)?;
    let opcode = *data.get(at + 1)?;
    let exchange = u16::from_le_bytes([*data.get(at + 2)?, *data.get(at + 3)?]);
    let protocol = u16::from_le_bytes([*data.get(at + 4)?, *data.get(at + 5)?]);
    let vendor = exch_flags & 0x10 != 0;
    Some(Message::Unsecured {
        initiator: exch_flags & 0x01 != 0,
        secure_channel: !vendor && protocol == 0x0000,
        opcode,
        exchange,
    })
}

/// A token bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst(rate),
            at: now,
        }
    }

    fn refill(&mut self, rate: f64, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * rate).min(burst(rate));
        self.at = now;
    }
}

/// A bucket holds two seconds' worth of starts.
fn burst(rate: f64) -> f64 {
    (rate * 2.0).max(1.0)
}

/// The guard's state: admitted establishments, rates, drop counts.
#[derive(Debug)]
pub struct Guard {
    limits: Limits,
    /// (peer address, exchange id) → when admitted.
    in_flight: HashMap<(IpAddr, u16), Instant>,
    total: Bucket,
    per_address: HashMap<IpAddr, Bucket>,
    dropped: HashMap<Drop, u64>,
    dropped_total: HashMap<Drop, u64>,
    last_report: Instant,
}

impl Guard {
    pub fn new(limits: Limits) -> Guard {
        let now = Instant::now();
        Guard {
            limits,
            in_flight: HashMap::new(),
            total: Bucket::full(limits.starts_per_sec, now),
            per_address: HashMap::new(),
            dropped: HashMap::new(),
            dropped_total: HashMap::new(),
            last_report: now,
        }
    }

    /// Decides on one datagram from `peer`, received at `now`, and counts a drop.
    pub fn judge(&mut self, data: &[u8], peer: IpAddr, now: Instant) -> Verdict {
        let verdict = self.verdict(data, peer, now);
        if let Verdict::Drop(cause) = verdict {
            *self.dropped.entry(cause).or_default() += 1;
            *self.dropped_total.entry(cause).or_default() += 1;
        }
        self.report(now);
        verdict
    }

    /// Datagrams dropped since start, by cause.
    #[cfg(test)]
    pub fn dropped(&self, cause: Drop) -> u64 {
        self.dropped_total.get(&cause).copied().unwrap_or(0)
    }

    /// Establishments counted as in flight now.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn verdict(&mut self, data: &[u8], peer: IpAddr, now: Instant) -> Verdict {
        let Some(message) = parse(data) else {
            return Verdict::Drop(Drop::Malformed);
        };
        let Message::Unsecured {
            initiator,
            secure_channel,
            opcode,
            exchange,
        } = message
        else {
            return Verdict::Pass;
        };
        if !secure_channel {
            return Verdict::Drop(Drop::NotSecureChannel);
        }
        let hold = self.limits.hold;
        self.in_flight
            .retain(|_, t| now.saturating_duration_since(*t) < hold);
        let key = (peer, exchange);
        match opcode {
            opcode::PBKDF_PARAM_REQUEST | opcode::CASE_SIGMA1 if initiator => {
                if self.in_flight.contains_key(&key) {
                    return Verdict::Pass; // a retransmission of an admitted start
                }
                self.admit(key, now)
            }
            opcode::PASE_PAKE3 | opcode::CASE_SIGMA3 | opcode::STATUS_REPORT => {
                self.in_flight.remove(&key);
                Verdict::Pass
            }
            _ => Verdict::Pass,
        }
    }

    fn admit(&mut self, key: (IpAddr, u16), now: Instant) -> Verdict {
        let limits = self.limits;
        let from_peer = self.in_flight.keys().filter(|(a, _)| *a == key.0).count();
        if self.in_flight.len() >= limits.in_flight_total
            || from_peer >= limits.in_flight_per_address
        {
            return Verdict::Drop(Drop::TooManyEstablishments);
        }
        self.total.refill(limits.starts_per_sec, now);
        if self.per_address.len() > 1024 {
            // Forget idle addresses (a full bucket is the same as none).
            let rate = limits.starts_per_sec_per_address;
            self.per_address.retain(|_, b| {
                b.refill(rate, now);
                b.tokens < burst(rate)
            });
        }
        let rate = limits.starts_per_sec_per_address;
        let bucket = self
            .per_address
            .entry(key.0)
            .or_insert_with(|| Bucket::full(rate, now));
        bucket.refill(rate, now);
        if self.total.tokens < 1.0 || bucket.tokens < 1.0 {
            return Verdict::Drop(Drop::EstablishmentRate);
        }
        self.total.tokens -= 1.0;
        bucket.tokens -= 1.0;
        self.in_flight.insert(key, now);
        Verdict::Pass
    }

    /// One warning per cause every [`REPORT_EVERY`] while the guard drops.
    fn report(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_report) < REPORT_EVERY || self.dropped.is_empty()
        {
            return;
        }
        let secs = now.saturating_duration_since(self.last_report).as_secs();
        for (cause, count) in self.dropped.drain() {
            tracing::warn!(
                dropped = count,
                seconds = secs,
                total = self.dropped_total.get(&cause).copied().unwrap_or(0),
                "Matter transport guard dropped {}",
                cause.describe()
            );
        }
        self.last_report = now;
    }
}

/// The UDP socket rs-matter reads, behind the guard.
pub struct GuardedSocket<'a> {
    socket: &'a Async<UdpSocket>,
    guard: Guard,
    /// Where secured sessions are noted for the metrics (a few atomic loads and a store per datagram),
    /// as node `node`'s.
    sessions: Option<std::sync::Arc<crate::metrics::Counters>>,
    node: usize,
}

impl<'a> GuardedSocket<'a> {
    pub fn new(socket: &'a Async<UdpSocket>, limits: Limits) -> GuardedSocket<'a> {
        GuardedSocket {
            socket,
            guard: Guard::new(limits),
            sessions: None,
            node: 0,
        }
    }

    /// Notes the secured session of every datagram that passes in `counters`, as node `node`'s.
    pub fn counting(
        mut self,
        counters: std::sync::Arc<crate::metrics::Counters>,
        node: usize,
    ) -> Self {
        self.sessions = Some(counters);
        self.node = node;
        self
    }
}

/// The secured unicast session a datagram is on (its header's session id; 0 is the unsecured one).
fn secured_session(data: &[u8]) -> Option<u16> {
    let id = u16::from_le_bytes([*data.get(1)?, *data.get(2)?]);
    let unicast = *data.get(3)? & 0x03 == 0;
    (id != 0 && unicast).then_some(id)
}

impl NetworkReceive for GuardedSocket<'_> {
    async fn wait_available(&mut self) -> Result<(), Error> {
        let mut socket = self.socket;
        socket.wait_available().await
    }

    async fn recv_from(&mut self, buffer: &mut [u8]) -> Result<(usize, Address), Error> {
        loop {
            let (len, addr) = self.socket.recv_from(buffer).await?;
            let now = Instant::now();
            match self.guard.judge(&buffer[..len], addr.ip(), now) {
                Verdict::Pass => {
                    if let (Some(c), Some(id)) = (&self.sessions, secured_session(&buffer[..len])) {
                        c.matter.session_seen(self.node, id, now);
                    }
                    return Ok((len, Address::Udp(addr)));
                }
                Verdict::Drop(cause) => {
                    tracing::trace!(peer = %addr, ?cause, "datagram dropped by the transport guard");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
