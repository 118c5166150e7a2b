//! The web console at `/console`: server-rendered pages for businesses (overview, calls,
//! voicemail, messages, settings) and for the operator (tenants, jobs), built on the same use
//! cases as the JSON API, so validation and queries exist once.
//!
//! - `session`: sign-in links, operator sign-in, sessions (use cases); `auth`: the extractors
//!   that read the session cookie and check CSRF; `render`: templates to responses, errors.
//! - `sign_in`: the sign-in and sign-out pages; `api_link`: the admin JSON route that issues a
//!   business's sign-in link; `assets`: the stylesheet and vendored htmx.
//! - `format`: times in the tenant's zone, durations, shares.
//! - `pages/`: one module per section (overview, calls, voicemail, messages, settings, operator).
//!
//! Templates live in `templates/console/` and are checked at compile time (askama). Every page
//! works without JavaScript; htmx only refreshes parts of pages and submits forms in place.

pub mod api_link;
pub mod assets;
pub mod auth;
pub mod charts;
pub mod format;
pub mod pages;
pub mod render;
pub mod session;
pub mod sign_in;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The console's JSON route (admin): issuing sign-in links.
pub fn api_routes() -> OpenApiRouter<AppState> {
    api_link::routes()
}

/// Every console page, with the headers every console answer carries.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(sign_in::routes())
        .merge(assets::routes())
        .merge(pages::routes())
        .layer(axum::middleware::map_response(security_headers))
}

/// Pages are not cached, framed, or allowed to load anything from elsewhere; the sign-in link in
/// a URL is never sent on as a referrer.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; \
             script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; \
             base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
