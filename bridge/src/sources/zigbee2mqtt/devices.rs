//! The source's device table (by IEEE address, friendly name and device id) and what each incoming
//! message does to it and to the registry: `bridge/devices` (the device set), `bridge/state`,
//! `bridge/info`, `bridge/event`, rename/remove responses, availability and state reports.

use std::collections::{HashMap, HashSet};

use device_types::Shape;
use serde_json::Value;

use super::mapping::{self, Mapping};
use super::topics::{self, BridgeDevice, BridgeEvent, BridgeInfo, Response, Topic};
use super::{buttons, parts};
use super::{convert, Session};
use crate::config::DeviceConfig;
use crate::registry::{Origin, SourceDevice};

/// One bridged Zigbee2MQTT device.
#[derive(Clone, Debug)]
pub struct Known {
    pub ieee: String,
    pub id: String,
    pub friendly_name: String,
    pub mapping: Mapping,
    /// One per endpoint when the exposes are endpoint-suffixed (see `parts.rs`).
    pub parts: Vec<parts::Part>,
    pub mains: bool,
    /// `<friendly_name>/availability`; `None` when Zigbee2MQTT does not publish it (then reachable).
    pub available: Option<bool>,
}

#[derive(Debug, Default)]
pub struct DeviceTable {
    by_ieee: HashMap<String, Known>,
    /// Devices already sent a `/get` in this connection.
    polled: HashSet<String>,
}

impl DeviceTable {
    pub fn by_id(&self, id: &str) -> Option<&Known> {
        self.by_ieee.values().find(|k| k.id == id)
    }

    fn by_name(&self, name: &str) -> Option<&Known> {
        self.by_ieee.values().find(|k| k.friendly_name == name)
    }

    fn by_name_mut(&mut self, name: &str) -> Option<&mut Known> {
        self.by_ieee.values_mut().find(|k| k.friendly_name == name)
    }

    /// A new connection: availability is re-read from the retained messages, `/get` sent again.
    pub fn new_session(&mut self) {
        self.polled.clear();
        for k in self.by_ieee.values_mut() {
            k.available = None;
        }
    }
}

