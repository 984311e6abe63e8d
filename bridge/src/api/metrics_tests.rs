//! `GET /metrics` through the router: the token rules, the content type, and figures that follow what
//! happens (an API change counted by origin, reachability), in the text format Prometheus reads.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::tests::{fixture, Fixture};

async fn scrape(f: &Fixture, token: &str) -> (StatusCode, String, String) {
    let request = Request::builder()
        .method(Method::GET)
        .uri("/metrics")
        .header(header::HOST, "localhost:8080")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = f.app().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The value of the sample `line_start` (name and labels as written), if present.
fn value(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_need_a_token_and_follow_changes() {
    let f = fixture();
    assert_eq!(scrape(&f, "wrong").await.0, StatusCode::UNAUTHORIZED);
    // A read-only token will do (a dashboard's, a Prometheus's).
    let (status, kind, text) = scrape(&f, &f.read_only).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    assert!(
        text.contains("# TYPE hubbridge_registry_changes_total counter"),
        "{text}"
    );
    let devices = f.registry.list().len() as f64;
    assert_eq!(
        value(&text, r#"hubbridge_devices{source="config"}"#),
        Some(devices)
    );
    assert_eq!(
        value(&text, r#"hubbridge_registry_commands_total{origin="api"}"#),
        Some(0.0)
    );

    let id = f.registry.list()[0].id.clone();
    let (status, _) = f
        .call(
            Method::PUT,
            &format!("/api/devices/{id}/reachable"),
            Some(r#"{"reachable": false}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let light = f
        .registry
        .list()
        .into_iter()
        .find(|d| d.kind == device_types::DeviceKind::DimmableLight)
        .unwrap();
    let (status, _) = f
        .call(
            Method::PATCH,
            &format!("/api/devices/{}/state", light.id),
            Some(r#"{"on": true}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The virtual source confirms the command as a local change.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let text = loop {
        let (_, _, text) = scrape(&f, &f.token).await;
        if value(&text, r#"hubbridge_registry_changes_total{origin="local"}"#) >= Some(1.0) {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        value(&text, r#"hubbridge_registry_commands_total{origin="api"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&text, r#"hubbridge_devices_reachable{source="config"}"#),
        Some(devices - 1.0)
    );
    assert!(value(&text, "process_resident_memory_bytes").unwrap() > 1e6);
}
