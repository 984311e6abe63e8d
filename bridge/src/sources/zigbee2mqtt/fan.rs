//! Fans: Zigbee2MQTT's `fan` expose ↔ the `fan` kind (Fan Control FanMode / PercentSetting), both
//! ways. Features are matched by property: the on/off feature (`fan_state`, on some devices
//! `state`), the mode enum (`fan_mode`) and a numeric speed (`speed`, `fan_speed`), whichever the
//! device has.
//!
//! Into canonical state (one state message, all three read together):
//! - the on/off feature off → mode `off`, 0 %; it wins over a mode or speed in the same message;
//! - `fan_mode` `off` / `low` / `medium` / `high` / `on` → that mode at 0 / 33 / 66 / 100 / 100 %
//!   (the percents Fan Control's FanMode writes use); `auto` and `smart` (a vendor's
//!   sensor-driven mode) → `auto`, percent unchanged; numbered levels `1`..`N` (IKEA STARKVIND:
//!   1..9) → `N`ths of 100 %, the mode of that percent (1..=33 low, 34..=66 medium, 67..=100 high);
//! - a speed `s` of `min..=max` → `round(s × 100 / max)` % and the mode of that percent.
//!
//! Out to `/set` (a Matter write of FanMode or PercentSetting arrives as mode and percent):
//! - a device with a mode enum gets the mode by name (`{"fan_mode": "low"}`; `on` as `high`
//!   when it lacks `on`), by number for numbered levels (`ceil(percent × N / 100)`), and off as
//!   `fan_mode: "off"`, else as the on/off feature's off value;
//! - a device with a speed gets `{"state": "ON", "speed": round(percent × max / 100)}` (at least
//!   `min`), and off as the on/off feature's off value;
//! - a mode the device does not have (auto on a fan without it) is refused, named.

use device_types::{FanMode, State};
use serde_json::{json, Map, Value};

use super::bindings::{truncated, Binding, Field, FieldError, Mapping};
use super::topics::Expose;

/// The bindings of a `fan` expose (`None` when it has neither a mode nor a speed).
pub fn bindings<'a>(feature: impl Fn(&str) -> Option<&'a Expose>) -> Option<Vec<Binding>> {
    let mut out = Vec::new();
    let bind = |f: &Expose, field: Field| {
        f.property.clone().map(|property| Binding {
            property,
            field,
            access: f.access,
        })
    };
    if let Some(s) = feature("fan_state").or_else(|| feature("state")) {
        let on = s.value_on.clone().unwrap_or(Value::from("ON"));
        let off = s.value_off.clone().unwrap_or(Value::from("OFF"));
        out.extend(bind(s, Field::FanState { on, off }));
    }
    let mut driven = false;
    if let Some(m) = feature("fan_mode").filter(|m| m.kind == "enum") {
        let values: Vec<String> = m
            .values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        if values.iter().any(|v| mode_of(v, &values).is_some()) {
            out.extend(bind(m, Field::FanMode { values }));
            driven = true;
        }
    }
    if let Some(s) = feature("speed")
        .or_else(|| feature("fan_speed"))
        .filter(|s| s.kind == "numeric")
    {
        let max = s.value_max.unwrap_or(254.0);
        if max >= 1.0 {
            let min = s.value_min.unwrap_or(0.0).max(0.0);
            out.extend(bind(s, Field::FanSpeed { min, max }));
            driven = true;
        }
    }
    driven.then_some(out)
}

/// Whether the fan's modes include one that runs itself (one [`mode_of`] reads as Auto:
/// `auto`, `smart`): Fan Control's Auto.
pub fn has_auto(bindings: &[Binding]) -> bool {
    bindings.iter().any(|b| match &b.field {
        Field::FanMode { values } => values
            .iter()
            .any(|v| matches!(mode_of(v, values), Some((FanMode::Auto, _)))),
        _ => false,
    })
}

/// The mode and percent a Zigbee2MQTT `fan_mode` value stands for (`None` percent: unchanged).
fn mode_of(value: &str, values: &[String]) -> Option<(FanMode, Option<u8>)> {
    Some(match value {
        "off" => (FanMode::Off, Some(0)),
        "low" => (FanMode::Low, Some(33)),
        "medium" => (FanMode::Medium, Some(66)),
        "high" => (FanMode::High, Some(100)),
        "on" => (FanMode::On, Some(100)),
        "auto" | "smart" => (FanMode::Auto, None),
        _ => {
            let n: u32 = value.parse().ok()?;
            let levels = levels(values);
            if n == 0 || n > levels {
                return None;
            }
            let percent = (f64::from(n) * 100.0 / f64::from(levels)).round() as u8;
            (mode_of_percent(percent), Some(percent))
        }
    })
}

