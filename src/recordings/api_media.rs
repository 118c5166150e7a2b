//! A recording's audio, `GET /api/telephony/recordings/{id}/media`: served by [`media::stream`]
//! (range support, tenant scoping), the same code the console's player uses.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::recordings::media;
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::doc::TenantAuthErrors;
use crate::web::error::{ApiError, ErrorEnvelope};

/// The recording's audio, streamed; `Range` gives 206 with `Content-Range`.
#[utoipa::path(get, path = "/api/telephony/recordings/{id}/media", tag = "telephony", security(("tenant" = [])),
    params(("id" = String, Path, description = "Recording id or Twilio RecordingSid"),
        ("Range" = Option<String>, Header, description = "One byte range, e.g. bytes=0-1023 or bytes=-500")),
    responses((status = 200, description = "The whole recording (audio/x-wav)", content_type = "audio/x-wav", body = Vec<u8>),
        (status = 206, description = "The requested byte range, with Content-Range", content_type = "audio/x-wav", body = Vec<u8>),
        (status = 404, description = "No such recording, another tenant's, or not downloaded yet", body = ErrorEnvelope),
        (status = 416, description = "The range starts past the end"), TenantAuthErrors))]
async fn media(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    Ok(media::stream(&state, &auth.tenant.id, &id, range).await?)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(media))
}
