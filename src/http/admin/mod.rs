//! The operator API under `/api/admin`, authenticated by `Authorization: Bearer <ADMIN_TOKEN>`.
//! With no `ADMIN_TOKEN` configured the whole API answers 403 `ADMIN_API_DISABLED`.

mod analytics;
mod jobs;
mod keys;
mod relay;
mod staff;
mod tenants;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;

use crate::db;
use crate::db::tenants::Tenant;
use crate::state::AppState;
use crate::web::auth::bearer;
use crate::web::error::ApiError;

/// Proof that the request carries the operator token.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = &state.config.admin_token else {
            return Err(ApiError::forbidden(
                "ADMIN_API_DISABLED",
                "the admin API is disabled: set ADMIN_TOKEN to enable it",
            ));
        };
        let given = bearer(parts)?;
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(AdminAuth)
        } else {
            Err(ApiError::unauthorized("invalid admin token"))
        }
    }
}

/// Loads the tenant named in an admin path, or 404.
async fn tenant(state: &AppState, id: &str) -> Result<Tenant, ApiError> {
    db::tenants::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tenants::routes())
        .merge(staff::routes())
        .merge(keys::routes())
        .merge(jobs::routes())
        .merge(relay::routes())
        .merge(analytics::routes())
}
