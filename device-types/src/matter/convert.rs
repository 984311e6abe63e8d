//! Unit conversions between canonical state values and Matter attribute encodings.
//!
//! Every `*_to_matter` clamps to the Matter range (and rounds to nearest), so it never panics;
//! every `matter_to_*` produces a value that validates. Round trips Matter → canonical → Matter
//! are exact; canonical → Matter → canonical are exact except hue (±1°) and x/y (±1/65536),
//! whose Matter steps are coarser or finer than the canonical unit.

use super::limits;

/// Largest CurrentX/CurrentY Matter can encode (0xFEFF).
pub const XY_MATTER_MAX: u16 = 0xFEFF;
/// The same limit as a CIE coordinate, 65279/65536 ≈ 0.99605: the canonical upper bound.
pub const XY_MAX: f64 = XY_MATTER_MAX as f64 / 65536.0;

/// °C → Matter temperature (i16 hundredths of °C), clamped to -273.15..=327.67.
/// A NaN (never valid state) maps to 0.
pub fn temperature_to_matter(celsius: f64) -> i16 {
    let v = (celsius * 100.0).round();
    if v.is_nan() {
        return 0;
    }
    v.clamp(
        limits::MIN_TEMPERATURE as f64,
        limits::MAX_TEMPERATURE as f64,
    ) as i16
}

/// Matter temperature (i16 hundredths of °C) → °C.
pub fn matter_to_temperature(v: i16) -> f64 {
    v as f64 / 100.0
}

/// %RH → Matter RelativeHumidity MeasuredValue (u16 hundredths), clamped to 0..=10000.
pub fn humidity_to_matter(percent: f64) -> u16 {
    let v = (percent * 100.0).round();
    if v.is_nan() {
        return 0;
    }
    v.clamp(0.0, limits::MAX_HUMIDITY as f64) as u16
}

/// Matter RelativeHumidity MeasuredValue → %RH.
pub fn matter_to_humidity(v: u16) -> f64 {
    v.min(limits::MAX_HUMIDITY) as f64 / 100.0
}

/// Canonical brightness → Matter CurrentLevel: the same number, clamped to MinLevel..=MaxLevel.
pub fn level_to_matter(brightness: u8) -> u8 {
    brightness.clamp(limits::MIN_LEVEL, limits::MAX_LEVEL)
}

/// Matter level (0..=254) → canonical brightness, clamped to MinLevel..=MaxLevel.
pub fn matter_to_level(v: u8) -> u8 {
    v.clamp(limits::MIN_LEVEL, limits::MAX_LEVEL)
}

/// Brightness 1..=254 → percent 1..=100 (for connectors that speak percent).
pub fn level_to_percent(brightness: u8) -> u8 {
    let b = level_to_matter(brightness) as u32;
    ((b * 100 + 127) / 254).max(1) as u8
}

/// Percent 0..=100 → brightness 1..=254 (0 % gives the minimum level, not off).
pub fn percent_to_level(percent: u8) -> u8 {
    let p = percent.min(100) as u32;
    level_to_matter(((p * 254 + 50) / 100) as u8)
}

/// Percent open (0..=100) → Matter Percent100ths, which counts *closed*: 100 % open = 0.
pub fn position_to_percent100ths(open_percent: u8) -> u16 {
    (100 - open_percent.min(100) as u16) * 100
}

/// Matter Percent100ths (closed, 0..=10000) → percent open, rounded to the nearest percent.
pub fn percent100ths_to_position(v: u16) -> u8 {
    let closed = (v.min(limits::MAX_PERCENT_100THS) as u32 + 50) / 100;
    (100 - closed) as u8
}

/// Percent open → Matter percent closed (CurrentPositionLiftPercentage).
pub fn position_to_percent_closed(open_percent: u8) -> u8 {
    100 - open_percent.min(100)
}

