//! Tests of the configuration file: the example file loads, defaults apply, and every error names its key.

use std::path::Path;

use connectors::ConnectorConfig;
use device_types::DeviceKind;

use super::{Config, ConfigError};

fn err(text: &str) -> String {
    match Config::from_toml_str(text) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e.to_string(),
    }
}

const LIGHT: &str = r#"
[[devices]]
id = "kitchen-light"
kind = "dimmable_light"
name = "Kitchen light"
"#;

#[test]
fn with_entries_are_checked_and_errors_name_with_and_the_entry() {
    let base = "[[devices]]\nid = \"s\"\nname = \"S\"\n";
    let err = |extra: &str| {
        Config::from_toml_str(&format!("{base}{extra}"))
            .unwrap_err()
            .to_string()
    };
    let e = err("kind = \"temperature_sensor\"\nwith = [\"toaster\"]\n");
    assert!(e.contains("with") && e.contains("toaster"), "{e}");
    let e = err("kind = \"temperature_sensor\"\nwith = [\"battery\", \"battery\"]\n");
    assert!(e.contains("with") && e.contains("twice"), "{e}");
    let e = err("kind = \"contact_sensor\"\nwith = [\"rain_sensor\"]\n");
    assert!(
        e.contains("`with`") && e.contains("rain_sensor") && e.contains("Boolean State"),
        "{e}"
    );
    let e = err("kind = \"fan\"\nwith = [\"co2\"]\n");
    assert!(
        e.contains("`with`") && e.contains("air_quality_sensor"),
        "{e}"
    );
    // A field of a `with` function is accepted in the initial state; one of none is refused.
    let ok = format!("{base}kind = \"fan\"\nwith = [\"battery\"]\nstate = {{ battery = 40 }}\n");
    assert_eq!(
        Config::from_toml_str(&ok).unwrap().devices[0]
            .initial_state()
            .unwrap()
            .battery,
        Some(40)
    );
    let e = err("kind = \"fan\"\nstate = { battery = 40 }\n");
    assert!(e.contains("battery"), "{e}");
}

