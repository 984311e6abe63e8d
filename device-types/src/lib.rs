//! Device kinds, their Matter device types and clusters, canonical state, validation and the
//! pure Matter attribute/command mapping. No I/O, no rs-matter dependency.
//!
//! # Layout
//! - `kind.rs`: [`DeviceKind`], the device kinds: their Matter device type, which state
//!   fields apply, default state.
//! - `state.rs`: [`State`], the one canonical state/patch struct, and its enums
//!   ([`ColorMode`], [`SystemMode`], [`LockState`]); merge and diff.
//! - `event.rs`: [`DeviceEvent`] (a button [`Press`]): device events, which are not state; their
//!   JSON form and which kinds raise them.
//! - `shape.rs`: [`Shape`] = a kind plus its `with` entries ([`With`]: other kinds and
//!   [`Capability`]s such as `battery` or `electrical`): the clusters, fields and device types of
//!   one endpoint. Every Matter function takes a shape (a bare kind converts into one).
//! - `parts.rs`: composed devices — [`PartSpec`] (a part: name, kind, `with`, position [`Tag`]),
//!   their validation, and the `<parent>:<part>` device id of a part.
//! - `json.rs`: [`State::from_json`], a field-by-field parser whose errors name field and value.
//! - `validate.rs`: [`ValidationError`] and the range / applicability / cross-field rules.
//! - [`matter`]: the Matter side, still pure data —
//!   `ids.rs` (cluster, attribute, command, event ids), `spec.rs` ([`ClusterSpec`] per kind),
//!   `limits.rs` (the fixed values served), `convert.rs` (unit conversions), `read.rs` (state → attribute values), `events.rs`,
//!   `command.rs` / `color.rs` / `hvac.rs` / `closure.rs` (invoke → state patch), `write.rs`
//!   (attribute writes → state patch).
//! - `tests/`: unit tests, one file per concern.
//!
//! # Flow
//! The bridge keeps one [`State`] per device. A Matter read calls [`matter::read_attr`]; an
//! invoke or write calls [`matter::invoke`] / [`matter::write_attr`], which return a patch that
//! the registry validates ([`DeviceKind::validate`] on the merged state) and applies; after any
//! change [`matter::changed_attrs`] and [`matter::events_for_change`] say what to report.

#[macro_use]
mod strenum;

mod event;
mod json;
mod kind;
pub mod matter;
pub mod parts;
mod shape;
mod state;
mod validate;

pub use event::{DeviceEvent, Press, MAX_BUTTON_LEN, MAX_PRESS_COUNT};
pub use kind::{DeviceKind, DeviceTypeInfo};
pub use matter::spec::ClusterSpec;
pub use parts::{PartSpec, Position, Tag};
pub use shape::{Capability, Shape, With};
pub use state::{AirQuality, AlarmLevel, ColorMode, FanMode, LockState, State, SystemMode};
pub use validate::ValidationError;

#[cfg(test)]
mod tests;
