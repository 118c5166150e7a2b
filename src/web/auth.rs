//! The auth extractors: [`TenantAuth`] (`Authorization: Bearer <JWT or API key>` → the authenticated
//! tenant), [`AdminAuth`] (the operator's `ADMIN_TOKEN`) and [`ServiceKey`] (`X-Service-Key`, the
//! internal API for other services).
//! Handlers take [`TenantAuth`] and scope every query by `tenant.id`; nothing tenant-facing takes a
//! tenant id from the request body or path.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::{api_key, jwt::JwtError};
use crate::db::{self, tenants::Tenant};
use crate::state::AppState;
use crate::web::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    Jwt,
    ApiKey { key_id: String },
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

/// A bearer token whose signature (JWT) or hash (API key) checked out: who it says it is. The tenant
/// itself is loaded afterwards, by the extractor.
#[derive(Debug, Clone)]
pub struct Verified {
    pub tenant_id: String,
    pub method: AuthMethod,
}

/// The rate limiter's verdict on the bearer token, left in the request's extensions so that the
/// extractor does not verify it a second time. Only our middleware can put it there.
#[derive(Debug, Clone)]
pub enum Preverified {
    Valid(Verified),
    /// Refused, with the message the caller gets.
    Refused(String),
}

/// Checks a bearer token: a JWT's signature and expiry, or an API key's hash and revocation.
pub async fn verify(state: &AppState, token: &str) -> Result<Verified, ApiError> {
    let now_ms = state.clock.now_ms();
    if let Some(prefix) = api_key::prefix_of(token) {
        let key = db::api_keys::get_by_prefix(&state.db, prefix)
            .await?
            .filter(|k| api_key::matches(token, &k.key_hash))
            .ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
        if key.revoked_at.is_some() {
            return Err(ApiError::unauthorized("API key revoked"));
        }
        return Ok(Verified {
            tenant_id: key.tenant_id,
            method: AuthMethod::ApiKey { key_id: key.id },
        });
    }
    let claims = state
        .jwt
        .verify(token, now_ms / 1000)
        .map_err(|e| match e {
            JwtError::Expired => ApiError::unauthorized("token expired"),
            other => ApiError::unauthorized(other.to_string()),
        })?;
    Ok(Verified {
        tenant_id: claims.tenant_id,
        method: AuthMethod::Jwt,
    })
}

impl FromRequestParts<AppState> for TenantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Verified { tenant_id, method } = match parts.extensions.get::<Preverified>() {
            Some(Preverified::Valid(v)) => v.clone(),
            Some(Preverified::Refused(message)) => {
                return Err(ApiError::unauthorized(message.clone()));
            }
            None => verify(state, bearer(parts)?).await?,
        };
        if let AuthMethod::ApiKey { key_id } = &method
            && let Err(e) =
                db::api_keys::touch(&state.db, &tenant_id, key_id, state.clock.now_ms()).await
        {
            tracing::warn!(error = %e, "could not record API key use");
        }
        // A token for a deleted tenant is as good as no token.
        let tenant = db::tenants::get(&state.db, &tenant_id)
            .await?
            .ok_or_else(|| ApiError::unauthorized("tenant no longer exists"))?;
        Ok(TenantAuth { tenant, method })
    }
}

/// Proof that the request carries the operator token.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = &state.config.auth.admin_token else {
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

/// Loads the tenant named in an operator path, or 404.
pub async fn tenant_or_404(state: &AppState, id: &str) -> Result<Tenant, ApiError> {
    db::tenants::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

/// Proof that the request carries the shared service key.
pub struct ServiceKey;

impl FromRequestParts<AppState> for ServiceKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = &state.config.auth.internal_service_key else {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "INTERNAL_API_DISABLED",
                "the internal API is disabled: set INTERNAL_SERVICE_KEY to enable it",
            ));
        };
        let given = parts
            .headers
            .get("x-service-key")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthorized("missing X-Service-Key header"))?;
        // Comparing digests keeps the comparison constant-time in the key's length too.
        let (a, b) = (
            Sha256::digest(given.trim()),
            Sha256::digest(expected.expose()),
        );
        if bool::from(a.as_slice().ct_eq(b.as_slice())) {
            Ok(ServiceKey)
        } else {
            Err(ApiError::unauthorized("invalid X-Service-Key"))
        }
    }
}
