//! Admin: analytics across every tenant (bucketed in a chosen time zone, UTC by default) and per
//! tenant (in the tenant's own zone), and a tenant's monthly usage with its estimated cost. The same
//! queries and definitions as the tenant API ([`crate::analytics`]).

use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::analytics::usage::{self, UsageQuery, UsageReport};
use crate::analytics::{self, AdminAnalyticsQuery, AnalyticsQuery, AnalyticsReport, Scope};
use crate::state::AppState;
use crate::web::auth::AdminAuth;
use crate::web::doc::AdminAuthErrors;
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::ValidQuery;

/// Analytics of every tenant together; `tenantId` in the answer is null.
#[utoipa::path(get, path = "/api/admin/analytics", tag = "admin", security(("admin" = [])), params(AdminAnalyticsQuery),
    responses((status = 200, description = "Success", body = Envelope<AnalyticsReport>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        AdminAuthErrors))]
async fn all_tenants(
    _: AdminAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<AdminAnalyticsQuery>,
) -> Result<Json<Envelope<AnalyticsReport>>, ApiError> {
    let (q, tz) = q.split()?;
    let req = q.validate(&tz, state.clock.now_ms())?;
    Ok(ok(analytics::analytics(&state.db, Scope::All, &req).await?))
}

/// One tenant's analytics, exactly as the tenant sees them.
#[utoipa::path(get, path = "/api/admin/tenants/{id}/analytics", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "Tenant id"), AnalyticsQuery),
    responses((status = 200, description = "Success", body = Envelope<AnalyticsReport>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors))]
async fn one_tenant(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidQuery(q): ValidQuery<AnalyticsQuery>,
) -> Result<Json<Envelope<AnalyticsReport>>, ApiError> {
    let t = crate::web::auth::tenant_or_404(&state, &id).await?;
    let req = q.validate(&t.time_zone, state.clock.now_ms())?;
    Ok(ok(analytics::analytics(
        &state.db,
        Scope::Tenant(&t.id),
        &req,
    )
    .await?))
}

/// One tenant's usage and estimated cost for a month.
#[utoipa::path(get, path = "/api/admin/tenants/{id}/usage", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "Tenant id"), UsageQuery),
    responses((status = 200, description = "Success", body = Envelope<UsageReport>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors))]
async fn tenant_usage(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidQuery(q): ValidQuery<UsageQuery>,
) -> Result<Json<Envelope<UsageReport>>, ApiError> {
    let t = crate::web::auth::tenant_or_404(&state, &id).await?;
    let now = state.clock.now_ms();
    let month = q.validate(&t.time_zone.time_zone(), now)?;
    Ok(ok(usage::usage(
        &state.db,
        &t,
        month,
        &state.config.prices,
        now,
    )
    .await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(all_tenants))
        .routes(routes!(one_tenant))
        .routes(routes!(tenant_usage))
}
