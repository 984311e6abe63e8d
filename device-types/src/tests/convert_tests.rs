//! Round trips between canonical units and Matter encodings.

use crate::matter::*;

#[test]
fn temperature_round_trips() {
    for v in [i16::MIN + 5453, -27315, -1, 0, 1, 2150, 32767] {
        let v = v.max(-27315);
        assert_eq!(temperature_to_matter(matter_to_temperature(v)), v);
    }
    for c in [-273.15, -40.0, 0.0, 21.37, 327.67] {
        assert_eq!(matter_to_temperature(temperature_to_matter(c)), c);
    }
    assert_eq!(temperature_to_matter(20.005), 2001);
    assert_eq!(temperature_to_matter(1000.0), 32767);
    assert_eq!(temperature_to_matter(-1000.0), -27315);
    assert_eq!(temperature_to_matter(f64::NAN), 0);
}

#[test]
fn humidity_round_trips() {
    for v in (0..=10000u16).step_by(37) {
        assert_eq!(humidity_to_matter(matter_to_humidity(v)), v);
    }
    for pct in [0.0, 0.01, 45.5, 99.99, 100.0] {
        assert_eq!(matter_to_humidity(humidity_to_matter(pct)), pct);
    }
    assert_eq!(humidity_to_matter(150.0), 10000);
    assert_eq!(humidity_to_matter(-3.0), 0);
}

#[test]
fn level_round_trips_and_clamps() {
    for b in 1..=254u8 {
        assert_eq!(matter_to_level(level_to_matter(b)), b);
    }
    assert_eq!(level_to_matter(0), 1);
    assert_eq!(level_to_matter(255), 254);
    assert_eq!(matter_to_level(0), 1);
    for p in 1..=100u8 {
        assert_eq!(level_to_percent(percent_to_level(p)), p, "{p}%");
    }
    assert_eq!(level_to_percent(1), 1);
    assert_eq!(level_to_percent(254), 100);
    assert_eq!(percent_to_level(0), 1);
}

#[test]
fn position_is_inverted_percent100ths() {
    assert_eq!(position_to_percent100ths(100), 0);
    assert_eq!(position_to_percent100ths(0), 10000);
    assert_eq!(position_to_percent100ths(25), 7500);
    for p in 0..=100u8 {
        assert_eq!(percent100ths_to_position(position_to_percent100ths(p)), p);
    }
    assert_eq!(percent100ths_to_position(4949), 51);
    assert_eq!(percent100ths_to_position(4950), 50);
    assert_eq!(percent100ths_to_position(65535), 0);
    assert_eq!(position_to_percent_closed(30), 70);
}

#[test]
fn hue_round_trips() {
    for m in 0..=254u8 {
        assert_eq!(hue_to_matter(matter_to_hue(m)), m);
    }
    for d in 0..=360u16 {
        let back = matter_to_hue(hue_to_matter(d));
        assert!(back.abs_diff(d) <= 1, "{d} -> {back}");
    }
    assert_eq!(hue_to_matter(360), 254);
    assert_eq!(matter_to_hue(254), 360);
    assert_eq!(matter_to_hue(127), 180);
}

#[test]
fn saturation_round_trips() {
    for p in 0..=100u8 {
        assert_eq!(matter_to_saturation(saturation_to_matter(p)), p);
    }
    assert_eq!(saturation_to_matter(100), 254);
    assert_eq!(matter_to_saturation(254), 100);
    assert_eq!(saturation_to_matter(50), 127);
}

#[test]
fn xy_round_trips() {
    for v in (0..=XY_MATTER_MAX).step_by(97).chain([XY_MATTER_MAX]) {
        assert_eq!(xy_to_matter(matter_to_xy(v)), v);
    }
    for c in [0.0, 0.3127, 0.329, 0.7, XY_MAX] {
        let back = matter_to_xy(xy_to_matter(c));
        assert!((back - c).abs() <= 1.0 / 65536.0, "{c} -> {back}");
    }
    assert_eq!(xy_to_matter(1.0), XY_MATTER_MAX);
    assert_eq!(xy_to_matter(-0.5), 0);
    // Every Matter value decodes to a value that validates.
    assert!(matter_to_xy(XY_MATTER_MAX) <= XY_MAX);
}

#[test]
fn kelvin_mireds_helpers() {
    assert_eq!(mireds_to_kelvin(370), 2703);
    assert_eq!(kelvin_to_mireds(2700), 370);
    assert_eq!(kelvin_to_mireds(10000), 153);
    assert_eq!(kelvin_to_mireds(1000), 500);
    assert_eq!(mireds_to_kelvin(0), 1_000_000);
}
