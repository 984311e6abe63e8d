//! Tests of the API's protection through the router: every route needs the token, Host names, the
//! read-only scope, body and rate limits, the device cap, no CORS, and strict bodies.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use tower::ServiceExt;

use super::tests::{error_of, fixture, fixture_with, send};
use crate::config::ApiConfig;

/// Every route and method the API serves. A new route must be added here, so that the test below
/// proves it is not reachable without a token.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/health"),
    ("GET", "/api/pairing"),
    ("GET", "/api/connectors"),
    ("GET", "/api/events"),
    ("GET", "/api/devices"),
    ("POST", "/api/devices"),
    ("GET", "/api/devices/lamp"),
    ("DELETE", "/api/devices/lamp"),
    ("GET", "/api/devices/lamp/state"),
    ("PATCH", "/api/devices/lamp/state"),
    ("PUT", "/api/devices/lamp/state"),
    ("PUT", "/api/devices/lamp/reachable"),
    ("GET", "/api/fabrics"),
    ("DELETE", "/api/fabrics/1"),
    ("GET", "/api/pairing/window"),
    ("POST", "/api/pairing/window"),
    ("GET", "/api/pairing/qr.svg"),
    ("GET", "/api/nothing"),
    ("GET", "/app.js.map"),
    ("OPTIONS", "/api/devices"),
];

fn request(method: &str, uri: &str, host: Option<&str>, token: Option<&str>) -> Request<Body> {
    let mut r = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(host) = host {
        r = r.header(header::HOST, host);
    }
    if let Some(token) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    r.body(Body::from("{\"on\": true}")).unwrap()
}

