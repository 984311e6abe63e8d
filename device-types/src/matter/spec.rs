//! Which server clusters each device kind's endpoint has, with features, attributes and commands.
//!
//! Cluster revisions are those of Matter **1.6**, the SpecificationVersion the node claims in
//! BasicInformation (rs-matter 0.4.1's 0x01060000, whose root-endpoint clusters are 1.6 ones), read
//! from the specification's data model (connectedhomeip `data_model/1.6`, falling back to 1.5.1 where
//! a 1.6 file is missing: Identify, Color Control, Door Lock). Between the 1.4.2 revisions served
//! before and 1.6, the only element that became mandatory for the features served here is Level
//! Control's MinLevel/MaxLevel (rev 7), already served; Door Lock rev 10 removed the Zigbee-era
//! GetUserStatus/GetUserType commands, so the generated-command list of a lock without USR is empty
//! (the official tests' 1.5 data still ask for their responses: an artefact of that data).
//! Boolean State rev 3 emits StateChange only with its ChangeEvent feature, Occupancy Sensing rev 7
//! OccupancyChanged only with OccupancyEvent: both features are set, since both events are sent.
//! Groups is at rev 5 (1.6 deprecates Groups for Groupcast; rev 5 adds nothing a server must do,
//! so rs-matter's `GroupsHandler` serves it unchanged). Descriptor and Bridged Device Basic
//! Information are added by the bridge and are not listed.

use super::ids::{self, cluster};
use crate::{DeviceKind, Shape};

/// One server cluster of a bridged endpoint. All id lists are sorted ascending and hold no
/// global attributes (0xFFF8..=0xFFFD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Cluster id.
    pub id: u32,
    /// Cluster name as in the spec.
    pub name: &'static str,
    /// ClusterRevision.
    pub revision: u16,
    /// FeatureMap.
    pub feature_map: u32,
    /// Non-global attribute ids served: the mandatory ones for the chosen features plus the
    /// optional ones this crate maps. Every one is answered by [`super::read_attr`].
    pub attributes: &'static [u32],
    /// The subset of `attributes` a controller may write ([`super::write_attr`]).
    pub writable: &'static [u32],
    /// AcceptedCommandList.
    pub commands: &'static [u32],
    /// GeneratedCommandList (response commands).
    pub generated: &'static [u32],
    /// Event ids the cluster may emit.
    pub events: &'static [u32],
}

impl ClusterSpec {
    /// `attr` is served.
    pub fn has_attribute(&self, attr: u32) -> bool {
        self.attributes.contains(&attr)
    }
    /// `attr` is served and writable.
    pub fn is_writable(&self, attr: u32) -> bool {
        self.writable.contains(&attr)
    }
    /// `cmd` is accepted.
    pub fn accepts(&self, cmd: u32) -> bool {
        self.commands.contains(&cmd)
    }
}

const NONE: &[u32] = &[];

/// Identify rev 6, no features. IdentifyTime is writable; TriggerEffect is mandatory for lights
/// and plugs and served everywhere.
pub const IDENTIFY: ClusterSpec = ClusterSpec {
    id: cluster::IDENTIFY,
    name: "Identify",
    revision: 6,
    feature_map: 0,
    attributes: &[0x0000, 0x0001],
    writable: &[0x0000],
    commands: &[0x00, 0x40],
    generated: NONE,
    events: NONE,
};

/// Groups rev 5 with GroupNames (bit 0), served with rs-matter's `GroupsHandler` (group
/// membership is node state, not device state). Rev 5 only deprecates Groups in favour of
/// Groupcast: a server behaves as in rev 4, which is what the handler implements.
pub const GROUPS: ClusterSpec = ClusterSpec {
    id: cluster::GROUPS,
    name: "Groups",
    revision: 5,
    feature_map: 0x1,
    attributes: &[0x0000],
    writable: NONE,
    commands: &[0x00, 0x01, 0x02, 0x03, 0x04, 0x05],
    generated: &[0x00, 0x01, 0x02, 0x03],
    events: NONE,
};

