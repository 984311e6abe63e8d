//! Attribute reads of the clusters added for sensors, alarms, fans and the `with` capabilities:
//! Illuminance / Pressure / Flow Measurement, Smoke CO Alarm, Air Quality, Fan Control, Power
//! Source, Electrical Power / Energy Measurement, Power Topology and the Concentration
//! Measurement clusters.
//!
//! Power Source EndpointList reads an empty list here: the bridge knows the endpoint number and
//! serves that attribute itself (the endpoint the source powers, and its parts).

use super::convert::*;
use super::ids::{self, cluster};
use super::spec::ClusterSpec;
use super::AttrValue::{self, *};
use crate::{AirQuality, AlarmLevel, FanMode, State};

pub(crate) fn read(
    spec: &ClusterSpec,
    state: &State,
    eff: &State,
    cluster: u32,
    attr: u32,
) -> Option<AttrValue> {
    use ids::measurement::attr::*;
    match cluster {
        cluster::ILLUMINANCE_MEASUREMENT => match attr {
            MEASURED_VALUE => Some(state.illuminance.map_or(Null, |l| U16(lux_to_matter(l)))),
            // 1 lux .. MAX_LUX: the range the canonical field allows.
            MIN_MEASURED_VALUE => Some(U16(1)),
            MAX_MEASURED_VALUE => Some(U16(lux_to_matter(super::limits::MAX_LUX))),
            _ => None,
        },
        cluster::PRESSURE_MEASUREMENT => match attr {
            MEASURED_VALUE => Some(state.pressure.map_or(Null, |p| I16(pressure_to_matter(p)))),
            MIN_MEASURED_VALUE | MAX_MEASURED_VALUE => Some(Null),
            _ => None,
        },
        cluster::FLOW_MEASUREMENT => match attr {
            MEASURED_VALUE => Some(state.flow.map_or(Null, |f| U16(flow_to_matter(f)))),
            MIN_MEASURED_VALUE | MAX_MEASURED_VALUE => Some(Null),
            _ => None,
        },
        cluster::SMOKE_CO_ALARM => smoke_co(spec.feature_map, eff, attr),
        cluster::AIR_QUALITY => match attr {
            ids::air_quality::attr::AIR_QUALITY => {
                Some(U8(state.air_quality.map_or(0, air_quality_value)))
            }
            _ => None,
        },
        cluster::FAN_CONTROL => fan(spec.feature_map, eff, attr),
        cluster::POWER_SOURCE => power_source(spec.feature_map, state, eff, attr),
        cluster::ELECTRICAL_POWER_MEASUREMENT => electrical_power(state, attr),
        cluster::ELECTRICAL_ENERGY_MEASUREMENT => electrical_energy(state, attr),
        cluster::CO2_CONCENTRATION
        | cluster::PM25_CONCENTRATION
        | cluster::PM10_CONCENTRATION
        | cluster::TVOC_CONCENTRATION
        | cluster::FORMALDEHYDE_CONCENTRATION => concentration(cluster, state, attr),
        _ => None,
    }
}

/// Matter AlarmStateEnum value.
pub(crate) fn alarm_value(level: AlarmLevel) -> u8 {
    match level {
        AlarmLevel::Normal => 0,
        AlarmLevel::Warning => 1,
        AlarmLevel::Critical => 2,
    }
}

/// Matter AirQualityEnum value.
pub(crate) fn air_quality_value(q: AirQuality) -> u8 {
    match q {
        AirQuality::Good => 1,
        AirQuality::Fair => 2,
        AirQuality::Moderate => 3,
        AirQuality::Poor => 4,
        AirQuality::VeryPoor => 5,
        AirQuality::ExtremelyPoor => 6,
    }
}

/// Smoke CO Alarm ExpressedState, derived from the state by the spec's priority: the most
/// severe alarm first (smoke before CO on a tie), then a test, a hardware fault, a battery
/// alert, else Normal.
pub(crate) fn expressed_state(eff: &State) -> u8 {
    let level = |l: Option<AlarmLevel>| l.map_or(0, alarm_value);
    let (smoke, co) = (level(eff.smoke), level(eff.co));
    if smoke > 0 && smoke >= co {
        1
    } else if co > 0 {
        2
    } else if eff.test_in_progress == Some(true) {
        4
    } else if eff.hardware_fault == Some(true) {
        5
    } else if level(eff.battery_alert) > 0 {
        3
    } else {
        0
    }
}

