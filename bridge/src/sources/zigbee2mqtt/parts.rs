//! Endpoint-suffixed exposes become parts: a Zigbee2MQTT device whose exposes name two or more
//! endpoints that each map to a function (`state_l1`/`state_l2`, `state_left`/`state_right`, a
//! numbered or `c1` gang) is one bridged device with one part per endpoint.
//!
//! Each endpoint's exposes (the expose's `endpoint` field names it; a specific expose's features
//! share it) are mapped with the same rules as a whole device ([`mapping::map`]); their bindings
//! carry the suffixed properties (`state_l2`), so a state report `{"state_l2": "ON"}` converts
//! into part `l2`'s state and a command to part `l2` into `{"state_l2": "OFF"}` on the device's
//! `/set`. The exposes without an endpoint are the device's own: they map as a device if they
//! have a function (an Aqara rocker's `action`), else the device is a `bridged_node` container
//! with what fits on it (battery). The part's name is the endpoint's name (lowercased, at most 16
//! characters); its tag comes from the name: left/right/top/bottom, center/middle, or the trailing
//! number (`l2` → 2); parts of one kind without distinct tags are numbered in expose order.

use device_types::parts::{check_part_name, validate_parts, MAX_PARTS, MAX_PART_NAME_LEN};
use device_types::{PartSpec, Position, State, Tag};

use super::mapping::{self, Mapping};
use super::topics::Expose;

/// A part of a composed Zigbee2MQTT device.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The registry's part spec (name = endpoint name, kind, `with`, tag).
    pub spec: PartSpec,
    /// The endpoint's bindings (suffixed properties).
    pub mapping: Mapping,
}

/// A device split by endpoint: its own mapping and its parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Composed {
    pub device: Mapping,
    pub parts: Vec<Part>,
}

/// Splits `exposes` by endpoint; `None` when fewer than two endpoints map to a function (then
/// the device maps as a whole, as before).
pub fn split(exposes: &[Expose]) -> Option<Composed> {
    let mut endpoints: Vec<(String, Vec<Expose>)> = Vec::new();
    let mut own: Vec<Expose> = Vec::new();
    for e in exposes {
        match &e.endpoint {
            Some(ep) => match endpoints.iter_mut().find(|(name, _)| name == ep) {
                Some((_, group)) => group.push(e.clone()),
                None => endpoints.push((ep.clone(), vec![e.clone()])),
            },
            None => own.push(e.clone()),
        }
    }
    let mut parts: Vec<(String, Mapping)> = Vec::new();
    let mut left_over: Vec<String> = Vec::new();
    for (endpoint, group) in &endpoints {
        let name = part_name(endpoint);
        let taken = name
            .as_ref()
            .is_some_and(|n| parts.iter().any(|(p, _)| p == n));
        match (name, mapping::map(group)) {
            (Some(name), Some(m)) if !taken && parts.len() < MAX_PARTS => parts.push((name, m)),
            _ => left_over.extend(group.iter().map(mapping::expose_label)),
        }
    }
    if parts.len() < 2 {
        return None;
    }
    let mut device = mapping::map(&own).unwrap_or_else(|| mapping::map_container(&own));
    device.unmapped.extend(left_over);
    let mut specs: Vec<PartSpec> = parts
        .iter()
        .map(|(name, m)| PartSpec {
            id: name.clone(),
            kind: m.kind,
            with: m.with,
            name: None,
            tag: tag_of(name),
            state: None,
            parts: None,
        })
        .collect();
    number_unless_distinct(device.kind, &mut specs);
    let parts = specs
        .into_iter()
        .zip(parts)
        .map(|(spec, (_, mut mapping))| {
            for u in mapping.unmapped.drain(..) {
                if !device.unmapped.contains(&u) {
                    device.unmapped.push(u);
                }
            }
            Part { spec, mapping }
        })
        .collect();
    Some(Composed { device, parts })
}

/// Parts whose names give no distinct tags (positions, numbers) are numbered in order instead.
pub(super) fn number_unless_distinct(kind: device_types::DeviceKind, specs: &mut [PartSpec]) {
    if validate_parts(kind, specs).is_err() {
        for (i, spec) in specs.iter_mut().enumerate() {
            spec.tag = Some(Tag::Number(i as u8 + 1));
        }
    }
}

/// How a Zigbee2MQTT device is split into parts, as the source bridges it: by endpoint
/// ([`split`]), else a remote by button (`buttons.rs`); `None`: the device maps as a whole.
pub fn compose(exposes: &[Expose]) -> Option<Composed> {
    split(exposes).or_else(|| super::buttons::split(exposes))
}

/// An endpoint's name as a part name (`[a-z0-9][a-z0-9_-]{0,15}`), or `None`.
pub(super) fn part_name(endpoint: &str) -> Option<String> {
    let name: String = endpoint
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(MAX_PART_NAME_LEN)
        .collect();
    check_part_name(&name).ok().map(|_| name)
}

/// The tag an endpoint's name implies: a position word, else its trailing number.
pub(super) fn tag_of(name: &str) -> Option<Tag> {
    let position = match name {
        "left" => Some(Position::Left),
        "right" => Some(Position::Right),
        "top" => Some(Position::Top),
        "bottom" => Some(Position::Bottom),
        "center" | "centre" | "middle" => Some(Position::Middle),
        _ => None,
    };
    if let Some(p) = position {
        return Some(Tag::Position(p));
    }
    let digits: String = name
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse::<u8>()
        .ok()
        .filter(|n| *n <= device_types::parts::MAX_NUMBER_TAG)
        .map(Tag::Number)
}

/// The mapping a command addresses: the device's own, or its part's.
pub fn mapping_for<'a>(
    device: &'a Mapping,
    parts: &'a [Part],
    part: Option<&str>,
) -> Option<&'a Mapping> {
    match part {
        None => Some(device),
        Some(name) => parts.iter().find(|p| p.spec.id == name).map(|p| &p.mapping),
    }
}

/// Every readable property of the device and its parts, for `/get`.
pub fn gettable<'a>(device: &'a Mapping, parts: &'a [Part]) -> Vec<&'a str> {
    let mut out = device.gettable();
    for p in parts {
        for prop in p.mapping.gettable() {
            if !out.contains(&prop) {
                out.push(prop);
            }
        }
    }
    out
}

/// A state patch of each part that the report changes: `(part name, patch)`.
pub fn part_states(
    parts: &[Part],
    payload: &serde_json::Map<String, serde_json::Value>,
) -> Vec<(String, State, Vec<super::convert::FieldError>)> {
    parts
        .iter()
        .map(|p| {
            let (patch, errors) = super::convert::to_state(&p.mapping, payload);
            (p.spec.id.clone(), patch, errors)
        })
        .collect()
}