#[test]
fn parts_errors_name_the_field_and_the_value() {
    let base = |parts: &str| {
        format!("[[devices]]\nid = \"gang\"\nkind = \"bridged_node\"\nname = \"Gang\"\n{parts}")
    };
    let cases = [
        (
            "[[devices.parts]]\nid = \"a\"\nkind = \"on_off_light\"\ntag = \"left\"\n\
             [[devices.parts]]\nid = \"a\"\nkind = \"on_off_light\"\ntag = \"right\"\n",
            "invalid value \"a\" for field `parts.id`",
        ),
        (
            "[[devices.parts]]\nid = \"a\"\nkind = \"on_off_light\"\n\
             [[devices.parts.parts]]\nid = \"b\"\nkind = \"on_off_light\"\n",
            "invalid value \"a\" for field `parts.parts`",
        ),
        (
            "[[devices.parts]]\nid = \"a\"\nkind = \"on_off_light\"\ntag = \"upper\"\n",
            "\"upper\"",
        ),
        ("", "invalid value [] for field `parts`"),
    ];
    for (parts, expected) in cases {
        let err = Config::from_toml_str(&base(parts)).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
    // A part's id separator never appears in a device's own id.
    let err =
        Config::from_toml_str("[[devices]]\nid = \"a:b\"\nkind = \"on_off_light\"\nname = \"X\"\n")
            .unwrap_err()
            .to_string();
    assert!(err.contains("\"a:b\""), "{err}");
}

#[test]
fn example_file_loads_and_documents_every_section() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hubbridge.example.toml");
    let config = Config::load(&path).expect("example config loads");
    assert_eq!(config.bridge.name, "Living room hub");
    assert_eq!(config.bridge.vendor_id, 0xFFF1);
    assert_eq!(config.bridge.product_id, 0x8001);
    assert_eq!(config.bridge.port, 5540);
    assert_eq!(config.api.listen.to_string(), "127.0.0.1:8080");
    assert!(!config.virtual_.drift);
    assert_eq!(config.devices.len(), 7);
    let gang = &config.devices[5];
    assert_eq!(gang.kind, DeviceKind::BridgedNode);
    let parts: Vec<String> = gang.part_specs().into_iter().map(|(p, _)| p.id).collect();
    assert_eq!(parts, ["hall-switch:left", "hall-switch:right"]);
    assert_eq!(gang.part_specs()[0].0.name, "Hall light");
    assert_eq!(gang.part_specs()[1].0.name, "Hall two-gang switch right");
    assert_eq!(
        config.devices[6].parts[2].tag,
        Some(device_types::Tag::Number(3))
    );
    assert_eq!(config.devices[0].kind, DeviceKind::DimmableLight);
    assert_eq!(
        config.devices[2].with.names(),
        ["humidity_sensor", "pressure_sensor", "battery"]
    );
    assert_eq!(config.devices[3].with.names(), ["electrical"]);
    assert_eq!(
        config.devices[3].initial_state().unwrap().energy,
        Some(12.5)
    );
    assert_eq!(config.devices[4].with.names(), ["co2", "pm25", "tvoc"]);
    assert_eq!(config.devices[0].room.as_deref(), Some("Kitchen"));
    assert!(config.devices[0].state.is_some());

    // Every key of the serialised defaults appears in the example, so no option goes undocumented.
    let text = std::fs::read_to_string(&path).unwrap();
    let defaults = toml::to_string(&Config::default()).unwrap();
    for line in defaults.lines() {
        if let Some((key, _)) = line
            .split_once(" = ")
            .filter(|(k, _)| !matches!(*k, "devices" | "connectors" | "sources" | "nodes"))
        {
            assert!(
                text.contains(&format!("\n{key} = ")),
                "example file does not document `{key}`"
            );
        }
    }
    // Every connector option appears in the example too.
    assert!(config.connectors.len() >= 2);
    assert_eq!(config.connectors[0].name(), "home-mqtt");
    let ConnectorConfig::Mqtt(mqtt) = &config.connectors[0] else {
        panic!("the first example connector is the MQTT one");
    };
    let documented = toml::to_string(mqtt).unwrap();
    for line in documented.lines() {
        if let Some((key, _)) = line.split_once(" = ") {
            assert!(
                text.contains(&format!("\n{key} = ")),
                "example file does not document connector option `{key}`"
            );
        }
    }
    // Every Zigbee2MQTT source option appears too.
    let [crate::config::SourceConfig::Zigbee2mqtt(z2m)] = config.sources.as_slice() else {
        panic!("the example has one zigbee2mqtt source");
    };
    assert_eq!(z2m.source_name(), "zigbee2mqtt:home");
    assert_eq!(
        z2m.override_for("0x00158D0001A2B3C4", "whatever")
            .and_then(|o| o.kind),
        Some(DeviceKind::OnOffLight)
    );
    assert!(!z2m.wanted("0x00124b0012345678", "any"));
    let documented = toml::to_string(z2m).unwrap();
    for line in documented.lines() {
        if let Some((key, _)) = line.split_once(" = ") {
            assert!(
                text.contains(&format!("\n{key} = ")),
                "example file does not document source option `{key}`"
            );
        }
    }
    let tls = z2m.tls.as_ref().expect("the example's source uses TLS");
    assert!(tls.client_cert_file.is_some() && tls.client_key_file.is_some());
    for key in ["ca_file", "client_cert_file", "client_key_file"] {
        assert!(
            text.contains(&format!("\n{key} = ")),
            "example lacks `{key}`"
        );
    }
    for key in ["type", "password"] {
        assert!(text.contains(&format!("{key} = ")), "example lacks `{key}`");
    }
    for key in ["id", "kind", "name", "room", "state"] {
        assert!(
            text.contains(&format!("\n{key} = ")),
            "example lacks device `{key}`"
        );
    }
}

#[test]
fn empty_file_gives_defaults() {
    let config = Config::from_toml_str("").unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.bridge.vendor_id, 0xFFF1);
    assert_eq!(config.virtual_.drift_interval_secs, 30);
}