/// The device id of an IEEE address in source `name` (`z2m-<name>-0x00158d...`).
pub fn device_id(source_config_name: &str, ieee: &str) -> String {
    format!("z2m-{source_config_name}-{}", ieee.to_ascii_lowercase())
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

impl Session<'_> {
    pub fn reachable(&self, k: &Known) -> bool {
        self.bridge_online && k.available != Some(false)
    }

    /// Tells the registry each device's reachability as the source now sees it.
    pub fn update_reachability(&self) {
        for k in self.devices.by_ieee.values() {
            let _ = self.registry.set_reachable(&k.id, self.reachable(k));
        }
    }

    pub fn on_message(&mut self, topic: &str, payload: &[u8]) {
        match topics::parse(&self.config.base_topic, topic) {
            Topic::BridgeDevices => self.on_bridge_devices(payload),
            Topic::BridgeState => match topics::online(payload) {
                Some(online) => {
                    if online != self.bridge_online {
                        tracing::info!(source = %self.source, online, "Zigbee2MQTT bridge state");
                    }
                    self.bridge_online = online;
                    self.update_reachability();
                }
                None => self.bad(topic, "state", payload, "neither online nor offline"),
            },
            Topic::BridgeInfo => match serde_json::from_slice::<BridgeInfo>(payload) {
                Ok(info) => match info.output() {
                    Some("json") | Some("attribute_and_json") | None => {
                        tracing::info!(source = %self.source, version = ?info.version, "Zigbee2MQTT bridge info");
                    }
                    Some(other) => tracing::warn!(
                        source = %self.source,
                        output = other,
                        "Zigbee2MQTT advanced.output is not JSON: device state cannot be read; set it to `json` or `attribute_and_json`"
                    ),
                },
                Err(e) => self.bad(topic, "info", payload, &e.to_string()),
            },
            Topic::BridgeEvent => match serde_json::from_slice::<BridgeEvent>(payload) {
                Ok(event) => self.on_event(event),
                Err(e) => self.bad(topic, "event", payload, &e.to_string()),
            },
            Topic::BridgeResponse(what) => match serde_json::from_slice::<Response>(payload) {
                Ok(response) => self.on_response(what, response),
                Err(e) => self.bad(topic, "response", payload, &e.to_string()),
            },
            Topic::Availability(name) => {
                if payload.is_empty() {
                    return; // a cleared retained message (rename, remove)
                }
                let Some(online) = topics::online(payload) else {
                    return self.bad(topic, "availability", payload, "neither online nor offline");
                };
                let registry = self.registry;
                let bridge_online = self.bridge_online;
                if let Some(k) = self.devices.by_name_mut(name) {
                    k.available = Some(online);
                    let reachable = bridge_online && online;
                    let _ = registry.set_reachable(&k.id, reachable);
                }
            }
            Topic::State(name) => self.on_state(name, payload),
            Topic::BridgeOther | Topic::Ignored => {}
        }
    }

    fn bad(&self, topic: &str, field: &str, payload: &[u8], reason: &str) {
        tracing::warn!(source = %self.source, %topic, field, bytes = payload.len(), reason, "bad message from the broker ignored");
    }

    fn on_state(&mut self, name: &str, payload: &[u8]) {
        if payload.is_empty() {
            return; // cleared retained state of a renamed or removed device
        }
        let Some(k) = self.devices.by_name(name) else {
            tracing::debug!(source = %self.source, friendly_name = name, "state of a device not bridged");
            return;
        };
        if payload.len() > self.config.max_state_bytes {
            tracing::warn!(source = %self.source, device = %k.id, bytes = payload.len(), max = self.config.max_state_bytes, "oversized state message ignored");
            return;
        }
        let object = match serde_json::from_slice::<Value>(payload) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                tracing::warn!(source = %self.source, device = %k.id, "state message is not a JSON object; ignored");
                return;
            }
            Err(e) => {
                tracing::warn!(source = %self.source, device = %k.id, error = %e, "state message is not JSON; ignored");
                return;
            }
        };
        let (patch, errors) = convert::to_state(&k.mapping, &object);
        for e in errors {
            tracing::warn!(source = %self.source, device = %k.id, field = %e.property, value = %e.value, reason = e.reason, "unusable value in a state message ignored");
        }
        match convert::to_event(&k.mapping, &object) {
            Ok(Some(event)) => match buttons::route(&k.mapping, &k.parts, event) {
                Ok((part, event)) => {
                    let id = match &part {
                        Some(p) => device_types::parts::part_id(&k.id, p),
                        None => k.id.clone(),
                    };
                    if let Err(e) = self.registry.emit_event(&id, event, Origin::Local) {
                        tracing::warn!(source = %self.source, device = %id, error = %e, "action rejected");
                    }
                }
                Err(button) => {
                    tracing::info!(source = %self.source, device = %k.id, button = ?button, "action of no button of this remote (a scene recall?) ignored");
                }
            },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(source = %self.source, device = %k.id, field = %e.property, value = %e.value, reason = e.reason, "unusable action ignored");
            }
        }
        for (part, part_patch, errors) in parts::part_states(&k.parts, &object) {
            let id = device_types::parts::part_id(&k.id, &part);
            for e in errors {
                tracing::warn!(source = %self.source, device = %id, field = %e.property, value = %e.value, reason = e.reason, "unusable value in a state message ignored");
            }
            if !part_patch.is_empty() {
                if let Err(e) = self.registry.apply(&id, &part_patch, Origin::Local) {
                    tracing::warn!(source = %self.source, device = %id, error = %e, "state report rejected");
                }
            }
        }
        if patch.is_empty() {
            return;
        }
        if let Err(e) = self.registry.apply(&k.id, &patch, Origin::Local) {
            tracing::warn!(source = %self.source, device = %k.id, error = %e, "state report rejected");
        }
    }

    fn on_bridge_devices(&mut self, payload: &[u8]) {
        let entries = match serde_json::from_slice::<Value>(payload) {
            Ok(Value::Array(entries)) => entries,
            Ok(_) => return self.bad("bridge/devices", "devices", payload, "not a JSON array"),
            Err(e) => return self.bad("bridge/devices", "devices", payload, &e.to_string()),
        };
        // One malformed entry makes the whole list untrustworthy: keep the devices we have rather
        // than remove everything the list would leave out.
        let mut parsed = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            match serde_json::from_value::<BridgeDevice>(entry) {
                Ok(d) => parsed.push(d),
                Err(e) => {
                    tracing::warn!(source = %self.source, index = i, error = %e, "bad bridge/devices entry: the whole message is ignored");
                    return;
                }
            }
        }
        let mut table = HashMap::new();
        let mut specs = Vec::new();
        for device in parsed {
            if let Some((known, spec)) = self.describe(&device) {
                specs.push(spec);
                table.insert(known.ieee.clone(), known);
            }
        }
        for (ieee, k) in table.iter_mut() {
            k.available = self.devices.by_ieee.get(ieee).and_then(|old| old.available);
        }
        self.devices.by_ieee = table;
        for e in self.registry.sync_source_devices(self.source, specs) {
            tracing::warn!(source = %self.source, error = %e, "device not bridged");
        }
        self.update_reachability();
        self.poll_mains_devices();
    }

    /// The registry spec and table entry of a `bridge/devices` entry, or `None` (logged) when it is
    /// not bridged.
    fn describe(&self, d: &BridgeDevice) -> Option<(Known, SourceDevice)> {
        if d.device_type == "Coordinator" || d.disabled {
            return None;
        }
        if !self.config.wanted(&d.ieee_address, &d.friendly_name) {
            tracing::debug!(source = %self.source, ieee = %d.ieee_address, friendly_name = %d.friendly_name, "excluded by include/exclude");
            return None;
        }
        let Some(definition) = d.definition.as_ref().filter(|_| d.supported) else {
            tracing::info!(source = %self.source, ieee = %d.ieee_address, friendly_name = %d.friendly_name, interview_completed = d.interview_completed, "device without a supported definition not bridged");
            return None;
        };
        let id = device_id(&self.config.name, &d.ieee_address);
        let (mapping, device_parts) = match parts::compose(&definition.exposes) {
            Some(c) => (Some(c.device), c.parts),
            None => (mapping::map(&definition.exposes), Vec::new()),
        };
        let Some(mut mapping) = mapping else {
            let exposes: Vec<String> = definition
                .exposes
                .iter()
                .map(mapping::expose_label)
                .collect();
            tracing::info!(source = %self.source, device = %id, friendly_name = %d.friendly_name, model = %definition.model, unmapped = ?exposes, "nothing on this device maps to a Matter device type; not bridged");
            return None;
        };
        let over = self.config.override_for(&d.ieee_address, &d.friendly_name);
        if let Some(kind) = over.and_then(|o| o.kind) {
            let fields = Shape::new(kind, mapping.with)
                .map(|s| s.fields())
                .unwrap_or_else(|_| kind.fields());
            let fits = mapping
                .bindings
                .iter()
                .all(|b| binding_fields(&b.field).iter().all(|f| fields.contains(f)));
            if fits {
                mapping.kind = kind;
            } else {
                tracing::warn!(source = %self.source, device = %id, kind = %kind, mapped = %mapping.kind, "override kind does not fit what the device exposes; ignored");
            }
        }
        if !mapping.unmapped.is_empty() {
            tracing::info!(source = %self.source, device = %id, friendly_name = %d.friendly_name, kind = %mapping.kind, unmapped = ?mapping.unmapped, "exposes not bridged");
        }
        let name = over
            .and_then(|o| o.name.clone())
            .unwrap_or_else(|| truncate(&d.friendly_name, crate::config::MAX_LABEL_BYTES));
        let spec = DeviceConfig {
            with: mapping.with,
            id: id.clone(),
            kind: mapping.kind,
            name,
            room: over.and_then(|o| o.room.clone()),
            state: None,
            parts: device_parts.iter().map(|p| p.spec.clone()).collect(),
        };
        let known = Known {
            ieee: d.ieee_address.to_ascii_lowercase(),
            id,
            friendly_name: d.friendly_name.clone(),
            mains: d.mains_powered(),
            available: None,
            mapping: mapping.clone(),
            parts: device_parts,
        };
        Some((
            known,
            SourceDevice {
                spec,
                unmapped: mapping.unmapped,
            },
        ))
    }

    /// `<friendly_name>/get` of the readable mapped properties, once per connection, for devices
    /// that are awake (mains powered).
    fn poll_mains_devices(&mut self) {
        let mut polled = Vec::new();
        for k in self.devices.by_ieee.values() {
            if !k.mains || self.devices.polled.contains(&k.ieee) {
                continue;
            }
            let props = parts::gettable(&k.mapping, &k.parts);
            if props.is_empty() {
                continue;
            }
            let body: serde_json::Map<String, Value> = props
                .into_iter()
                .map(|p| (p.to_owned(), Value::from("")))
                .collect();
            let topic = topics::get_topic(&self.config.base_topic, &k.friendly_name);
            if let Err(e) =
                self.link
                    .publish(topic, false, Value::Object(body).to_string().into_bytes())
            {
                tracing::warn!(source = %self.source, device = %k.id, error = %e, "cannot ask for state");
            }
            polled.push(k.ieee.clone());
        }
        self.devices.polled.extend(polled);
    }

    fn on_event(&mut self, event: BridgeEvent) {
        let ieee = event.data.ieee_address.as_deref().unwrap_or_default();
        let name = event.data.friendly_name.as_deref().unwrap_or_default();
        match event.kind.as_str() {
            "device_leave" => {
                let ieee = ieee.to_ascii_lowercase();
                if let Some(k) = self.devices.by_ieee.remove(&ieee) {
                    tracing::info!(source = %self.source, device = %k.id, friendly_name = %k.friendly_name, "device left the Zigbee network");
                    if let Err(e) = self.registry.remove_source_device(self.source, &k.id) {
                        tracing::warn!(source = %self.source, device = %k.id, error = %e, "cannot remove device");
                    }
                }
            }
            "device_joined" | "device_interview" | "device_announce" => {
                tracing::info!(source = %self.source, event = %event.kind, ieee, friendly_name = name, status = ?event.data.status, "Zigbee2MQTT device event");
            }
            other => {
                tracing::debug!(source = %self.source, event = other, "bridge event ignored")
            }
        }
    }

    fn on_response(&mut self, what: &str, response: Response) {
        if response.status != "ok" {
            return;
        }
        let text = |key: &str| response.data.get(key).and_then(Value::as_str);
        match what {
            "device/rename" => {
                let (Some(from), Some(to)) = (text("from"), text("to")) else {
                    return;
                };
                let over = self
                    .devices
                    .by_name(from)
                    .and_then(|k| self.config.override_for(&k.ieee, from))
                    .and_then(|o| o.name.clone());
                let Some(k) = self.devices.by_name_mut(from) else {
                    return;
                };
                k.friendly_name = to.to_owned();
                let k = k.clone();
                tracing::info!(source = %self.source, device = %k.id, from, to, "device renamed in Zigbee2MQTT; endpoint and UniqueID kept");
                let Some(current) = self.registry.get(&k.id) else {
                    return;
                };
                let spec = DeviceConfig {
                    with: current.with,
                    id: k.id.clone(),
                    kind: current.kind,
                    name: over.unwrap_or_else(|| truncate(to, crate::config::MAX_LABEL_BYTES)),
                    room: current.room.clone(),
                    state: None,
                    parts: k.parts.iter().map(|p| p.spec.clone()).collect(),
                };
                let unmapped = current.unmapped.clone();
                if let Err(e) = self
                    .registry
                    .upsert_source_device(self.source, SourceDevice { spec, unmapped })
                {
                    tracing::warn!(source = %self.source, device = %k.id, error = %e, "cannot rename device");
                }
            }
            "device/remove" => {
                let Some(id) = text("id") else { return };
                let key = self
                    .devices
                    .by_ieee
                    .iter()
                    .find(|(ieee, k)| k.friendly_name == id || ieee.eq_ignore_ascii_case(id))
                    .map(|(ieee, _)| ieee.clone());
                if let Some(k) = key.and_then(|ieee| self.devices.by_ieee.remove(&ieee)) {
                    tracing::info!(source = %self.source, device = %k.id, "device removed from Zigbee2MQTT");
                    if let Err(e) = self.registry.remove_source_device(self.source, &k.id) {
                        tracing::warn!(source = %self.source, device = %k.id, error = %e, "cannot remove device");
                    }
                }
            }
            _ => {}
        }
    }
}

/// The canonical fields a binding writes.
fn binding_fields(field: &mapping::Field) -> &[&'static str] {
    field.fields()
}