fn smoke_co(features: u32, eff: &State, attr: u32) -> Option<AttrValue> {
    use super::spec::smoke_co_feature::{CO, SMOKE};
    use ids::smoke_co_alarm::attr::*;
    let level = |l: Option<AlarmLevel>| U8(l.map_or(0, alarm_value));
    match attr {
        EXPRESSED_STATE => Some(U8(expressed_state(eff))),
        SMOKE_STATE if features & SMOKE != 0 => Some(level(eff.smoke)),
        CO_STATE if features & CO != 0 => Some(level(eff.co)),
        BATTERY_ALERT => Some(level(eff.battery_alert)),
        TEST_IN_PROGRESS => Some(Bool(eff.test_in_progress.unwrap_or(false))),
        HARDWARE_FAULT_ALERT => Some(Bool(eff.hardware_fault.unwrap_or(false))),
        // EndOfServiceEnum Normal: a bridged alarm does not report its expiry.
        END_OF_SERVICE_ALERT => Some(U8(0)),
        _ => None,
    }
}

/// Matter FanModeEnum value as served: On is shown as High (the spec has the server replace a
/// written On by High).
pub(crate) fn fan_mode_value(mode: FanMode) -> u8 {
    match mode {
        FanMode::Off => 0,
        FanMode::Low => 1,
        FanMode::Medium => 2,
        FanMode::High | FanMode::On => 3,
        FanMode::Auto => 5,
    }
}

fn fan(features: u32, eff: &State, attr: u32) -> Option<AttrValue> {
    use ids::fan_control::attr::*;
    let mode = eff.fan_mode.unwrap_or(FanMode::Off);
    let percent = eff.fan_percent.unwrap_or(0);
    match attr {
        FAN_MODE => Some(U8(fan_mode_value(mode))),
        // FanModeSequenceEnum OffLowMedHighAuto with the Auto feature, else OffLowMedHigh.
        FAN_MODE_SEQUENCE => Some(U8(if features & ids::fan_control::FEATURE_AUTO != 0 {
            2
        } else {
            0
        })),
        // Null while the fan runs itself (Auto): no setting is in force.
        PERCENT_SETTING => Some(if mode == FanMode::Auto {
            Null
        } else {
            U8(percent)
        }),
        PERCENT_CURRENT => Some(U8(percent)),
        _ => None,
    }
}

fn power_source(features: u32, state: &State, eff: &State, attr: u32) -> Option<AttrValue> {
    use ids::power_source::attr::*;
    let battery = features & 0x2 != 0;
    match attr {
        // PowerSourceStatusEnum Active.
        STATUS => Some(U8(1)),
        ORDER => Some(U8(0)),
        DESCRIPTION => Some(Str(if battery { "Battery" } else { "Mains" })),
        // WiredCurrentTypeEnum AC.
        WIRED_CURRENT_TYPE if !battery => Some(U8(0)),
        BAT_PERCENT_REMAINING if battery => {
            Some(state.battery.map_or(Null, |p| U8(battery_to_matter(p))))
        }
        // BatChargeLevelEnum: OK 0, Warning 1, Critical 2 — low is Critical below 10 %,
        // Warning otherwise.
        BAT_CHARGE_LEVEL if battery => Some(U8(match eff.battery_low {
            Some(true) if eff.battery.is_some_and(|p| p < 10) => 2,
            Some(true) => 1,
            _ => 0,
        })),
        BAT_REPLACEMENT_NEEDED if battery => Some(Bool(eff.battery_low.unwrap_or(false))),
        // BatReplaceabilityEnum Unspecified.
        BAT_REPLACEABILITY if battery => Some(U8(0)),
        ENDPOINT_LIST => Some(List(Vec::new())),
        _ => None,
    }
}

