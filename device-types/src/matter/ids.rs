//! Matter cluster, attribute, command and event ids used by this crate, one module per cluster.
//!
//! Source: the Matter IDL rs-matter is generated from (`rs-matter-codegen-0.4.1/src/idl/parser/`,
//! 1.4.2 for the first clusters, 1.6.0 — the one rs-matter 0.4.1 compiles — for the rest).

/// Cluster ids.
pub mod cluster {
    /// Identify.
    pub const IDENTIFY: u32 = 0x0003;
    /// Groups.
    pub const GROUPS: u32 = 0x0004;
    /// On/Off.
    pub const ON_OFF: u32 = 0x0006;
    /// Level Control.
    pub const LEVEL_CONTROL: u32 = 0x0008;
    /// Descriptor (added by the bridge, not listed in [`crate::ClusterSpec`]s).
    pub const DESCRIPTOR: u32 = 0x001D;
    /// Bridged Device Basic Information (added by the bridge).
    pub const BRIDGED_DEVICE_BASIC_INFORMATION: u32 = 0x0039;
    /// Boolean State.
    pub const BOOLEAN_STATE: u32 = 0x0045;
    /// Switch.
    pub const SWITCH: u32 = 0x003B;
    /// Scenes Management (served by the bridge with rs-matter's handler).
    pub const SCENES_MANAGEMENT: u32 = 0x0062;
    /// Door Lock.
    pub const DOOR_LOCK: u32 = 0x0101;
    /// Window Covering.
    pub const WINDOW_COVERING: u32 = 0x0102;
    /// Thermostat.
    pub const THERMOSTAT: u32 = 0x0201;
    /// Color Control.
    pub const COLOR_CONTROL: u32 = 0x0300;
    /// Temperature Measurement.
    pub const TEMPERATURE_MEASUREMENT: u32 = 0x0402;
    /// Relative Humidity Measurement.
    pub const RELATIVE_HUMIDITY_MEASUREMENT: u32 = 0x0405;
    /// Occupancy Sensing.
    pub const OCCUPANCY_SENSING: u32 = 0x0406;
    /// Power Source.
    pub const POWER_SOURCE: u32 = 0x002F;
    /// Air Quality.
    pub const AIR_QUALITY: u32 = 0x005B;
    /// Smoke CO Alarm.
    pub const SMOKE_CO_ALARM: u32 = 0x005C;
    /// Electrical Power Measurement.
    pub const ELECTRICAL_POWER_MEASUREMENT: u32 = 0x0090;
    /// Electrical Energy Measurement.
    pub const ELECTRICAL_ENERGY_MEASUREMENT: u32 = 0x0091;
    /// Power Topology.
    pub const POWER_TOPOLOGY: u32 = 0x009C;
    /// Fan Control.
    pub const FAN_CONTROL: u32 = 0x0202;
    /// Illuminance Measurement.
    pub const ILLUMINANCE_MEASUREMENT: u32 = 0x0400;
    /// Pressure Measurement.
    pub const PRESSURE_MEASUREMENT: u32 = 0x0403;
    /// Flow Measurement.
    pub const FLOW_MEASUREMENT: u32 = 0x0404;
    /// Carbon Dioxide Concentration Measurement.
    pub const CO2_CONCENTRATION: u32 = 0x040D;
    /// PM2.5 Concentration Measurement.
    pub const PM25_CONCENTRATION: u32 = 0x042A;
    /// Formaldehyde Concentration Measurement.
    pub const FORMALDEHYDE_CONCENTRATION: u32 = 0x042B;
    /// PM10 Concentration Measurement.
    pub const PM10_CONCENTRATION: u32 = 0x042D;
    /// Total Volatile Organic Compounds Concentration Measurement.
    pub const TVOC_CONCENTRATION: u32 = 0x042E;
}