/// The highest numbered level among a mode enum's values (0: none).
fn levels(values: &[String]) -> u32 {
    values
        .iter()
        .filter_map(|v| v.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
}

/// Fan Control's speed bands: 0 off, 1..=33 low, 34..=66 medium, 67..=100 high.
fn mode_of_percent(percent: u8) -> FanMode {
    match percent {
        0 => FanMode::Off,
        1..=33 => FanMode::Low,
        34..=66 => FanMode::Medium,
        _ => FanMode::High,
    }
}

/// Reads the fan's properties of a state message into `state` (see the module doc).
pub fn read(mapping: &Mapping, payload: &Map<String, Value>, state: &mut State) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut off = None;
    let mut from_mode = None;
    let mut from_speed = None;
    for b in &mapping.bindings {
        let Some(value) = payload.get(&b.property).filter(|v| !v.is_null()) else {
            continue;
        };
        let mut fail = |reason| {
            errors.push(FieldError {
                property: b.property.clone(),
                value: truncated(value),
                reason,
            })
        };
        match &b.field {
            Field::FanState { on, off: v_off } => {
                if value == v_off {
                    off = Some(true);
                } else if value == on {
                    off = Some(false);
                } else {
                    fail("neither the on nor the off value");
                }
            }
            Field::FanMode { values } => match value.as_str().and_then(|s| mode_of(s, values)) {
                Some(m) => from_mode = Some(m),
                None => fail("not one of the fan's modes"),
            },
            Field::FanSpeed { min, max } => match value.as_f64().filter(|v| v.is_finite()) {
                Some(v) if v == 0.0 || (*min..=*max).contains(&v) => {
                    let percent = (v * 100.0 / max).round().clamp(0.0, 100.0) as u8;
                    from_speed = Some((mode_of_percent(percent), Some(percent)));
                }
                Some(_) => fail("out of the fan's speed range"),
                None => fail("not a number"),
            },
            _ => {}
        }
    }
    let (mode, percent) = match (off, from_mode.or(from_speed)) {
        (Some(true), _) => (FanMode::Off, Some(0)),
        (_, Some(m)) => m,
        // On without a mode or speed: what it runs at is not known.
        (_, None) => return errors,
    };
    state.fan_mode = Some(mode);
    if percent.is_some() {
        state.fan_percent = percent;
    }
    errors
}

/// Adds the fan's part of a command patch to the `/set` payload `out`; what the device cannot do
/// goes to `missing`.
pub fn to_set(
    mapping: &Mapping,
    patch: &State,
    out: &mut Map<String, Value>,
    missing: &mut Vec<&'static str>,
) {
    if patch.fan_mode.is_none() && patch.fan_percent.is_none() {
        return;
    }
    let name = if patch.fan_mode.is_some() {
        "fan_mode"
    } else {
        "fan_percent"
    };
    let settable = |b: &&Binding| b.access & super::topics::ACCESS_SET != 0;
    let state = mapping
        .bindings
        .iter()
        .filter(settable)
        .find(|b| matches!(b.field, Field::FanState { .. }));
    let mode_b = mapping
        .bindings
        .iter()
        .filter(settable)
        .find(|b| matches!(b.field, Field::FanMode { .. }));
    let speed_b = mapping
        .bindings
        .iter()
        .filter(settable)
        .find(|b| matches!(b.field, Field::FanSpeed { .. }));
    // The target: the mode written (with its percent), or the mode of the percent written.
    let mode = patch
        .fan_mode
        .unwrap_or_else(|| mode_of_percent(patch.fan_percent.unwrap_or(0)));
    let percent = patch.fan_percent.or(match mode {
        FanMode::Off => Some(0),
        FanMode::Low => Some(33),
        FanMode::Medium => Some(66),
        FanMode::High | FanMode::On => Some(100),
        FanMode::Auto => None,
    });
    let off_value = || match state {
        Some(Binding {
            property,
            field: Field::FanState { off, .. },
            ..
        }) => Some((property.clone(), off.clone())),
        _ => None,
    };
    if let Some(Binding {
        property,
        field: Field::FanMode { values },
        ..
    }) = mode_b
    {
        let has = |v: &str| values.iter().any(|x| x == v);
        let levels = levels(values);
        let pick = match mode {
            FanMode::Off if has("off") => Some(json!("off")),
            FanMode::Off => {
                if let Some((p, v)) = off_value() {
                    out.insert(p, v);
                    return;
                }
                None
            }
            FanMode::Auto if has("auto") => Some(json!("auto")),
            FanMode::Auto if has("smart") => Some(json!("smart")),
            FanMode::Auto => None,
            _ if levels > 0 => percent.map(|p| {
                let n = ((f64::from(p) * f64::from(levels) / 100.0).ceil() as u32).clamp(1, levels);
                json!(n.to_string())
            }),
            FanMode::On if has("on") => Some(json!("on")),
            FanMode::Low if has("low") => Some(json!("low")),
            FanMode::Medium if has("medium") => Some(json!("medium")),
            FanMode::High | FanMode::On if has("high") => Some(json!("high")),
            _ => None,
        };
        match pick {
            Some(v) => {
                out.insert(property.clone(), v);
            }
            None => missing.push(name),
        }
        return;
    }
    if let Some(Binding {
        property,
        field: Field::FanSpeed { min, max },
        ..
    }) = speed_b
    {
        match (mode, percent) {
            (FanMode::Off, _) | (_, Some(0)) => match off_value() {
                Some((p, v)) => {
                    out.insert(p, v);
                }
                None => missing.push(name),
            },
            (_, Some(p)) => {
                if let Some(Binding {
                    property: sp,
                    field: Field::FanState { on, .. },
                    ..
                }) = state
                {
                    out.insert(sp.clone(), on.clone());
                }
                let speed = (f64::from(p) * max / 100.0)
                    .round()
                    .clamp(min.max(1.0), *max);
                out.insert(property.clone(), json!(speed as u64));
            }
            (_, None) => missing.push(name),
        }
        return;
    }
    missing.push(name);
}