/// Hue in degrees (0..=360) → Matter hue (0..=254), rounded.
pub fn hue_to_matter(degrees: u16) -> u8 {
    let d = degrees.min(360) as u32;
    ((d * limits::MAX_HUE_SAT as u32 + 180) / 360) as u8
}

/// Matter hue (0..=254) → degrees (0..=360), rounded.
pub fn matter_to_hue(v: u8) -> u16 {
    let m = v.min(limits::MAX_HUE_SAT) as u32;
    ((m * 360 + 127) / limits::MAX_HUE_SAT as u32) as u16
}

/// Saturation percent (0..=100) → Matter saturation (0..=254), rounded.
pub fn saturation_to_matter(percent: u8) -> u8 {
    let p = percent.min(100) as u32;
    ((p * limits::MAX_HUE_SAT as u32 + 50) / 100) as u8
}

/// Matter saturation (0..=254) → percent (0..=100), rounded.
pub fn matter_to_saturation(v: u8) -> u8 {
    let m = v.min(limits::MAX_HUE_SAT) as u32;
    ((m * 100 + 127) / limits::MAX_HUE_SAT as u32) as u8
}

/// CIE coordinate (0.0..=XY_MAX) → Matter CurrentX/CurrentY (value × 65536, 0..=0xFEFF).
pub fn xy_to_matter(coord: f64) -> u16 {
    let v = (coord * 65536.0).round();
    if v.is_nan() {
        return 0;
    }
    v.clamp(0.0, XY_MATTER_MAX as f64) as u16
}

/// Matter CurrentX/CurrentY → CIE coordinate.
pub fn matter_to_xy(v: u16) -> f64 {
    v.min(XY_MATTER_MAX) as f64 / 65536.0
}

/// Mireds → kelvin, rounded (for connectors that speak kelvin).
pub fn mireds_to_kelvin(mireds: u16) -> u32 {
    let m = mireds.max(1) as u32;
    (1_000_000 + m / 2) / m
}

/// Kelvin → mireds, rounded and clamped to the served 153..=500.
pub fn kelvin_to_mireds(kelvin: u32) -> u16 {
    let k = kelvin.max(1);
    let m = (1_000_000 + k / 2) / k;
    m.clamp(limits::MIN_MIREDS as u32, limits::MAX_MIREDS as u32) as u16
}

/// Illuminance Measurement MeasuredValue of `lux`: 10000·log10(lux) + 1, rounded, within
/// 1..=0xFFFE; 0 lux reads 0 (the spec's "too low to be measured").
pub fn lux_to_matter(lux: f64) -> u16 {
    if !lux.is_finite() || lux <= 0.0 {
        return 0;
    }
    let v = 10000.0 * lux.log10() + 1.0;
    v.round().clamp(1.0, 65534.0) as u16
}

/// Lux of an Illuminance Measurement MeasuredValue: 10^((v − 1) / 10000); 0 reads 0 lux.
pub fn matter_to_lux(v: u16) -> f64 {
    if v == 0 {
        return 0.0;
    }
    10f64.powf((f64::from(v) - 1.0) / 10000.0)
}

/// Pressure Measurement MeasuredValue (0.1 kPa = 1 hPa) of `hpa`, rounded.
pub fn pressure_to_matter(hpa: f64) -> i16 {
    hpa.round().clamp(-32767.0, 32767.0) as i16
}

/// Flow Measurement MeasuredValue (0.1 m³/h) of `m3h`, rounded.
pub fn flow_to_matter(m3h: f64) -> u16 {
    (m3h * 10.0).round().clamp(0.0, 65534.0) as u16
}

/// Power Source BatPercentRemaining (half percent) of a charge in percent.
pub fn battery_to_matter(percent: u8) -> u8 {
    percent.min(100) * 2
}

/// `value` (W, kWh, V or A) in the thousandths Matter counts in (mW, mWh, mV, mA).
pub fn to_milli(value: f64) -> i64 {
    (value * 1000.0).round() as i64
}
