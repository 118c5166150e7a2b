//! Admin: tenants CRUD and subscription status.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::db;
use crate::domain::SubscriptionStatus;
use crate::state::AppState;
use crate::tenants::manage::{self as tenants, CreateTenant, TenantView, UpdateTenant};
use crate::web::auth::AdminAuth;
use crate::web::doc::{AdminAuthErrors, JsonBodyErrors};
use crate::web::envelope::{Envelope, Page, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::{ValidJson, ValidQuery};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantList {
    pub tenants: Vec<TenantView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetSubscription {
    /// ACTIVE, TRIALING, PAST_DUE, CANCELED, … (Stripe's statuses, either case).
    pub status: SubscriptionStatus,
}

/// Create a tenant.
#[utoipa::path(post, path = "/api/admin/tenants", operation_id = "admin_tenants_create", tag = "admin", security(("admin" = [])), request_body = CreateTenant,
    responses((status = 201, description = "Created", body = Envelope<TenantView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 409, description = "The slug, phone number or Stripe customer is already another tenant's; `error.field` names it", body = ErrorEnvelope),
        AdminAuthErrors, JsonBodyErrors))]
async fn create(
    _: AdminAuth,
    State(state): State<AppState>,
    ValidJson(req): ValidJson<CreateTenant>,
) -> Result<(StatusCode, Json<Envelope<TenantView>>), ApiError> {
    let t = tenants::create(&state, req).await?;
    Ok((StatusCode::CREATED, ok(TenantView::from(&t))))
}

/// List tenants, oldest first.
#[utoipa::path(get, path = "/api/admin/tenants", operation_id = "admin_tenants_list", tag = "admin", security(("admin" = [])), params(Page),
    responses((status = 200, description = "Success", body = Envelope<TenantList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope), AdminAuthErrors))]
async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    ValidQuery(page): ValidQuery<Page>,
) -> Result<Json<Envelope<TenantList>>, ApiError> {
    let page = page.validate()?;
    let (rows, total) = db::tenants::list(&state.db, page.limit, page.offset).await?;
    Ok(ok(TenantList {
        tenants: rows.iter().map(TenantView::from).collect(),
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// One tenant.
#[utoipa::path(get, path = "/api/admin/tenants/{id}", operation_id = "admin_tenants_show", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<TenantView>),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors))]
async fn show(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<TenantView>>, ApiError> {
    Ok(ok(TenantView::from(
        &crate::web::auth::tenant_or_404(&state, &id).await?,
    )))
}

/// Change a tenant (absent fields stay; `null` clears optional ones).
#[utoipa::path(patch, path = "/api/admin/tenants/{id}", operation_id = "admin_tenants_update", tag = "admin", security(("admin" = [])), request_body = UpdateTenant,
    responses((status = 200, description = "Success", body = Envelope<TenantView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope),
        (status = 409, description = "The slug, phone number or Stripe customer is already another tenant's; `error.field` names it", body = ErrorEnvelope),
        AdminAuthErrors, JsonBodyErrors))]
async fn update(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidJson(req): ValidJson<UpdateTenant>,
) -> Result<Json<Envelope<TenantView>>, ApiError> {
    Ok(ok(TenantView::from(
        &tenants::update(&state, &id, req).await?,
    )))
}

/// Delete a tenant and everything it owns.
#[utoipa::path(delete, path = "/api/admin/tenants/{id}", tag = "admin", security(("admin" = [])),
    responses((status = 204, description = "Done; no body"),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors))]
async fn delete(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    db::tenants::delete(&state.db, &id)
        .await
        .map_err(|_| ApiError::not_found("tenant"))?;
    state.routing.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

/// Set a tenant's subscription status.
#[utoipa::path(put, path = "/api/admin/tenants/{id}/subscription", tag = "admin", security(("admin" = [])), request_body = SetSubscription,
    responses((status = 200, description = "Success", body = Envelope<TenantView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors,
        JsonBodyErrors))]
async fn set_subscription(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidJson(req): ValidJson<SetSubscription>,
) -> Result<Json<Envelope<TenantView>>, ApiError> {
    let t = tenants::update(
        &state,
        &id,
        UpdateTenant {
            subscription_status: Some(req.status),
            ..Default::default()
        },
    )
    .await?;
    Ok(ok(TenantView::from(&t)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show, update, delete))
        .routes(routes!(set_subscription))
}
