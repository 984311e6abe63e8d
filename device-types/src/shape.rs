//! A device's shape: its kind plus the functions `with` adds to the same endpoint.
//!
//! A `with` entry is either another [`DeviceKind`] (a multi-sensor: `temperature_sensor` with
//! `humidity_sensor` and `pressure_sensor`) or a [`Capability`] that is not a stand-alone kind
//! (`battery`, `mains`, `electrical`, the air-quality concentrations). The endpoint then serves
//! the union of the clusters (Identify once, Groups once), lists every device type in its
//! Descriptor, and takes the union of the state fields. Entries may not overlap: no cluster (other
//! than Identify and Groups) and no state field may come from two functions.
//!
//! Every Matter function of this crate takes a [`Shape`]; a bare [`DeviceKind`] converts into a
//! shape with nothing added, so a kind without `with` behaves exactly as before.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use crate::matter::ids::cluster;
use crate::matter::spec::{self, ClusterSpec};
use crate::validate::{validate_for_shape, ValidationError};
use crate::{DeviceKind, DeviceTypeInfo, State};

string_enum! {
    /// A function a device can have beside its kind that is not a stand-alone kind.
    pub enum Capability for "with" {
        /// Power Source cluster with the Battery feature (device type Power Source):
        /// `battery` percent, `battery_low`.
        Battery => "battery",
        /// Power Source cluster with the Wired feature: mains powered.
        Mains => "mains",
        /// Electrical Power + Energy Measurement and Power Topology (device type Electrical
        /// Sensor): `power` W, `energy` kWh, `voltage` V, `current` A.
        Electrical => "electrical",
        /// Carbon Dioxide Concentration Measurement: `co2` ppm (beside air_quality_sensor).
        Co2 => "co2",
        /// PM2.5 Concentration Measurement: `pm25` µg/m³ (beside air_quality_sensor).
        Pm25 => "pm25",
        /// PM10 Concentration Measurement: `pm10` µg/m³ (beside air_quality_sensor).
        Pm10 => "pm10",
        /// Total Volatile Organic Compounds Concentration Measurement: `tvoc` ppb (beside
        /// air_quality_sensor).
        Tvoc => "tvoc",
        /// Formaldehyde Concentration Measurement: `formaldehyde` µg/m³ (beside
        /// air_quality_sensor).
        Formaldehyde => "formaldehyde",
        /// Fan Control's Auto feature (FanModeSequence OffLowMedHighAuto, `fan_mode = "auto"`):
        /// only beside a `fan` that can run itself; without it a fan advertises no Auto mode.
        FanAuto => "fan_auto",
    }
}

/// Device type Power Source (battery or mains capability), Matter 1.6 revision 1.
pub const DT_POWER_SOURCE: DeviceTypeInfo = DeviceTypeInfo {
    id: 0x0011,
    revision: 1,
    name: "Power Source",
};
/// Device type Electrical Sensor (electrical capability), revision 1.
pub const DT_ELECTRICAL_SENSOR: DeviceTypeInfo = DeviceTypeInfo {
    id: 0x0510,
    revision: 1,
    name: "Electrical Sensor",
};