/// On/Off rev 7 with Lighting (bit 0): GlobalSceneControl, OnTime, OffWaitTime, StartUpOnOff;
/// OffWithEffect, OnWithRecallGlobalScene, OnWithTimedOff. The Device Library mandates LT for
/// lights and for the On/Off Plug-in Unit.
pub const ON_OFF: ClusterSpec = ClusterSpec {
    id: cluster::ON_OFF,
    name: "On/Off",
    revision: 7,
    feature_map: 0x1,
    attributes: &[0x0000, 0x4000, 0x4001, 0x4002, 0x4003],
    writable: &[0x4001, 0x4002, 0x4003],
    commands: &[0x00, 0x01, 0x02, 0x40, 0x41, 0x42],
    generated: NONE,
    events: NONE,
};

/// Level Control rev 7 with OnOff (bit 0) + Lighting (bit 1); MinLevel/MaxLevel mandatory since rev 7.
pub const LEVEL_CONTROL: ClusterSpec = ClusterSpec {
    id: cluster::LEVEL_CONTROL,
    name: "Level Control",
    revision: 7,
    feature_map: 0x3,
    attributes: &[
        0x0000, 0x0001, 0x0002, 0x0003, 0x000F, 0x0010, 0x0011, 0x4000,
    ],
    writable: &[0x000F, 0x0010, 0x0011, 0x4000],
    commands: &[0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07],
    generated: NONE,
    events: NONE,
};

/// Feature bits of Color Control.
pub mod color_feature {
    /// HueAndSaturation.
    pub const HS: u32 = 0x01;
    /// XY.
    pub const XY: u32 = 0x08;
    /// ColorTemperature.
    pub const CT: u32 = 0x10;
}

/// Color Control rev 9 with ColorTemperature (bit 4) only.
pub const COLOR_CONTROL_CT: ClusterSpec = ClusterSpec {
    id: cluster::COLOR_CONTROL,
    name: "Color Control",
    revision: 9,
    feature_map: color_feature::CT,
    attributes: &[
        0x0002, 0x0007, 0x0008, 0x000F, 0x0010, 0x4001, 0x400A, 0x400B, 0x400C, 0x400D, 0x4010,
    ],
    writable: &[0x000F, 0x4010],
    commands: &[0x0A, 0x47, 0x4B, 0x4C],
    generated: NONE,
    events: NONE,
};

/// Color Control rev 9 with HueAndSaturation (bit 0) + XY (bit 3) + ColorTemperature (bit 4).
pub const COLOR_CONTROL_EXTENDED: ClusterSpec = ClusterSpec {
    id: cluster::COLOR_CONTROL,
    name: "Color Control",
    revision: 9,
    feature_map: color_feature::HS | color_feature::XY | color_feature::CT,
    attributes: &[
        0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0007, 0x0008, 0x000F, 0x0010, 0x4001, 0x400A,
        0x400B, 0x400C, 0x400D, 0x4010,
    ],
    writable: &[0x000F, 0x4010],
    commands: &[
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x47, 0x4B, 0x4C,
    ],
    generated: NONE,
    events: NONE,
};

/// Boolean State rev 3 with ChangeEvent (bit 0): StateValue and the StateChange event.
pub const BOOLEAN_STATE: ClusterSpec = ClusterSpec {
    id: cluster::BOOLEAN_STATE,
    name: "Boolean State",
    revision: 3,
    feature_map: 0x1,
    attributes: &[0x0000],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: &[ids::boolean_state::event::STATE_CHANGE],
};

/// Occupancy Sensing rev 7 with PassiveInfrared (bit 1) and OccupancyEvent (bit 9): the
/// OccupancyChanged event.
pub const OCCUPANCY_SENSING: ClusterSpec = ClusterSpec {
    id: cluster::OCCUPANCY_SENSING,
    name: "Occupancy Sensing",
    revision: 7,
    feature_map: 0x2 | 0x200,
    attributes: &[0x0000, 0x0001, 0x0002],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: &[ids::occupancy_sensing::event::OCCUPANCY_CHANGED],
};

/// Temperature Measurement rev 6.
pub const TEMPERATURE_MEASUREMENT: ClusterSpec = ClusterSpec {
    id: cluster::TEMPERATURE_MEASUREMENT,
    name: "Temperature Measurement",
    revision: 6,
    feature_map: 0,
    attributes: &[0x0000, 0x0001, 0x0002],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: NONE,
};

