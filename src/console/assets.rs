//! The console's static files, compiled into the binary: the stylesheet, a few lines of script
//! that hand the CSRF token to htmx, and htmx itself (2.0.11, vendored from the npm package
//! `htmx.org`, Zero-Clause BSD; `assets/console/htmx.LICENSE`). No CDN, no Node toolchain.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const HTMX: &str = include_str!("../../assets/console/htmx.min.js");
const CSS: &str = include_str!("../../assets/console/console.css");
const SCRIPT: &str = include_str!("../../assets/console/console.js");

/// Files change only with the binary; the layout links them with `?v=<version>`.
const CACHE: &str = "public, max-age=86400";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse + Clone {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/console/assets/htmx.min.js",
            get(|| async { asset("text/javascript; charset=utf-8", HTMX) }),
        )
        .route(
            "/console/assets/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/console/assets/console.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
}
