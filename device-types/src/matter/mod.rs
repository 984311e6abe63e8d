//! The Matter side of a device, as pure functions over [`State`]: attribute reads,
//! command invokes, attribute writes, change and event reporting. No rs-matter types: the bridge
//! translates [`AttrValue`] / [`ArgValue`] to and from TLV.
//!
//! Commands give the *target* of a change: a continuous "Move" gives the end of its range (or no
//! change where a range has no end, see [`invoke`]). How long the change takes (TransitionTime, a
//! rate, OnOffTransitionTime) and the RemainingTime countdown are the bridge's (its
//! `matter::transition`), and the device's source moves there over that time.

pub mod convert;
pub mod ids;
pub mod limits;
pub mod scenes;
pub mod settings;
pub mod spec;
pub mod switch;

mod closure;
mod color;
mod command;
mod events;
mod hvac;
mod read;
mod read_more;
mod write;

pub use command::{invoke, invoke_with};
pub use convert::*;
pub use events::{event_fields, events_for_change, is_critical_event};
pub use read::{changed_attrs, read_attr};
pub use settings::{read_attr_with, Settings};
pub use spec::{cluster_spec, requires_timed_invoke, ClusterSpec};
pub use write::{write_attr, write_attr_with, WriteEffect};

use crate::State;

/// An attribute value to encode. Enums and bitmaps use the unsigned variant of their width;
/// nullable attributes whose state field is unset read as `Null`.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// TLV boolean.
    Bool(bool),
    /// uint8, enum8, bitmap8, percent.
    U8(u8),
    /// uint16, enum16, bitmap16, percent100ths.
    U16(u16),
    /// uint32, bitmap32.
    U32(u32),
    /// int8 (Thermostat MinSetpointDeadBand).
    I8(i8),
    /// int16, temperature.
    I16(i16),
    /// TLV null.
    Null,
    /// UTF-8 string (Power Source Description).
    Str(&'static str),
    /// int64 (power in mW, energy in mWh, voltage in mV, current in mA).
    I64(i64),
    /// single-precision float (concentrations).
    F32(f32),
    /// A structure: (context tag, value) pairs.
    Struct(Vec<(u8, AttrValue)>),
    /// A list (anonymous elements).
    List(Vec<AttrValue>),
}

/// A decoded command field or written attribute value, as the bridge read it from TLV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgValue {
    /// TLV boolean.
    Bool(bool),
    /// TLV unsigned integer of any width.
    UInt(u64),
    /// TLV signed integer of any width.
    Int(i64),
    /// TLV null.
    Null,
    /// TLV UTF-8 string.
    Str(String),
    /// Anything else (octet strings, structures, lists): present but not interpreted.
    Other,
}

/// The fields of a command, by context tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandArgs(pub Vec<(u8, ArgValue)>);

impl CommandArgs {
    /// The value at context tag `tag`, if present.
    pub fn get(&self, tag: u8) -> Option<&ArgValue> {
        self.0.iter().find(|(t, _)| *t == tag).map(|(_, v)| v)
    }