/// Identify (0x0003).
pub mod identify {
    /// Attributes.
    pub mod attr {
        /// IdentifyTime, u16 seconds, writable.
        pub const IDENTIFY_TIME: u32 = 0x0000;
        /// IdentifyType, enum8.
        pub const IDENTIFY_TYPE: u32 = 0x0001;
    }
    /// Commands.
    pub mod cmd {
        /// Identify { identifyTime: u16 }.
        pub const IDENTIFY: u32 = 0x00;
        /// TriggerEffect { effectIdentifier: enum8, effectVariant: enum8 }.
        pub const TRIGGER_EFFECT: u32 = 0x40;
    }
}

/// Groups (0x0004).
pub mod groups {
    /// Attributes.
    pub mod attr {
        /// NameSupport, bitmap8.
        pub const NAME_SUPPORT: u32 = 0x0000;
    }
    /// Commands (AddGroup .. AddGroupIfIdentifying are 0..=5; responses 0..=3).
    pub mod cmd {
        /// AddGroup.
        pub const ADD_GROUP: u32 = 0x00;
        /// ViewGroup.
        pub const VIEW_GROUP: u32 = 0x01;
        /// GetGroupMembership.
        pub const GET_GROUP_MEMBERSHIP: u32 = 0x02;
        /// RemoveGroup.
        pub const REMOVE_GROUP: u32 = 0x03;
        /// RemoveAllGroups.
        pub const REMOVE_ALL_GROUPS: u32 = 0x04;
        /// AddGroupIfIdentifying.
        pub const ADD_GROUP_IF_IDENTIFYING: u32 = 0x05;
    }
}

/// On/Off (0x0006).
pub mod on_off {
    /// Attributes.
    pub mod attr {
        /// OnOff, bool.
        pub const ON_OFF: u32 = 0x0000;
        /// GlobalSceneControl, bool (Lighting feature).
        pub const GLOBAL_SCENE_CONTROL: u32 = 0x4000;
        /// OnTime, u16 tenths of a second (Lighting feature).
        pub const ON_TIME: u32 = 0x4001;
        /// OffWaitTime, u16 tenths of a second (Lighting feature).
        pub const OFF_WAIT_TIME: u32 = 0x4002;
        /// StartUpOnOff, nullable enum8 (Lighting feature).
        pub const START_UP_ON_OFF: u32 = 0x4003;
    }
    /// Commands.
    pub mod cmd {
        /// Off.
        pub const OFF: u32 = 0x00;
        /// On.
        pub const ON: u32 = 0x01;
        /// Toggle.
        pub const TOGGLE: u32 = 0x02;
        /// OffWithEffect { effectIdentifier, effectVariant }.
        pub const OFF_WITH_EFFECT: u32 = 0x40;
        /// OnWithRecallGlobalScene.
        pub const ON_WITH_RECALL_GLOBAL_SCENE: u32 = 0x41;
        /// OnWithTimedOff { onOffControl, onTime, offWaitTime }.
        pub const ON_WITH_TIMED_OFF: u32 = 0x42;
    }
}

