//! Tests of the transport guard on hand-built Matter datagrams (Matter 1.6 §4.4 layouts).

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::*;

/// An unsecured-session message: flags (with a source node id), session 0, security flags 0,
/// counter, source node id; then exchange flags, opcode, exchange id, protocol id.
fn unsecured(exch_flags: u8, opcode: u8, exchange: u16, protocol: u16) -> Vec<u8> {
    let mut m = vec![0x04, 0, 0, 0, 1, 0, 0, 0];
    m.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    m.push(exch_flags);
    m.push(opcode);
    m.extend_from_slice(&exchange.to_le_bytes());
    m.extend_from_slice(&protocol.to_le_bytes());
    m.extend_from_slice(&[0x15, 0x18]); // a TLV payload
    m
}

const INITIATOR_RELIABLE: u8 = 0x05;
const SECURE_CHANNEL: u16 = 0x0000;
const INTERACTION_MODEL: u16 = 0x0001;

fn peer(n: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfd42, 0, 0, 0, 0, 0, 0, n))
}

fn pbkdf(exchange: u16) -> Vec<u8> {
    unsecured(INITIATOR_RELIABLE, 0x20, exchange, SECURE_CHANNEL)
}

#[test]
fn interaction_model_on_the_unsecured_session_is_dropped() {
    let mut g = Guard::new(Limits::default());
    let now = Instant::now();
    // ReadRequest (0x02) on session 0.
    let read = unsecured(INITIATOR_RELIABLE, 0x02, 7, INTERACTION_MODEL);
    assert_eq!(
        g.judge(&read, peer(1), now),
        Verdict::Drop(Drop::NotSecureChannel)
    );
    // A vendor-specific protocol too.
    let mut vendor = unsecured(INITIATOR_RELIABLE | 0x10, 0x01, 8, 0x0000);
    vendor.splice(22..22, [0xF1, 0xFF]);
    assert_eq!(
        g.judge(&vendor, peer(1), now),
        Verdict::Drop(Drop::NotSecureChannel)
    );
    assert_eq!(g.judge(&pbkdf(9), peer(1), now), Verdict::Pass);
    assert_eq!(g.dropped(Drop::NotSecureChannel), 2);
}

#[test]
fn secured_sessions_pass_untouched() {
    let mut g = Guard::new(Limits::default());
    // Session 0x1234, encrypted payload (arbitrary bytes).
    let mut m = vec![0x00, 0x34, 0x12, 0x00, 9, 0, 0, 0];
    m.extend_from_slice(&[0xAB; 40]);
    for _ in 0..1000 {
        assert_eq!(g.judge(&m, peer(1), Instant::now()), Verdict::Pass);
    }
}

#[test]
fn malformed_datagrams_are_dropped() {
    let mut g = Guard::new(Limits::default());
    let now = Instant::now();
    for bad in [
        &[][..],
        &[0x00, 0x00][..],
        &[0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..], // version 1
        &[0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..], // DSIZ 3
        &[0x00, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0][..], // privacy without a session
        &[0x00, 0, 0, 0, 1, 0, 0, 0, 0x05][..],       // truncated protocol header
    ] {
        assert_eq!(
            g.judge(bad, peer(1), now),
            Verdict::Drop(Drop::Malformed),
            "{bad:?}"
        );
    }
}

#[test]
fn unfinished_establishments_are_bounded_in_flight_and_freed_by_their_end() {
    let limits = Limits::default();
    let mut g = Guard::new(limits);
    let now = Instant::now();
    // One address: two in flight at most.
    assert_eq!(g.judge(&pbkdf(1), peer(1), now), Verdict::Pass);
    assert_eq!(g.judge(&pbkdf(2), peer(1), now), Verdict::Pass);
    assert_eq!(
        g.judge(&pbkdf(3), peer(1), now),
        Verdict::Drop(Drop::TooManyEstablishments)
    );
    // A retransmission of an admitted start passes.
    assert_eq!(g.judge(&pbkdf(1), peer(1), now), Verdict::Pass);
    // Many addresses: four in all.
    assert_eq!(g.judge(&pbkdf(1), peer(2), now), Verdict::Pass);
    assert_eq!(g.judge(&pbkdf(1), peer(3), now), Verdict::Pass);
    assert_eq!(
        g.judge(&pbkdf(1), peer(4), now),
        Verdict::Drop(Drop::TooManyEstablishments)
    );
    assert_eq!(g.in_flight(), 4);
    // Pake3 from the peer ends its exchange: a new start from anyone fits again.
    let pake3 = unsecured(INITIATOR_RELIABLE, 0x24, 1, SECURE_CHANNEL);
    assert_eq!(g.judge(&pake3, peer(2), now), Verdict::Pass);
    assert_eq!(g.judge(&pbkdf(1), peer(4), now), Verdict::Pass);
    // An unfinished one counts for `hold`, no longer.
    let later = now + limits.hold + Duration::from_millis(1);
    assert_eq!(g.judge(&pbkdf(5), peer(5), later), Verdict::Pass);
    assert_eq!(g.in_flight(), 1);
}

#[test]
fn establishments_are_rate_limited_per_address() {
    let limits = Limits {
        in_flight_total: 1000,
        in_flight_per_address: 1000,
        ..Limits::default()
    };
    let mut g = Guard::new(limits);
    let now = Instant::now();
    let sigma1 = |x: u16| unsecured(INITIATOR_RELIABLE, 0x30, x, SECURE_CHANNEL);
    let burst = (limits.starts_per_sec_per_address * 2.0) as u16;
    for x in 0..burst {
        assert_eq!(
            g.judge(&sigma1(x), peer(1), now),
            Verdict::Pass,
            "start {x}"
        );
    }
    assert_eq!(
        g.judge(&sigma1(100), peer(1), now),
        Verdict::Drop(Drop::EstablishmentRate)
    );
    // Another address is not held back by the first.
    assert_eq!(g.judge(&sigma1(100), peer(2), now), Verdict::Pass);
    // A second later the address may start again.
    assert_eq!(
        g.judge(&sigma1(101), peer(1), now + Duration::from_secs(1)),
        Verdict::Pass
    );
}

#[test]
fn a_commissioning_controller_is_never_held_back() {
    // PASE (PBKDFParamRequest … Pake3) then CASE (Sigma1 … Sigma3), twenty times (a controller
    // retrying a wrong passcode): each finishes, so none is ever dropped.
    let mut g = Guard::new(Limits::default());
    let mut now = Instant::now();
    for x in 0..20u16 {
        for (op, ex) in [
            (0x20, 2 * x),
            (0x22, 2 * x),
            (0x24, 2 * x),
            (0x30, 2 * x + 1),
            (0x32, 2 * x + 1),
        ] {
            assert_eq!(
                g.judge(
                    &unsecured(INITIATOR_RELIABLE, op, ex, SECURE_CHANNEL),
                    peer(1),
                    now
                ),
                Verdict::Pass,
                "attempt {x} opcode {op:#x}"
            );
        }
        now += Duration::from_millis(700);
    }
}
