//! The checks every request passes before a handler runs, in this order: the `Host` header (421 for a
//! name the API does not answer to: DNS rebinding), the per-client rate limit (429), then the bearer
//! token (401 without a valid one, 403 for a read-only token on a route that changes something or
//! reads the pairing code: `/api/pairing` and everything under it). `GET /healthz` and the web page's
//! static shell (`/`, `/app.js`, `/app.css`: no data in them) need no token; nothing else is exempt.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::tokens::{Scope, Tokens};
use super::ApiError;
use crate::config::ApiConfig;

/// The route that answers without a token (and says nothing but `ok`).
pub const HEALTH_PROBE: &str = "/healthz";

/// The address of the client of a connection (the `ConnectInfo` of the API's listener).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// What the guard checks against.
pub struct Guard {
    /// `None`: authentication switched off (only allowed on loopback).
    tokens: Option<Tokens>,
    /// Lowercase host names and addresses accepted in `Host`, besides loopback ones.
    hosts: Vec<String>,
    limiter: RateLimiter,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("auth", &self.tokens.is_some())
            .field("hosts", &self.hosts)
            .finish()
    }
}

impl Guard {
    /// A guard for `config`; `tokens` is `None` only when `config.auth` is false.
    pub fn new(config: &ApiConfig, tokens: Option<Tokens>) -> Guard {
        let mut hosts: Vec<String> = config
            .host_names
            .iter()
            .map(|h| normalise_host(h))
            .collect();
        let ip = config.listen.ip();
        if !ip.is_unspecified() {
            hosts.push(normalise_host(&ip.to_string()));
        }
        Guard {
            tokens,
            hosts,
            limiter: RateLimiter::new(config.rate_limit_per_second, config.rate_limit_burst),
        }
    }

    /// True when `host` (a `Host` header value, port included or not) is one the API answers to.
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some(name) = strip_port(host) else {
            return false;
        };
        let name = normalise_host(name);
        if name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        if name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.hosts.contains(&name)
    }
}

/// Lowercase, without IPv6 brackets and a trailing dot.
fn normalise_host(host: &str) -> String {
    let host = host.trim_end_matches('.');
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.to_ascii_lowercase()
}

/// The host part of a `Host` header value: `name`, `name:port`, `[v6]`, `[v6]:port`.
fn strip_port(value: &str) -> Option<&str> {
    if value.is_empty() {
        return None;
    }
    if let Some(rest) = value.strip_prefix('[') {
        let end = rest.find(']')?;
        let after = &rest[end + 1..];
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return Some(&value[..end + 2]);
    }
    match value.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => is_port(port).then_some(name),
        Some(_) => None, // an unbracketed IPv6 address is not a valid Host
        None => Some(value),
    }
}

fn is_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

/// A token bucket per client address.
struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// More client addresses than this and idle buckets are forgotten.
const MAX_TRACKED_CLIENTS: usize = 4096;

impl RateLimiter {
    fn new(per_second: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `client`'s bucket; false when it is empty.
    fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED_CLIENTS && !buckets.contains_key(&client) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if buckets.len() >= MAX_TRACKED_CLIENTS {
                // Every tracked client is busy: a flood from many addresses. Refuse newcomers.
                return false;
            }
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        let refill = now.duration_since(*at).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The middleware: runs the checks, then the handler.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    match &host {
        Some(host) if guard.host_allowed(host) => {}
        Some(host) => {
            return ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "this API does not answer to the host name {host:?}; add it to api.host_names"
                ),
            )
            .into_response()
        }
        None => {
            return ApiError::new(StatusCode::MISDIRECTED_REQUEST, "missing Host header")
                .into_response()
        }
    }

    let client = request
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0 .0.ip())
        .unwrap_or(IpAddr::from([0u8; 4]));
    if !guard.limiter.allow(client, Instant::now()) {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this address (api.rate_limit_per_second); slow down",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }

    let path = request.uri().path();
    if path == HEALTH_PROBE || super::web::is_static_asset(path) {
        return next.run(request).await;
    }
    let Some(tokens) = &guard.tokens else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented.and_then(|t| tokens.scope(t)) {
        Some(Scope::Admin) => next.run(request).await,
        Some(Scope::ReadOnly(name)) => {
            let reads = matches!(*request.method(), Method::GET | Method::HEAD);
            let path = request.uri().path();
            // A node's pairing routes too: `/api/nodes/{id}/pairing…`.
            let pairing = path == "/api/pairing"
                || path.starts_with("/api/pairing/")
                || (path.starts_with("/api/nodes/") && path.split('/').nth(4) == Some("pairing"));
            if reads && !pairing {
                next.run(request).await
            } else {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "token `{name}` is read-only: it cannot {} {}",
                        request.method(),
                        request.uri().path()
                    ),
                )
                .into_response()
            }
        }
        None => {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or invalid API token: send `Authorization: Bearer <token>` \
                 (`hubbridge token` prints it)",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hubbridge\""),
            );
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(listen: &str, names: &[&str]) -> Guard {
        let config = ApiConfig {
            listen: listen.parse().unwrap(),
            host_names: names.iter().map(|s| s.to_string()).collect(),
            ..ApiConfig::default()
        };
        Guard::new(&config, None)
    }

    #[test]
    fn host_names_accepted_and_refused() {
        let g = guard("[fd42::1]:8080", &["Hub.Local"]);
        for ok in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.",
            "127.0.0.1:8080",
            "127.1.2.3",
            "[::1]:8080",
            "[::1]",
            "[fd42::1]:8080",
            "hub.local",
            "hub.local:8080",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:8080",
            "hub.local.evil.example",
            "[fd42::2]:8080",
            "::1",
            "[::1]x",
            "hub.local:80a",
            "10.0.0.1",
        ] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
        // An unspecified listen address adds nothing.
        assert!(!guard("0.0.0.0:8080", &[]).host_allowed("0.0.0.0"));
    }

    #[test]
    fn rate_limit_is_per_client_and_refills() {
        let limiter = RateLimiter::new(10, 3);
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow(a, t0)));
        assert!(!limiter.allow(a, t0));
        assert!(limiter.allow(b, t0), "another client has its own bucket");
        assert!(limiter.allow(a, t0 + std::time::Duration::from_millis(100)));
        assert!(!limiter.allow(a, t0 + std::time::Duration::from_millis(100)));
    }
}
