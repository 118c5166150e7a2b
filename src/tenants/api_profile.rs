//! The authenticated tenant's own profile and staff.

use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::db;
use crate::state::AppState;
use crate::tenants::manage::TenantView;
use crate::tenants::staff::{self, StaffList, StaffView, UpdateStaff};
use crate::web::TenantAuth;
use crate::web::doc::{JsonBodyErrors, TenantAuthErrors};
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::ValidJson;

/// The authenticated tenant.
#[utoipa::path(get, path = "/api/telephony/tenant", tag = "telephony", security(("tenant" = [])),
    responses((status = 200, description = "Success", body = Envelope<TenantView>), TenantAuthErrors))]
async fn me(auth: TenantAuth) -> Json<Envelope<TenantView>> {
    ok(TenantView::from(&auth.tenant))
}

/// The tenant's staff in dialling order.
#[utoipa::path(get, path = "/api/telephony/staff", tag = "telephony", security(("tenant" = [])),
    responses((status = 200, description = "Success", body = Envelope<StaffList>), TenantAuthErrors))]
async fn list_staff(
    auth: TenantAuth,
    State(state): State<AppState>,
) -> Result<Json<Envelope<StaffList>>, ApiError> {
    let rows = db::staff::list(&state.db, &auth.tenant.id).await?;
    Ok(ok(StaffList {
        staff: rows.iter().map(StaffView::from).collect(),
    }))
}

/// One staff member of the tenant.
#[utoipa::path(get, path = "/api/telephony/staff/{id}", tag = "telephony", security(("tenant" = [])),
    responses((status = 200, description = "Success", body = Envelope<StaffView>),
        (status = 404, description = "No such staff member for this tenant", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn get_staff(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<StaffView>>, ApiError> {
    let s = db::staff::get(&state.db, &auth.tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("staff member"))?;
    Ok(ok(StaffView::from(&s)))
}

/// Change one of the tenant's staff (e.g. put them on or off duty).
#[utoipa::path(patch, path = "/api/telephony/staff/{id}", tag = "telephony", security(("tenant" = [])), request_body = UpdateStaff,
    responses((status = 200, description = "Success", body = Envelope<StaffView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such staff member for this tenant", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors))]
async fn update_staff(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidJson(req): ValidJson<UpdateStaff>,
) -> Result<Json<Envelope<StaffView>>, ApiError> {
    Ok(ok(StaffView::from(
        &staff::update(&state, &auth.tenant.id, &id, req).await?,
    )))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_staff))
        .routes(routes!(get_staff, update_staff))
}