/// Level Control (0x0008).
pub mod level_control {
    /// Attributes.
    pub mod attr {
        /// CurrentLevel, nullable u8.
        pub const CURRENT_LEVEL: u32 = 0x0000;
        /// RemainingTime, u16 tenths.
        pub const REMAINING_TIME: u32 = 0x0001;
        /// MinLevel, u8.
        pub const MIN_LEVEL: u32 = 0x0002;
        /// MaxLevel, u8.
        pub const MAX_LEVEL: u32 = 0x0003;
        /// Options, bitmap8, writable.
        pub const OPTIONS: u32 = 0x000F;
        /// OnOffTransitionTime, u16 tenths, writable.
        pub const ON_OFF_TRANSITION_TIME: u32 = 0x0010;
        /// OnLevel, nullable u8, writable.
        pub const ON_LEVEL: u32 = 0x0011;
        /// StartUpCurrentLevel, nullable u8, writable.
        pub const START_UP_CURRENT_LEVEL: u32 = 0x4000;
    }
    /// Commands.
    pub mod cmd {
        /// MoveToLevel { level, transitionTime, optionsMask, optionsOverride }.
        pub const MOVE_TO_LEVEL: u32 = 0x00;
        /// Move { moveMode, rate, optionsMask, optionsOverride }.
        pub const MOVE: u32 = 0x01;
        /// Step { stepMode, stepSize, transitionTime, optionsMask, optionsOverride }.
        pub const STEP: u32 = 0x02;
        /// Stop { optionsMask, optionsOverride }.
        pub const STOP: u32 = 0x03;
        /// MoveToLevelWithOnOff.
        pub const MOVE_TO_LEVEL_WITH_ON_OFF: u32 = 0x04;
        /// MoveWithOnOff.
        pub const MOVE_WITH_ON_OFF: u32 = 0x05;
        /// StepWithOnOff.
        pub const STEP_WITH_ON_OFF: u32 = 0x06;
        /// StopWithOnOff.
        pub const STOP_WITH_ON_OFF: u32 = 0x07;
    }
}

/// Color Control (0x0300).
pub mod color_control {
    /// Attributes.
    pub mod attr {
        /// CurrentHue, u8 (0..=254).
        pub const CURRENT_HUE: u32 = 0x0000;
        /// CurrentSaturation, u8 (0..=254).
        pub const CURRENT_SATURATION: u32 = 0x0001;
        /// RemainingTime, u16.
        pub const REMAINING_TIME: u32 = 0x0002;
        /// CurrentX, u16 (x * 65536).
        pub const CURRENT_X: u32 = 0x0003;
        /// CurrentY, u16.
        pub const CURRENT_Y: u32 = 0x0004;
        /// ColorTemperatureMireds, u16.
        pub const COLOR_TEMPERATURE_MIREDS: u32 = 0x0007;
        /// ColorMode, enum8.
        pub const COLOR_MODE: u32 = 0x0008;
        /// Options, bitmap8, writable.
        pub const OPTIONS: u32 = 0x000F;
        /// NumberOfPrimaries, nullable u8.
        pub const NUMBER_OF_PRIMARIES: u32 = 0x0010;
        /// EnhancedColorMode, enum8.
        pub const ENHANCED_COLOR_MODE: u32 = 0x4001;
        /// ColorCapabilities, bitmap16.
        pub const COLOR_CAPABILITIES: u32 = 0x400A;
        /// ColorTempPhysicalMinMireds, u16.
        pub const COLOR_TEMP_PHYSICAL_MIN_MIREDS: u32 = 0x400B;
        /// ColorTempPhysicalMaxMireds, u16.
        pub const COLOR_TEMP_PHYSICAL_MAX_MIREDS: u32 = 0x400C;
        /// CoupleColorTempToLevelMinMireds, u16.
        pub const COUPLE_COLOR_TEMP_TO_LEVEL_MIN_MIREDS: u32 = 0x400D;
        /// StartUpColorTemperatureMireds, nullable u16, writable.
        pub const START_UP_COLOR_TEMPERATURE_MIREDS: u32 = 0x4010;
    }
    /// Commands.
    pub mod cmd {
        /// MoveToHue { hue, direction, transitionTime, optionsMask, optionsOverride }.
        pub const MOVE_TO_HUE: u32 = 0x00;
        /// MoveHue { moveMode, rate, optionsMask, optionsOverride }.
        pub const MOVE_HUE: u32 = 0x01;
        /// StepHue { stepMode, stepSize, transitionTime, optionsMask, optionsOverride }.
        pub const STEP_HUE: u32 = 0x02;
        /// MoveToSaturation { saturation, transitionTime, optionsMask, optionsOverride }.
        pub const MOVE_TO_SATURATION: u32 = 0x03;
        /// MoveSaturation { moveMode, rate, optionsMask, optionsOverride }.
        pub const MOVE_SATURATION: u32 = 0x04;
        /// StepSaturation { stepMode, stepSize, transitionTime, optionsMask, optionsOverride }.
        pub const STEP_SATURATION: u32 = 0x05;
        /// MoveToHueAndSaturation { hue, saturation, transitionTime, optionsMask, optionsOverride }.
        pub const MOVE_TO_HUE_AND_SATURATION: u32 = 0x06;
        /// MoveToColor { colorX, colorY, transitionTime, optionsMask, optionsOverride }.
        pub const MOVE_TO_COLOR: u32 = 0x07;
        /// MoveColor { rateX, rateY, optionsMask, optionsOverride }.
        pub const MOVE_COLOR: u32 = 0x08;
        /// StepColor { stepX, stepY, transitionTime, optionsMask, optionsOverride }.
        pub const STEP_COLOR: u32 = 0x09;
        /// MoveToColorTemperature { colorTemperatureMireds, transitionTime, optionsMask, optionsOverride }.
        pub const MOVE_TO_COLOR_TEMPERATURE: u32 = 0x0A;
        /// StopMoveStep { optionsMask, optionsOverride }.
        pub const STOP_MOVE_STEP: u32 = 0x47;
        /// MoveColorTemperature { moveMode, rate, min, max, optionsMask, optionsOverride }.
        pub const MOVE_COLOR_TEMPERATURE: u32 = 0x4B;
        /// StepColorTemperature { stepMode, stepSize, transitionTime, min, max, optionsMask, optionsOverride }.
        pub const STEP_COLOR_TEMPERATURE: u32 = 0x4C;
    }
}

