//! What hubbridge knows about the controllers (ecosystems) that pair with it: their names by vendor
//! id, and how many bridged devices each is known to handle. A node with more bridged devices than a
//! paired controller handles gets a warning — in the log when it starts to apply, in
//! `GET /api/health` (`warnings`) and on the web page — because that controller fails in ways a
//! user cannot trace back to the count (pairing that never finishes, devices that stop responding).
//!
//! The limits are not in any specification; each comes from a public report, named in [`SOURCES`]
//! and the README. Controllers without a known limit get no warning.

use serde::Serialize;

/// A controller ecosystem, by the vendor id its commissioner puts in the fabric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ecosystem {
    pub vendor_id: u16,
    pub name: &'static str,
    /// Most bridged devices (top-level devices of one bridge) it is known to handle.
    pub max_bridged: Option<usize>,
}

/// Vendor ids from the CSA's Distributed Compliance Ledger vendor list.
pub const ECOSYSTEMS: &[Ecosystem] = &[
    Ecosystem {
        vendor_id: 0x1349,
        name: "Apple Home",
        max_bridged: Some(149),
    },
    Ecosystem {
        vendor_id: 0x1217,
        name: "Amazon Alexa",
        max_bridged: Some(100),
    },
    Ecosystem {
        vendor_id: 0x6006,
        name: "Google Home",
        max_bridged: None,
    },
    Ecosystem {
        vendor_id: 0x110A,
        name: "Samsung SmartThings",
        max_bridged: None,
    },
    Ecosystem {
        vendor_id: 0x134B,
        name: "Home Assistant (Nabu Casa)",
        max_bridged: None,
    },
];

/// Where each limit comes from (also in the README).
pub const SOURCES: &[(&str, &str)] = &[
    (
        "Apple Home",
        "HomeKit refuses more than 149 accessories behind one bridge (\"Cannot Bridge more than 149 \
         Accessories\", homebridge/homebridge#2228); Apple Home applies the same ceiling (about 150) \
         to Matter bridges",
    ),
    (
        "Amazon Alexa",
        "pairing fails with over 100 bridged devices (t0bst4r/matterbridge-home-assistant#53); \
         trouble is reported from about 70 (t0bst4r/home-assistant-matter-hub#369)",
    ),
];

/// The ecosystem of a vendor id, if known (the test vendors 0xFFF1..=0xFFF4 are not).
pub fn ecosystem(vendor_id: u16) -> Option<&'static Ecosystem> {
    ECOSYSTEMS.iter().find(|e| e.vendor_id == vendor_id)
}

/// One fabric as the limit check needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Paired {
    pub fabric_index: u8,
    pub vendor_id: u16,
}

/// A paired controller that this node has too many bridged devices for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitWarning {
    pub fabric_index: u8,
    pub vendor_id: u16,
    pub controller: &'static str,
    pub limit: usize,
    pub devices: usize,
    pub message: String,
}

/// The warnings for a node serving `devices` bridged devices to `paired` controllers.
pub fn limit_warnings(paired: &[Paired], devices: usize) -> Vec<LimitWarning> {
    paired
        .iter()
        .filter_map(|p| {
            let eco = ecosystem(p.vendor_id)?;
            let limit = eco.max_bridged?;
            (devices > limit).then(|| LimitWarning {
                fabric_index: p.fabric_index,
                vendor_id: p.vendor_id,
                controller: eco.name,
                limit,
                devices,
                message: format!(
                    "{} (fabric {}) is known to handle at most {limit} bridged devices and this \
                     node serves {devices}: expect devices that do not respond or a pairing that \
                     does not finish; serve fewer devices to it (see README, Controller limits)",
                    eco.name, p.fabric_index
                ),
            })
        })
        .collect()
}

/// Logs a warning when a limit starts to apply and a note when it no longer does, following the
/// pairing status and the registry until `stop`.
pub async fn watch(
    registry: crate::registry::Registry,
    scope: crate::nodes::Scope,
    mut pairing: tokio::sync::watch::Receiver<super::PairingStatus>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut changes = registry.subscribe();
    let mut shown: Vec<LimitWarning> = Vec::new();
    loop {
        let now = limit_warnings(&pairing.borrow().controllers, scope.count(&registry));
        for w in now.iter().filter(|w| !shown.iter().any(|s| same(s, w))) {
            tracing::warn!(
                node = scope.id(),
                controller = w.controller,
                fabric_index = w.fabric_index,
                limit = w.limit,
                devices = w.devices,
                "{}",
                w.message
            );
        }
        for w in shown.iter().filter(|s| !now.iter().any(|w| same(s, w))) {
            let still_paired = pairing
                .borrow()
                .controllers
                .iter()
                .any(|p| p.fabric_index == w.fabric_index);
            if still_paired {
                tracing::info!(
                    controller = w.controller,
                    fabric_index = w.fabric_index,
                    "the bridged device count is within {}'s known limit again",
                    w.controller
                );
            } else {
                tracing::info!(
                    controller = w.controller,
                    fabric_index = w.fabric_index,
                    "{} (fabric {}) was unpaired: its device limit no longer applies",
                    w.controller,
                    w.fabric_index
                );
            }
        }
        shown = now;
        // Only pairing and the device count matter: state changes (the bulk of the traffic) are
        // skipped without recounting.
        loop {
            use crate::registry::Change;
            use tokio::sync::broadcast::error::RecvError;
            tokio::select! {
                _ = stop.cancelled() => return,
                r = pairing.changed() => if r.is_err() { return } else { break },
                r = changes.recv() => match r {
                    Ok(Change::Added(_) | Change::Removed { .. }) | Err(RecvError::Lagged(_)) => break,
                    Ok(_) => continue,
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }
}

/// The same controller over the same limit (the device count may have moved).
fn same(a: &LimitWarning, b: &LimitWarning) -> bool {
    (a.fabric_index, a.vendor_id) == (b.fabric_index, b.vendor_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paired(list: &[(u8, u16)]) -> Vec<Paired> {
        list.iter()
            .map(|&(fabric_index, vendor_id)| Paired {
                fabric_index,
                vendor_id,
            })
            .collect()
    }

    #[test]
    fn a_limit_applies_only_above_it_and_only_to_that_controller() {
        let both = paired(&[(1, 0x1349), (2, 0x1217), (3, 0xFFF1), (4, 0x6006)]);
        assert!(
            limit_warnings(&both, 100).is_empty(),
            "100 is Alexa's limit, not over it"
        );
        let w = limit_warnings(&both, 101);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(
            (w[0].fabric_index, w[0].controller, w[0].limit, w[0].devices),
            (2, "Amazon Alexa", 100, 101)
        );
        assert!(w[0].message.contains("at most 100") && w[0].message.contains("serves 101"));
        let w = limit_warnings(&both, 150);
        assert_eq!(
            w.iter().map(|w| w.controller).collect::<Vec<_>>(),
            ["Apple Home", "Amazon Alexa"]
        );
        assert!(limit_warnings(&paired(&[(1, 0xFFF1)]), 5000).is_empty());
    }

    #[test]
    fn every_limit_names_its_source() {
        for e in ECOSYSTEMS.iter().filter(|e| e.max_bridged.is_some()) {
            assert!(
                SOURCES.iter().any(|(name, _)| *name == e.name),
                "{} has a limit without a source",
                e.name
            );
        }
        assert_eq!(ecosystem(0x1349).map(|e| e.name), Some("Apple Home"));
        assert_eq!(ecosystem(0xFFF1), None);
    }
}
