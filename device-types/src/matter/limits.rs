//! The fixed values this bridge serves (in Matter units) that bound the canonical ranges.
//!
//! Level limits are the Device Library constraints for lights (MinLevel 1, MaxLevel 254);
//! mireds 153..=500 is ~6500 K..2000 K; the thermostat limits are the spec defaults
//! (AbsMinHeat 7 °C, AbsMaxHeat 30 °C, AbsMinCool 16 °C, AbsMaxCool 32 °C) and
//! MinSetpointDeadBand is the 1.4 default of 2.0 °C, which keeps the AutoMode constraints
//! (AbsMaxHeat ≤ AbsMaxCool − deadband) true.

/// Level Control MinLevel.
pub const MIN_LEVEL: u8 = 1;
/// Level Control MaxLevel.
pub const MAX_LEVEL: u8 = 254;
/// Color Control ColorTempPhysicalMinMireds (coolest).
pub const MIN_MIREDS: u16 = 153;
/// Color Control ColorTempPhysicalMaxMireds (warmest).
pub const MAX_MIREDS: u16 = 500;
/// Largest Matter hue / saturation value (0xFE).
pub const MAX_HUE_SAT: u8 = 254;

/// Smallest Matter temperature, -273.15 °C in hundredths.
pub const MIN_TEMPERATURE: i16 = -27315;
/// Largest Matter temperature, 327.67 °C in hundredths.
pub const MAX_TEMPERATURE: i16 = 32767;
/// Largest Matter relative humidity, 100 % in hundredths.
pub const MAX_HUMIDITY: u16 = 10000;

/// Thermostat AbsMinHeatSetpointLimit (and MinHeatSetpointLimit), hundredths of °C.
pub const ABS_MIN_HEAT: i16 = 700;
/// Thermostat AbsMaxHeatSetpointLimit (and MaxHeatSetpointLimit).
pub const ABS_MAX_HEAT: i16 = 3000;
/// Thermostat AbsMinCoolSetpointLimit (and MinCoolSetpointLimit).
pub const ABS_MIN_COOL: i16 = 1600;
/// Thermostat AbsMaxCoolSetpointLimit (and MaxCoolSetpointLimit).
pub const ABS_MAX_COOL: i16 = 3200;
/// Thermostat MinSetpointDeadBand as served: tenths of °C (SignedTemperature), 2.0 °C.
pub const DEADBAND_TENTHS: i8 = 20;
/// The same deadband in hundredths of °C, the unit of setpoints.
pub const DEADBAND_HUNDREDTHS: i16 = DEADBAND_TENTHS as i16 * 10;

/// Window Covering: 100.00 % in Percent100ths.
pub const MAX_PERCENT_100THS: u16 = 10000;

/// Largest illuminance served, lux: MeasuredValue 10000·log10(lux)+1 stays below 0xFFFF.
pub const MAX_LUX: f64 = 3_500_000.0;
/// Largest flow, m³/h: MeasuredValue (0.1 m³/h, uint16) at most 65534.
pub const MAX_FLOW: f64 = 6553.4;
/// Largest |active power|, W.
pub const MAX_POWER_W: f64 = 1.0e9;
/// Largest imported energy, kWh.
pub const MAX_ENERGY_KWH: f64 = 1.0e9;
/// Largest |voltage| (V) or |current| (A).
pub const MAX_VOLTAGE_CURRENT: f64 = 1.0e6;
/// Largest concentration (ppm, ppb or µg/m³ as the field says).
pub const MAX_CONCENTRATION: f64 = 100_000.0;
