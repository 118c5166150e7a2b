//! The success envelope of the tenant and admin APIs (seed 000): `{"success": true, "data": …}`.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always true here; errors use the error envelope.
    pub success: bool,
    pub data: T,
}

/// Wraps `data` in the success envelope.
pub fn ok<T: Serialize>(data: T) -> Json<Envelope<T>> {
    Json(Envelope {
        success: true,
        data,
    })
}

/// `{"success": true, "message": …}`, the seed-000 answer of action endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageEnvelope {
    pub success: bool,
    pub message: String,
}

pub fn message(text: impl Into<String>) -> Json<MessageEnvelope> {
    Json(MessageEnvelope {
        success: true,
        message: text.into(),
    })
}

/// Pagination query used by list endpoints: `limit` 1..=500 (default 50), `offset` ≥ 0.
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct Page {
    #[param(minimum = 1, maximum = 500)]
    pub limit: i64,
    #[param(minimum = 0)]
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: 50,
            offset: 0,
        }
    }
}

impl Page {
    pub fn validate(self) -> Result<Page, crate::web::error::ApiError> {
        if !(1..=500).contains(&self.limit) {
            return Err(crate::web::error::ApiError::validation(
                "limit",
                "must be between 1 and 500",
            ));
        }
        if self.offset < 0 {
            return Err(crate::web::error::ApiError::validation(
                "offset",
                "must not be negative",
            ));
        }
        Ok(self)
    }
}
