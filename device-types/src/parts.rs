//! Composed devices: the `parts` of a device, each a function of its own on a child endpoint.
//!
//! A two-gang switch is a device of kind `bridged_node` (a container, no application cluster)
//! with two `on_off_light` parts; a four-button remote is a `bridged_node` with `battery` and four
//! `generic_switch` parts. A part has a name (`left`, `b1`), a kind, optional `with` entries, an
//! optional display name and a position tag. The bridge makes each part a device of its own with
//! the id `<parent>:<part>` ([`part_id`]), so state, validation and commands work per part
//! unchanged.
//!
//! The separator is `:` because every place a device id travels accepts it: MQTT topics, URL path
//! segments (RFC 3986 `pchar`), AWS IoT named shadows (`[a-zA-Z0-9:_-]`) and Azure twin property
//! names (which refuse `.`, `$` and spaces). A top-level device id never contains it.
//!
//! A tag becomes the child endpoint's Descriptor TagList entry: the Common Position namespace
//! (0x08: left 0, right 1, top 2, bottom 3, middle 4, row 5, column 6) or the Common Number
//! namespace (0x07: tag = the number, 0..=30) of the Matter 1.6 semantic tag namespaces. Parts of
//! the same kind must carry distinct tags (Core spec 9.5: endpoints of one device type under one
//! parent are told apart by their TagList).

use std::fmt;

use crate::validate::ValidationError;
use crate::{DeviceKind, Shape, State, With};

/// The separator of a part's device id: `<parent>:<part>`.
pub const PART_SEPARATOR: char = ':';
/// Longest part name.
pub const MAX_PART_NAME_LEN: usize = 16;
/// Most parts one device may have (a 24-gang relay board exists; the Common Number namespace
/// ends at 30).
pub const MAX_PARTS: usize = 30;
/// Semantic tag namespace Common Position.
pub const NAMESPACE_COMMON_POSITION: u8 = 0x08;
/// Semantic tag namespace Common Number.
pub const NAMESPACE_COMMON_NUMBER: u8 = 0x07;
/// Highest tag of the Common Number namespace (Thirty).
pub const MAX_NUMBER_TAG: u8 = 30;

string_enum! {
    /// A tag of the Common Position namespace (0x08).
    pub enum Position for "tag" {
        /// Left (0).
        Left => "left",
        /// Right (1).
        Right => "right",
        /// Top (2).
        Top => "top",
        /// Bottom (3).
        Bottom => "bottom",
        /// Middle (4).
        Middle => "middle",
        /// Row (5).
        Row => "row",
        /// Column (6).
        Column => "column",
    }
}

/// Where a part sits on its device: a position or a number (a remote's button 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    Position(Position),
    Number(u8),
}

impl Tag {
    /// `(namespace id, tag)` of the Descriptor's SemanticTagStruct.
    pub fn semantic(&self) -> (u8, u8) {
        match self {
            Tag::Position(p) => (
                NAMESPACE_COMMON_POSITION,
                Position::ALL.iter().position(|x| x == p).unwrap_or(0) as u8,
            ),
            Tag::Number(n) => (NAMESPACE_COMMON_NUMBER, *n),
        }
    }

    /// Parses `left`/`right`/... or a number 0..=30; errors name `tag` and the value.
    pub fn parse(value: &str) -> Result<Tag, ValidationError> {
        if let Ok(n) = value.parse::<i64>() {
            return Tag::number(n);
        }
        value.parse::<Position>().map(Tag::Position).map_err(|_| {
            ValidationError::new(
                "tag",
                format!("{value:?}"),
                format!(
                    "must be a position ({}) or a number 0..={MAX_NUMBER_TAG}",
                    Position::valid_names()
                ),
            )
        })
    }

    fn number(n: i64) -> Result<Tag, ValidationError> {
        if (0..=MAX_NUMBER_TAG as i64).contains(&n) {
            Ok(Tag::Number(n as u8))
        } else {
            Err(ValidationError::new(
                "tag",
                n.to_string(),
                format!("a number tag must be 0..={MAX_NUMBER_TAG} (Common Number namespace)"),
            ))
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tag::Position(p) => f.write_str(p.as_str()),
            Tag::Number(n) => write!(f, "{n}"),
        }
    }
}

impl serde::Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tag::Position(p) => s.serialize_str(p.as_str()),
            Tag::Number(n) => s.serialize_u8(*n),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Tag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a position name or a number 0..=30")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Tag, E> {
                Tag::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Tag, E> {
                Tag::number(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Tag, E> {
                Tag::number(v.min(i64::MAX as u64) as i64).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Whatever was written under a part's `parts` key: kept only to refuse it with a clear error
/// (a part cannot have parts of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NestedParts;

impl<'de> serde::Deserialize<'de> for NestedParts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| NestedParts)
    }
}