/// Relative Humidity Measurement rev 5.
pub const RELATIVE_HUMIDITY_MEASUREMENT: ClusterSpec = ClusterSpec {
    id: cluster::RELATIVE_HUMIDITY_MEASUREMENT,
    name: "Relative Humidity Measurement",
    revision: 5,
    feature_map: 0,
    attributes: &[0x0000, 0x0001, 0x0002],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: NONE,
};

/// Thermostat rev 11 with Heating (bit 0) + Cooling (bit 1) + AutoMode (bit 5). No events in 1.4.
pub const THERMOSTAT: ClusterSpec = ClusterSpec {
    id: cluster::THERMOSTAT,
    name: "Thermostat",
    revision: 11,
    feature_map: 0x01 | 0x02 | 0x20,
    attributes: &[
        0x0000, 0x0003, 0x0004, 0x0005, 0x0006, 0x0011, 0x0012, 0x0015, 0x0016, 0x0017, 0x0018,
        0x0019, 0x001B, 0x001C,
    ],
    writable: &[
        0x0011, 0x0012, 0x0015, 0x0016, 0x0017, 0x0018, 0x001B, 0x001C,
    ],
    commands: &[0x00],
    generated: NONE,
    events: NONE,
};

/// Door Lock rev 10, no features: no PIN, no users. Events DoorLockAlarm, LockOperation and
/// LockOperationError are mandatory without features; no generated commands (rev 10 removed
/// GetUserStatus/GetUserType).
pub const DOOR_LOCK: ClusterSpec = ClusterSpec {
    id: cluster::DOOR_LOCK,
    name: "Door Lock",
    revision: 10,
    feature_map: 0,
    attributes: &[0x0000, 0x0001, 0x0002, 0x0025, 0x0026],
    writable: &[0x0025],
    commands: &[0x00, 0x01],
    generated: NONE,
    events: &[0x00, 0x02, 0x03],
};

/// Window Covering rev 8 with Lift (bit 0) + PositionAwareLift (bit 2).
pub const WINDOW_COVERING: ClusterSpec = ClusterSpec {
    id: cluster::WINDOW_COVERING,
    name: "Window Covering",
    revision: 8,
    feature_map: 0x1 | 0x4,
    attributes: &[
        0x0000, 0x0007, 0x0008, 0x000A, 0x000B, 0x000D, 0x000E, 0x0017,
    ],
    writable: &[0x0017],
    commands: &[0x00, 0x01, 0x02, 0x05],
    generated: NONE,
    events: NONE,
};

/// Scenes Management rev 1 (the revision of rs-matter 0.4.1's generated table and handler, which
/// serves it; the 1.6 data model in connectedhomeip has no newer file), no features: SceneNames
/// is optional and rs-matter drops names. CopyScene is mandatory for lights in the 1.6 Device
/// Library. Its attributes are node state (the scene table), answered by the bridge, not by
/// [`super::read_attr`].
pub const SCENES_MANAGEMENT: ClusterSpec = ClusterSpec {
    id: cluster::SCENES_MANAGEMENT,
    name: "Scenes Management",
    revision: 1,
    feature_map: 0,
    attributes: &[0x0001, 0x0002],
    writable: NONE,
    commands: &[0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x40],
    generated: &[0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x40],
    events: NONE,
};

/// Switch rev 2 with MomentarySwitch (bit 1), MomentarySwitchRelease (bit 2),
/// MomentarySwitchLongPress (bit 3) and MomentarySwitchMultiPress (bit 4); events per
/// [`super::switch`].
pub const SWITCH: ClusterSpec = ClusterSpec {
    id: cluster::SWITCH,
    name: "Switch",
    revision: 2,
    feature_map: 0x02 | 0x04 | 0x08 | 0x10,
    attributes: &[0x0000, 0x0001, 0x0002],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06],
};

/// A measurement cluster with MeasuredValue, MinMeasuredValue, MaxMeasuredValue only.
const fn measurement(id: u32, name: &'static str, revision: u16) -> ClusterSpec {
    ClusterSpec {
        id,
        name,
        revision,
        feature_map: 0,
        attributes: &[0x0000, 0x0001, 0x0002],
        writable: NONE,
        commands: NONE,
        generated: NONE,
        events: NONE,
    }
}

