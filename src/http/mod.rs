//! The HTTP surface: one router built from each feature's `routes()` (JSON, in the OpenAPI
//! document) and `webhook_routes()` (Twilio's TwiML webhooks), wrapped in the cross-cutting layers
//! (request id, tracing, panic catcher, timeout, body limit, metrics) and the rate limits.

pub mod health;
pub mod rate_limit;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;
use crate::web::doc;
use crate::web::error::ApiError;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard", description = "Self-hosted, multi-tenant telephony backend on Twilio."),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "admin", description = "Operator API (Bearer ADMIN_TOKEN)"),
        (name = "telephony", description = "Tenant API (Bearer JWT or tenant API key)"),
    )
)]
struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "tenant",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Tenant JWT or API key"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("ADMIN_TOKEN"))
                    .build(),
            ),
        );
    }
}

/// Every JSON route with its OpenAPI description; layers that need the state are added here.
fn api(state: &AppState) -> OpenApiRouter<AppState> {
    // One set of counters for this router, shared by every limited route.
    let limits = rate_limit::Limits::new(state.clone());
    let limited = |mut routes: OpenApiRouter<AppState>| {
        doc::rate_limited(routes.get_openapi_mut());
        routes.layer(axum::middleware::from_fn_with_state(
            limits.clone(),
            rate_limit::limit,
        ))
    };
    let limited_internal = |mut routes: OpenApiRouter<AppState>| {
        doc::rate_limited(routes.get_openapi_mut());
        routes.layer(axum::middleware::from_fn_with_state(
            limits.clone(),
            rate_limit::limit_internal,
        ))
    };
    // The operator's (`/api/admin`, ADMIN_TOKEN) and the tenants' (JWT or API key) routes.
    let features = OpenApiRouter::new()
        .merge(crate::tenants::routes())
        .merge(crate::calls::routes())
        .merge(crate::messaging::routes())
        .merge(crate::appointments::routes())
        .merge(crate::numbers::routes())
        .merge(crate::recordings::routes())
        .merge(crate::events::routes())
        .merge(crate::analytics::routes())
        .merge(crate::outbox::routes())
        .merge(crate::console::api_routes());
    // Authenticated by the service key: a generous bucket of their own per client address.
    let internal = OpenApiRouter::new()
        .merge(crate::tenants::internal_routes())
        .merge(crate::messaging::internal_routes());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::routes())
        .merge(limited(features))
        // Authenticated by Stripe's signature: not limited per client IP.
        .merge(crate::tenants::stripe_routes())
        .merge(limited_internal(internal))
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn openapi_document(state: &AppState) -> utoipa::openapi::OpenApi {
    api(state).into_openapi()
}

pub fn router(state: AppState) -> Router {
    let (api_router, doc) = api(&state).split_for_parts();
    // Served from one buffer: each request shares it instead of copying half a megabyte.
    let doc = axum::body::Bytes::from(doc.to_pretty_json().unwrap_or_else(|_| "{}".into()));
    let config = state.config.clone();
    // Twilio webhooks answer TwiML, not JSON: outside the OpenAPI document and the IP rate limit.
    let api_router = api_router
        .merge(crate::calls::webhook_routes())
        .merge(crate::recordings::webhook_routes())
        .merge(crate::messaging::webhook_routes());
    // The web console: HTML pages, outside the OpenAPI document.
    let mut api_router = api_router.merge(crate::console::routes());
    if let Some(sandbox) = &state.twilio.sandbox {
        // Twilio's own REST dialect (described by Twilio's OpenAPI file, not ours).
        api_router = api_router.nest_service(crate::twilio::SANDBOX_PREFIX, sandbox.router());
    }
    let routes = api_router
        .route(
            "/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], doc.clone()) }),
        )
        .route("/metrics", get(health::metrics))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "method not allowed on this route",
            )
        })
        .with_state(state)
        // Per route, because it labels each request with the route's template (`MatchedPath`),
        // which exists only once the router has matched.
        .layer(axum::middleware::from_fn(health::track));
    with_layers(
        routes,
        config.server.request_timeout,
        config.server.body_limit_bytes,
    )
}

/// Wraps `routes` in the cross-cutting layers: request id (kept when the client sent one, echoed
/// on the response), tracing span, panic catcher (the JSON 500), timeout (503) and body limit.
///
/// They wrap the routes once, as one service, rather than through `Router::layer`, which wraps
/// every route in each layer separately: added so, these six and the metrics made seven nested
/// boxed services per route, each cloned and boxed again with its future on every request (about
/// 7 % of `serve`'s CPU per webhook; docs/scaling.md, nineteenth session). The outermost runs
/// first: a request gets its id before its span, and a timed-out or panicked answer still
/// carries the id.
fn with_layers(routes: Router, timeout: Duration, body_limit_bytes: usize) -> Router {
    let layered = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(CatchPanicLayer::custom(|_| -> Response {
            tracing::error!("handler panicked");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal server error").into_response()
        }))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(DefaultBodyLimit::max(body_limit_bytes))
        .service(routes);
    Router::new().fallback_service(layered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, Bytes};
    use axum::extract::MatchedPath;
    use axum::routing::post;
    use tower::ServiceExt;

    async fn panics() -> &'static str {
        panic!("a handler bug")
    }

    /// Routes that answer, sleep past the timeout, panic, read a body and name their template.
    fn app() -> Router {
        let routes = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route("/panic", get(panics))
            .route(
                "/body",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .route(
                "/named/{id}",
                get(|p: MatchedPath| async move { p.as_str().to_owned() }),
            );
        with_layers(routes, Duration::from_millis(200), 1024)
    }

    async fn send(req: Request<Body>) -> (StatusCode, Option<String>, String) {
        let res = app().oneshot(req).await.expect("infallible");
        let id = res
            .headers()
            .get(&REQUEST_ID)
            .map(|v| v.to_str().unwrap().to_owned());
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, id, String::from_utf8(body.to_vec()).unwrap())
    }

    fn get_req(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_new_request_id_is_a_uuid_and_a_given_one_is_kept() {
        let (status, id, body) = send(get_req("/ok")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
        assert!(uuid::Uuid::parse_str(&id.expect("an id")).is_ok());
        let given = Request::get("/ok")
            .header(&REQUEST_ID, "abc-123")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(given).await.1.as_deref(), Some("abc-123"));
    }

    #[tokio::test]
    async fn a_request_past_the_timeout_gets_503_with_its_id() {
        let (status, id, _) = send(get_req("/slow")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(id.is_some(), "the 503 carries the request id");
    }

    #[tokio::test]
    async fn a_panicking_handler_gets_the_json_500_with_its_id_and_the_router_goes_on() {
        let router = app();
        let res = router.clone().oneshot(get_req("/panic")).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.headers().contains_key(&REQUEST_ID));
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "INTERNAL_ERROR", "{json}");
        let after = router.oneshot(get_req("/ok")).await.unwrap();
        assert_eq!(after.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_gets_413_and_one_within_it_is_read() {
        let post_of = |n: usize| {
            Request::post("/body")
                .body(Body::from(vec![b'x'; n]))
                .unwrap()
        };
        assert_eq!(send(post_of(1024)).await.2, "1024");
        assert_eq!(send(post_of(1025)).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn routes_inside_still_see_their_matched_template() {
        // `health::track` labels metrics with it, so the layers must not hide it.
        assert_eq!(send(get_req("/named/7")).await.2, "/named/{id}");
    }
}