#[tokio::test]
async fn every_route_but_the_probe_needs_the_token() {
    let f = fixture();
    let wrong = "0".repeat(64);
    for &(method, uri) in ROUTES {
        for token in [None, Some(wrong.as_str()), Some("")] {
            let response = f
                .app()
                .oneshot(request(method, uri, Some("localhost"), token))
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {token:?}"
            );
            assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        }
    }
    // Basic or a token without the scheme is not accepted either.
    for value in [format!("Basic {}", f.token), f.token.clone()] {
        let r = Request::builder()
            .uri("/api/devices")
            .header(header::HOST, "localhost")
            .header(header::AUTHORIZATION, value)
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(f.app(), r).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(f.registry.version(), 0, "nothing changed");
    // The probe answers without a token, and says nothing but ok.
    let response = f
        .app()
        .oneshot(request("GET", "/healthz", Some("localhost"), None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap();
    assert_eq!(body.to_bytes(), "ok");
}

#[tokio::test]
async fn foreign_host_names_get_421_even_with_the_token() {
    let f = fixture_with(ApiConfig {
        host_names: vec!["hub.example".into()],
        ..ApiConfig::default()
    });
    for host in [
        "attacker.example",
        "attacker.example:8080",
        "hub.example.attacker.example",
    ] {
        let (status, body) = send(
            f.app(),
            request("GET", "/api/pairing", Some(host), Some(&f.token)),
        )
        .await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{host}");
        assert!(error_of(&body).contains("api.host_names"), "{body}");
    }
    let (status, _) = send(
        f.app(),
        request("GET", "/api/devices", None, Some(&f.token)),
    )
    .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "no Host at all");
    let (status, _) = send(
        f.app(),
        request("GET", "/healthz", Some("attacker.example"), None),
    )
    .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "the probe too");
    for host in [
        "hub.example:8080",
        "HUB.example",
        "127.0.0.1:8080",
        "[::1]:8080",
    ] {
        let (status, _) = send(
            f.app(),
            request("GET", "/api/devices", Some(host), Some(&f.token)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn read_only_token_reads_but_changes_nothing() {
    let f = fixture();
    let ro = f.read_only.clone();
    for uri in [
        "/api/devices",
        "/api/devices/lamp",
        "/api/health",
        "/api/connectors",
    ] {
        let (status, body) = f.call_as(&ro, Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    for (method, uri, body) in [
        (
            Method::PATCH,
            "/api/devices/lamp/state",
            Some(r#"{"on": true}"#),
        ),
        (
            Method::PUT,
            "/api/devices/lamp/state",
            Some(r#"{"on": true}"#),
        ),
        (
            Method::PUT,
            "/api/devices/door/reachable",
            Some(r#"{"reachable": false}"#),
        ),
        (
            Method::POST,
            "/api/devices",
            Some(r#"{"id": "x", "kind": "on_off_light", "name": "X"}"#),
        ),
        (Method::DELETE, "/api/devices/lamp", None),
        (Method::GET, "/api/pairing", None),
        (Method::GET, "/api/pairing/window", None),
        (Method::GET, "/api/pairing/qr.svg", None),
        (Method::POST, "/api/pairing/window", Some("{}")),
        (Method::DELETE, "/api/fabrics/1", None),
    ] {
        let (status, reply) = f.call_as(&ro, method.clone(), uri, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}");
        assert!(
            error_of(&reply).contains("`dashboard` is read-only"),
            "{reply}"
        );
    }
    assert_eq!(f.registry.version(), 0);
    assert!(f.registry.get("door").unwrap().reachable);
    assert!(f.registry.get("x").is_none());
}

#[tokio::test]
async fn authentication_off_on_loopback_needs_no_token() {
    let f = fixture_with(ApiConfig {
        auth: false,
        ..ApiConfig::default()
    });
    let (status, _) = send(
        f.app(),
        request("GET", "/api/devices", Some("localhost"), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The Host check still applies.
    let (status, _) = send(
        f.app(),
        request("GET", "/api/devices", Some("evil.example"), None),
    )
    .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn no_cors_headers_ever() {
    let f = fixture();
    for (method, token) in [
        ("OPTIONS", None),
        ("OPTIONS", Some(f.token.as_str())),
        ("GET", Some(f.token.as_str())),
    ] {
        let mut r = request(method, "/api/devices", Some("localhost"), token);
        r.headers_mut()
            .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        r.headers_mut().insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            "PATCH".parse().unwrap(),
        );
        let response = f.app().oneshot(r).await.unwrap();
        assert!(
            !response
                .headers()
                .keys()
                .any(|k| k.as_str().starts_with("access-control-")),
            "{method}: {:?}",
            response.headers()
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let f = fixture_with(ApiConfig {
        max_body_bytes: 1024,
        ..ApiConfig::default()
    });
    let big = format!(
        "{{\"id\": \"x\", \"kind\": \"on_off_light\", \"name\": \"{}\"}}",
        "n".repeat(2000)
    );
    let (status, body) = f.call(Method::POST, "/api/devices", Some(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(error_of(&body).contains("api.max_body_bytes"), "{body}");
}

#[tokio::test]
async fn a_client_over_the_rate_limit_gets_429() {
    let f = fixture_with(ApiConfig {
        rate_limit_per_second: 1,
        rate_limit_burst: 5,
        ..ApiConfig::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(f.call(Method::GET, "/api/devices", None).await.0);
    }
    assert_eq!(&statuses[..5], &[StatusCode::OK; 5]);
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn devices_added_through_the_api_are_capped() {
    let f = fixture_with(ApiConfig {
        max_devices: 2,
        ..ApiConfig::default()
    });
    for id in ["a", "b"] {
        let body = format!(r#"{{"id": "{id}", "kind": "on_off_light", "name": "X"}}"#);
        let (status, reply) = f.call(Method::POST, "/api/devices", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    let (status, reply) = f
        .call(
            Method::POST,
            "/api/devices",
            Some(r#"{"id": "c", "kind": "on_off_light", "name": "X"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&reply).contains("api.max_devices = 2"), "{reply}");
    // Removing one makes room again.
    assert_eq!(
        f.call(Method::DELETE, "/api/devices/a", None).await.0,
        StatusCode::OK
    );
    let (status, _) = f
        .call(
            Method::POST,
            "/api/devices",
            Some(r#"{"id": "c", "kind": "on_off_light", "name": "X"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn bodies_are_parsed_strictly() {
    let f = fixture();
    for (uri, method, body, expect) in [
        (
            "/api/devices/door/reachable",
            Method::PUT,
            "[false]",
            "expected a JSON object, not an array",
        ),
        (
            "/api/devices/door/reachable",
            Method::PUT,
            "false",
            "not a boolean",
        ),
        (
            "/api/devices/door/reachable",
            Method::PUT,
            r#"{"reachable": null}"#,
            "`reachable`: null",
        ),
        (
            "/api/devices/door/reachable",
            Method::PUT,
            r#"{"reachable": false, "evil": 1}"#,
            "evil",
        ),
        (
            "/api/devices/lamp/state",
            Method::PATCH,
            r#"{"evil": null}"#,
            "`evil`: null",
        ),
        (
            "/api/devices/lamp/state",
            Method::PATCH,
            r#"{"on": null}"#,
            "`on`: null",
        ),
        (
            "/api/devices/lamp/state",
            Method::PATCH,
            "[{\"on\": true}]",
            "not an array",
        ),
        (
            "/api/devices",
            Method::POST,
            r#"{"id": "x", "kind": "on_off_light", "name": "X", "room": null}"#,
            "`room`: null",
        ),
        (
            "/api/devices",
            Method::POST,
            r#"{"id": "x", "kind": "on_off_light", "name": "X", "state": {"on": null}}"#,
            "`state.on`: null",
        ),
        (
            "/api/devices",
            Method::POST,
            r#"["x", "on_off_light", "X"]"#,
            "not an array",
        ),
    ] {
        let (status, reply) = f.call(method.clone(), uri, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {reply}");
        let message = error_of(&reply);
        assert!(
            message.contains(expect.trim_start_matches("not ")),
            "{body} -> {message}"
        );
    }
    assert!(f.registry.get("door").unwrap().reachable);
    assert_eq!(f.registry.version(), 0);
    assert!(f.registry.get("x").is_none());
}

#[tokio::test]
async fn the_web_shell_loads_without_a_token_but_not_under_a_foreign_host_name() {
    let f = fixture();
    for uri in ["/", "/index.html", "/app.js", "/app.css"] {
        let response = f
            .app()
            .oneshot(request("GET", uri, Some("localhost:8080"), None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let csp = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{uri}: {csp}"
        );
        assert!(!response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        let response = f
            .app()
            .oneshot(request("GET", uri, Some("evil.example"), None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{uri}");
    }
    // The shell is static: only GET.
    let response = f
        .app()
        .oneshot(request("POST", "/", Some("localhost"), None))
        .await
        .unwrap();
    assert_ne!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn fabric_routes_answer_503_without_a_matter_node_and_check_their_input() {
    let f = fixture();
    let (status, body) = f.call(Method::GET, "/api/fabrics", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        error_of(&body).contains("Matter node is not running"),
        "{body}"
    );
    let (status, body) = f.call(Method::DELETE, "/api/fabrics/abc", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_of(&body).contains("\"abc\""), "{body}");
    let (status, body) = f
        .call(
            Method::POST,
            "/api/pairing/window",
            Some(r#"{"timeout_secs": "x"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_of(&body).contains("timeout_secs"), "{body}");
    let (status, body) = f.call(Method::GET, "/api/pairing/qr.svg", None).await;
    // The fixture's pairing status has no QR payload: nothing to draw.
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}