#[test]
fn demo_has_one_valid_device_of_each_kind() {
    let demo = Config::demo();
    demo.validate().expect("demo config is valid");
    assert_eq!(demo.bridge.name, "hubbridge demo");
    assert!(demo.virtual_.drift);
    assert_eq!(demo.bridge.storage_dir, Path::new("./hubbridge-data"));
    for kind in DeviceKind::ALL {
        let n = demo.devices.iter().filter(|d| d.kind == *kind).count();
        assert!(n >= 1, "demo should have a {kind}");
    }
    assert!(demo.devices.iter().all(|d| d.room.is_some()));
    // One per kind but bridged_node, the two `with` devices (multi-sensor, metering plug) and the
    // two with parts (two-gang switch, four-button remote).
    assert_eq!(demo.devices.len(), DeviceKind::ALL.len() - 1 + 4);
    let remote = demo
        .devices
        .iter()
        .find(|d| d.id == "living-remote")
        .unwrap();
    assert_eq!(remote.parts.len(), 4);
    assert_eq!(remote.with.names(), ["battery"]);
    let gang = demo.devices.iter().find(|d| d.id == "hall-switch").unwrap();
    assert_eq!(gang.parts.len(), 2);
    // The composed devices: every `with` entry made it (With::parse did not fall back).
    let multi = demo
        .devices
        .iter()
        .find(|d| d.id == "office-multisensor")
        .unwrap();
    assert_eq!(
        multi.with.names(),
        ["humidity_sensor", "pressure_sensor", "battery"]
    );
    let air = demo.devices.iter().find(|d| d.id == "living-air").unwrap();
    assert_eq!(air.with.names().len(), 5);
}

