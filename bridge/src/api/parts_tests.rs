//! `POST /api/devices` with `parts`: the parent lists its parts, each part is a device with a
//! `parent`, state and commands work per part, a part cannot be removed alone.

use axum::http::{Method, StatusCode};

use super::tests::{error_of, fixture};

const REMOTE: &str = r#"{"id": "remote", "kind": "bridged_node", "with": ["battery"],
    "name": "Remote", "parts": [
        {"id": "b1", "kind": "generic_switch", "tag": 1},
        {"id": "b2", "kind": "generic_switch", "tag": 2}]}"#;

const GANG: &str = r#"{"id": "gang", "kind": "bridged_node", "name": "Gang", "parts": [
        {"id": "left", "kind": "on_off_light", "tag": "left", "name": "Gang L"},
        {"id": "right", "kind": "on_off_light", "tag": "right", "state": {"on": true}}]}"#;

#[tokio::test]
async fn a_device_with_parts_is_added_listed_driven_per_part_and_removed_whole() {
    let f = fixture();
    let (status, body) = f.call(Method::POST, "/api/devices", Some(GANG)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["parts"],
        serde_json::json!(["gang:left", "gang:right"])
    );
    assert_eq!(body["kind"], "bridged_node");

    let (status, left) = f.call(Method::GET, "/api/devices/gang:left", None).await;
    assert_eq!(status, StatusCode::OK, "{left}");
    assert_eq!(left["parent"], "gang");
    assert_eq!(left["tag"], "left");
    assert_eq!(left["name"], "Gang L");
    assert_eq!(left["state"]["on"], false);
    let (_, right) = f.call(Method::GET, "/api/devices/gang:right", None).await;
    assert_eq!(right["state"]["on"], true);
    assert_eq!(right["name"], "Gang right");

    // API devices' source confirms at once, as in the daemon.
    let mut commands = f.registry.attach_source(crate::registry::API_ROUTE);
    let registry = f.registry.clone();
    tokio::spawn(async move {
        while let Some(cmd) = commands.recv().await {
            crate::registry::confirm_at_once(&registry, cmd);
        }
    });
    let (status, body) = f
        .call(
            Method::PATCH,
            "/api/devices/gang:left/state",
            Some(r#"{"on": true}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"]["on"], true);

    let (_, list) = f.call(Method::GET, "/api/devices", None).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"gang") && ids.contains(&"gang:left") && ids.contains(&"gang:right"));

    let (status, body) = f
        .call(Method::DELETE, "/api/devices/gang:right", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&body).contains("part of `gang`"), "{body}");

    let (status, _) = f.call(Method::DELETE, "/api/devices/gang", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = f.call(Method::GET, "/api/devices/gang:left", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_part_button_takes_its_own_presses() {
    let f = fixture();
    let (status, body) = f.call(Method::POST, "/api/devices", Some(REMOTE)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["state"]["battery"], 100);
    let mut changes = f.registry.subscribe();
    let (status, body) = f
        .call(
            Method::POST,
            "/api/devices/remote:b2/events",
            Some(r#"{"press": "double"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    match changes.try_recv().unwrap() {
        crate::registry::Change::Event {
            device, endpoint, ..
        } => {
            assert_eq!(device, "remote:b2");
            assert_eq!(endpoint, f.registry.get("remote:b2").unwrap().endpoint);
        }
        other => panic!("{other:?}"),
    }
    // The container raises no press itself.
    let (status, _) = f
        .call(
            Method::POST,
            "/api/devices/remote/events",
            Some(r#"{"press": "single"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_parts_get_400s_naming_field_and_value() {
    let f = fixture();
    let cases = [
        (
            r#"{"id": "x", "kind": "bridged_node", "name": "X", "parts": [
                {"id": "a", "kind": "on_off_light", "tag": "left"},
                {"id": "a", "kind": "on_off_light", "tag": "right"}]}"#,
            "parts.id",
            "\"a\"",
        ),
        (
            r#"{"id": "x", "kind": "bridged_node", "name": "X", "parts": [
                {"id": "a", "kind": "on_off_light", "parts": []}]}"#,
            "parts.parts",
            "\"a\"",
        ),
        (
            r#"{"id": "x", "kind": "bridged_node", "name": "X", "parts": [
                {"id": "A b", "kind": "on_off_light"}]}"#,
            "parts.id",
            "\"A b\"",
        ),
        (
            r#"{"id": "x", "kind": "bridged_node", "name": "X", "parts": [
                {"id": "a", "kind": "dimmable_light", "state": {"brightness": 300}}]}"#,
            "brightness",
            "300",
        ),
    ];
    for (body, field, value) in cases {
        let (status, answer) = f.call(Method::POST, "/api/devices", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let message = error_of(&answer);
        assert!(
            message.contains(&format!("`{field}`")) && message.contains(value),
            "{field}: {message}"
        );
    }
}
