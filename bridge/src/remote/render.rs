//! Human output of `hubbridge status`, `hubbridge devices` and `hubbridge fabrics`, from the API's JSON (missing fields are
//! shown as `-`, never a panic: the CLI may talk to an older or newer bridge).

use serde_json::Value;

use super::Endpoint;

/// How many devices in a `/api/devices` answer are reachable.
pub fn reachable(devices: &Value) -> usize {
    list(devices)
        .iter()
        .filter(|d| d.get("reachable").and_then(Value::as_bool) == Some(true))
        .count()
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The status summary.
pub fn status(
    endpoint: &Endpoint,
    health: &Value,
    devices: &Value,
    pairing: Option<&Value>,
    connectors: Option<&Value>,
) -> String {
    let mut out = String::new();
    let line = |out: &mut String, key: &str, value: String| {
        out.push_str(&format!("{key:<12} {value}\n"));
    };
    line(
        &mut out,
        "Bridge:",
        format!("{} at {endpoint}", text(health.get("status"))),
    );
    line(
        &mut out,
        "Devices:",
        format!("{} ({} reachable)", list(devices).len(), reachable(devices)),
    );
    let commissioned = health.get("commissioned").and_then(Value::as_bool);
    let fabrics = pairing
        .and_then(|p| p.get("fabrics"))
        .and_then(Value::as_u64);
    let window = pairing
        .and_then(|p| p.get("commissioning_window_open"))
        .and_then(Value::as_bool);
    let matter = match (commissioned, fabrics) {
        (Some(true), Some(n)) => format!("paired with {n} controller(s) (fabrics)"),
        (Some(true), None) => "paired".to_owned(),
        (Some(false), _) if window == Some(false) => {
            "not paired; commissioning window closed".to_owned()
        }
        (Some(false), _) => {
            "not paired: commissioning window open (`hubbridge pairing` shows the code)".to_owned()
        }
        (None, _) => "-".to_owned(),
    };
    line(&mut out, "Matter:", matter);
    line(
        &mut out,
        "Registry:",
        format!("version {}", text(health.get("version"))),
    );
    if let Some(storage) = health.get("storage") {
        let failures = storage.get("failures").and_then(Value::as_u64).unwrap_or(0);
        let mut s = format!(
            "{} writes, {failures} failures",
            text(storage.get("writes"))
        );
        if storage.get("disk_full").and_then(Value::as_bool) == Some(true) {
            s.push_str(", DISK FULL");
        }
        if let Some(e) = storage.get("last_error").and_then(Value::as_str) {
            s.push_str(&format!(", last error: {e}"));
        }
        line(&mut out, "Storage:", s);
    }
    // `/api/connectors` (outbox figures nested, dead letters included); else health's flat summary.
    let detailed = connectors.and_then(|c| c.get("connectors"));
    let connectors = list(
        detailed
            .or_else(|| health.get("connectors"))
            .unwrap_or(&Value::Null),
    );
    if connectors.is_empty() {
        line(&mut out, "Connectors:", "none".to_owned());
    } else {
        out.push_str("Connectors:\n");
        for c in connectors {
            let outbox = |key: &str, flat: &str| {
                c.get("outbox")
                    .and_then(|o| o.get(key))
                    .or_else(|| c.get(flat))
                    .cloned()
            };
            let connected = c.get("connected").and_then(Value::as_bool) == Some(true);
            let mut s = format!(
                "  {} ({}): {}, outbox {}, oldest {}, dropped {}",
                text(c.get("name")),
                text(c.get("type")),
                if connected {
                    "connected"
                } else {
                    "NOT CONNECTED"
                },
                text(outbox("depth", "outbox_depth").as_ref()),
                age(outbox("oldest_age_ms", "oldest_age_ms").as_ref()),
                text(outbox("dropped_events", "dropped_events").as_ref()),
            );
            if let Some(d) = outbox("dead_letters", "dead_letters").and_then(|v| v.as_u64()) {
                s.push_str(&format!(", dead letters {d}"));
            }
            if let Some(e) = c.get("last_error").and_then(Value::as_str) {
                s.push_str(&format!("\n    last error: {e}"));
            }
            if let Some(e) = outbox("storage_error", "outbox_error") {
                if let Some(e) = e.as_str() {
                    s.push_str(&format!("\n    outbox: {e}"));
                }
            }
            out.push_str(&s);
            out.push('\n');
        }
    }
    // Certificates, when the bridge reports them (path, used_by, days_left).
    let certs = list(health.get("certificates").unwrap_or(&Value::Null));
    if !certs.is_empty() {
        out.push_str("Certificates:\n");
        for c in certs {
            let days = c.get("days_left").and_then(Value::as_i64);
            let when = match days {
                Some(d) if d < 0 => format!("EXPIRED {} day(s) ago", -d),
                Some(d) if d < 30 => format!("expires in {d} day(s) — renew it"),
                Some(d) => format!("{d} days left"),
                None => "-".to_owned(),
            };
            out.push_str(&format!(
                "  {} ({}): {when}\n",
                text(c.get("path")),
                text(c.get("used_by"))
            ));
        }
    }
    out
}

fn age(ms: Option<&Value>) -> String {
    match ms.and_then(Value::as_u64) {
        None => "-".to_owned(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) if ms < 120_000 => format!("{} s", ms / 1000),
        Some(ms) => format!("{} min", ms / 60_000),
    }
}

/// The device table: one row per device (parts included), state as `key=value` pairs.
pub fn devices(devices: &Value) -> String {
    let rows: Vec<Vec<String>> = list(devices)
        .iter()
        .map(|d| {
            let state = match d.get("state") {
                Some(Value::Object(map)) => map
                    .iter()
                    .map(|(k, v)| format!("{k}={}", text(Some(v))))
                    .collect::<Vec<_>>()
                    .join(" "),
                other => text(other),
            };
            let reachable = match d.get("reachable").and_then(Value::as_bool) {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            vec![
                text(d.get("id")),
                text(d.get("kind")),
                text(d.get("endpoint")),
                reachable.to_owned(),
                text(d.get("room")),
                state,
            ]
        })
        .collect();
    let mut out = table(
        &["ID", "KIND", "ENDPOINT", "REACHABLE", "ROOM", "STATE"],
        &rows,
    );
    out.push_str(&format!(
        "{} device(s), {} reachable\n",
        rows.len(),
        reachable(devices)
    ));
    out
}

/// The controllers table of `hubbridge fabrics`, from `GET /api/fabrics`.
pub fn fabrics(answer: &Value) -> String {
    let fabrics = list(answer.get("fabrics").unwrap_or(&Value::Null));
    if fabrics.is_empty() {
        return "Not paired with any controller (hubbridge pairing shows the code).\n".to_owned();
    }
    let rows: Vec<Vec<String>> = fabrics
        .iter()
        .map(|f| {
            vec![
                text(f.get("fabric_index")),
                hex(f.get("vendor_id"), 4),
                match f.get("label").and_then(Value::as_str) {
                    Some("") | None => "-".to_owned(),
                    Some(label) => label.to_owned(),
                },
                hex(f.get("node_id"), 16),
                hex(f.get("fabric_id"), 16),
                text(f.get("vendor_name")),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "INDEX",
            "VENDOR",
            "LABEL",
            "NODE ID",
            "FABRIC ID",
            "CONTROLLER",
        ],
        &rows,
    );
    out.push_str(&format!(
        "{} controller(s); `hubbridge fabrics remove INDEX` unpairs one\n",
        rows.len()
    ));
    out
}

/// `hubbridge nodes`: one row per Matter node of the running bridge.
pub fn nodes(answer: &Value) -> String {
    let nodes = list(answer.get("nodes").unwrap_or(&Value::Null));
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|n| {
            let warnings = list(n.get("warnings").unwrap_or(&Value::Null));
            vec![
                text(n.get("id")),
                text(n.get("name")),
                text(n.get("port")),
                if n.get("bridged").and_then(Value::as_bool) == Some(false) {
                    "device".to_owned()
                } else {
                    "bridge".to_owned()
                },
                text(n.get("devices")),
                {
                    let ifs = list(n.get("interfaces").unwrap_or(&Value::Null));
                    if ifs.is_empty() {
                        "all".to_owned()
                    } else {
                        ifs.iter()
                            .map(|i| text(Some(i)))
                            .collect::<Vec<_>>()
                            .join(",")
                    }
                },
                if n.get("commissioned").and_then(Value::as_bool) == Some(true) {
                    format!("yes ({})", text(n.get("fabrics")))
                } else {
                    "no".to_owned()
                },
                if n.get("commissioning_window_open").and_then(Value::as_bool) == Some(true) {
                    "open".to_owned()
                } else {
                    "closed".to_owned()
                },
                if warnings.is_empty() {
                    "-".to_owned()
                } else {
                    warnings
                        .iter()
                        .map(|w| {
                            format!(
                                "{} allows {}",
                                text(w.get("controller")),
                                text(w.get("limit"))
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ]
        })
        .collect();
    let mut out = table(
        &[
            "NODE",
            "NAME",
            "PORT",
            "TYPE",
            "DEVICES",
            "INTERFACES",
            "PAIRED",
            "WINDOW",
            "WARNINGS",
        ],
        &rows,
    );
    out.push_str(&format!(
        "{} node(s); `hubbridge fabrics --node ID` lists a node's controllers\n",
        rows.len()
    ));
    out
}

/// What `hubbridge fabrics remove N` says, from the `removed` fabric the API returns.
pub fn removed(answer: &Value) -> String {
    let f = answer.get("removed").unwrap_or(&Value::Null);
    format!(
        "Removed fabric {} (vendor {}, node {}): that controller can no longer reach this bridge.\n",
        text(f.get("fabric_index")),
        hex(f.get("vendor_id"), 4),
        hex(f.get("node_id"), 16),
    )
}

/// `0xFFF1` for a number, `-` for anything else.
fn hex(v: Option<&Value>, width: usize) -> String {
    match v.and_then(Value::as_u64) {
        Some(n) => format!("0x{n:0width$X}"),
        None => text(v),
    }
}

/// Left-aligned columns two spaces apart; the last column is not padded.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_device_table_aligns_and_shows_state() {
        let list = json!([
            {"id": "kitchen-light", "kind": "dimmable_light", "endpoint": 2, "reachable": true,
             "room": "Kitchen", "state": {"on": true, "brightness": 128}},
            {"id": "door", "kind": "door_lock", "endpoint": 3, "reachable": false, "room": null,
             "state": {"lock_state": "locked"}},
        ]);
        let out = devices(&list);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("ID             KIND"), "{out}");
        assert!(lines[1].contains("kitchen-light  dimmable_light  2         yes        Kitchen  brightness=128 on=true"), "{out}");
        assert!(
            lines[2].contains(
                "door           door_lock       3         NO         -        lock_state=locked"
            ),
            "{out}"
        );
        assert_eq!(lines[3], "2 device(s), 1 reachable");
    }

    #[test]
    fn status_names_a_disconnected_connector_and_its_error() {
        let health = json!({"status": "ok", "devices": 1, "version": 7, "commissioned": false,
            "storage": {"writes": 3, "failures": 0, "last_error": null, "disk_full": false},
            "connectors": [{"name": "home", "type": "mqtt", "connected": false,
                "last_error": "connection refused", "outbox_depth": 4, "oldest_age_ms": 2500,
                "dropped_events": 0}]});
        let endpoint = Endpoint::parse("127.0.0.1:8080").unwrap();
        let out = status(
            &endpoint,
            &health,
            &json!([{"reachable": true}]),
            None,
            None,
        );
        assert!(
            out.contains("home (mqtt): NOT CONNECTED, outbox 4, oldest 2 s"),
            "{out}"
        );
        let detailed = json!({"connectors": [{"name": "home", "type": "mqtt", "connected": true,
            "last_error": null, "outbox": {"depth": 0, "oldest_age_ms": null, "dropped_events": 1,
            "dead_letters": 2, "storage_error": null}}]});
        let ok = status(&endpoint, &health, &json!([]), None, Some(&detailed));
        assert!(
            ok.contains("home (mqtt): connected, outbox 0, oldest -, dropped 1, dead letters 2"),
            "{ok}"
        );
        assert!(
            out.contains("Bridge:      ok at http://127.0.0.1:8080"),
            "{out}"
        );
        assert!(out.contains("Devices:     1 (1 reachable)"), "{out}");
        assert!(
            out.contains("not paired: commissioning window open"),
            "{out}"
        );
        assert!(
            out.contains("home (mqtt): NOT CONNECTED, outbox 4, oldest 2 s"),
            "{out}"
        );
        assert!(out.contains("last error: connection refused"), "{out}");
    }

    #[test]
    fn the_fabric_table_shows_hex_ids_and_how_to_remove() {
        let answer = json!({"fabrics": [
            {"fabric_index": 1, "vendor_id": 65521, "label": "", "node_id": 256, "fabric_id": 1},
            {"fabric_index": 2, "vendor_id": 4937, "label": "Home", "node_id": 3405691582u64,
             "fabric_id": 2, "vendor_name": "Apple Home"},
        ]});
        let out = fabrics(&answer);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            [
                "INDEX",
                "VENDOR",
                "LABEL",
                "NODE",
                "ID",
                "FABRIC",
                "ID",
                "CONTROLLER"
            ],
            "{out}"
        );
        assert_eq!(
            lines[1], "1      0xFFF1  -      0x0000000000000100  0x0000000000000001  -",
            "{out}"
        );
        assert!(
            lines[2].starts_with("2      0x1349  Home   0x00000000CAFEBABE"),
            "{out}"
        );
        assert!(lines[2].ends_with("  Apple Home"), "{out}");
        assert!(lines[3].starts_with("2 controller(s)"), "{out}");
        assert!(fabrics(&json!({"fabrics": []})).starts_with("Not paired"));
        let gone = removed(&json!({"removed": answer["fabrics"][1]}));
        assert_eq!(
            gone,
            "Removed fabric 2 (vendor 0x1349, node 0x00000000CAFEBABE): that controller can no \
             longer reach this bridge.\n"
        );
    }

    #[test]
    fn odd_answers_do_not_panic() {
        let endpoint = Endpoint::parse("h:1").unwrap();
        let out = status(
            &endpoint,
            &json!("nonsense"),
            &json!({}),
            Some(&json!(3)),
            Some(&json!([])),
        );
        assert!(out.contains("Devices:     0"), "{out}");
        assert!(devices(&json!(null)).contains("0 device(s)"));
        assert!(fabrics(&json!([1])).starts_with("Not paired"));
        assert!(fabrics(&json!({"fabrics": [{"vendor_id": "x"}]})).contains("-      x"));
        assert!(removed(&json!(null)).starts_with("Removed fabric -"));
    }
}
