//! Admin: relay endpoints, their deliveries and attempts, replay, and the event log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::db;
use crate::events::manage::{
    self, AttemptView, CreateEndpoint, DeliveryView, EndpointView, EventView, UpdateEndpoint,
};
use crate::state::AppState;
use crate::web::auth::AdminAuth;
use crate::web::doc::{AdminAuthErrors, JsonBodyErrors};
use crate::web::envelope::{Envelope, Page, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::{ValidJson, ValidQuery};

#[derive(Serialize, ToSchema)]
pub struct EndpointList {
    pub endpoints: Vec<EndpointView>,
}
#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
}
#[derive(Serialize, ToSchema)]
pub struct AttemptList {
    pub attempts: Vec<AttemptView>,
}
#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventView>,
    pub total: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EndpointFilter {
    /// Only this tenant's endpoints.
    pub tenant_id: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// pending, delivered or dead.
    #[param(schema_with = crate::domain::query_values::delivery_status)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    pub tenant_id: Option<String>,
    pub r#type: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Add a relay endpoint (per tenant, or global without `tenantId`).
#[utoipa::path(post, path = "/api/admin/relay-endpoints", operation_id = "admin_relay_create", tag = "admin", security(("admin" = [])), request_body = CreateEndpoint,
    responses((status = 201, description = "Created", body = Envelope<EndpointView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        AdminAuthErrors, JsonBodyErrors))]
async fn create(
    _: AdminAuth,
    State(state): State<AppState>,
    ValidJson(req): ValidJson<CreateEndpoint>,
) -> Result<(StatusCode, Json<Envelope<EndpointView>>), ApiError> {
    let e = manage::create(&state, req).await?;
    Ok((StatusCode::CREATED, ok(EndpointView::from(&e))))
}

/// Relay endpoints.
#[utoipa::path(get, path = "/api/admin/relay-endpoints", operation_id = "admin_relay_list", tag = "admin", security(("admin" = [])), params(EndpointFilter),
    responses((status = 200, description = "Success", body = Envelope<EndpointList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope), AdminAuthErrors))]
async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    ValidQuery(f): ValidQuery<EndpointFilter>,
) -> Result<Json<Envelope<EndpointList>>, ApiError> {
    let rows = db::events::list_endpoints(&state.db, f.tenant_id.as_deref()).await?;
    Ok(ok(EndpointList {
        endpoints: rows.iter().map(EndpointView::from).collect(),
    }))
}

/// One relay endpoint.
#[utoipa::path(get, path = "/api/admin/relay-endpoints/{id}", operation_id = "admin_relay_show", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<EndpointView>),
        (status = 404, description = "No such relay endpoint", body = ErrorEnvelope), AdminAuthErrors))]
async fn show(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<EndpointView>>, ApiError> {
    let e = db::events::get_endpoint(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("relay endpoint"))?;
    Ok(ok(EndpointView::from(&e)))
}

/// Change a relay endpoint (URL, event filter, enabled, description, rotate the secret).
#[utoipa::path(patch, path = "/api/admin/relay-endpoints/{id}", operation_id = "admin_relay_update", tag = "admin", security(("admin" = [])), request_body = UpdateEndpoint,
    responses((status = 200, description = "Success", body = Envelope<EndpointView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such relay endpoint", body = ErrorEnvelope), AdminAuthErrors,
        JsonBodyErrors))]
async fn update(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidJson(req): ValidJson<UpdateEndpoint>,
) -> Result<Json<Envelope<EndpointView>>, ApiError> {
    Ok(ok(EndpointView::from(
        &manage::update(&state, &id, req).await?,
    )))
}

/// Remove a relay endpoint and its delivery history.
#[utoipa::path(delete, path = "/api/admin/relay-endpoints/{id}", operation_id = "admin_relay_remove", tag = "admin", security(("admin" = [])),
    responses((status = 204, description = "Done; no body"),
        (status = 404, description = "No such relay endpoint", body = ErrorEnvelope), AdminAuthErrors))]
async fn remove(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    manage::delete(&state, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deliveries to one endpoint, newest first.
#[utoipa::path(get, path = "/api/admin/relay-endpoints/{id}/deliveries", tag = "admin", security(("admin" = [])), params(DeliveryFilter),
    responses((status = 200, description = "Success", body = Envelope<DeliveryList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such relay endpoint", body = ErrorEnvelope), AdminAuthErrors))]
async fn deliveries(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidQuery(f): ValidQuery<DeliveryFilter>,
) -> Result<Json<Envelope<DeliveryList>>, ApiError> {
    db::events::get_endpoint(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("relay endpoint"))?;
    if let Some(s) = &f.status
        && !["pending", "delivered", "dead"].contains(&s.as_str())
    {
        return Err(ApiError::validation(
            "status",
            "must be pending, delivered or dead",
        ));
    }
    let page = Page {
        limit: f.limit.unwrap_or(50),
        offset: f.offset.unwrap_or(0),
    }
    .validate()?;
    let rows =
        db::events::list_deliveries(&state.db, &id, f.status.as_deref(), page.limit, page.offset)
            .await?;
    Ok(ok(DeliveryList {
        deliveries: rows.iter().map(DeliveryView::from).collect(),
    }))
}

/// Every attempt of one delivery: status code, latency, error.
#[utoipa::path(get, path = "/api/admin/deliveries/{id}/attempts", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<AttemptList>),
        (status = 404, description = "No such delivery", body = ErrorEnvelope), AdminAuthErrors))]
async fn attempts(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<AttemptList>>, ApiError> {
    db::events::get_delivery(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    let rows = db::events::list_attempts(&state.db, &id).await?;
    Ok(ok(AttemptList {
        attempts: rows.iter().map(AttemptView::from).collect(),
    }))
}

/// Send a dead (or delivered) delivery again.
#[utoipa::path(post, path = "/api/admin/deliveries/{id}/replay", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<DeliveryView>),
        (status = 404, description = "No such delivery", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with the current state; `error.code` says how", body = ErrorEnvelope),
        AdminAuthErrors))]
async fn replay(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<DeliveryView>>, ApiError> {
    Ok(ok(DeliveryView::from(&manage::replay(&state, &id).await?)))
}

/// The event log, newest first.
#[utoipa::path(get, path = "/api/admin/events", tag = "admin", security(("admin" = [])), params(EventFilter),
    responses((status = 200, description = "Success", body = Envelope<EventList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        AdminAuthErrors))]
async fn events(
    _: AdminAuth,
    State(state): State<AppState>,
    ValidQuery(f): ValidQuery<EventFilter>,
) -> Result<Json<Envelope<EventList>>, ApiError> {
    let page = Page {
        limit: f.limit.unwrap_or(50),
        offset: f.offset.unwrap_or(0),
    }
    .validate()?;
    let (rows, total) = db::events::list_events(
        &state.db,
        f.tenant_id.as_deref(),
        f.r#type.as_deref(),
        page.limit,
        page.offset,
    )
    .await?;
    Ok(ok(EventList {
        events: rows.iter().map(EventView::from).collect(),
        total,
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show, update, remove))
        .routes(routes!(deliveries))
        .routes(routes!(attempts))
        .routes(routes!(replay))
        .routes(routes!(events))
}
