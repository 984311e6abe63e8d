//! The managed-cloud connector tables of `hubbridge.example.toml` load, and document every option of
//! their connector type (the serialised config's keys all appear in the file).

use std::path::Path;

use connectors::ConnectorConfig;
use hubbridge::config::Config;

fn example() -> (Config, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hubbridge.example.toml");
    let config = Config::load(&path).expect("example config loads");
    (config, std::fs::read_to_string(&path).unwrap())
}

fn assert_documented(text: &str, table: &impl serde::Serialize, what: &str) {
    let documented = toml::to_string(table).unwrap();
    for line in documented.lines() {
        if let Some((key, _)) = line.split_once(" = ") {
            let plain = format!("\n{key} = ");
            let commented = format!("\n#{key} = ");
            assert!(
                text.contains(&plain) || text.contains(&commented),
                "example file does not document {what} option `{key}`"
            );
        }
    }
}

#[test]
fn azure_iot_example_loads_and_documents_every_option() {
    let (config, text) = example();
    let azure = config
        .connectors
        .iter()
        .find_map(|c| match c {
            ConnectorConfig::AzureIot(a) => Some(a),
            _ => None,
        })
        .expect("the example has an azure_iot connector");
    assert_eq!(azure.hub_hostname, "my-hub.azure-devices.net");
    assert_eq!(
        azure.username(),
        "my-hub.azure-devices.net/living-room-hub/?api-version=2021-04-12"
    );
    assert_eq!(azure.sas_token_ttl_secs, 3600);
    assert_documented(&text, azure, "azure_iot");
    for key in ["host", "device_key", "client_cert_file", "client_key_file"] {
        assert!(
            text.contains(&format!("\n#{key} = ")),
            "example lacks `{key}`"
        );
    }
}

#[test]
fn azure_iot_bad_values_name_the_key() {
    let base = r#"
[[connectors]]
type = "azure_iot"
name = "azure"
hub_hostname = "h.azure-devices.net"
device_id = "hub"
ca_file = "/x.pem"
"#;
    let cases = [
        ("", "device_key_file"),
        ("device_key = \"!!!\"", "device_key"),
        (
            "device_key_file = \"/k\"\nsas_token_ttl_secs = 5",
            "sas_token_ttl_secs",
        ),
        (
            "device_key_file = \"/k\"\nkeep_alive_secs = 2000",
            "keep_alive_secs",
        ),
        (
            "device_key_file = \"/k\"\nclient_cert_file = \"/c\"",
            "client_key_file",
        ),
        ("device_key_file = \"/k\"\nbogus = 1", "bogus"),
    ];
    for (extra, key) in cases {
        let text = format!("{base}{extra}\n");
        let e = Config::from_toml_str(&text).expect_err(extra).to_string();
        assert!(e.contains(key), "{extra:?}: {e}");
        assert!(!e.contains("!!!"), "a key value leaked into an error: {e}");
    }
}

#[test]
fn aws_iot_example_loads_and_documents_every_option() {
    let (config, text) = example();
    let aws = config
        .connectors
        .iter()
        .find_map(|c| match c {
            ConnectorConfig::AwsIot(a) => Some(a),
            _ => None,
        })
        .expect("the example has an aws_iot connector");
    assert_eq!(aws.thing_name, "living-room-hub");
    assert_eq!(aws.events_topic(), "hubbridge/living-room-hub/events");
    assert_documented(&text, aws, "aws_iot");
}

#[test]
fn aws_iot_bad_values_name_the_key() {
    let base = "[[connectors]]\ntype = \"aws_iot\"\nname = \"aws\"\nthing_name = \"hub\"\n";
    let mqtt =
        "endpoint = \"e\"\nca_file = \"/a\"\nclient_cert_file = \"/c\"\nclient_key_file = \"/k\"\n";
    let cases = [
        (String::new(), "endpoint"),
        ("endpoint = \"e\"\n".to_owned(), "ca_file"),
        ("transport = \"https\"\n".to_owned(), "data_endpoint"),
        (format!("{mqtt}shadow_prefix = \"a/b\""), "shadow_prefix"),
        (format!("{mqtt}events_topic = \"a/#\""), "events_topic"),
        (format!("{mqtt}keep_alive_secs = 5"), "keep_alive_secs"),
    ];
    for (extra, key) in cases {
        let text = format!("{base}{extra}\n");
        let e = Config::from_toml_str(&text).expect_err(&extra).to_string();
        assert!(e.contains(key), "{extra:?}: {e}");
    }
}