/// MeasurementAccuracyStruct of `measurement_type` over `min..=max` (thousandths) with a ±1 %
/// accuracy range covering it: what a bridge that does not know the meter's class can claim.
fn accuracy(measurement_type: u16, min: i64, max: i64) -> AttrValue {
    Struct(vec![
        (0, U16(measurement_type)),
        (1, Bool(true)),
        (2, I64(min)),
        (3, I64(max)),
        (
            4,
            List(vec![Struct(vec![
                (0, I64(min)),
                (1, I64(max)),
                (2, U16(100)),
            ])]),
        ),
    ])
}

/// MeasurementTypeEnum values.
mod measurement_type {
    pub const VOLTAGE: u16 = 1;
    pub const ACTIVE_CURRENT: u16 = 2;
    pub const ACTIVE_POWER: u16 = 5;
    pub const ELECTRICAL_ENERGY: u16 = 14;
}

fn electrical_power(state: &State, attr: u32) -> Option<AttrValue> {
    use super::limits::{MAX_POWER_W, MAX_VOLTAGE_CURRENT};
    use ids::electrical_power::attr::*;
    let milli = |v: Option<f64>| v.map_or(Null, |v| I64(to_milli(v)));
    match attr {
        // PowerModeEnum AC.
        POWER_MODE => Some(U8(2)),
        NUMBER_OF_MEASUREMENT_TYPES => Some(U8(3)),
        ACCURACY => {
            let vc = to_milli(MAX_VOLTAGE_CURRENT);
            let p = to_milli(MAX_POWER_W);
            Some(List(vec![
                accuracy(measurement_type::VOLTAGE, -vc, vc),
                accuracy(measurement_type::ACTIVE_CURRENT, -vc, vc),
                accuracy(measurement_type::ACTIVE_POWER, -p, p),
            ]))
        }
        VOLTAGE => Some(milli(state.voltage)),
        ACTIVE_CURRENT => Some(milli(state.current)),
        ACTIVE_POWER => Some(milli(state.power)),
        _ => None,
    }
}

/// EnergyMeasurementStruct of `kwh`: {0: energy mWh}.
pub(crate) fn energy_struct(kwh: f64) -> AttrValue {
    Struct(vec![(0, I64(to_milli(kwh * 1000.0)))])
}

fn electrical_energy(state: &State, attr: u32) -> Option<AttrValue> {
    use ids::electrical_energy::attr::*;
    match attr {
        ACCURACY => Some(accuracy(
            measurement_type::ELECTRICAL_ENERGY,
            0,
            to_milli(super::limits::MAX_ENERGY_KWH * 1000.0),
        )),
        CUMULATIVE_ENERGY_IMPORTED => Some(state.energy.map_or(Null, energy_struct)),
        _ => None,
    }
}

/// MeasurementUnitEnum of each concentration: PPM 0, PPB 1, UGM3 4.
pub(crate) fn concentration_unit(cluster: u32) -> u8 {
    match cluster {
        cluster::CO2_CONCENTRATION => 0,
        cluster::TVOC_CONCENTRATION => 1,
        _ => 4,
    }
}

fn concentration(cluster: u32, state: &State, attr: u32) -> Option<AttrValue> {
    use ids::concentration::attr::*;
    let value = match cluster {
        cluster::CO2_CONCENTRATION => state.co2,
        cluster::PM25_CONCENTRATION => state.pm25,
        cluster::PM10_CONCENTRATION => state.pm10,
        cluster::TVOC_CONCENTRATION => state.tvoc,
        _ => state.formaldehyde,
    };
    match attr {
        MEASURED_VALUE => Some(value.map_or(Null, |v| F32(v as f32))),
        MIN_MEASURED_VALUE => Some(F32(0.0)),
        MAX_MEASURED_VALUE => Some(F32(super::limits::MAX_CONCENTRATION as f32)),
        MEASUREMENT_UNIT => Some(U8(concentration_unit(cluster))),
        // MeasurementMediumEnum Air.
        MEASUREMENT_MEDIUM => Some(U8(0)),
        _ => None,
    }
}