/// Boolean State (0x0045).
pub mod boolean_state {
    /// Attributes.
    pub mod attr {
        /// StateValue, bool.
        pub const STATE_VALUE: u32 = 0x0000;
    }
    /// Events.
    pub mod event {
        /// StateChange { stateValue: bool }.
        pub const STATE_CHANGE: u32 = 0x00;
    }
}

/// Occupancy Sensing (0x0406).
pub mod occupancy_sensing {
    /// Attributes.
    pub mod attr {
        /// Occupancy, bitmap8 (bit 0 occupied).
        pub const OCCUPANCY: u32 = 0x0000;
        /// OccupancySensorType, enum8 (deprecated but still mandatory in revision 5).
        pub const OCCUPANCY_SENSOR_TYPE: u32 = 0x0001;
        /// OccupancySensorTypeBitmap, bitmap8.
        pub const OCCUPANCY_SENSOR_TYPE_BITMAP: u32 = 0x0002;
    }
    /// Events.
    pub mod event {
        /// OccupancyChanged { occupancy: bitmap8 }.
        pub const OCCUPANCY_CHANGED: u32 = 0x00;
    }
}

/// Temperature Measurement (0x0402) and Relative Humidity Measurement (0x0405) share these ids.
pub mod measurement {
    /// Attributes.
    pub mod attr {
        /// MeasuredValue, nullable.
        pub const MEASURED_VALUE: u32 = 0x0000;
        /// MinMeasuredValue, nullable.
        pub const MIN_MEASURED_VALUE: u32 = 0x0001;
        /// MaxMeasuredValue, nullable.
        pub const MAX_MEASURED_VALUE: u32 = 0x0002;
    }
}