/// One `[[devices.parts]]` entry (also in `POST /api/devices`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartSpec {
    /// The part's name, `[a-z0-9][a-z0-9_-]{0,15}`; its device id is `<parent>:<name>`.
    pub id: String,
    pub kind: DeviceKind,
    /// Capabilities and other kinds on the part's endpoint, as a device's `with`.
    #[serde(default, skip_serializing_if = "With::is_empty")]
    pub with: With,
    /// Display name; default `<parent name> <part>` (cut to 32 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Position or number, served as the endpoint's TagList.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<Tag>,
    /// Initial state, merged over the part shape's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// Refused when present: parts do not nest.
    #[serde(default, skip_serializing)]
    pub parts: Option<NestedParts>,
}

impl PartSpec {
    /// The part's endpoint shape, checked (errors name `with` and the entry).
    pub fn shape(&self) -> Result<Shape, ValidationError> {
        Shape::new(self.kind, self.with)
    }
}

/// The device id of part `part` of device `parent`.
pub fn part_id(parent: &str, part: &str) -> String {
    format!("{parent}{PART_SEPARATOR}{part}")
}

/// `(parent id, part name)` if `id` is a part's device id.
pub fn split_part_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(PART_SEPARATOR)
}

/// Checks a part name against `[a-z0-9][a-z0-9_-]{0,15}`.
pub fn check_part_name(name: &str) -> Result<(), ValidationError> {
    let bad = |reason: &str| {
        Err(ValidationError::new(
            "parts.id",
            format!("{name:?}"),
            reason,
        ))
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return bad("must not be empty"),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            return bad("must start with a lowercase letter or a digit")
        }
        Some(_) => {}
    }
    if name.len() > MAX_PART_NAME_LEN {
        return bad("must be at most 16 characters");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return bad("may contain only a-z, 0-9, '-' and '_'");
    }
    Ok(())
}

/// Checks a device's parts: names valid and distinct, no nesting, no container as a part, each
/// part's shape and initial state valid, parts of one kind each tagged with distinct tags, at
/// most [`MAX_PARTS`]; a `bridged_node` needs at least one part. Errors name the field (`parts`,
/// `parts.id`, `parts.kind`, `parts.tag`, `with`, a state field) and the value.
pub fn validate_parts(kind: DeviceKind, parts: &[PartSpec]) -> Result<(), ValidationError> {
    if kind == DeviceKind::BridgedNode && parts.is_empty() {
        return Err(ValidationError::new(
            "parts",
            "[]",
            "a bridged_node is a container: give it at least one part",
        ));
    }
    if parts.len() > MAX_PARTS {
        return Err(ValidationError::new(
            "parts",
            format!("{} parts", parts.len()),
            format!("at most {MAX_PARTS} parts per device"),
        ));
    }
    for (i, part) in parts.iter().enumerate() {
        check_part_name(&part.id)?;
        if part.parts.is_some() {
            return Err(ValidationError::new(
                "parts.parts",
                format!("{:?}", part.id),
                "a part cannot have parts of its own (parts do not nest)",
            ));
        }
        if part.kind == DeviceKind::BridgedNode {
            return Err(ValidationError::new(
                "parts.kind",
                format!("{:?}", part.kind.as_str()),
                format!(
                    "part {:?}: a part must be a function, not a container",
                    part.id
                ),
            ));
        }
        let earlier = &parts[..i];
        if earlier.iter().any(|p| p.id == part.id) {
            return Err(ValidationError::new(
                "parts.id",
                format!("{:?}", part.id),
                "listed twice (part names are unique within a device)",
            ));
        }
        let shape = part.shape()?;
        if let Some(state) = &part.state {
            shape.validate(&shape.default_state().merged(state))?;
        }
        let same_kind: Vec<&PartSpec> = parts.iter().filter(|p| p.kind == part.kind).collect();
        if same_kind.len() > 1 {
            let Some(tag) = part.tag else {
                return Err(ValidationError::new(
                    "parts.tag",
                    format!("{:?} (none)", part.id),
                    format!(
                        "parts of the same kind ({}) each need a tag so controllers can tell them \
                         apart",
                        part.kind
                    ),
                ));
            };
            if earlier
                .iter()
                .any(|p| p.kind == part.kind && p.tag == Some(tag))
            {
                return Err(ValidationError::new(
                    "parts.tag",
                    tag.to_string(),
                    format!(
                        "part {:?}: another {} part has the same tag",
                        part.id, part.kind
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The default display name of a part: `<parent name> <part>`, cut to 32 bytes at a character
/// boundary.
pub fn default_part_name(parent_name: &str, part: &str) -> String {
    let mut name = format!("{parent_name} {part}");
    if name.len() > 32 {
        let mut cut = 32;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    name.trim_end().to_owned()
}
