//! Liveness, readiness and Prometheus metrics.

use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always "OK" while the process serves requests.
    #[schema(example = "OK")]
    pub status: String,
    /// RFC 3339, e.g. 2025-01-22T10:30:00.000Z.
    pub timestamp: String,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// "ready" or "unavailable".
    pub status: String,
    /// "ok" or the reason the database check failed.
    pub database: String,
}

/// Liveness (seed 004's contract).
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "Success", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "OK".into(),
        timestamp: crate::clock::rfc3339(state.clock.now_ms()),
    })
}

/// Readiness: 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/ready", tag = "health",
    responses((status = 200, description = "Success", body = Readiness),
        (status = 503, description = "Unavailable", body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(std::time::Duration::from_secs(3), state.db.ping()).await {
        Ok(Ok(())) => Json(Readiness {
            status: "ready".into(),
            database: "ok".into(),
        })
        .into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Readiness {
                    status: "unavailable".into(),
                    database: "error".into(),
                }),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                status: "unavailable".into(),
                database: "timeout".into(),
            }),
        )
            .into_response(),
    }
}

/// Prometheus text exposition (not JSON, so not in the OpenAPI document).
pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Ok(counts) = crate::jobs::store::counts(&state.db).await {
        for (status, n) in counts {
            metrics::gauge!("switchboard_jobs", "status" => status).set(n as f64);
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// Counts requests and their latency by method and route template. Every label value comes from a
/// fixed set, so no client can create new series: never the raw path (ids, or any path at all for
/// unknown routes, which are all `unmatched`), never a raw method (HTTP allows any token as an
/// extension method; those are all `other`).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    let elapsed = start.elapsed().as_secs_f64();
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    let status = res.status().as_u16();
    ROUTE_HANDLES.with_borrow_mut(|handles| match handles.get_mut(route) {
        Some(cached) => cached.record(route, method, status, elapsed),
        None => {
            // A route's first request on this thread: its key is allocated once, here.
            let mut fresh = RouteHandles::default();
            fresh.record(route, method, status, elapsed);
            handles.insert(route.into(), fresh);
        }
    });
    res
}

thread_local! {
    /// The HTTP metrics' handles by route, on each thread. Why: registering a handle hashes its
    /// labels and looks them up in the recorder's shared map, about 2 % of the HTTP threads' time
    /// under the webhook benchmark; a cached handle is one atomic add. Bounded by the metrics' own
    /// cardinality: routes are the router's templates (or `unmatched`), methods the labels of
    /// [`method_label`], statuses what the handlers answer. The recorder is installed before any
    /// router exists (`AppState` holds its handle), so no handle cached here is the no-op one.
    static ROUTE_HANDLES: std::cell::RefCell<std::collections::HashMap<Box<str>, RouteHandles>> =
        Default::default();
}

/// One route's handles: a few methods and statuses each, so a list is quicker than a map.
#[derive(Default)]
struct RouteHandles {
    requests: Vec<(&'static str, u16, metrics::Counter)>,
    durations: Vec<(&'static str, metrics::Histogram)>,
}

impl RouteHandles {
    /// Counts one request of `route` and records how long it took.
    fn record(&mut self, route: &str, method: &'static str, status: u16, elapsed: f64) {
        self.requests(route, method, status).increment(1);
        self.duration(route, method).record(elapsed);
    }

    fn requests(&mut self, route: &str, method: &'static str, status: u16) -> &metrics::Counter {
        let at = match self
            .requests
            .iter()
            .position(|(m, s, _)| *m == method && *s == status)
        {
            Some(at) => at,
            None => {
                let counter = metrics::counter!("switchboard_http_requests_total",
                    "method" => method, "route" => route.to_string(), "status" => status.to_string());
                self.requests.push((method, status, counter));
                self.requests.len() - 1
            }
        };
        &self.requests[at].2
    }

    fn duration(&mut self, route: &str, method: &'static str) -> &metrics::Histogram {
        let at = match self.durations.iter().position(|(m, _)| *m == method) {
            Some(at) => at,
            None => {
                let histogram = metrics::histogram!("switchboard_http_request_duration_seconds",
                    "method" => method, "route" => route.to_string());
                self.durations.push((method, histogram));
                self.durations.len() - 1
            }
        };
        &self.durations[at].1
    }
}

/// The metrics label of a request method: the standard methods by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        for m in ["FOOBAR", "get", "PROPFIND", "TRACE", "CONNECT"] {
            assert_eq!(
                method_label(&Method::from_bytes(m.as_bytes()).unwrap()),
                "other",
                "{m}"
            );
        }
    }
}
