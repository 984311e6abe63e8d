//! Tests of the HTTP API through the router (`oneshot`) and over a real socket: status codes, error
//! messages, device CRUD, state patches and the event stream.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use device_types::DeviceKind;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use std::sync::Arc;

use super::tokens::{self, Tokens};
use super::{router, serve, ApiListener, ApiState, Guard, Limits};
use crate::config::{ApiConfig, DeviceConfig};
use crate::matter::PairingStatus;
use crate::registry::{Origin, Registry};
use crate::sources::{DeviceSource, VirtualSource};

pub(super) struct Fixture {
    pub _dir: tempfile::TempDir,
    pub registry: Registry,
    pub state: ApiState,
    /// The admin token every `call` sends.
    pub token: String,
    /// The read-only token named `dashboard`.
    pub read_only: String,
}

pub(super) fn fixture() -> Fixture {
    fixture_with(ApiConfig {
        read_only_tokens: vec!["dashboard".into()],
        ..ApiConfig::default()
    })
}

pub(super) fn fixture_with(api: ApiConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let devices = vec![
        DeviceConfig {
            with: Default::default(),
            id: "lamp".into(),
            kind: DeviceKind::DimmableLight,
            name: "Lamp".into(),
            room: Some("Office".into()),
            state: None,
            parts: Vec::new(),
        },
        DeviceConfig {
            with: Default::default(),
            id: "door".into(),
            kind: DeviceKind::ContactSensor,
            name: "Door".into(),
            room: None,
            state: None,
            parts: Vec::new(),
        },
    ];
    let registry = Registry::open(dir.path(), &devices).unwrap();
    // The config devices' source, confirming commands at once as in the daemon.
    let commands = registry.attach_source(crate::registry::VIRTUAL_ROUTE);
    let source: Box<dyn DeviceSource> =
        Box::new(VirtualSource::new(false, Duration::from_secs(60)));
    tokio::spawn(source.run(registry.clone(), commands, CancellationToken::new()));
    let (_tx, pairing) = watch::channel(PairingStatus {
        manual_code: "3497-011-2332".into(),
        commissioning_window_open: true,
        ..PairingStatus::default()
    });
    let tokens = Tokens::open(dir.path(), &api.read_only_tokens).unwrap();
    let token = tokens::load_or_create(&tokens::token_path(dir.path(), None)).unwrap();
    let read_only = if api.read_only_tokens.is_empty() {
        String::new()
    } else {
        tokens::load_or_create(&tokens::token_path(dir.path(), Some("dashboard"))).unwrap()
    };
    let state = ApiState {
        registry: registry.clone(),
        pairing,
        admin: None,
        shutdown: CancellationToken::new(),
        connectors: Default::default(),
        guard: Arc::new(Guard::new(&api, api.auth.then_some(tokens))),
        limits: Limits::new(&api),
        certificates: Default::default(),
        nodes: Default::default(),
    };
    Fixture {
        _dir: dir,
        registry,
        state,
        token,
        read_only,
    }
}

impl Fixture {
    pub fn app(&self) -> Router {
        router(self.state.clone())
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
        self.call_as(&self.token, method, uri, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        uri: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "localhost:8080")
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Body::from(body.unwrap_or("").to_owned()))
            .unwrap();
        send(self.app(), request).await
    }
}

pub(super) async fn send(app: Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("non-JSON body {bytes:?}: {e}"))
    };
    (status, value)
}

pub(super) fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {body}"))
}

#[tokio::test]
async fn lists_and_gets_devices() {
    let f = fixture();
    let (status, body) = f.call(Method::GET, "/api/devices", None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<_> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["lamp", "door"]);

    let (status, body) = f.call(Method::GET, "/api/devices/lamp", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["kind"], "dimmable_light");
    assert_eq!(body["endpoint"], 2);
    assert_eq!(body["room"], "Office");
    assert_eq!(body["source"], "config");
    assert_eq!(body["unique_id"].as_str().unwrap().len(), 32);

    let (status, body) = f.call(Method::GET, "/api/devices/lamp/state", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("on").is_some(), "{body}");

    let (status, body) = f.call(Method::GET, "/api/devices/ghost", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).contains("ghost"));
}