#[test]
fn unknown_top_level_key_is_named() {
    let e = err("colour = 1\n");
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn unknown_section_key_is_named() {
    let e = err("[bridge]\nnmae = \"x\"\n");
    assert!(e.contains("nmae"), "{e}");
}

#[test]
fn unknown_device_key_is_named() {
    let e = err(&format!("{LIGHT}colour = \"red\"\n"));
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn unknown_state_field_is_named() {
    let e = err(&format!("{LIGHT}state = {{ brightnes = 3 }}\n"));
    assert!(e.contains("brightnes"), "{e}");
}

#[test]
fn bad_kind_is_named() {
    let e = err("[[devices]]\nid = \"x\"\nkind = \"toaster\"\nname = \"X\"\n");
    assert!(e.contains("toaster"), "{e}");
}

#[test]
fn bad_state_value_names_device_field_and_value() {
    let e = err(&format!("{LIGHT}state = {{ brightness = 255 }}\n"));
    assert!(e.contains("kitchen-light"), "{e}");
    assert!(e.contains("brightness"), "{e}");
    assert!(e.contains("255"), "{e}");
}

#[test]
fn state_field_foreign_to_the_kind_is_an_error() {
    let e = err(&format!("{LIGHT}state = {{ lock_state = \"locked\" }}\n"));
    assert!(
        e.contains("kitchen-light") && e.contains("lock_state"),
        "{e}"
    );
}

#[test]
fn duplicate_device_id_is_named() {
    let e = err(&format!("{LIGHT}{LIGHT}"));
    assert!(
        e.contains("kitchen-light") && e.contains("more than one"),
        "{e}"
    );
}

#[test]
fn bad_device_ids_are_rejected() {
    for id in [
        "",
        "Kitchen",
        "-light",
        "kitchen light",
        "küche",
        &"a".repeat(65),
    ] {
        let e = err(&format!(
            "[[devices]]\nid = {id:?}\nkind = \"on_off_light\"\nname = \"X\"\n"
        ));
        assert!(e.contains("`id`"), "{id:?}: {e}");
    }
    let ok = format!(
        "[[devices]]\nid = \"{}\"\nkind = \"on_off_light\"\nname = \"X\"\n",
        "a".repeat(64)
    );
    Config::from_toml_str(&ok).unwrap();
    Config::from_toml_str("[[devices]]\nid = \"0_a-b\"\nkind = \"on_off_light\"\nname = \"X\"\n")
        .unwrap();
}

#[test]
fn zero_ids_and_port_are_rejected() {
    assert!(err("[bridge]\nvendor_id = 0\n").contains("bridge.vendor_id"));
    assert!(err("[bridge]\nproduct_id = 0\n").contains("bridge.product_id"));
    assert!(err("[bridge]\nport = 0\n").contains("bridge.port"));
}

#[test]
fn out_of_range_vendor_id_is_named() {
    let e = err("[bridge]\nvendor_id = 0x10000\n");
    assert!(e.contains("vendor_id"), "{e}");
}

#[test]
fn long_names_are_rejected() {
    let long = "x".repeat(33);
    assert!(err(&format!("[bridge]\nname = \"{long}\"\n")).contains("bridge.name"));
    let e = err(&format!(
        "[[devices]]\nid = \"a\"\nkind = \"on_off_light\"\nname = \"{long}\"\n"
    ));
    assert!(e.contains("`name`") && e.contains("32"), "{e}");
    // 32 bytes is fine, 11 three-byte characters (33 bytes) are not.
    Config::from_toml_str(&format!("[bridge]\nname = \"{}\"\n", "x".repeat(32))).unwrap();
    assert!(err(&format!("[bridge]\nname = \"{}\"\n", "€".repeat(11))).contains("bridge.name"));
}

#[test]
fn drift_interval_must_be_positive() {
    assert!(err("[virtual]\ndrift_interval_secs = 0\n").contains("virtual.drift_interval_secs"));
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[bridge]\nport = 0\n").unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    assert!(e.contains("bad.toml") && e.contains("bridge.port"), "{e}");
    let missing = dir.path().join("missing.toml");
    let e = Config::load(&missing).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
    assert!(e.to_string().contains("missing.toml"));
}

#[test]
fn toml_syntax_error_names_the_line() {
    let e = err("[bridge]\nname = \n");
    assert!(e.contains("line 2") || e.contains("2 |"), "{e}");
}

#[test]
fn connector_errors_name_the_connector_and_key() {
    let e = err("[[connectors]]\ntype = \"mqtt\"\nname = \"a\"\nhost = \"h\"\nqos = 2\n");
    assert!(e.contains("qos"), "{e}");
    let e = err("[[connectors]]\ntype = \"carrier-pigeon\"\nname = \"a\"\n");
    assert!(e.contains("carrier-pigeon"), "{e}");
    let e = err("[[connectors]]\ntype = \"mqtt\"\nname = \"Bad Name\"\nhost = \"h\"\n");
    assert!(e.contains("`name`") && e.contains("Bad Name"), "{e}");
    let e = err("[[connectors]]\ntype = \"mqtt\"\nname = \"a\"\nhost = \"h\"\n[connectors.outbox]\ncommand_ttl_secs = 0\n");
    assert!(
        e.contains("connector `a`") && e.contains("outbox.command_ttl_secs"),
        "{e}"
    );
    let two = "[[connectors]]\ntype = \"mqtt\"\nname = \"a\"\nhost = \"h\"\n";
    let e = err(&format!("{two}{two}"));
    assert!(e.contains("connector name `a`"), "{e}");
    let e =
        err("[[connectors]]\ntype = \"mqtt\"\nname = \"a\"\nhost = \"h\"\npassword = \"s3cret\"\n");
    assert!(e.contains("username") && !e.contains("s3cret"), "{e}");
}

#[test]
fn mqtt_password_over_plain_tcp_needs_allow_insecure() {
    let base = "[[connectors]]\ntype = \"mqtt\"\nname = \"home\"\nhost = \"h\"\nusername = \"u\"\n";
    for secret in ["password = \"s3cret\"\n", "password_file = \"/etc/pw\"\n"] {
        let e = err(&format!("{base}{secret}"));
        assert!(
            e.contains("connector `home`") && e.contains("allow_insecure") && !e.contains("s3cret"),
            "{e}"
        );
        Config::from_toml_str(&format!("{base}{secret}allow_insecure = true\n")).unwrap();
        Config::from_toml_str(&format!(
            "{base}{secret}[connectors.tls]\nca_file = \"/etc/ca.pem\"\n"
        ))
        .unwrap();
    }
    // No password: nothing to protect.
    Config::from_toml_str(base).unwrap();
}

#[test]
fn api_section_defaults_and_errors_name_the_key() {
    let config = Config::from_toml_str("").unwrap();
    assert!(config.api.auth);
    assert_eq!(config.api.max_devices, 256);
    assert!(!config.api.tls());

    let e = err("[api]\nlisten = \"0.0.0.0:8080\"\nauth = false\n");
    assert!(e.contains("api.auth") && e.contains("0.0.0.0:8080"), "{e}");
    let e = err("[api]\nlisten = \"[fd00::1]:8080\"\nauth = false\n");
    assert!(e.contains("api.auth") && e.contains("loopback"), "{e}");
    Config::from_toml_str("[api]\nlisten = \"[::1]:8080\"\nauth = false\n").unwrap();

    for (text, key, value) in [
        (
            "host_names = [\"hub.local:8080\"]",
            "api.host_names",
            "hub.local:8080",
        ),
        ("host_names = [\"\"]", "api.host_names", "\"\""),
        (
            "host_names = [\"a\", \"A\"]",
            "api.host_names",
            "listed twice",
        ),
        (
            "read_only_tokens = [\"Dash\"]",
            "api.read_only_tokens",
            "Dash",
        ),
        (
            "read_only_tokens = [\"../x\"]",
            "api.read_only_tokens",
            "../x",
        ),
        ("max_body_bytes = 10", "api.max_body_bytes", "10"),
        (
            "rate_limit_per_second = 0",
            "api.rate_limit_per_second",
            "0",
        ),
        ("rate_limit_burst = 0", "api.rate_limit_burst", "0"),
        ("max_devices = 100000", "api.max_devices", "100000"),
        (
            "tls_cert = \"/c.pem\"",
            "api.tls_key",
            "api.tls_cert is set",
        ),
        ("tls_key = \"/k.pem\"", "api.tls_cert", "api.tls_key is set"),
        ("tokens = 1", "tokens", "unknown field"),
    ] {
        let e = err(&format!("[api]\n{text}\n"));
        assert!(e.contains(key) && e.contains(value), "{text}: {e}");
    }
    let config = Config::from_toml_str(
        "[api]\nhost_names = [\"hub.local\", \"192.168.1.5\"]\nread_only_tokens = [\"dashboard\"]\n\
         tls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\n",
    )
    .unwrap();
    assert!(config.api.tls());
    assert_eq!(config.api.read_only_tokens, ["dashboard"]);
}

#[test]
fn source_errors_name_the_source_key_and_value() {
    let base = "[[sources]]\ntype = \"zigbee2mqtt\"\nname = \"home\"\nhost = \"127.0.0.1\"\n";
    for (extra, needle) in [
        ("merge_ms = 5000\n", "`merge_ms` = 5000"),
        ("base_topic = \"z2m/#\"\n", "`base_topic`"),
        ("password = \"x\"\n", "`username`"),
        ("max_packet_bytes = 10\n", "`max_packet_bytes` = 10"),
    ] {
        let e = Config::from_toml_str(&format!("{base}{extra}")).unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("source `home`") && message.contains(needle),
            "{message}"
        );
    }
    let e = Config::from_toml_str(&format!("{base}bogus = 1\n")).unwrap_err();
    assert!(e.to_string().contains("bogus"), "{e}");
    let e = Config::from_toml_str(&format!("{base}{base}")).unwrap_err();
    assert!(e.to_string().contains("zigbee2mqtt:home"), "{e}");
}

#[test]
fn rooms_are_bounded_and_a_huge_one_is_named_without_being_echoed() {
    let room = |r: &str| {
        format!("[[devices]]\nid = \"a\"\nkind = \"on_off_light\"\nname = \"X\"\nroom = {r:?}\n")
    };
    Config::from_toml_str(&room(&"r".repeat(64))).unwrap();
    let e = err(&room(&"r".repeat(65)));
    assert!(e.contains("`room`") && e.contains("64 bytes"), "{e}");
    let huge = "x".repeat(1_500_000);
    let e = err(&room(&huge));
    assert!(e.contains("`room`") && e.contains("1500000 bytes"), "{e}");
    assert!(
        e.len() < 400,
        "the error quotes only the start: {} bytes",
        e.len()
    );
    assert!(err(&room("Hall\nway")).contains("control characters"));
    assert!(err(&room("  ")).contains("must not be empty"));
}

#[test]
fn nodes_errors_name_the_node_the_field_and_the_value() {
    let node = |body: &str| format!("[[nodes]]\nid = \"kitchen\"\n{body}\n");
    assert!(
        err(&node("port = 5540\nrooms = [\"Kitchen\"]")).contains("node `kitchen`: `port` = 5540")
    );
    assert!(err(&node("port = 5541")).contains("`devices` = []: the node selects nothing"));
    assert!(err(&node("port = 5541\nsources = [\"zigbee\"]")).contains("`sources` = \"zigbee\""));
    assert!(
        err("[[nodes]]\nid = \"main\"\nport = 5541\nrooms = [\"A\"]\n").contains("`id` = \"main\"")
    );
    let two = "[[nodes]]\nid = \"a\"\nport = 5541\ndevices = [\"lamp\"]\n\
               [[nodes]]\nid = \"b\"\nport = 5541\nrooms = [\"Hall\"]\n";
    assert!(err(two).contains("node `b`: `port` = 5541: is node `a`'s port too"));
    let claimed = "[[nodes]]\nid = \"a\"\nport = 5541\ndevices = [\"lamp\"]\n\
                   [[nodes]]\nid = \"b\"\nport = 5542\ndevices = [\"lamp\"]\n";
    assert!(err(claimed).contains("`devices` = \"lamp\": is selected by node `a` too"));
    let ok = Config::from_toml_str(&node(
        "port = 5541\nrooms = [\"Kitchen\"]\nkinds = [\"on_off_light\"]",
    ))
    .unwrap();
    assert_eq!(ok.nodes[0].label(), "kitchen");
    // A node advertised on interfaces of its own: names checked like [bridge].interfaces.
    let on = |list: &str| {
        node(&format!(
            "port = 5541\nrooms = [\"Kitchen\"]\ninterfaces = {list}"
        ))
    };
    assert!(err(&on("[\"eth0/1\"]")).contains("node `kitchen`: `interfaces` = \"eth0/1\""));
    assert!(err(&on("[\"wlan0\", \"wlan0\"]")).contains("`interfaces` = \"wlan0\": listed twice"));
    assert!(err(&on("[\"a-very-long-interface\"]")).contains("at most 15 bytes"));
    assert!(err("[bridge]\ninterfaces = [\"\"]\n").contains("bridge.interfaces"));
    let ok = Config::from_toml_str(&on("[\"wlan0\"]")).unwrap();
    assert_eq!(ok.nodes[0].interfaces, ["wlan0"]);
    let specs = crate::nodes::NodeSpec::all(&ok);
    assert_eq!(specs[1].interfaces, ["wlan0"]);
    assert_eq!(specs[0].interfaces, ok.bridge.interfaces);
    // A device as its own node: exactly one device, by id.
    let alone = |body: &str| node(&format!("port = 5541\nbridged = false\n{body}"));
    assert!(err(&alone("devices = [\"a\", \"b\"]")).contains(
        "node `kitchen`: `devices` = [\"a\", \"b\"]: a node with bridged = false is one device"
    ));
    assert!(err(&alone("rooms = [\"Kitchen\"]")).contains("`devices` = []"));
    assert!(
        err(&alone("devices = [\"vacuum\"]\nkinds = [\"fan\"]")).contains(
            "`kinds` = [\"fan\"]: a node with bridged = false selects its one device by id only"
        )
    );
    let ok = Config::from_toml_str(&alone("devices = [\"vacuum\"]")).unwrap();
    assert!(!ok.nodes[0].bridged);
    assert!(!crate::nodes::NodeSpec::all(&ok)[1].bridged);
    assert!(crate::nodes::NodeSpec::all(&ok)[0].bridged);
}