/// Thermostat (0x0201).
pub mod thermostat {
    /// Attributes (temperatures are i16 hundredths of °C).
    pub mod attr {
        /// LocalTemperature, nullable.
        pub const LOCAL_TEMPERATURE: u32 = 0x0000;
        /// AbsMinHeatSetpointLimit.
        pub const ABS_MIN_HEAT_SETPOINT_LIMIT: u32 = 0x0003;
        /// AbsMaxHeatSetpointLimit.
        pub const ABS_MAX_HEAT_SETPOINT_LIMIT: u32 = 0x0004;
        /// AbsMinCoolSetpointLimit.
        pub const ABS_MIN_COOL_SETPOINT_LIMIT: u32 = 0x0005;
        /// AbsMaxCoolSetpointLimit.
        pub const ABS_MAX_COOL_SETPOINT_LIMIT: u32 = 0x0006;
        /// OccupiedCoolingSetpoint, writable.
        pub const OCCUPIED_COOLING_SETPOINT: u32 = 0x0011;
        /// OccupiedHeatingSetpoint, writable.
        pub const OCCUPIED_HEATING_SETPOINT: u32 = 0x0012;
        /// MinHeatSetpointLimit, writable.
        pub const MIN_HEAT_SETPOINT_LIMIT: u32 = 0x0015;
        /// MaxHeatSetpointLimit, writable.
        pub const MAX_HEAT_SETPOINT_LIMIT: u32 = 0x0016;
        /// MinCoolSetpointLimit, writable.
        pub const MIN_COOL_SETPOINT_LIMIT: u32 = 0x0017;
        /// MaxCoolSetpointLimit, writable.
        pub const MAX_COOL_SETPOINT_LIMIT: u32 = 0x0018;
        /// MinSetpointDeadBand, i8 tenths of °C (write is optional in the spec; read-only here).
        pub const MIN_SETPOINT_DEAD_BAND: u32 = 0x0019;
        /// ControlSequenceOfOperation, enum8, writable.
        pub const CONTROL_SEQUENCE_OF_OPERATION: u32 = 0x001B;
        /// SystemMode, enum8, writable.
        pub const SYSTEM_MODE: u32 = 0x001C;
    }
    /// Commands.
    pub mod cmd {
        /// SetpointRaiseLower { mode: enum8, amount: i8 tenths of °C }.
        pub const SETPOINT_RAISE_LOWER: u32 = 0x00;
    }
}

/// Door Lock (0x0101).
pub mod door_lock {
    /// Attributes.
    pub mod attr {
        /// LockState, nullable enum8.
        pub const LOCK_STATE: u32 = 0x0000;
        /// LockType, enum8.
        pub const LOCK_TYPE: u32 = 0x0001;
        /// ActuatorEnabled, bool.
        pub const ACTUATOR_ENABLED: u32 = 0x0002;
        /// OperatingMode, enum8, writable.
        pub const OPERATING_MODE: u32 = 0x0025;
        /// SupportedOperatingModes, bitmap16 (a 0 bit means supported).
        pub const SUPPORTED_OPERATING_MODES: u32 = 0x0026;
    }
    /// Commands (both must be invoked as timed invokes).
    pub mod cmd {
        /// LockDoor { optional PINCode }.
        pub const LOCK_DOOR: u32 = 0x00;
        /// UnlockDoor { optional PINCode }.
        pub const UNLOCK_DOOR: u32 = 0x01;
        /// UnlockWithTimeout (not served; listed for `requires_timed_invoke`).
        pub const UNLOCK_WITH_TIMEOUT: u32 = 0x03;
    }
    /// Events.
    pub mod event {
        /// DoorLockAlarm { alarmCode }.
        pub const DOOR_LOCK_ALARM: u32 = 0x00;
        /// LockOperation { lockOperationType, operationSource, userIndex, fabricIndex, sourceNode }.
        pub const LOCK_OPERATION: u32 = 0x02;
        /// LockOperationError { .., operationError, .. }.
        pub const LOCK_OPERATION_ERROR: u32 = 0x03;
    }
    /// OperationSourceEnum values a bridge may put in LockOperation's field 1.
    pub mod operation_source {
        /// Unspecified (what [`crate::matter::event_fields`] emits).
        pub const UNSPECIFIED: u8 = 0;
        /// Manual (key, thumbturn).
        pub const MANUAL: u8 = 1;
        /// Proprietary remote (vendor app / cloud).
        pub const PROPRIETARY_REMOTE: u8 = 2;
        /// Remote node (a Matter controller).
        pub const REMOTE: u8 = 7;
    }
}

