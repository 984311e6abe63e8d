//! Where a change came from ([`Origin`], which stops echo loops) and where a device is defined, which is
//! the source its commands go to ([`DeviceOrigin`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The origin of a change: `matter`, `cloud:<connector>`, `local` or `api` (also its JSON form).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    Matter,
    Cloud(String),
    Local,
    Api,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Matter => f.write_str("matter"),
            Origin::Cloud(name) => write!(f, "cloud:{name}"),
            Origin::Local => f.write_str("local"),
            Origin::Api => f.write_str("api"),
        }
    }
}

/// A string that is not one of the origin forms.
#[derive(Debug, thiserror::Error)]
#[error("unknown origin {0:?}: expected \"matter\", \"cloud:<name>\", \"local\" or \"api\"")]
pub struct ParseOriginError(String);

impl FromStr for Origin {
    type Err = ParseOriginError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "matter" => Ok(Origin::Matter),
            "local" => Ok(Origin::Local),
            "api" => Ok(Origin::Api),
            _ => match s.strip_prefix("cloud:") {
                Some(name) if !name.is_empty() => Ok(Origin::Cloud(name.to_owned())),
                _ => Err(ParseOriginError(s.to_owned())),
            },
        }
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a device is defined, which is also the source its commands go to: the config file (the
/// virtual source), the API (the API source), or a device source by name (`zigbee2mqtt:<name>`).
/// Its JSON form is `"config"`, `"api"` or the source's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeviceOrigin {
    Config,
    Api,
    Source(String),
}

/// Command route of config-file devices.
pub const VIRTUAL_ROUTE: &str = "virtual";
/// Command route of API-added devices.
pub const API_ROUTE: &str = "api";

impl DeviceOrigin {
    /// The name of the source that actuates this device (the key of its command channel).
    pub fn route(&self) -> &str {
        match self {
            DeviceOrigin::Config => VIRTUAL_ROUTE,
            DeviceOrigin::Api => API_ROUTE,
            DeviceOrigin::Source(name) => name,
        }
    }
}

impl fmt::Display for DeviceOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceOrigin::Config => f.write_str("config"),
            DeviceOrigin::Api => f.write_str("api"),
            DeviceOrigin::Source(name) => f.write_str(name),
        }
    }
}

impl Serialize for DeviceOrigin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceOrigin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(match s.as_str() {
            "config" => DeviceOrigin::Config,
            "api" => DeviceOrigin::Api,
            "" => return Err(serde::de::Error::custom("empty device source")),
            _ => DeviceOrigin::Source(s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_round_trips_as_a_string() {
        for (origin, text) in [
            (Origin::Matter, "matter"),
            (Origin::Cloud("aws".into()), "cloud:aws"),
            (Origin::Local, "local"),
            (Origin::Api, "api"),
        ] {
            assert_eq!(origin.to_string(), text);
            assert_eq!(
                serde_json::to_string(&origin).unwrap(),
                format!("\"{text}\"")
            );
            assert_eq!(
                serde_json::from_str::<Origin>(&format!("\"{text}\"")).unwrap(),
                origin
            );
        }
        assert!("cloud:".parse::<Origin>().is_err());
        assert!("mqtt".parse::<Origin>().is_err());
    }
}
