//! Error policy.
//!
//! - Domain and storage code return small typed errors ([`StoreError`], [`crate::domain::ValidationError`]);
//!   feature code returns [`Failure`] (invalid, not found, conflict, refused, store, internal).
//! - The HTTP layer has exactly one error type, [`ApiError`], which decides the status code and renders the
//!   seed-000 envelope `{"success": false, "error": {"code", "message", "field"?}}`.
//! - Internal failures keep their cause, which is logged once when the error is answered; the
//!   answer is an opaque 500 with no details: a client never sees SQL, paths or stack traces.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::StoreError;
use crate::domain::ValidationError;
use crate::failure::Failure;

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
    /// What went wrong inside, for an internal error: logged once, when the error is answered
    /// (or printed by the CLI), never sent to the client.
    pub cause: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
            cause: None,
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
    /// An opaque 500 that keeps its cause for the log (written when it is answered).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            cause: Some(cause.to_string()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "Internal server error",
            )
        }
    }

    /// The message for a person at a terminal: an internal error's cause is shown there.
    pub fn describe(&self) -> String {
        match &self.cause {
            Some(cause) => format!("{}: {cause}", self.message),
            None => self.message.clone(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Conflict(field) => {
                let msg = format!("{field} is already in use");
                ApiError::conflict(super::extract::camel_case(&field), msg)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Invalid { field, reason } => ApiError::validation(field, reason),
            Failure::NotFound { what } => ApiError::not_found(&what),
            Failure::Conflict { field, reason } => ApiError::conflict(field, reason),
            Failure::Refused {
                status,
                code,
                reason,
                field,
                retry_after_secs,
            } => ApiError {
                field,
                retry_after_secs,
                ..ApiError::new(status, code, reason)
            },
            Failure::Store(e) => e.into(),
            Failure::Internal { cause } => ApiError::internal(cause),
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
        if let Some(cause) = &self.cause {
            tracing::error!(error = %cause, code = self.code, "internal error");
        }
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
    use super::*;

    fn answer(f: Failure) -> (StatusCode, &'static str, Option<String>, String) {
        let e = ApiError::from(f);
        (e.status, e.code, e.field, e.message)
    }

    #[test]
    fn every_failure_maps_to_its_answer() {
        assert_eq!(
            answer(Failure::invalid("phone", "is not E.164")),
            (
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                Some("phone".into()),
                "phone: is not E.164".into()
            )
        );
        assert_eq!(
            answer(Failure::not_found("tenant")).0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            answer(Failure::conflict("slug", "slug is taken")),
            (
                StatusCode::CONFLICT,
                "CONFLICT",
                Some("slug".into()),
                "slug is taken".into()
            )
        );
        assert_eq!(
            answer(
                Failure::refused(StatusCode::CONFLICT, "APPOINTMENT_CANCELED", "canceled")
                    .with_field("appointmentId")
            ),
            (
                StatusCode::CONFLICT,
                "APPOINTMENT_CANCELED",
                Some("appointmentId".into()),
                "canceled".into()
            )
        );
        let e = ApiError::from(
            Failure::refused(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "slow down")
                .with_retry_after(0),
        );
        assert_eq!(
            (e.status, e.retry_after_secs),
            (StatusCode::TOO_MANY_REQUESTS, Some(1))
        );
        // A unique violation from storage names the field in the API's spelling.
        let (status, code, field, _) =
            answer(Failure::Store(StoreError::Conflict("twilio_number".into())));
        assert_eq!(
            (status, code, field.as_deref()),
            (StatusCode::CONFLICT, "CONFLICT", Some("twilioNumber"))
        );
        // An internal cause is kept for the log, never answered.
        let e = ApiError::from(Failure::internal("disk full"));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.message, "Internal server error");
        assert_eq!(e.cause.as_deref(), Some("disk full"));
    }
}
