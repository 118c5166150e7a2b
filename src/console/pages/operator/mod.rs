//! The operator's pages: every tenant with its health, a sign-in link for any of them and the
//! provisioning retry (`tenants`), and the jobs and dead letters with retry (`jobs`). Only an
//! operator's session opens them (`OperatorView`; a business gets 404). Every time on them is in
//! UTC, and the pages say so.

mod jobs;
mod tenants;

use axum::Router;
use axum::http::HeaderMap;
use jiff::tz::TimeZone;

use crate::console::format;
use crate::state::AppState;

/// Rows per page of the tenant and job lists.
const PAGE_SIZE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new().merge(tenants::routes()).merge(jobs::routes())
}

/// `2026-12-04 14:03` in UTC.
fn utc(ms: i64) -> String {
    format::date_time(ms, &TimeZone::UTC)
}

/// Whether htmx sent the request (it then takes only the fragment it swaps in).
fn is_htmx(headers: &HeaderMap) -> bool {
    headers
        .get("hx-request")
        .is_some_and(|v| v.as_bytes() == b"true")
}

/// `path?query` with the non-empty pairs of `pairs` URL-encoded.
fn link(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (*k, v)))
        .collect();
    match serde_urlencoded::to_string(&kept) {
        Ok(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_keep_only_the_filters_in_use() {
        assert_eq!(
            super::link(
                "/x",
                &[
                    ("status", Some("dead")),
                    ("kind", Some("a b")),
                    ("after", None)
                ]
            ),
            "/x?status=dead&kind=a+b"
        );
        assert_eq!(super::link("/x", &[("q", Some(""))]), "/x");
    }
}
