//! Admin: tenant credentials (JWTs and API keys).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::db;
use crate::state::AppState;
use crate::tenants::keys::{
    self, ApiKeyView, CreateApiKey, CreatedApiKey, IssueToken, IssuedToken,
};
use crate::web::auth::AdminAuth;
use crate::web::doc::{AdminAuthErrors, BodyTooLarge};
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::parse_json;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyView>,
}

/// Treats an empty body as `{}` so `POST` with no body uses the defaults.
fn body_or_default<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_json(bytes)
    }
}

/// Issue a tenant JWT (HS256, `tenantId` claim). Body optional.
#[utoipa::path(post, path = "/api/admin/tenants/{id}/tokens", tag = "admin", security(("admin" = [])), request_body(content = Option<IssueToken>, description = "Optional: no body uses the defaults"),
    responses((status = 201, description = "Created", body = Envelope<IssuedToken>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors,
        BodyTooLarge))]
async fn issue_token(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Envelope<IssuedToken>>), ApiError> {
    let req: IssueToken = body_or_default(&body)?;
    let t = crate::web::auth::tenant_or_404(&state, &id).await?;
    Ok((
        StatusCode::CREATED,
        ok(keys::issue_token(&state, &t.id, req.ttl_seconds)?),
    ))
}

/// Create a tenant API key; the key itself is in this answer only.
#[utoipa::path(post, path = "/api/admin/tenants/{id}/api-keys", tag = "admin", security(("admin" = [])), request_body(content = Option<CreateApiKey>, description = "Optional: no body uses the defaults"),
    responses((status = 201, description = "Created", body = Envelope<CreatedApiKey>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors,
        BodyTooLarge))]
async fn create_key(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Envelope<CreatedApiKey>>), ApiError> {
    let req: CreateApiKey = body_or_default(&body)?;
    let t = crate::web::auth::tenant_or_404(&state, &id).await?;
    Ok((
        StatusCode::CREATED,
        ok(keys::create_api_key(&state, &t.id, req).await?),
    ))
}

/// A tenant's API keys (without secrets).
#[utoipa::path(get, path = "/api/admin/tenants/{id}/api-keys", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<ApiKeyList>),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors))]
async fn list_keys(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<ApiKeyList>>, ApiError> {
    let t = crate::web::auth::tenant_or_404(&state, &id).await?;
    let rows = db::api_keys::list(&state.db, &t.id).await?;
    Ok(ok(ApiKeyList {
        api_keys: rows.iter().map(ApiKeyView::from).collect(),
    }))
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/api/admin/tenants/{id}/api-keys/{key_id}", tag = "admin", security(("admin" = [])),
    responses((status = 204, description = "Done; no body"),
        (status = 404, description = "No such tenant or API key", body = ErrorEnvelope), AdminAuthErrors))]
async fn revoke_key(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    db::api_keys::revoke(&state.db, &id, &key_id, state.clock.now_ms())
        .await
        .map_err(|_| ApiError::not_found("API key"))?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue_token))
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
}
