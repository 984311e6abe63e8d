//! The JSON codec for [`State`]: parses field by field so every error names the field and value.
//!
//! serde's derived `Deserialize` reports "invalid type: string, expected u8 at column 17" without
//! the field name; this parser reads a `serde_json::Value`, then converts each key itself and
//! applies the kind-independent ranges, so `{"brightness": 300}` fails with
//! ``invalid value 300 for field `brightness`: must be 1..=254``. A `null` value means "unset".

use serde_json::{Map, Value};

use crate::validate::{check_float, check_int, check_ranges, int_range, ValidationError};
use crate::State;

impl State {
    /// Parses a JSON object into a `State`.
    ///
    /// Rejects (naming the field and value): text that is not a JSON object, unknown fields,
    /// wrong types, integers out of range, non-numbers for numeric fields, unknown enum
    /// spellings. Applicability to a device kind is not checked here; call
    /// [`crate::DeviceKind::validate`] for that.
    pub fn from_json(s: &str) -> Result<State, ValidationError> {
        let value: Value = serde_json::from_str(s).map_err(|e| {
            ValidationError::new("$", abbreviate(s), format!("not valid JSON: {e}"))
        })?;
        match value {
            Value::Object(map) => State::from_json_object(&map),
            other => Err(ValidationError::new(
                "$",
                abbreviate(&other.to_string()),
                "must be a JSON object of state fields",
            )),
        }
    }

    /// Like [`State::from_json`], for an already-parsed JSON object.
    pub fn from_json_object(map: &Map<String, Value>) -> Result<State, ValidationError> {
        let mut st = State::default();
        for (key, v) in map {
            if v.is_null() {
                continue;
            }
            let k = key.as_str();
            match k {
                "on" => st.on = Some(json_bool(k, v)?),
                "contact" => st.contact = Some(json_bool(k, v)?),
                "occupied" => st.occupied = Some(json_bool(k, v)?),
                "brightness" => st.brightness = Some(json_int(k, v)? as u8),
                "saturation" => st.saturation = Some(json_int(k, v)? as u8),
                "position" => st.position = Some(json_int(k, v)? as u8),
                "color_temp_mireds" => st.color_temp_mireds = Some(json_int(k, v)? as u16),
                "hue" => st.hue = Some(json_int(k, v)? as u16),
                "color_x" => st.color_x = Some(json_float(k, v)?),
                "color_y" => st.color_y = Some(json_float(k, v)?),
                "temperature" => st.temperature = Some(json_float(k, v)?),
                "humidity" => st.humidity = Some(json_float(k, v)?),
                "heating_setpoint" => st.heating_setpoint = Some(json_float(k, v)?),
                "cooling_setpoint" => st.cooling_setpoint = Some(json_float(k, v)?),
                "color_mode" => st.color_mode = Some(json_enum(k, v)?),
                "system_mode" => st.system_mode = Some(json_enum(k, v)?),
                "lock_state" => st.lock_state = Some(json_enum(k, v)?),
                "illuminance" => st.illuminance = Some(json_float(k, v)?),
                "pressure" => st.pressure = Some(json_float(k, v)?),
                "flow" => st.flow = Some(json_float(k, v)?),
                "leak" => st.leak = Some(json_bool(k, v)?),
                "freeze" => st.freeze = Some(json_bool(k, v)?),
                "rain" => st.rain = Some(json_bool(k, v)?),
                "smoke" => st.smoke = Some(json_enum(k, v)?),
                "co" => st.co = Some(json_enum(k, v)?),
                "battery_alert" => st.battery_alert = Some(json_enum(k, v)?),
                "test_in_progress" => st.test_in_progress = Some(json_bool(k, v)?),
                "hardware_fault" => st.hardware_fault = Some(json_bool(k, v)?),
                "air_quality" => st.air_quality = Some(json_enum(k, v)?),
                "fan_mode" => st.fan_mode = Some(json_enum(k, v)?),
                "fan_percent" => st.fan_percent = Some(json_int(k, v)? as u8),
                "battery" => st.battery = Some(json_int(k, v)? as u8),
                "battery_low" => st.battery_low = Some(json_bool(k, v)?),
                "power" => st.power = Some(json_float(k, v)?),
                "energy" => st.energy = Some(json_float(k, v)?),
                "voltage" => st.voltage = Some(json_float(k, v)?),
                "current" => st.current = Some(json_float(k, v)?),
                "co2" => st.co2 = Some(json_float(k, v)?),
                "pm25" => st.pm25 = Some(json_float(k, v)?),
                "pm10" => st.pm10 = Some(json_float(k, v)?),
                "tvoc" => st.tvoc = Some(json_float(k, v)?),
                "formaldehyde" => st.formaldehyde = Some(json_float(k, v)?),
                _ => {
                    return Err(ValidationError::new(
                        k,
                        abbreviate(&v.to_string()),
                        format!(
                            "unknown field (known fields: {})",
                            State::FIELD_NAMES.join(", ")
                        ),
                    ))
                }
            }
        }
        check_ranges(&st)?;
        Ok(st)
    }
}

/// Keeps error messages short when someone posts a large document.
fn abbreviate(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

fn json_bool(field: &str, v: &Value) -> Result<bool, ValidationError> {
    v.as_bool().ok_or_else(|| {
        ValidationError::new(field, abbreviate(&v.to_string()), "must be true or false")
    })
}

/// An integer field: accepts JSON integers and floats with no fractional part (`50.0`).
fn json_int(field: &str, v: &Value) -> Result<i64, ValidationError> {
    let (lo, hi) = int_range(field).unwrap_or((i64::MIN, i64::MAX));
    let as_int = v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    });
    match as_int {
        Some(i) => {
            check_int(field, i)?;
            Ok(i)
        }
        None => Err(ValidationError::new(
            field,
            abbreviate(&v.to_string()),
            format!("must be an integer in {lo}..={hi}"),
        )),
    }
}

fn json_float(field: &str, v: &Value) -> Result<f64, ValidationError> {
    match v.as_f64() {
        Some(f) => {
            check_float(field, f)?;
            Ok(f)
        }
        None => Err(ValidationError::new(
            field,
            abbreviate(&v.to_string()),
            crate::validate::float_reason(field),
        )),
    }
}

fn json_enum<T>(field: &str, v: &Value) -> Result<T, ValidationError>
where
    T: std::str::FromStr<Err = ValidationError>,
{
    match v.as_str() {
        // One enum can back several fields (smoke, co, battery_alert): name the field.
        Some(s) => s.parse::<T>().map_err(|mut e| {
            e.field = field.to_owned();
            e
        }),
        None => {
            // Reuse the enum's own "must be one of" text for the wrong-type case.
            let reason = "".parse::<T>().err().map(|e| e.reason).unwrap_or_default();
            Err(ValidationError::new(
                field,
                abbreviate(&v.to_string()),
                reason,
            ))
        }
    }
}
