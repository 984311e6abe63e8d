//! The web page: a static shell (HTML, CSS, JS, embedded in the binary) served at the API's address.
//!
//! The shell holds no data, so it loads without the token; the page asks for the token, keeps it in
//! `sessionStorage` and sends it as `Authorization: Bearer` on every API call (the event stream too:
//! it is read with `fetch()`, not `EventSource`, which cannot send headers). The page's own answers carry
//! a strict Content-Security-Policy: scripts, styles and connections only from the bridge itself, no
//! inline code, no framing.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::ApiState;

const INDEX_HTML: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");
const APP_CSS: &str = include_str!("web/app.css");

/// What the page may load: only from the bridge; the QR image arrives as a `blob:` URL.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The paths of the static shell (served without a token).
const ASSETS: [&str; 4] = ["/", "/index.html", "/app.js", "/app.css"];

/// True for the static shell's paths.
pub fn is_static_asset(path: &str) -> bool {
    ASSETS.contains(&path)
}

/// The shell's routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/index.html",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_is_small_and_loads_nothing_from_elsewhere() {
        let total = INDEX_HTML.len() + APP_JS.len() + APP_CSS.len();
        assert!(
            total <= 200 * 1024,
            "web page is {total} bytes (limit 200 KB)"
        );
        for (name, text) in [
            ("index.html", INDEX_HTML),
            ("app.js", APP_JS),
            ("app.css", APP_CSS),
        ] {
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{name} refers to another site"
            );
        }
        // No inline script or style: the CSP would block it.
        assert!(!INDEX_HTML.contains("<script>") && !INDEX_HTML.contains("style="));
    }
}