impl Capability {
    /// The clusters this capability adds, sorted by id.
    pub fn clusters(&self) -> &'static [ClusterSpec] {
        match self {
            Capability::Battery => &[spec::POWER_SOURCE_BATTERY],
            Capability::Mains => &[spec::POWER_SOURCE_WIRED],
            Capability::Electrical => &[
                spec::ELECTRICAL_POWER_MEASUREMENT,
                spec::ELECTRICAL_ENERGY_MEASUREMENT,
                spec::POWER_TOPOLOGY,
            ],
            Capability::Co2 => &[spec::CO2_CONCENTRATION],
            Capability::Pm25 => &[spec::PM25_CONCENTRATION],
            Capability::Pm10 => &[spec::PM10_CONCENTRATION],
            Capability::Tvoc => &[spec::TVOC_CONCENTRATION],
            Capability::Formaldehyde => &[spec::FORMALDEHYDE_CONCENTRATION],
            // A feature of the fan's own Fan Control cluster, not a cluster of its own.
            Capability::FanAuto => &[],
        }
    }

    /// The state fields this capability adds.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            Capability::Battery => &["battery", "battery_low"],
            Capability::Mains => &[],
            Capability::Electrical => &["power", "energy", "voltage", "current"],
            Capability::Co2 => &["co2"],
            Capability::Pm25 => &["pm25"],
            Capability::Pm10 => &["pm10"],
            Capability::Tvoc => &["tvoc"],
            Capability::Formaldehyde => &["formaldehyde"],
            Capability::FanAuto => &[],
        }
    }

    /// The device type this capability adds to the Descriptor, if any.
    pub fn device_type(&self) -> Option<DeviceTypeInfo> {
        match self {
            Capability::Battery | Capability::Mains => Some(DT_POWER_SOURCE),
            Capability::Electrical => Some(DT_ELECTRICAL_SENSOR),
            _ => None,
        }
    }

    /// True for the concentrations, which only make sense on an air quality sensor.
    pub fn needs_air_quality(&self) -> bool {
        matches!(
            self,
            Capability::Co2
                | Capability::Pm25
                | Capability::Pm10
                | Capability::Tvoc
                | Capability::Formaldehyde
        )
    }

    fn default_state(&self) -> State {
        match self {
            Capability::Battery => State {
                battery: Some(100),
                battery_low: Some(false),
                ..State::default()
            },
            Capability::Mains => State::default(),
            Capability::Electrical => State {
                power: Some(0.0),
                energy: Some(0.0),
                voltage: Some(230.0),
                current: Some(0.0),
                ..State::default()
            },
            Capability::Co2 => State {
                co2: Some(400.0),
                ..State::default()
            },
            Capability::Pm25 => State {
                pm25: Some(5.0),
                ..State::default()
            },
            Capability::Pm10 => State {
                pm10: Some(10.0),
                ..State::default()
            },
            Capability::Tvoc => State {
                tvoc: Some(100.0),
                ..State::default()
            },
            Capability::Formaldehyde => State {
                formaldehyde: Some(10.0),
                ..State::default()
            },
            Capability::FanAuto => State::default(),
        }
    }
}

/// The `with` entries of a device: a set of kinds and capabilities (no order, no duplicates).
/// Serialised as a list of names, kinds first, each group in declaration order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct With {
    kinds: u64,
    caps: u32,
}

fn kind_bit(kind: DeviceKind) -> u64 {
    let idx = DeviceKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    1u64 << idx
}

fn cap_bit(cap: Capability) -> u32 {
    let idx = Capability::ALL.iter().position(|c| *c == cap).unwrap_or(0);
    1u32 << idx
}

impl With {
    /// Nothing added.
    pub const NONE: With = With { kinds: 0, caps: 0 };

    /// Nothing added.
    pub fn is_empty(&self) -> bool {
        self.kinds == 0 && self.caps == 0
    }

