//! Validation of canonical state: value ranges, finiteness, per-kind applicability, cross-field rules.
//!
//! Two layers: [`check_ranges`] needs no device kind (used by the JSON codec too), and
//! [`validate_for_kind`] adds which fields apply to a kind and the rules between fields. Ranges are
//! derived from the Matter limits in [`crate::matter::limits`] so the two can never disagree.

use crate::matter::convert::{XY_MATTER_MAX, XY_MAX};
use crate::matter::limits;
use crate::{ColorMode, DeviceKind, Shape, State};

/// A value that is not acceptable, naming the field and the offending value.
///
/// Displays as e.g. ``invalid value 300 for field `brightness`: must be 1..=254``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value} for field `{field}`: {reason}")]
pub struct ValidationError {
    /// JSON field name (or `kind`, `$` for the whole document).
    pub field: String,
    /// The rejected value as text (JSON text when it came from JSON).
    pub value: String,
    /// What would have been acceptable.
    pub reason: String,
}

impl ValidationError {
    /// Builds an error from its three parts.
    pub fn new(
        field: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Inclusive integer range of an integer field, kind-independent.
pub(crate) fn int_range(field: &str) -> Option<(i64, i64)> {
    Some(match field {
        "brightness" => (limits::MIN_LEVEL as i64, limits::MAX_LEVEL as i64),
        "color_temp_mireds" => (limits::MIN_MIREDS as i64, limits::MAX_MIREDS as i64),
        "hue" => (0, 360),
        "saturation" => (0, 100),
        "position" => (0, 100),
        "fan_percent" | "battery" => (0, 100),
        _ => return None,
    })
}

/// Inclusive range of a floating-point field, kind-independent.
pub(crate) fn float_range(field: &str) -> Option<(f64, f64)> {
    Some(match field {
        "color_x" | "color_y" => (0.0, XY_MAX),
        "temperature" => (
            limits::MIN_TEMPERATURE as f64 / 100.0,
            limits::MAX_TEMPERATURE as f64 / 100.0,
        ),
        "humidity" => (0.0, 100.0),
        "heating_setpoint" => (
            limits::ABS_MIN_HEAT as f64 / 100.0,
            limits::ABS_MAX_HEAT as f64 / 100.0,
        ),
        "cooling_setpoint" => (
            limits::ABS_MIN_COOL as f64 / 100.0,
            limits::ABS_MAX_COOL as f64 / 100.0,
        ),
        "illuminance" => (0.0, limits::MAX_LUX),
        "pressure" => (0.0, i16::MAX as f64),
        "flow" => (0.0, limits::MAX_FLOW),
        "power" => (-limits::MAX_POWER_W, limits::MAX_POWER_W),
        "energy" => (0.0, limits::MAX_ENERGY_KWH),
        "voltage" | "current" => (-limits::MAX_VOLTAGE_CURRENT, limits::MAX_VOLTAGE_CURRENT),
        "co2" | "pm25" | "pm10" | "tvoc" | "formaldehyde" => (0.0, limits::MAX_CONCENTRATION),
        _ => return None,
    })
}

/// Checks an integer against its field's range.
pub(crate) fn check_int(field: &str, value: i64) -> Result<(), ValidationError> {
    match int_range(field) {
        Some((lo, hi)) if !(lo..=hi).contains(&value) => Err(ValidationError::new(
            field,
            value.to_string(),
            format!("must be {lo}..={hi}"),
        )),
        _ => Ok(()),
    }
}

/// The reason text for a float field's range.
pub(crate) fn float_reason(field: &str) -> String {
    match (field, float_range(field)) {
        ("color_x" | "color_y", _) => {
            format!("must be a finite number in 0.0..={XY_MAX:.5} ({XY_MATTER_MAX}/65536, the largest value Matter can encode)")
        }
        (_, Some((lo, hi))) => format!("must be a finite number in {lo}..={hi}"),
        (_, None) => "must be a finite number".to_owned(),
    }
}

/// Checks a float for finiteness and against its field's range.
pub(crate) fn check_float(field: &str, value: f64) -> Result<(), ValidationError> {
    let ok =
        value.is_finite() && float_range(field).is_none_or(|(lo, hi)| (lo..=hi).contains(&value));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            value.to_string(),
            float_reason(field),
        ))
    }
}

