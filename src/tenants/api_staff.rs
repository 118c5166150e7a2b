//! Admin: a tenant's staff.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::db;
use crate::state::AppState;
use crate::tenants::staff::{self, CreateStaff, StaffList, StaffView, UpdateStaff};
use crate::web::auth::AdminAuth;
use crate::web::doc::{AdminAuthErrors, JsonBodyErrors};
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::ValidJson;

/// Add a staff member.
#[utoipa::path(post, path = "/api/admin/tenants/{id}/staff", operation_id = "admin_staff_create", tag = "admin", security(("admin" = [])), request_body = CreateStaff,
    responses((status = 201, description = "Created", body = Envelope<StaffView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors,
        JsonBodyErrors))]
async fn create(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidJson(req): ValidJson<CreateStaff>,
) -> Result<(StatusCode, Json<Envelope<StaffView>>), ApiError> {
    let t = crate::web::auth::tenant_or_404(&state, &id).await?;
    let s = staff::create(&state, &t.id, req).await?;
    Ok((StatusCode::CREATED, ok(StaffView::from(&s))))
}

/// A tenant's staff in dialling order.
#[utoipa::path(get, path = "/api/admin/tenants/{id}/staff", operation_id = "admin_staff_list", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<StaffList>),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors))]
async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<StaffList>>, ApiError> {
    let t = crate::web::auth::tenant_or_404(&state, &id).await?;
    let rows = db::staff::list(&state.db, &t.id).await?;
    Ok(ok(StaffList {
        staff: rows.iter().map(StaffView::from).collect(),
    }))
}

/// Change a staff member.
#[utoipa::path(patch, path = "/api/admin/tenants/{id}/staff/{staff_id}", operation_id = "admin_staff_update", tag = "admin", security(("admin" = [])), request_body = UpdateStaff,
    responses((status = 200, description = "Success", body = Envelope<StaffView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant or staff member", body = ErrorEnvelope),
        AdminAuthErrors, JsonBodyErrors))]
async fn update(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((id, staff_id)): Path<(String, String)>,
    ValidJson(req): ValidJson<UpdateStaff>,
) -> Result<Json<Envelope<StaffView>>, ApiError> {
    Ok(ok(StaffView::from(
        &staff::update(&state, &id, &staff_id, req).await?,
    )))
}

/// Remove a staff member.
#[utoipa::path(delete, path = "/api/admin/tenants/{id}/staff/{staff_id}", operation_id = "admin_staff_remove", tag = "admin", security(("admin" = [])),
    responses((status = 204, description = "Done; no body"),
        (status = 404, description = "No such tenant or staff member", body = ErrorEnvelope),
        AdminAuthErrors))]
async fn remove(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((id, staff_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    staff::delete(&state, &id, &staff_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(update, remove))
}