#[tokio::test]
async fn patch_and_put_change_state_through_the_registry() {
    let f = fixture();
    let mut changes = f.registry.subscribe();
    let (status, body) = f
        .call(
            Method::PATCH,
            "/api/devices/lamp/state",
            Some(r#"{"on": true, "brightness": 200}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"]["brightness"], 200);
    assert_eq!(body["version"], 1);
    let change = changes.try_recv().unwrap();
    assert!(matches!(
        change,
        crate::registry::Change::State {
            origin: Origin::Local,
            ..
        }
    ));

    let (status, body) = f
        .call(
            Method::PUT,
            "/api/devices/lamp/state",
            Some(r#"{"on": false}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"]["brightness"], 200, "PUT merges like PATCH");
    assert_eq!(f.registry.get("lamp").unwrap().state.on, Some(false));
}

#[tokio::test]
async fn bad_bodies_get_clear_400s() {
    let f = fixture();
    for (body, expect) in [
        ("{\"on\": tru", "not valid JSON"),
        ("", "empty"),
        ("[1]", "JSON object"),
        ("{\"brightnes\": 3}", "brightnes"),
        ("{\"brightness\": \"high\"}", "`brightness`"),
        (
            "{\"brightness\": 300}",
            "invalid value 300 for field `brightness`",
        ),
        ("{\"on\": true} trailing", "not valid JSON"),
    ] {
        let (status, reply) = f
            .call(Method::PATCH, "/api/devices/lamp/state", Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?} -> {reply}");
        assert!(error_of(&reply).contains(expect), "{body:?} -> {reply}");
    }
    // Validation by the kind names the field and the value.
    let (status, reply) = f
        .call(
            Method::PATCH,
            "/api/devices/lamp/state",
            Some(r#"{"brightness": 255}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = error_of(&reply);
    assert!(
        message.contains("brightness") && message.contains("255"),
        "{message}"
    );
    // A field the kind does not have.
    let (status, reply) = f
        .call(
            Method::PATCH,
            "/api/devices/door/state",
            Some(r#"{"on": true}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(f.registry.version(), 0, "nothing changed");
}

#[tokio::test]
async fn body_without_json_content_type_is_415() {
    let f = fixture();
    let request = Request::builder()
        .method(Method::PATCH)
        .uri("/api/devices/lamp/state")
        .header(header::HOST, "localhost")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(r#"{"on": true}"#))
        .unwrap();
    let (status, body) = send(f.app(), request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(error_of(&body).contains("application/json"));
}

#[tokio::test]
async fn add_and_remove_devices() {
    let f = fixture();
    let spec =
        r#"{"id": "plug", "kind": "on_off_plug_in_unit", "name": "Plug", "state": {"on": true}}"#;
    let (status, body) = f.call(Method::POST, "/api/devices", Some(spec)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["endpoint"], 4);
    assert_eq!(body["source"], "api");
    assert_eq!(body["state"]["on"], true);

    let (status, body) = f.call(Method::POST, "/api/devices", Some(spec)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&body).contains("plug"));

    let bad = r#"{"id": "Bad Id", "kind": "on_off_light", "name": "X"}"#;
    let (status, body) = f.call(Method::POST, "/api/devices", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("Bad Id"), "{body}");

    let bad_state =
        r#"{"id": "t", "kind": "dimmable_light", "name": "X", "state": {"brightness": 300}}"#;
    let (status, body) = f.call(Method::POST, "/api/devices", Some(bad_state)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = error_of(&body);
    assert!(
        message.contains("`brightness`") && message.contains("300"),
        "{message}"
    );

    let unknown = r#"{"id": "t", "kind": "on_off_light", "name": "X", "colour": "red"}"#;
    let (status, body) = f.call(Method::POST, "/api/devices", Some(unknown)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("colour"), "{body}");

    let bad_kind = r#"{"id": "t", "kind": "toaster", "name": "X"}"#;
    let (status, body) = f.call(Method::POST, "/api/devices", Some(bad_kind)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("toaster"), "{body}");

    let (status, body) = f.call(Method::DELETE, "/api/devices/lamp", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&body).contains("config file"), "{body}");

    let (status, body) = f.call(Method::DELETE, "/api/devices/plug", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], "plug");
    let (status, _) = f.call(Method::DELETE, "/api/devices/plug", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reachability_pairing_health_and_unknown_routes() {
    let f = fixture();
    let (status, body) = f
        .call(
            Method::PUT,
            "/api/devices/door/reachable",
            Some(r#"{"reachable": false}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reachable"], false);
    assert!(!f.registry.get("door").unwrap().reachable);
    let (status, _) = f
        .call(
            Method::PUT,
            "/api/devices/door/reachable",
            Some(r#"{"reach": 1}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = f.call(Method::GET, "/api/pairing", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["manual_code"], "3497-011-2332");
    assert_eq!(body["commissioning_window_open"], true);

    let (status, body) = f.call(Method::GET, "/api/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["devices"], 2);
    assert_eq!(body["storage"]["disk_full"], false);
    assert!(body["storage"]["last_error"].is_null());

    let (status, body) = f.call(Method::GET, "/api/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_of(&body);
    let (status, body) = f.call(Method::DELETE, "/api/devices", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    error_of(&body);
}

/// Reads from a raw socket until `needle` appears (or fails after 5 s).
async fn read_until(stream: &mut tokio::net::TcpStream, seen: &mut String, needle: &str) {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {needle:?}; got {seen:?}"))
            .unwrap();
        assert!(n > 0, "connection closed before {needle:?}; got {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test]
async fn event_stream_over_a_real_socket_reports_changes_and_ends_at_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = fixture();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(
        ApiListener::new(listener, None).unwrap(),
        f.state.clone(),
    ));

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!(
                "GET /api/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
                 Accept: text/event-stream\r\n\r\n",
                f.token
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "\r\n\r\n").await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(
        seen.to_ascii_lowercase().contains("text/event-stream"),
        "{seen}"
    );

    // The subscription is made when the handler runs, which has happened once headers are out.
    f.registry
        .apply(
            "lamp",
            &device_types::State {
                brightness: Some(9),
                ..Default::default()
            },
            Origin::Matter,
        )
        .unwrap();
    f.registry.set_reachable("door", false).unwrap();
    read_until(&mut stream, &mut seen, "event: reachable").await;
    assert!(seen.contains("event: state"), "{seen}");
    assert!(seen.contains("\"origin\":\"matter\""), "{seen}");
    assert!(seen.contains("\"brightness\":9"), "{seen}");

    f.state.shutdown.cancel();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    read.expect("stream ends at shutdown").unwrap();
    let served = tokio::time::timeout(Duration::from_secs(5), server).await;
    served.expect("server stops").unwrap().unwrap();
}

#[tokio::test]
async fn device_events_are_validated_broadcast_once_and_not_state() {
    let f = fixture();
    let (status, _) = f
        .call(
            Method::POST,
            "/api/devices",
            Some(r#"{"id":"button","kind":"generic_switch","name":"Button"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut rx = f.registry.subscribe();
    let (status, body) = f
        .call(
            Method::POST,
            "/api/devices/button/events",
            Some(r#"{"press":"double"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["event"]["press"], "double");
    match rx.try_recv().unwrap() {
        crate::registry::Change::Event {
            device,
            event,
            origin,
            ..
        } => {
            assert_eq!(device, "button");
            assert_eq!(
                event,
                device_types::DeviceEvent::press(device_types::Press::Short(2))
            );
            assert_eq!(origin, Origin::Api);
        }
        other => panic!("expected an event, got {other:?}"),
    }
    assert!(rx.try_recv().is_err(), "one broadcast per event");
    let d = f.registry.get("button").unwrap();
    assert!(
        d.state.is_empty() && d.version == 0,
        "an event is not state"
    );

    // A press on a light is refused naming the field and the value; bad bodies name the field.
    let (status, body) = f
        .call(
            Method::POST,
            "/api/devices/lamp/events",
            Some(r#"{"press":"single"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error_of(&body).contains("`press`") && error_of(&body).contains("single"),
        "{body}"
    );
    for (bad, field) in [
        (r#"{"press":"sideways"}"#, "press"),
        (r#"{"press":"single","extra":1}"#, "extra"),
        (r#"{"press":null}"#, "press"),
        (r#"{}"#, "press"),
    ] {
        let (status, body) = f
            .call(Method::POST, "/api/devices/button/events", Some(bad))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(error_of(&body).contains(field), "{bad}: {body}");
    }
    let (status, _) = f
        .call(
            Method::POST,
            "/api/devices/ghost/events",
            Some(r#"{"press":"single"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A read-only token cannot press buttons.
    let (status, _) = f
        .call_as(
            &f.read_only,
            Method::POST,
            "/api/devices/button/events",
            Some(r#"{"press":"single"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(rx.try_recv().is_err(), "refused events are not broadcast");
}
