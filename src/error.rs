//! Error policy.
//!
//! - Domain and storage code return small typed errors ([`StoreError`], [`crate::domain::ValidationError`]).
//! - The HTTP layer has exactly one error type, [`ApiError`], which decides the status code and renders the
//!   seed-000 envelope `{"success": false, "error": {"code", "message", "field"?}}`.
//! - Internal failures are logged once, here, and answered as an opaque 500 with no details: a client never
//!   sees SQL, paths or stack traces.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ValidationError;

/// Errors from the storage layer. The HTTP layer maps them; storage never picks a status code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was hit; the string names what clashed (e.g. "slug").
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The write could not be made durable (its group-commit batch failed, or the writer stopped);
    /// nothing of it was kept and it may be retried.
    #[error("write not committed: {0}")]
    NotCommitted(String),
}

impl StoreError {
    /// Turns unique-constraint violations into [`StoreError::Conflict`], naming the column when the
    /// database tells us which one.
    pub fn from_sqlx(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            let msg = db.message().to_string();
            let constraint = db.constraint().map(str::to_string).unwrap_or_default();
            let what = unique_target(&constraint, &msg);
            return StoreError::Conflict(what);
        }
        StoreError::Database(err)
    }

    /// The same for the group-commit writer's own SQLite connection (`db::batch_sqlite`): a
    /// unique violation is a [`StoreError::Conflict`]; anything else means the write did not commit.
    pub fn from_sqlite(err: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(e, Some(msg)) = &err
            && matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            )
        {
            return StoreError::Conflict(unique_target("", msg));
        }
        StoreError::NotCommitted(format!("SQLite: {err}"))
    }
}

/// Finds the column name in a unique-violation message from either backend
/// (SQLite: "UNIQUE constraint failed: tenants.slug"; PostgreSQL: our migrations name every unique
/// index `<table>__<column>`, so the constraint name carries the column).
fn unique_target(constraint: &str, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("UNIQUE constraint failed: ") {
        return rest
            .split(['.', ','])
            .nth(1)
            .unwrap_or(rest)
            .trim()
            .to_string();
    }
    match constraint.split_once("__") {
        Some((_, column)) => column.to_string(),
        None => constraint.to_string(),
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `VALIDATION_ERROR`, `NOT_FOUND`, `UNAUTHORIZED`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, when there is one (dotted path, e.g. `businessHours.monday[0].open`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The error envelope: `{"success": false, "error": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub success: bool,
    pub error: ErrorBody,
}

/// The one HTTP error type.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let message = if field.is_empty() {
            message
        } else {
            format!("{field}: {message}")
        };
        Self {
            field: Some(field).filter(|f| !f.is_empty()),
            ..Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
        }
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{what} not found"),
        )
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        Self {
            field: Some(field),
            ..Self::new(StatusCode::CONFLICT, "CONFLICT", message)
        }
    }
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "Too many requests, please try again later.",
            )
        }
    }
    /// Logs the cause once and answers an opaque 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Internal server error",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Conflict(field) => {
                let msg = format!("{field} is already in use");
                ApiError::conflict(crate::http::extract::camel_case(&field), msg)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        ApiError::validation(err.field, err.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            success: false,
            error: ErrorBody {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
            },
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::unique_target;

    #[test]
    fn unique_target_reads_both_backends() {
        assert_eq!(
            unique_target("", "UNIQUE constraint failed: tenants.slug"),
            "slug"
        );
        assert_eq!(
            unique_target("tenants__twilio_number", "duplicate key"),
            "twilio_number"
        );
    }
}
