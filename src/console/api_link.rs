//! `POST /api/admin/tenants/{id}/console-link`: the host app (which owns its users' identities)
//! asks for a short-lived, single-use link that signs one of its businesses into the console.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use crate::web::auth::AdminAuth;
use crate::web::doc::AdminAuthErrors;
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};

use super::session;

/// A sign-in link for one business.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleLink {
    /// Open it in a browser once, before `expiresAt`; it signs in as this tenant only.
    pub url: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// Issue a single-use console sign-in link for a tenant.
#[utoipa::path(post, path = "/api/admin/tenants/{id}/console-link", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 201, description = "Created", body = Envelope<ConsoleLink>),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors))]
async fn console_link(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Envelope<ConsoleLink>>), ApiError> {
    let link = session::issue_link(&state, &id).await?;
    Ok((
        StatusCode::CREATED,
        ok(ConsoleLink {
            url: link.url,
            expires_at: rfc3339(link.expires_at_ms),
        }),
    ))
}

pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(console_link))
}