    /// The kinds added, in declaration order.
    pub fn kinds(&self) -> impl Iterator<Item = DeviceKind> + '_ {
        DeviceKind::ALL
            .iter()
            .copied()
            .filter(|k| self.kinds & kind_bit(*k) != 0)
    }

    /// The capabilities added, in declaration order.
    pub fn capabilities(&self) -> impl Iterator<Item = Capability> + '_ {
        Capability::ALL
            .iter()
            .copied()
            .filter(|c| self.caps & cap_bit(*c) != 0)
    }

    /// `cap` is one of the entries.
    pub fn has(&self, cap: Capability) -> bool {
        self.caps & cap_bit(cap) != 0
    }

    /// These entries and `cap` (unchecked: [`Shape::new`] checks the result).
    pub fn and(mut self, cap: Capability) -> With {
        self.caps |= cap_bit(cap);
        self
    }

    /// `kind` is one of the entries.
    pub fn has_kind(&self, kind: DeviceKind) -> bool {
        self.kinds & kind_bit(kind) != 0
    }

    /// The entries' names.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds()
            .map(|k| k.as_str())
            .chain(self.capabilities().map(|c| c.as_str()))
            .collect()
    }

    /// Parses entry names; an unknown name or a duplicate is an error naming `with` and the
    /// value. Whether the entries fit a kind is [`Shape::new`]'s business.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<With, ValidationError> {
        let mut with = With::NONE;
        for entry in entries {
            let name = entry.as_ref();
            let dup = || {
                ValidationError::new(
                    "with",
                    format!("{name:?}"),
                    "listed twice (each entry at most once)",
                )
            };
            if let Ok(kind) = name.parse::<DeviceKind>() {
                if with.has_kind(kind) {
                    return Err(dup());
                }
                with.kinds |= kind_bit(kind);
            } else if let Ok(cap) = name.parse::<Capability>() {
                if with.has(cap) {
                    return Err(dup());
                }
                with.caps |= cap_bit(cap);
            } else {
                return Err(ValidationError::new(
                    "with",
                    format!("{name:?}"),
                    format!(
                        "not a device kind or capability (capabilities: {}; kinds: {})",
                        Capability::valid_names(),
                        DeviceKind::valid_names()
                    ),
                ));
            }
        }
        Ok(with)
    }
}

impl serde::Serialize for With {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

impl<'de> serde::Deserialize<'de> for With {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        With::parse(&names).map_err(serde::de::Error::custom)
    }
}

/// One endpoint's functions: a kind plus its `with` entries. Build checked ones with
/// [`Shape::new`]; `Shape::from(kind)` has nothing added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// The primary kind (names the device, chooses Identify's type).
    pub kind: DeviceKind,
    /// What is added to the same endpoint.
    pub with: With,
}

impl From<DeviceKind> for Shape {
    fn from(kind: DeviceKind) -> Self {
        Shape {
            kind,
            with: With::NONE,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.with.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{} with [{}]", self.kind, self.with.names().join(", "))
        }
    }
}

/// What a shape serves, computed once per distinct shape.
struct ShapeInfo {
    clusters: &'static [ClusterSpec],
    fields: &'static [&'static str],
    device_types: &'static [DeviceTypeInfo],
    default_state: State,
}

/// Clusters every function has and the endpoint serves once.
fn shared(cluster_id: u32) -> bool {
    cluster_id == cluster::IDENTIFY || cluster_id == cluster::GROUPS
}

