//! Tests of transitions over time: interpolation, fade to off, takeover, stop, no-op steps.

use std::time::Duration;

use device_types::{DeviceKind, State};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::*;
use crate::config::DeviceConfig;
use crate::registry::{Origin, Registry, SourceCommand};

fn registry(dir: &std::path::Path) -> Registry {
    let lamp = DeviceConfig {
        with: Default::default(),
        id: "lamp".into(),
        kind: DeviceKind::ExtendedColorLight,
        name: "Lamp".into(),
        room: None,
        state: Some(State {
            on: Some(true),
            brightness: Some(100),
            ..State::default()
        }),
        parts: Vec::new(),
    };
    Registry::open(dir, &[lamp]).unwrap()
}

fn command(
    patch: State,
    transition: Option<Duration>,
    stop: Option<&'static [&'static str]>,
) -> (
    SourceCommand,
    oneshot::Receiver<Result<(), SourceCommandError>>,
) {
    let (reply, rx) = oneshot::channel();
    let cmd = SourceCommand {
        device: "lamp".into(),
        part: None,
        patch,
        transition,
        stop,
        origin: Origin::Matter,
        reply,
    };
    (cmd, rx)
}

fn level(b: u8) -> State {
    State {
        brightness: Some(b),
        ..State::default()
    }
}

fn state(r: &Registry) -> State {
    r.get("lamp").unwrap().state
}

#[test]
fn a_transition_moves_linearly_and_ends_exactly_on_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let mut m = Motions::new();
    let t0 = Instant::now();
    let (cmd, mut rx) = command(level(200), Some(Duration::from_secs(10)), None);
    m.handle(&r, cmd, t0);
    assert_eq!(rx.try_recv().unwrap(), Ok(()), "accepted at once");
    assert_eq!(state(&r).brightness, Some(100), "nothing jumps");
    assert!(m.is_moving());
    m.step(&r, t0 + Duration::from_secs(5));
    assert_eq!(
        state(&r).brightness,
        Some(150),
        "half way after half the time"
    );
    m.step(&r, t0 + Duration::from_millis(7_500));
    assert_eq!(state(&r).brightness, Some(175));
    m.step(&r, t0 + Duration::from_secs(11));
    assert_eq!(state(&r).brightness, Some(200));
    assert!(!m.is_moving());
}

#[test]
fn a_fade_to_off_turns_off_only_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let mut m = Motions::new();
    let t0 = Instant::now();
    let patch = State {
        on: Some(false),
        brightness: Some(1),
        ..State::default()
    };
    let (cmd, _rx) = command(patch, Some(Duration::from_secs(2)), None);
    m.handle(&r, cmd, t0);
    m.step(&r, t0 + Duration::from_secs(1));
    let mid = state(&r);
    assert_eq!((mid.on, mid.brightness), (Some(true), Some(51)));
    m.step(&r, t0 + Duration::from_secs(2));
    let end = state(&r);
    assert_eq!((end.on, end.brightness), (Some(false), Some(1)));
}

#[test]
fn stop_leaves_the_value_where_it_got_to_and_cancels_the_off() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let mut m = Motions::new();
    let t0 = Instant::now();
    let patch = State {
        on: Some(false),
        brightness: Some(1),
        ..State::default()
    };
    let (cmd, _rx) = command(patch, Some(Duration::from_secs(10)), None);
    m.handle(&r, cmd, t0);
    m.step(&r, t0 + Duration::from_millis(2_500));
    let (stop, mut rx) = command(State::default(), None, Some(&["brightness"]));
    m.handle(&r, stop, t0 + Duration::from_millis(2_600));
    assert_eq!(rx.try_recv().unwrap(), Ok(()));
    assert!(!m.is_moving());
    m.step(&r, t0 + Duration::from_secs(20));
    let s = state(&r);
    assert_eq!(s.brightness, Some(75), "held part-way: 100 - 99 * 0.25");
    assert_eq!(
        s.on,
        Some(true),
        "a stopped fade does not turn the light off"
    );
}

#[test]
fn a_new_command_takes_over_from_where_the_old_one_got_to() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let mut m = Motions::new();
    let t0 = Instant::now();
    let (cmd, _rx) = command(level(200), Some(Duration::from_secs(10)), None);
    m.handle(&r, cmd, t0);
    m.step(&r, t0 + Duration::from_secs(5)); // 150
    let (cmd, _rx) = command(level(50), Some(Duration::from_secs(1)), None);
    m.handle(&r, cmd, t0 + Duration::from_secs(5));
    m.step(&r, t0 + Duration::from_millis(5_500));
    assert_eq!(state(&r).brightness, Some(100), "from 150 towards 50");
    m.step(&r, t0 + Duration::from_secs(30));
    assert_eq!(state(&r).brightness, Some(50), "the old target is gone");
}

