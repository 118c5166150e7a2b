//! The internal API for other services, authenticated by `X-Service-Key: INTERNAL_SERVICE_KEY`:
//! phone number → tenant lookup, seed 004's provisioning-service contract, at
//! `/internal/phone-numbers/lookup/{phone}` and at `/phone-numbers/lookup/{phone}` (the path seed
//! 004's `resolveTenantId` calls). With no `INTERNAL_SERVICE_KEY` configured the API answers 503.
//!
//! Seed 004 reads `response.data.tenantId` with axios, i.e. `tenantId` at the top of the body, so
//! the answer carries it there as well as inside the usual `data` envelope.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::{E164, SubscriptionStatus};
use crate::numbers::{ProvisioningState, store};
use crate::state::AppState;
use crate::web::auth::ServiceKey;
use crate::web::doc::ServiceKeyErrors;
use crate::web::error::{ApiError, ErrorEnvelope};

#[derive(OpenApi)]
#[openapi(
    modifiers(&ServiceKeyScheme),
    tags((name = "internal", description = "Service-to-service API (X-Service-Key)"))
)]
struct InternalDoc;

struct ServiceKeyScheme;
impl utoipa::Modify for ServiceKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "serviceKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Service-Key",
                "INTERNAL_SERVICE_KEY",
            ))),
        );
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NumberOwner {
    pub tenant_id: String,
    pub phone_number: String,
    /// `active`, or `releasing` while a canceled tenant's number is in its grace period.
    pub status: String,
    pub subscription_status: SubscriptionStatus,
}

/// `{"success": true, "tenantId": …, "data": {…}}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LookupAnswer {
    pub success: bool,
    /// The same as `data.tenantId`, where seed 004 reads it.
    pub tenant_id: String,
    pub data: NumberOwner,
}

async fn lookup(state: &AppState, phone: &str) -> Result<Json<LookupAnswer>, ApiError> {
    // Callers strip the `+` now and then (or a form decoder turns it into a space).
    let raw = phone.trim();
    let raw = if raw.starts_with('+') {
        raw.to_string()
    } else {
        format!("+{raw}")
    };
    let number = E164::parse("phone", &raw)?;
    let (tenant_id, subscription) = store::owner_of(&state.db, number.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("no tenant has the phone number {number}"),
            )
        })?;
    let releasing = store::get(&state.db, &tenant_id)
        .await?
        .is_some_and(|p| p.state == ProvisioningState::Releasing);
    Ok(Json(LookupAnswer {
        success: true,
        tenant_id: tenant_id.clone(),
        data: NumberOwner {
            tenant_id,
            phone_number: number.to_string(),
            status: if releasing { "releasing" } else { "active" }.into(),
            subscription_status: SubscriptionStatus::parse("subscription_status", &subscription)
                .unwrap_or(SubscriptionStatus::None),
        },
    }))
}

/// The tenant that owns a phone number (E.164, URL-encoded: `%2B14155550100`).
#[utoipa::path(get, path = "/internal/phone-numbers/lookup/{phone}", tag = "internal", security(("serviceKey" = [])),
    params(("phone" = String, Path, description = "E.164 number, URL-encoded")),
    responses((status = 200, description = "Success", body = LookupAnswer),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No tenant owns this number", body = ErrorEnvelope),
        ServiceKeyErrors))]
async fn lookup_internal(
    _: ServiceKey,
    State(state): State<AppState>,
    Path(phone): Path<String>,
) -> Result<Json<LookupAnswer>, ApiError> {
    lookup(&state, &phone).await
}

/// The same lookup at the path seed 004 calls on its provisioning service.
#[utoipa::path(get, path = "/phone-numbers/lookup/{phone}", tag = "internal", security(("serviceKey" = [])),
    params(("phone" = String, Path, description = "E.164 number, URL-encoded")),
    responses((status = 200, description = "Success", body = LookupAnswer),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No tenant owns this number", body = ErrorEnvelope),
        ServiceKeyErrors))]
async fn lookup_seed_004(
    _: ServiceKey,
    State(state): State<AppState>,
    Path(phone): Path<String>,
) -> Result<Json<LookupAnswer>, ApiError> {
    lookup(&state, &phone).await
}

/// The internal API. Authenticated by the service key, so not rate limited per IP.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(InternalDoc::openapi())
        .routes(routes!(lookup_internal))
        .routes(routes!(lookup_seed_004))
}