/// Illuminance Measurement rev 5 (1.6).
pub const ILLUMINANCE_MEASUREMENT: ClusterSpec = measurement(
    cluster::ILLUMINANCE_MEASUREMENT,
    "Illuminance Measurement",
    5,
);
/// Pressure Measurement rev 5 (1.6), no Extended feature (MeasuredValue in 0.1 kPa = hPa).
pub const PRESSURE_MEASUREMENT: ClusterSpec =
    measurement(cluster::PRESSURE_MEASUREMENT, "Pressure Measurement", 5);
/// Flow Measurement rev 5 (1.6; MeasuredValue in 0.1 m³/h).
pub const FLOW_MEASUREMENT: ClusterSpec =
    measurement(cluster::FLOW_MEASUREMENT, "Flow Measurement", 5);

/// Feature bits of Smoke CO Alarm.
pub mod smoke_co_feature {
    /// SmokeAlarm.
    pub const SMOKE: u32 = 0x1;
    /// COAlarm.
    pub const CO: u32 = 0x2;
}

/// Smoke CO Alarm rev 2 with SmokeAlarm (bit 0): the mandatory attributes and events (SelfTestRequest
/// and the mute/interconnect elements are optional and not served).
pub const SMOKE_CO_ALARM_SMOKE: ClusterSpec = ClusterSpec {
    id: cluster::SMOKE_CO_ALARM,
    name: "Smoke CO Alarm",
    revision: 2,
    feature_map: smoke_co_feature::SMOKE,
    attributes: &[0x0000, 0x0001, 0x0003, 0x0005, 0x0006, 0x0007],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: &[0x00, 0x02, 0x03, 0x04, 0x05, 0x0A],
};

/// Smoke CO Alarm rev 2 with COAlarm (bit 1).
pub const SMOKE_CO_ALARM_CO: ClusterSpec = ClusterSpec {
    id: cluster::SMOKE_CO_ALARM,
    name: "Smoke CO Alarm",
    revision: 2,
    feature_map: smoke_co_feature::CO,
    attributes: &[0x0000, 0x0002, 0x0003, 0x0005, 0x0006, 0x0007],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: &[0x01, 0x02, 0x03, 0x04, 0x05, 0x0A],
};

/// Smoke CO Alarm rev 2 with both features.
pub const SMOKE_CO_ALARM_BOTH: ClusterSpec = ClusterSpec {
    id: cluster::SMOKE_CO_ALARM,
    name: "Smoke CO Alarm",
    revision: 2,
    feature_map: smoke_co_feature::SMOKE | smoke_co_feature::CO,
    attributes: &[0x0000, 0x0001, 0x0002, 0x0003, 0x0005, 0x0006, 0x0007],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: &[0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0A],
};

/// Air Quality rev 1 with Fair, Moderate, VeryPoor and ExtremelyPoor (bits 0..=3): every level
/// of the canonical `air_quality` can be expressed.
pub const AIR_QUALITY: ClusterSpec = ClusterSpec {
    id: cluster::AIR_QUALITY,
    name: "Air Quality",
    revision: 1,
    feature_map: 0xF,
    attributes: &[0x0000],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: NONE,
};

/// Fan Control rev 6 (1.6) without features: FanMode and PercentSetting writable, FanModeSequence
/// OffLowMedHigh, PercentCurrent. No MultiSpeed, Auto, Step, Rocking, Wind or AirflowDirection.
pub const FAN_CONTROL: ClusterSpec = ClusterSpec {
    id: cluster::FAN_CONTROL,
    name: "Fan Control",
    revision: 6,
    feature_map: 0x0,
    attributes: &[0x0000, 0x0001, 0x0002, 0x0003],
    writable: &[0x0000, 0x0002],
    commands: NONE,
    generated: NONE,
    events: NONE,
};

/// [`FAN_CONTROL`] with Auto (bit 1; the `fan_auto` capability): FanModeSequence OffLowMedHighAuto.
pub const FAN_CONTROL_AUTO: ClusterSpec = ClusterSpec {
    feature_map: ids::fan_control::FEATURE_AUTO,
    ..FAN_CONTROL
};

/// Power Source rev 3 with Battery (bit 1): Status, Order, Description, BatPercentRemaining,
/// BatChargeLevel, BatReplacementNeeded, BatReplaceability, EndpointList.
pub const POWER_SOURCE_BATTERY: ClusterSpec = ClusterSpec {
    id: cluster::POWER_SOURCE,
    name: "Power Source",
    revision: 3,
    feature_map: 0x2,
    attributes: &[
        0x0000, 0x0001, 0x0002, 0x000C, 0x000E, 0x000F, 0x0010, 0x001F,
    ],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: NONE,
};