/// Window Covering (0x0102).
pub mod window_covering {
    /// Attributes.
    pub mod attr {
        /// Type, enum8.
        pub const TYPE: u32 = 0x0000;
        /// ConfigStatus, bitmap8.
        pub const CONFIG_STATUS: u32 = 0x0007;
        /// CurrentPositionLiftPercentage, nullable percent (closed).
        pub const CURRENT_POSITION_LIFT_PERCENTAGE: u32 = 0x0008;
        /// OperationalStatus, bitmap8.
        pub const OPERATIONAL_STATUS: u32 = 0x000A;
        /// TargetPositionLiftPercent100ths, nullable.
        pub const TARGET_POSITION_LIFT_PERCENT_100THS: u32 = 0x000B;
        /// EndProductType, enum8.
        pub const END_PRODUCT_TYPE: u32 = 0x000D;
        /// CurrentPositionLiftPercent100ths, nullable.
        pub const CURRENT_POSITION_LIFT_PERCENT_100THS: u32 = 0x000E;
        /// Mode, bitmap8, writable.
        pub const MODE: u32 = 0x0017;
    }
    /// Commands.
    pub mod cmd {
        /// UpOrOpen.
        pub const UP_OR_OPEN: u32 = 0x00;
        /// DownOrClose.
        pub const DOWN_OR_CLOSE: u32 = 0x01;
        /// StopMotion.
        pub const STOP_MOTION: u32 = 0x02;
        /// GoToLiftPercentage { liftPercent100thsValue }.
        pub const GO_TO_LIFT_PERCENTAGE: u32 = 0x05;
    }
}

/// Smoke CO Alarm (0x005C).
pub mod smoke_co_alarm {
    /// Attributes.
    pub mod attr {
        /// ExpressedState, enum8 (ExpressedStateEnum).
        pub const EXPRESSED_STATE: u32 = 0x0000;
        /// SmokeState, enum8 (SMOKE feature).
        pub const SMOKE_STATE: u32 = 0x0001;
        /// COState, enum8 (CO feature).
        pub const CO_STATE: u32 = 0x0002;
        /// BatteryAlert, enum8.
        pub const BATTERY_ALERT: u32 = 0x0003;
        /// TestInProgress, bool.
        pub const TEST_IN_PROGRESS: u32 = 0x0005;
        /// HardwareFaultAlert, bool.
        pub const HARDWARE_FAULT_ALERT: u32 = 0x0006;
        /// EndOfServiceAlert, enum8.
        pub const END_OF_SERVICE_ALERT: u32 = 0x0007;
    }
    /// Events.
    pub mod event {
        /// SmokeAlarm { alarmSeverityLevel } (critical).
        pub const SMOKE_ALARM: u32 = 0x00;
        /// COAlarm { alarmSeverityLevel } (critical).
        pub const CO_ALARM: u32 = 0x01;
        /// LowBattery { alarmSeverityLevel }.
        pub const LOW_BATTERY: u32 = 0x02;
        /// HardwareFault.
        pub const HARDWARE_FAULT: u32 = 0x03;
        /// EndOfService.
        pub const END_OF_SERVICE: u32 = 0x04;
        /// SelfTestComplete.
        pub const SELF_TEST_COMPLETE: u32 = 0x05;
        /// AllClear.
        pub const ALL_CLEAR: u32 = 0x0A;
    }
}

/// Fan Control (0x0202).
pub mod fan_control {
    /// FeatureMap bit Auto (AUT): FanMode Auto and FanModeSequence OffLowMedHighAuto.
    pub const FEATURE_AUTO: u32 = 0x2;
    /// Attributes.
    pub mod attr {
        /// FanMode, enum8, writable.
        pub const FAN_MODE: u32 = 0x0000;
        /// FanModeSequence, enum8.
        pub const FAN_MODE_SEQUENCE: u32 = 0x0001;
        /// PercentSetting, nullable percent, writable.
        pub const PERCENT_SETTING: u32 = 0x0002;
        /// PercentCurrent, percent.
        pub const PERCENT_CURRENT: u32 = 0x0003;
    }
}

