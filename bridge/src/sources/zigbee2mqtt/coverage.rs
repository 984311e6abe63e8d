//! Mapping coverage over a dump of zigbee-herdsman-converters definitions (tests/e2e/z2m/dump.js all):
//! the share of definitions with at least one mapped function, the share of exposes mapped, and the
//! most frequent unmapped expose names. Housekeeping exposes (linkquality, update, identify, effect)
//! count neither way; `action` and `battery` count like any function. A device whose exposes name
//! several endpoints is mapped with its parts, as the source does. A figure for bench/report.md.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::mapping::{self, expose_label, is_housekeeping};
use super::topics::Definition;

#[derive(Deserialize)]
struct Entry {
    definition: Definition,
}

#[derive(Debug, Serialize)]
pub struct Coverage {
    pub definitions: usize,
    pub definitions_mapped: usize,
    pub exposes: usize,
    pub exposes_mapped: usize,
    /// (expose label, definitions where it is unmapped), most frequent first.
    pub top_unmapped: Vec<(String, usize)>,
    /// (expose label, definitions not bridged at all that have it), most frequent first: what the
    /// definitions without any mapped function consist of.
    pub top_in_unmapped_definitions: Vec<(String, usize)>,
}

/// Coverage of a dump (a JSON array of `{model, vendor, definition}`).
pub fn of_dump(json: &[u8]) -> Result<Coverage, serde_json::Error> {
    let entries: Vec<Entry> = serde_json::from_slice(json)?;
    let mut c = Coverage {
        definitions: entries.len(),
        definitions_mapped: 0,
        exposes: 0,
        exposes_mapped: 0,
        top_unmapped: Vec::new(),
        top_in_unmapped_definitions: Vec::new(),
    };
    let mut unmapped: HashMap<String, usize> = HashMap::new();
    let mut in_unmapped: HashMap<String, usize> = HashMap::new();
    for e in &entries {
        let labels: Vec<String> = e
            .definition
            .exposes
            .iter()
            .map(expose_label)
            .filter(|l| !is_housekeeping(l))
            .collect();
        c.exposes += labels.len();
        // As the source maps a device: endpoint-suffixed exposes as parts first (`parts.rs`),
        // then a remote's buttons (`buttons.rs`).
        let mapped = match super::parts::compose(&e.definition.exposes) {
            Some(composed) => Some(composed.device),
            None => mapping::map(&e.definition.exposes),
        };
        match mapped {
            Some(m) => {
                c.definitions_mapped += 1;
                c.exposes_mapped += labels.len().saturating_sub(m.unmapped.len());
                for u in m.unmapped {
                    *unmapped.entry(u).or_default() += 1;
                }
            }
            None => {
                for l in labels {
                    *in_unmapped.entry(l.clone()).or_default() += 1;
                    *unmapped.entry(l).or_default() += 1;
                }
            }
        }
    }
    c.top_unmapped = most_frequent(unmapped);
    c.top_in_unmapped_definitions = most_frequent(in_unmapped);
    Ok(c)
}

/// The 20 most frequent labels, ties by name.
fn most_frequent(counts: HashMap<String, usize>) -> Vec<(String, usize)> {
    let mut top: Vec<(String, usize)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(20);
    top
}