/// Power Source rev 3 with Wired (bit 0): Status, Order, Description, WiredCurrentType (AC),
/// EndpointList.
pub const POWER_SOURCE_WIRED: ClusterSpec = ClusterSpec {
    id: cluster::POWER_SOURCE,
    name: "Power Source",
    revision: 3,
    feature_map: 0x1,
    attributes: &[0x0000, 0x0001, 0x0002, 0x0005, 0x001F],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: NONE,
};

/// Electrical Power Measurement rev 3 with AlternatingCurrent (bit 1): PowerMode,
/// NumberOfMeasurementTypes, Accuracy, Voltage, ActiveCurrent, ActivePower.
pub const ELECTRICAL_POWER_MEASUREMENT: ClusterSpec = ClusterSpec {
    id: cluster::ELECTRICAL_POWER_MEASUREMENT,
    name: "Electrical Power Measurement",
    revision: 3,
    feature_map: 0x2,
    attributes: &[0x0000, 0x0001, 0x0002, 0x0004, 0x0005, 0x0008],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: NONE,
};

/// Electrical Energy Measurement rev 2 with ImportedEnergy (bit 0) + CumulativeEnergy (bit 2):
/// Accuracy, CumulativeEnergyImported and the CumulativeEnergyMeasured event.
pub const ELECTRICAL_ENERGY_MEASUREMENT: ClusterSpec = ClusterSpec {
    id: cluster::ELECTRICAL_ENERGY_MEASUREMENT,
    name: "Electrical Energy Measurement",
    revision: 2,
    feature_map: 0x1 | 0x4,
    attributes: &[0x0000, 0x0001],
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: &[0x00],
};

/// Power Topology rev 1 with TreeTopology (bit 1): the measurement is of this endpoint and its
/// children; no attributes beyond the global ones.
pub const POWER_TOPOLOGY: ClusterSpec = ClusterSpec {
    id: cluster::POWER_TOPOLOGY,
    name: "Power Topology",
    revision: 1,
    feature_map: 0x2,
    attributes: NONE,
    writable: NONE,
    commands: NONE,
    generated: NONE,
    events: NONE,
};

/// A Concentration Measurement cluster rev 5 with NumericMeasurement (bit 0): MeasuredValue,
/// Min/MaxMeasuredValue, MeasurementUnit, MeasurementMedium.
const fn concentration(id: u32, name: &'static str) -> ClusterSpec {
    ClusterSpec {
        id,
        name,
        revision: 5,
        feature_map: 0x1,
        attributes: &[0x0000, 0x0001, 0x0002, 0x0008, 0x0009],
        writable: NONE,
        commands: NONE,
        generated: NONE,
        events: NONE,
    }
}

/// Carbon Dioxide Concentration Measurement (ppm).
pub const CO2_CONCENTRATION: ClusterSpec = concentration(
    cluster::CO2_CONCENTRATION,
    "Carbon Dioxide Concentration Measurement",
);
/// PM2.5 Concentration Measurement (µg/m³).
pub const PM25_CONCENTRATION: ClusterSpec = concentration(
    cluster::PM25_CONCENTRATION,
    "PM2.5 Concentration Measurement",
);
/// PM10 Concentration Measurement (µg/m³).
pub const PM10_CONCENTRATION: ClusterSpec = concentration(
    cluster::PM10_CONCENTRATION,
    "PM10 Concentration Measurement",
);
/// Total Volatile Organic Compounds Concentration Measurement (ppb).
pub const TVOC_CONCENTRATION: ClusterSpec = concentration(
    cluster::TVOC_CONCENTRATION,
    "Total Volatile Organic Compounds Concentration Measurement",
);
/// Formaldehyde Concentration Measurement (µg/m³).
pub const FORMALDEHYDE_CONCENTRATION: ClusterSpec = concentration(
    cluster::FORMALDEHYDE_CONCENTRATION,
    "Formaldehyde Concentration Measurement",
);