/// Kind-independent checks: every set field within its range, floats finite.
pub(crate) fn check_ranges(state: &State) -> Result<(), ValidationError> {
    let ints = [
        ("brightness", state.brightness.map(i64::from)),
        ("color_temp_mireds", state.color_temp_mireds.map(i64::from)),
        ("hue", state.hue.map(i64::from)),
        ("saturation", state.saturation.map(i64::from)),
        ("position", state.position.map(i64::from)),
        ("fan_percent", state.fan_percent.map(i64::from)),
        ("battery", state.battery.map(i64::from)),
    ];
    let floats = [
        ("color_x", state.color_x),
        ("color_y", state.color_y),
        ("temperature", state.temperature),
        ("humidity", state.humidity),
        ("heating_setpoint", state.heating_setpoint),
        ("cooling_setpoint", state.cooling_setpoint),
        ("illuminance", state.illuminance),
        ("pressure", state.pressure),
        ("flow", state.flow),
        ("power", state.power),
        ("energy", state.energy),
        ("voltage", state.voltage),
        ("current", state.current),
        ("co2", state.co2),
        ("pm25", state.pm25),
        ("pm10", state.pm10),
        ("tvoc", state.tvoc),
        ("formaldehyde", state.formaldehyde),
    ];
    for (field, value) in ints {
        if let Some(v) = value {
            check_int(field, v)?;
        }
    }
    for (field, value) in floats {
        if let Some(v) = value {
            check_float(field, v)?;
        }
    }
    Ok(())
}

/// Full validation of `state` (a full state or a patch) for `kind`.
///
/// Order: fields that do not apply to the kind, then ranges, then cross-field rules. The
/// thermostat deadband rule (heating at least MinSetpointDeadBand below cooling) is checked only
/// when both setpoints are present, so validate the *merged* state to enforce it on a patch.
pub(crate) fn validate_for_shape(shape: Shape, state: &State) -> Result<(), ValidationError> {
    let kind = shape.kind;
    let applicable = shape.fields();
    for field in state.present_fields() {
        if !applicable.contains(&field) {
            return Err(ValidationError::new(
                field,
                state.field_value(field).unwrap_or_default(),
                format!(
                    "field does not apply to a {shape} (its fields: {})",
                    applicable.join(", ")
                ),
            ));
        }
    }
    check_ranges(state)?;

    if state.fan_mode == Some(crate::FanMode::Auto) && !shape.has(crate::Capability::FanAuto) {
        return Err(ValidationError::new(
            "fan_mode",
            "auto",
            "this fan has no Auto mode (add \"fan_auto\" to its `with`)",
        ));
    }

    if kind == DeviceKind::ColorTemperatureLight {
        if let Some(mode) = state.color_mode.filter(|m| *m != ColorMode::ColorTemp) {
            return Err(ValidationError::new(
                "color_mode",
                mode.as_str(),
                "a color_temperature_light only has color mode \"color_temp\"",
            ));
        }
    }

    if let (Some(heat), Some(cool)) = (state.heating_setpoint, state.cooling_setpoint) {
        let heat_c = crate::matter::temperature_to_matter(heat) as i32;
        let cool_c = crate::matter::temperature_to_matter(cool) as i32;
        let band = limits::DEADBAND_HUNDREDTHS as i32;
        if heat_c > cool_c - band {
            return Err(ValidationError::new(
                "heating_setpoint",
                heat.to_string(),
                format!(
                    "must be at least {} °C below cooling_setpoint ({cool}) (Matter MinSetpointDeadBand)",
                    band as f64 / 100.0
                ),
            ));
        }
    }
    Ok(())
}
