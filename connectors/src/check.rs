//! Checks of option values shared by every config type: "must be between A and B" and the
//! [`crate::Error::Config`] that names the connector, the key and the value.

use crate::Error;

/// `Err` naming `key` unless `value` lies in `range` ("must be between A and B").
pub(crate) fn in_range<T>(
    connector: &str,
    key: &'static str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), Error>
where
    T: PartialOrd + std::fmt::Display,
{
    if range.contains(&value) {
        return Ok(());
    }
    let reason = format!("must be between {} and {}", range.start(), range.end());
    Err(invalid(connector, key, value, &reason))
}

pub(crate) fn invalid(
    connector: &str,
    key: &'static str,
    value: impl ToString,
    reason: &str,
) -> Error {
    Error::Config {
        connector: connector.to_owned(),
        key,
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}