/// The clusters of `kind`'s endpoint, sorted by id. Groups is served where the Device Library
/// makes it mandatory: lights, plug, and (via the "Active" condition, true for an always-on
/// bridge) thermostat and window covering; it is disallowed on door locks and not listed for
/// sensors.
pub fn clusters_for(kind: DeviceKind) -> &'static [ClusterSpec] {
    match kind {
        DeviceKind::OnOffLight | DeviceKind::OnOffPlugInUnit => {
            &[IDENTIFY, GROUPS, ON_OFF, SCENES_MANAGEMENT]
        }
        DeviceKind::DimmableLight => &[IDENTIFY, GROUPS, ON_OFF, LEVEL_CONTROL, SCENES_MANAGEMENT],
        DeviceKind::ColorTemperatureLight => &[
            IDENTIFY,
            GROUPS,
            ON_OFF,
            LEVEL_CONTROL,
            SCENES_MANAGEMENT,
            COLOR_CONTROL_CT,
        ],
        DeviceKind::ExtendedColorLight => &[
            IDENTIFY,
            GROUPS,
            ON_OFF,
            LEVEL_CONTROL,
            SCENES_MANAGEMENT,
            COLOR_CONTROL_EXTENDED,
        ],
        DeviceKind::ContactSensor => &[IDENTIFY, BOOLEAN_STATE],
        DeviceKind::OccupancySensor => &[IDENTIFY, OCCUPANCY_SENSING],
        DeviceKind::TemperatureSensor => &[IDENTIFY, TEMPERATURE_MEASUREMENT],
        DeviceKind::HumiditySensor => &[IDENTIFY, RELATIVE_HUMIDITY_MEASUREMENT],
        DeviceKind::Thermostat => &[IDENTIFY, GROUPS, THERMOSTAT],
        DeviceKind::DoorLock => &[IDENTIFY, DOOR_LOCK],
        DeviceKind::WindowCovering => &[IDENTIFY, GROUPS, WINDOW_COVERING],
        DeviceKind::GenericSwitch => &[IDENTIFY, SWITCH],
        DeviceKind::DimmablePlugInUnit => {
            &[IDENTIFY, GROUPS, ON_OFF, LEVEL_CONTROL, SCENES_MANAGEMENT]
        }
        DeviceKind::LightSensor => &[IDENTIFY, ILLUMINANCE_MEASUREMENT],
        DeviceKind::PressureSensor => &[IDENTIFY, PRESSURE_MEASUREMENT],
        DeviceKind::FlowSensor => &[IDENTIFY, FLOW_MEASUREMENT],
        DeviceKind::WaterLeakDetector
        | DeviceKind::WaterFreezeDetector
        | DeviceKind::RainSensor => &[IDENTIFY, BOOLEAN_STATE],
        DeviceKind::SmokeAlarm => &[IDENTIFY, SMOKE_CO_ALARM_SMOKE],
        DeviceKind::CoAlarm => &[IDENTIFY, SMOKE_CO_ALARM_CO],
        DeviceKind::SmokeCoAlarm => &[IDENTIFY, SMOKE_CO_ALARM_BOTH],
        DeviceKind::AirQualitySensor => &[IDENTIFY, AIR_QUALITY],
        DeviceKind::Fan => &[IDENTIFY, GROUPS, FAN_CONTROL],
        // Bridged Node's own clusters (Descriptor, Bridged Device Basic Information) are the
        // bridge's; it serves no application cluster, not even Identify (not in its device type).
        DeviceKind::BridgedNode => &[],
    }
}

/// The spec of `cluster` on `shape`'s endpoint, if served.
pub fn cluster_spec(shape: impl Into<Shape>, cluster: u32) -> Option<&'static ClusterSpec> {
    shape.into().cluster_spec(cluster)
}

/// Commands the spec marks `timed`: the bridge must reject them with NEEDS_TIMED_INTERACTION
/// unless they arrive in a timed invoke (Door Lock LockDoor, UnlockDoor, UnlockWithTimeout).
pub fn requires_timed_invoke(cluster: u32, cmd: u32) -> bool {
    use ids::door_lock::cmd;
    cluster == cluster::DOOR_LOCK
        && matches!(
            cmd,
            cmd::LOCK_DOOR | cmd::UNLOCK_DOOR | cmd::UNLOCK_WITH_TIMEOUT
        )
}