#[cfg(test)]
mod tests {
    use device_types::{DeviceKind, FanMode, State};
    use serde_json::{json, Value};

    use super::super::convert::{to_set, to_state};
    use super::super::mapping::{map, Mapping};

    /// A `fan` expose as zigbee-herdsman-converters builds it (`e.fan().withState("fan_state")
    /// .withModes(...)` or `.withSpeed()`), serialised.
    fn fan(state: &str, second: Value) -> Mapping {
        let exposes = json!([
            {"type": "fan", "features": [
                {"type": "binary", "name": "state", "property": state, "access": 7,
                 "value_on": "ON", "value_off": "OFF"},
                second]},
            {"type": "numeric", "name": "linkquality", "property": "linkquality", "access": 1}
        ]);
        map(&serde_json::from_value::<Vec<_>>(exposes).unwrap()).unwrap()
    }

    fn modes(values: &[&str]) -> Mapping {
        fan(
            "fan_state",
            json!({"type": "enum", "name": "mode", "property": "fan_mode", "access": 7,
                   "values": values}),
        )
    }

    fn speed(max: u32, access: u8) -> Mapping {
        fan(
            "state",
            json!({"type": "numeric", "name": "speed", "property": "speed", "access": access,
                   "value_min": 1, "value_max": max}),
        )
    }

    fn report(m: &Mapping, v: Value) -> (Option<FanMode>, Option<u8>, usize) {
        let (s, errors) = to_state(m, v.as_object().unwrap());
        (s.fan_mode, s.fan_percent, errors.len())
    }

    fn set(m: &Mapping, mode: Option<FanMode>, percent: Option<u8>) -> (Value, Vec<&'static str>) {
        let patch = State {
            fan_mode: mode,
            fan_percent: percent,
            ..State::default()
        };
        let (out, missing) = to_set(m, &patch, None);
        (Value::Object(out), missing)
    }

    #[test]
    fn a_fan_with_named_modes_reads_and_sets_by_mode() {
        // Schneider 41ECSFWMZ-VW, Multiterm ZC0101.
        let m = modes(&["off", "low", "medium", "high", "on"]);
        assert_eq!(m.kind, DeviceKind::Fan);
        assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
        let r = |v| report(&m, v);
        let low = json!({"fan_state": "ON", "fan_mode": "low"});
        assert_eq!(r(low), (Some(FanMode::Low), Some(33), 0));
        let on = json!({"fan_state": "ON", "fan_mode": "on"});
        assert_eq!(r(on), (Some(FanMode::On), Some(100), 0));
        let off = json!({"fan_state": "OFF", "fan_mode": "high"});
        assert_eq!(r(off), (Some(FanMode::Off), Some(0), 0), "off wins");
        let bad = json!({"fan_mode": "turbo"});
        assert_eq!(r(bad), (None, None, 1), "named, not fatal");

        // Matter FanMode writes arrive as mode + its percent; PercentSetting as percent + mode.
        let s = |mode, pct| set(&m, mode, pct);
        assert_eq!(
            s(Some(FanMode::Low), Some(33)).0,
            json!({"fan_mode": "low"})
        );
        assert_eq!(
            s(Some(FanMode::Medium), Some(50)).0,
            json!({"fan_mode": "medium"})
        );
        assert_eq!(
            s(Some(FanMode::High), Some(100)).0,
            json!({"fan_mode": "high"})
        );
        assert_eq!(s(Some(FanMode::Off), Some(0)).0, json!({"fan_mode": "off"}));
        let (out, missing) = s(Some(FanMode::Auto), None);
        assert_eq!(
            (out, missing),
            (json!({}), vec!["fan_mode"]),
            "no auto on this fan"
        );
    }

