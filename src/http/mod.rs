//! The HTTP surface: one router built from each feature's `routes()` (JSON, in the OpenAPI
//! document) and `webhook_routes()` (Twilio's TwiML webhooks), wrapped in the cross-cutting layers
//! (request id, tracing, panic catcher, timeout, body limit, metrics) and the rate limits.

pub mod health;
pub mod rate_limit;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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
    api_router
        .route("/openapi.json", get(move || async move { ([(header::CONTENT_TYPE, "application/json")], doc.clone()) }))
        .route("/metrics", get(health::metrics))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "method not allowed on this route")
        })
        .with_state(state)
        .layer(axum::middleware::from_fn(health::track))
        .layer(DefaultBodyLimit::max(config.server.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.server.request_timeout))
        .layer(CatchPanicLayer::custom(|_| -> Response {
            tracing::error!("handler panicked");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal server error").into_response()
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