impl Shape {
    /// `kind` with `with` added, checked: every concentration needs an air quality sensor
    /// (the kind or a `with` kind), no cluster but Identify/Groups and no state field may come
    /// from two functions. Errors name `with` and the offending entry.
    pub fn new(kind: DeviceKind, with: With) -> Result<Shape, ValidationError> {
        let mut clusters: Vec<u32> = kind.clusters().iter().map(|c| c.id).collect();
        let mut fields: Vec<&str> = kind.fields().to_vec();
        let mut add = |name: &str,
                       more_clusters: &[ClusterSpec],
                       more_fields: &[&'static str]|
         -> Result<(), ValidationError> {
            for c in more_clusters.iter().filter(|c| !shared(c.id)) {
                if clusters.contains(&c.id) {
                    return Err(ValidationError::new(
                        "with",
                        format!("{name:?}"),
                        format!("its {} cluster is already on this device", c.name),
                    ));
                }
                clusters.push(c.id);
            }
            for f in more_fields {
                if fields.contains(f) {
                    return Err(ValidationError::new(
                        "with",
                        format!("{name:?}"),
                        format!("its state field `{f}` is already on this device"),
                    ));
                }
                fields.push(f);
            }
            Ok(())
        };
        for k in with.kinds() {
            if k == DeviceKind::BridgedNode {
                return Err(ValidationError::new(
                    "with",
                    format!("{:?}", k.as_str()),
                    "a bridged_node is a container, not a function: use it as a device's kind",
                ));
            }
            if kind == DeviceKind::BridgedNode {
                return Err(ValidationError::new(
                    "with",
                    format!("{:?}", k.as_str()),
                    "a bridged_node serves no function of its own: give it `parts` instead \
                     (only battery, mains or electrical may go on it)",
                ));
            }
            add(k.as_str(), k.clusters(), k.fields())?;
        }
        let air =
            kind == DeviceKind::AirQualitySensor || with.has_kind(DeviceKind::AirQualitySensor);
        let fan = kind == DeviceKind::Fan || with.has_kind(DeviceKind::Fan);
        for c in with.capabilities() {
            if c == Capability::FanAuto && !fan {
                return Err(ValidationError::new(
                    "with",
                    format!("{:?}", c.as_str()),
                    "fan_auto is a feature of a fan's Fan Control: only allowed on a `fan` (as kind or in `with`)",
                ));
            }
            if c.needs_air_quality() && !air {
                return Err(ValidationError::new(
                    "with",
                    format!("{:?}", c.as_str()),
                    "a concentration is only allowed on an air_quality_sensor (as kind or in `with`)",
                ));
            }
            // A container may carry what measures or powers the whole device (utility device
            // types beside Bridged Node); Power Topology's TreeTopology then covers its parts.
            if kind == DeviceKind::BridgedNode
                && !matches!(
                    c,
                    Capability::Battery | Capability::Mains | Capability::Electrical
                )
            {
                return Err(ValidationError::new(
                    "with",
                    format!("{:?}", c.as_str()),
                    "a bridged_node serves no function of its own: give it `parts` instead \
                     (only battery, mains or electrical may go on it)",
                ));
            }
            add(c.as_str(), c.clusters(), c.fields())?;
        }
        Ok(Shape { kind, with })
    }

    /// `kind` with the named entries (config / API form).
    pub fn parse<S: AsRef<str>>(kind: DeviceKind, with: &[S]) -> Result<Shape, ValidationError> {
        Shape::new(kind, With::parse(with)?)
    }

    fn info(&self) -> &'static ShapeInfo {
        static CACHE: OnceLock<Mutex<HashMap<Shape, &'static ShapeInfo>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(*self)
            .or_insert_with(|| Box::leak(Box::new(build_info(*self))))
    }