    #[test]
    fn a_fan_without_an_off_mode_is_switched_off_by_its_state_and_smart_is_auto() {
        // Hampton Bay 99432.
        let m = modes(&["low", "medium", "high", "on", "smart"]);
        assert_eq!(
            set(&m, Some(FanMode::Off), Some(0)).0,
            json!({"fan_state": "OFF"})
        );
        assert_eq!(
            set(&m, Some(FanMode::Auto), None).0,
            json!({"fan_mode": "smart"})
        );
        let smart = json!({"fan_state": "ON", "fan_mode": "smart"});
        assert_eq!(report(&m, smart), (Some(FanMode::Auto), None, 0));
    }

    #[test]
    fn numbered_levels_are_shares_of_100_percent() {
        // IKEA E2007 (STARKVIND): off, auto, 1..9.
        let m = modes(&["off", "auto", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        let three = json!({"fan_state": "ON", "fan_mode": "3"});
        assert_eq!(report(&m, three), (Some(FanMode::Low), Some(33), 0));
        let nine = json!({"fan_mode": "9"});
        assert_eq!(report(&m, nine), (Some(FanMode::High), Some(100), 0));
        assert_eq!(report(&m, json!({"fan_mode": "10"})).2, 1);
        assert_eq!(
            set(&m, Some(FanMode::Medium), Some(50)).0,
            json!({"fan_mode": "5"})
        );
        assert_eq!(
            set(&m, Some(FanMode::Low), Some(33)).0,
            json!({"fan_mode": "3"})
        );
        assert_eq!(
            set(&m, Some(FanMode::Low), Some(1)).0,
            json!({"fan_mode": "1"})
        );
        assert_eq!(
            set(&m, Some(FanMode::Auto), None).0,
            json!({"fan_mode": "auto"})
        );
        assert_eq!(
            set(&m, Some(FanMode::Off), Some(0)).0,
            json!({"fan_mode": "off"})
        );
    }

    #[test]
    fn a_fan_with_a_speed_gets_state_and_speed() {
        // Lorenz Brun FanBee (1..254), Tuya TS0601 5-level fan (1..5, access 3).
        let m = speed(254, 7);
        let half = json!({"state": "ON", "speed": 127});
        assert_eq!(report(&m, half), (Some(FanMode::Medium), Some(50), 0));
        assert_eq!(
            report(&m, json!({"state": "OFF", "speed": 127})).0,
            Some(FanMode::Off)
        );
        assert_eq!(report(&m, json!({"speed": 300})).2, 1);
        assert_eq!(
            set(&m, Some(FanMode::Medium), Some(50)).0,
            json!({"state": "ON", "speed": 127})
        );
        assert_eq!(
            set(&m, Some(FanMode::Off), Some(0)).0,
            json!({"state": "OFF"})
        );
        assert_eq!(set(&m, Some(FanMode::Auto), None).1, vec!["fan_mode"]);

        let five = speed(5, 3);
        assert_eq!(
            report(&five, json!({"state": "ON", "speed": 2})).1,
            Some(40)
        );
        assert_eq!(
            set(&five, Some(FanMode::Low), Some(10)).0,
            json!({"state": "ON", "speed": 1})
        );
        assert_eq!(
            set(&five, Some(FanMode::High), Some(100)).0,
            json!({"state": "ON", "speed": 5})
        );
    }

    #[test]
    fn a_read_only_fan_is_bridged_but_refuses_commands() {
        let m = fan(
            "fan_state",
            json!({"type": "enum", "name": "mode", "property": "fan_mode", "access": 1,
                   "values": ["off", "low", "high"]}),
        );
        assert_eq!(m.kind, DeviceKind::Fan);
        assert_eq!(set(&m, Some(FanMode::Low), Some(33)).1, vec!["fan_mode"]);
    }
}