    /// An unsigned field; a non-negative signed integer is accepted too (TLV writers differ).
    pub fn uint(&self, tag: u8) -> Option<u64> {
        match self.get(tag)? {
            ArgValue::UInt(v) => Some(*v),
            ArgValue::Int(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// A signed field; an unsigned integer that fits in i64 is accepted too.
    pub fn int(&self, tag: u8) -> Option<i64> {
        match self.get(tag)? {
            ArgValue::Int(v) => Some(*v),
            ArgValue::UInt(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// A boolean field.
    pub fn bool(&self, tag: u8) -> Option<bool> {
        match self.get(tag)? {
            ArgValue::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// The field is present and null.
    pub fn is_null(&self, tag: u8) -> bool {
        matches!(self.get(tag), Some(ArgValue::Null))
    }
}

/// What a command does to the device.
// A short-lived return value: boxing the patch would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum CommandEffect {
    /// Apply this patch (validate it on the merged state, then apply through the registry).
    Patch(State),
    /// Accepted; nothing to change (Stop, StopMotion, TriggerEffect, ignored-while-off ...).
    NoChange,
    /// Identify command: the bridge sets its IdentifyTime countdown to `seconds` (0 stops).
    Identify {
        /// IdentifyTime to start counting down from.
        seconds: u16,
    },
}

/// Why an invoke or write was refused. Suggested Matter status in each variant's doc.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The cluster is not on this endpoint or does not accept the command, or the command is
    /// served by the bridge itself (Groups). Matter: UNSUPPORTED_COMMAND (or
    /// UNSUPPORTED_CLUSTER when the cluster is absent).
    #[error("unsupported command")]
    UnsupportedCommand,
    /// The attribute is not served or not writable. Matter: UNSUPPORTED_WRITE (or
    /// UNSUPPORTED_ATTRIBUTE when the attribute is absent from the cluster's spec).
    #[error("unsupported write: the attribute is not served or not writable")]
    UnsupportedWrite,
    /// A field is missing or has the wrong type. Matter: INVALID_COMMAND (for writes:
    /// INVALID_DATA_TYPE).
    #[error("invalid argument {value} for `{field}`: {reason}")]
    InvalidArgument {
        /// Spec name of the command field or attribute.
        field: String,
        /// The value received, as text.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A value of the right type outside its allowed range. Matter: CONSTRAINT_ERROR.
    #[error("constraint error: {value} for `{field}`: {reason}")]
    ConstraintError {
        /// Spec name of the command field or attribute.
        field: String,
        /// The value received, as text.
        value: String,
        /// The allowed range or values.
        reason: String,
    },
}

impl CommandError {
    pub(crate) fn invalid(field: &str, value: impl ToString, reason: impl Into<String>) -> Self {
        CommandError::InvalidArgument {
            field: field.to_owned(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn constraint(field: &str, value: impl ToString, reason: impl Into<String>) -> Self {
        CommandError::ConstraintError {
            field: field.to_owned(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Typed access to command fields with the errors the spec asks for.
pub(crate) struct Fields<'a>(pub &'a CommandArgs);

impl Fields<'_> {
    fn render(&self, tag: u8) -> String {
        match self.0.get(tag) {
            None => "(missing)".to_owned(),
            Some(v) => format!("{v:?}"),
        }
    }

    /// A mandatory unsigned field no larger than `max` (its TLV type's maximum).
    pub fn uint(&self, tag: u8, name: &str, max: u64) -> Result<u64, CommandError> {
        match self.0.uint(tag) {
            Some(v) if v <= max => Ok(v),
            _ => Err(CommandError::invalid(
                name,
                self.render(tag),
                format!("must be an unsigned integer ≤ {max}"),
            )),
        }
    }

    /// An optional unsigned field (options masks), defaulting to 0 when absent.
    pub fn uint_or_zero(&self, tag: u8, name: &str, max: u64) -> Result<u64, CommandError> {
        if self.0.get(tag).is_none() {
            Ok(0)
        } else {
            self.uint(tag, name, max)
        }
    }

    /// A mandatory signed field within `min..=max` (its TLV type's range).
    pub fn int(&self, tag: u8, name: &str, min: i64, max: i64) -> Result<i64, CommandError> {
        match self.0.int(tag) {
            Some(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(CommandError::invalid(
                name,
                self.render(tag),
                format!("must be an integer in {min}..={max}"),
            )),
        }
    }

    /// A nullable unsigned field: `Ok(None)` for null or absent.
    pub fn nullable_uint(
        &self,
        tag: u8,
        name: &str,
        max: u64,
    ) -> Result<Option<u64>, CommandError> {
        match self.0.get(tag) {
            None | Some(ArgValue::Null) => Ok(None),
            Some(_) => self.uint(tag, name, max).map(Some),
        }
    }
}

/// The effective ExecuteIfOff option (bit 0) for a command carrying optionsMask/optionsOverride
/// at `mask_tag`/`mask_tag + 1`, over the cluster's Options attribute `options` (0 unless a
/// controller wrote it): without an override or the attribute's bit, a command that is not
/// "WithOnOff" is ignored while the light is off.
pub(crate) fn execute_if_off(
    args: &CommandArgs,
    mask_tag: u8,
    options: u8,
) -> Result<bool, CommandError> {
    let f = Fields(args);
    let mask = f.uint_or_zero(mask_tag, "OptionsMask", 0xFF)?;
    let over = f.uint_or_zero(mask_tag + 1, "OptionsOverride", 0xFF)?;
    Ok(((u64::from(options) & !mask) | (over & mask)) & 0x1 != 0)
}

/// A patch that changes nothing becomes `NoChange`.
pub(crate) fn patch(state: State) -> CommandEffect {
    if state.is_empty() {
        CommandEffect::NoChange
    } else {
        CommandEffect::Patch(state)
    }
}