/// Air Quality (0x005B).
pub mod air_quality {
    /// Attributes.
    pub mod attr {
        /// AirQuality, enum8.
        pub const AIR_QUALITY: u32 = 0x0000;
    }
}

/// Power Source (0x002F).
pub mod power_source {
    /// Attributes.
    pub mod attr {
        /// Status, enum8 (PowerSourceStatusEnum).
        pub const STATUS: u32 = 0x0000;
        /// Order, u8.
        pub const ORDER: u32 = 0x0001;
        /// Description, string.
        pub const DESCRIPTION: u32 = 0x0002;
        /// WiredCurrentType, enum8 (WIRED).
        pub const WIRED_CURRENT_TYPE: u32 = 0x0005;
        /// BatPercentRemaining, nullable u8 in half percent (BAT).
        pub const BAT_PERCENT_REMAINING: u32 = 0x000C;
        /// BatChargeLevel, enum8 (BAT).
        pub const BAT_CHARGE_LEVEL: u32 = 0x000E;
        /// BatReplacementNeeded, bool (BAT).
        pub const BAT_REPLACEMENT_NEEDED: u32 = 0x000F;
        /// BatReplaceability, enum8 (BAT).
        pub const BAT_REPLACEABILITY: u32 = 0x0010;
        /// EndpointList, list of endpoint numbers (served by the bridge: it knows the endpoint).
        pub const ENDPOINT_LIST: u32 = 0x001F;
    }
}

/// Electrical Power Measurement (0x0090).
pub mod electrical_power {
    /// Attributes.
    pub mod attr {
        /// PowerMode, enum8 (DC 1, AC 2).
        pub const POWER_MODE: u32 = 0x0000;
        /// NumberOfMeasurementTypes, u8.
        pub const NUMBER_OF_MEASUREMENT_TYPES: u32 = 0x0001;
        /// Accuracy, list of MeasurementAccuracyStruct.
        pub const ACCURACY: u32 = 0x0002;
        /// Voltage, nullable int64 mV.
        pub const VOLTAGE: u32 = 0x0004;
        /// ActiveCurrent, nullable int64 mA.
        pub const ACTIVE_CURRENT: u32 = 0x0005;
        /// ActivePower, nullable int64 mW.
        pub const ACTIVE_POWER: u32 = 0x0008;
    }
}

/// Electrical Energy Measurement (0x0091).
pub mod electrical_energy {
    /// Attributes.
    pub mod attr {
        /// Accuracy, MeasurementAccuracyStruct.
        pub const ACCURACY: u32 = 0x0000;
        /// CumulativeEnergyImported, nullable EnergyMeasurementStruct (mWh).
        pub const CUMULATIVE_ENERGY_IMPORTED: u32 = 0x0001;
    }
    /// Events.
    pub mod event {
        /// CumulativeEnergyMeasured { energyImported, energyExported }.
        pub const CUMULATIVE_ENERGY_MEASURED: u32 = 0x00;
    }
}

/// The Concentration Measurement clusters (CO2, PM2.5, PM10, TVOC, formaldehyde) share these ids.
pub mod concentration {
    /// Attributes.
    pub mod attr {
        /// MeasuredValue, nullable single.
        pub const MEASURED_VALUE: u32 = 0x0000;
        /// MinMeasuredValue, nullable single.
        pub const MIN_MEASURED_VALUE: u32 = 0x0001;
        /// MaxMeasuredValue, nullable single.
        pub const MAX_MEASURED_VALUE: u32 = 0x0002;
        /// MeasurementUnit, enum8.
        pub const MEASUREMENT_UNIT: u32 = 0x0008;
        /// MeasurementMedium, enum8 (Air 0).
        pub const MEASUREMENT_MEDIUM: u32 = 0x0009;
    }
}