#[test]
fn colour_fields_move_together_and_other_fields_apply_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let mut m = Motions::new();
    let t0 = Instant::now();
    let patch = State {
        color_temp_mireds: Some(170),
        color_mode: Some(device_types::ColorMode::ColorTemp),
        ..State::default()
    };
    let before = state(&r).color_temp_mireds.unwrap();
    let (cmd, _rx) = command(patch, Some(Duration::from_secs(4)), None);
    m.handle(&r, cmd, t0);
    assert_eq!(
        state(&r).color_mode,
        Some(device_types::ColorMode::ColorTemp)
    );
    m.step(&r, t0 + Duration::from_secs(2));
    let mid = state(&r).color_temp_mireds.unwrap();
    assert_eq!(mid, ((f64::from(before) + 170.0) / 2.0).round() as u16);
    m.step(&r, t0 + Duration::from_secs(4));
    assert_eq!(state(&r).color_temp_mireds, Some(170));
}

#[test]
fn no_transition_applies_at_once_and_a_step_without_change_reports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let mut m = Motions::new();
    let t0 = Instant::now();
    let (cmd, _rx) = command(level(30), None, None);
    m.handle(&r, cmd, t0);
    assert_eq!(state(&r).brightness, Some(30));
    assert!(!m.is_moving());
    let (cmd, _rx) = command(level(31), Some(Duration::from_secs(100)), None);
    m.handle(&r, cmd, t0);
    let v = r.get("lamp").unwrap().version;
    m.step(&r, t0 + Duration::from_millis(100));
    assert_eq!(
        r.get("lamp").unwrap().version,
        v,
        "31 is not reached yet: no report"
    );
}

#[test]
fn an_invalid_target_is_refused_with_the_registry_reason() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let mut m = Motions::new();
    let (cmd, mut rx) = command(
        State {
            saturation: Some(101),
            ..State::default()
        },
        None,
        None,
    );
    m.handle(&r, cmd, Instant::now());
    let err = rx.try_recv().unwrap().unwrap_err();
    assert!(err.to_string().contains("saturation"), "{err}");
}

fn cover_registry(dir: &std::path::Path) -> Registry {
    let blind = DeviceConfig {
        with: Default::default(),
        parts: Vec::new(),
        id: "blind".into(),
        kind: DeviceKind::WindowCovering,
        name: "Blind".into(),
        room: None,
        state: Some(State {
            position: Some(100),
            ..State::default()
        }),
    };
    Registry::open(dir, &[blind]).unwrap()
}

fn cover_command(
    position: u8,
    stop: Option<&'static [&'static str]>,
) -> (
    SourceCommand,
    oneshot::Receiver<Result<(), SourceCommandError>>,
) {
    let (reply, rx) = oneshot::channel();
    let patch = State {
        position: (stop.is_none()).then_some(position),
        ..State::default()
    };
    let cmd = SourceCommand {
        device: "blind".into(),
        part: None,
        patch,
        transition: None,
        stop,
        origin: Origin::Matter,
        reply,
    };
    (cmd, rx)
}

fn position(r: &Registry) -> Option<u8> {
    r.get("blind").unwrap().state.position
}

#[test]
fn a_covering_travels_its_share_of_the_full_travel_time_and_stops_part_way() {
    let dir = tempfile::tempdir().unwrap();
    let r = cover_registry(dir.path());
    let mut m = Motions::new().with_cover_travel(Duration::from_secs(10));
    let t0 = Instant::now();
    // 100 % open → 50 %: half the way, so half the full travel (5 s).
    let (cmd, mut rx) = cover_command(50, None);
    m.handle(&r, cmd, t0);
    assert_eq!(rx.try_recv().unwrap(), Ok(()), "accepted at once");
    assert_eq!(position(&r), Some(100), "a covering does not jump");
    m.step(&r, t0 + Duration::from_millis(2_500));
    assert_eq!(
        position(&r),
        Some(75),
        "half of its way after half of its 5 s"
    );
    m.step(&r, t0 + Duration::from_millis(5_100));
    assert_eq!(position(&r), Some(50));
    assert!(!m.is_moving());

    // 50 % → 0 %, stopped after 1 s (a tenth of the full travel): it stays at 40 %.
    let t1 = t0 + Duration::from_secs(6);
    let (cmd, _rx) = cover_command(0, None);
    m.handle(&r, cmd, t1);
    m.step(&r, t1 + Duration::from_secs(1));
    assert_eq!(position(&r), Some(40));
    let (stop, _rx) = cover_command(0, Some(&["position"]));
    m.handle(&r, stop, t1 + Duration::from_secs(1));
    assert!(!m.is_moving());
    m.step(&r, t1 + Duration::from_secs(9));
    assert_eq!(position(&r), Some(40), "stopped where it was");
}

#[test]
fn without_a_travel_time_a_covering_jumps() {
    let dir = tempfile::tempdir().unwrap();
    let r = cover_registry(dir.path());
    let mut m = Motions::new();
    let (cmd, _rx) = cover_command(20, None);
    m.handle(&r, cmd, Instant::now());
    assert_eq!(position(&r), Some(20));
    assert!(!m.is_moving());
}
