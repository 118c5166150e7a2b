//! The tenant-auth extractor: `Authorization: Bearer <JWT or API key>` → the authenticated tenant.
//! Handlers take [`TenantAuth`] and scope every query by `tenant.id`; nothing tenant-facing takes a
//! tenant id from the request body or path.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::{api_key, jwt::JwtError};
use crate::app::AppState;
use crate::db::{self, tenants::Tenant};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Jwt,
    ApiKey,
}

/// An authenticated tenant.
#[derive(Debug, Clone)]
pub struct TenantAuth {
    pub tenant: Tenant,
    pub method: AuthMethod,
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized("missing Authorization header (expected: Bearer <token>)")
        })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "Authorization must use the Bearer scheme",
        ));
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for TenantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let now_ms = state.clock.now_ms();
        let (tenant_id, method) = if let Some(prefix) = api_key::prefix_of(token) {
            let key = db::api_keys::get_by_prefix(&state.db, prefix)
                .await?
                .filter(|k| api_key::matches(token, &k.key_hash))
                .ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
            if key.revoked_at.is_some() {
                return Err(ApiError::unauthorized("API key revoked"));
            }
            if let Err(e) = db::api_keys::touch(&state.db, &key.id, now_ms).await {
                tracing::warn!(error = %e, "could not record API key use");
            }
            (key.tenant_id, AuthMethod::ApiKey)
        } else {
            let claims = state
                .jwt
                .verify(token, now_ms / 1000)
                .map_err(|e| match e {
                    JwtError::Expired => ApiError::unauthorized("token expired"),
                    other => ApiError::unauthorized(other.to_string()),
                })?;
            (claims.tenant_id, AuthMethod::Jwt)
        };
        // A token for a deleted tenant is as good as no token.
        let tenant = db::tenants::get(&state.db, &tenant_id)
            .await?
            .ok_or_else(|| ApiError::unauthorized("tenant no longer exists"))?;
        Ok(TenantAuth { tenant, method })
    }
}