    /// The server clusters of the endpoint, sorted by id (Descriptor and Bridged Device Basic
    /// Information are the bridge's).
    pub fn clusters(&self) -> &'static [ClusterSpec] {
        if self.with.is_empty() {
            return self.kind.clusters();
        }
        self.info().clusters
    }

    /// The spec of `cluster` if the endpoint serves it.
    pub fn cluster_spec(&self, cluster: u32) -> Option<&'static ClusterSpec> {
        self.clusters().iter().find(|c| c.id == cluster)
    }

    /// Every applicable state field.
    pub fn fields(&self) -> &'static [&'static str] {
        if self.with.is_empty() {
            return self.kind.fields();
        }
        self.info().fields
    }

    /// The device types of the Descriptor's DeviceTypeList (without Bridged Node): the kind's,
    /// then each `with` kind's, then the capabilities' (Power Source, Electrical Sensor).
    pub fn device_types(&self) -> &'static [DeviceTypeInfo] {
        self.info().device_types
    }

    /// The default state of every function, merged.
    pub fn default_state(&self) -> State {
        if self.with.is_empty() {
            return self.kind.default_state();
        }
        self.info().default_state.clone()
    }

    /// [`DeviceKind::validate`] for the whole shape: fields of any of its functions apply.
    pub fn validate(&self, state: &State) -> Result<(), ValidationError> {
        validate_for_shape(*self, state)
    }

    /// `cap` is one of the `with` entries.
    pub fn has(&self, cap: Capability) -> bool {
        self.with.has(cap)
    }

    /// What the device's own endpoint serves on Matter: its kind and the capabilities (Power
    /// Source and Electrical Sensor are utility device types, allowed beside the application
    /// device type; a concentration stays with the air quality sensor it belongs to). Each `with`
    /// kind is served on a child endpoint of its own ([`Shape::facets`]): the Matter spec allows
    /// one application device type per endpoint unless one is a superset of the other, so a
    /// temperature + humidity + pressure sensor is three endpoints of one bridged device.
    pub fn own(&self) -> Shape {
        let air_here = self.kind == DeviceKind::AirQualitySensor;
        let fan_here = self.kind == DeviceKind::Fan;
        let mut with = With::NONE;
        for c in self.with.capabilities() {
            let elsewhere =
                (c.needs_air_quality() && !air_here) || (c == Capability::FanAuto && !fan_here);
            if !elsewhere {
                with.caps |= cap_bit(c);
            }
        }
        Shape {
            kind: self.kind,
            with,
        }
    }

    /// The `with` kinds as the shapes of their child endpoints, in declaration order (an air
    /// quality sensor takes the concentrations when the device's own kind is not one). Empty
    /// for a device without `with` kinds.
    pub fn facets(&self) -> Vec<Shape> {
        let air_here = self.kind == DeviceKind::AirQualitySensor;
        let fan_here = self.kind == DeviceKind::Fan;
        self.with
            .kinds()
            .map(|k| {
                let mut with = With::NONE;
                if k == DeviceKind::AirQualitySensor && !air_here {
                    for c in self.with.capabilities().filter(|c| c.needs_air_quality()) {
                        with.caps |= cap_bit(c);
                    }
                }
                if k == DeviceKind::Fan && !fan_here && self.with.has(Capability::FanAuto) {
                    with.caps |= cap_bit(Capability::FanAuto);
                }
                Shape { kind: k, with }
            })
            .collect()
    }
}

fn build_info(shape: Shape) -> ShapeInfo {
    let mut clusters: Vec<ClusterSpec> = shape.kind.clusters().to_vec();
    let mut fields: Vec<&'static str> = shape.kind.fields().to_vec();
    let mut device_types = vec![shape.kind.device_type()];
    let mut default_state = shape.kind.default_state();
    let mut push = |more: &[ClusterSpec], more_fields: &[&'static str]| {
        for c in more {
            if !clusters.iter().any(|have| have.id == c.id) {
                clusters.push(*c);
            }
        }
        for f in more_fields {
            if !fields.contains(f) {
                fields.push(f);
            }
        }
    };
    for k in shape.with.kinds() {
        push(
            &k.clusters()
                .iter()
                .copied()
                .filter(|c| c.id != cluster::IDENTIFY)
                .collect::<Vec<_>>(),
            k.fields(),
        );
        device_types.push(k.device_type());
        default_state = k.default_state().merged(&default_state);
    }
    for c in shape.with.capabilities() {
        push(c.clusters(), c.fields());
        if let Some(dt) = c.device_type() {
            if !device_types.contains(&dt) {
                device_types.push(dt);
            }
        }
        default_state = c.default_state().merged(&default_state);
    }
    if shape.with.has(Capability::FanAuto) {
        for c in clusters.iter_mut().filter(|c| c.id == cluster::FAN_CONTROL) {
            *c = spec::FAN_CONTROL_AUTO;
        }
    }
    clusters.sort_by_key(|c| c.id);
    // Fields in State declaration order, as `DeviceKind::fields` promises.
    fields.sort_by_key(|f| State::FIELD_NAMES.iter().position(|n| n == f));
    ShapeInfo {
        clusters: Box::leak(clusters.into_boxed_slice()),
        fields: Box::leak(fields.into_boxed_slice()),
        device_types: Box::leak(device_types.into_boxed_slice()),
        default_state,
    }
}
