//! What a use case answers when it cannot do what it was asked: [`Failure`].
//!
//! Feature code (tenants, calls, messaging, …) returns a `Failure`, never an HTTP answer; the web
//! kit turns it into the error envelope (`crate::web::error::ApiError: From<Failure>`) and the CLI
//! prints [`Failure::describe`]. An internal failure keeps its cause, which is logged once, where
//! it is answered, and never shown to an API client.

use axum::http::StatusCode;

use crate::db::StoreError;
use crate::domain::ValidationError;

/// Why a use case refused or failed.
#[derive(Debug)]
pub enum Failure {
    /// An input value is wrong: 400 `VALIDATION_ERROR`, naming the field (dotted path, as the
    /// caller spelled it; empty when the request as a whole is at fault).
    Invalid { field: String, reason: String },
    /// The thing named does not exist, or belongs to another tenant: 404.
    NotFound { what: String },
    /// The change would break a uniqueness rule: 409 `CONFLICT`, naming the field.
    Conflict { field: String, reason: String },
    /// A business rule with its own answer, e.g. 402 `SUBSCRIPTION_ENDED` or 409
    /// `APPOINTMENT_CANCELED`; `field` when one input is at fault.
    Refused {
        status: StatusCode,
        code: &'static str,
        reason: String,
        field: Option<String>,
        /// For a refusal that passes (a pace, an outage): when to ask again.
        retry_after_secs: Option<u64>,
    },
    /// Storage failed (a unique violation arrives here as `StoreError::Conflict`).
    Store(StoreError),
    /// Anything else that is our fault: an opaque 500 to a client, the cause in the log.
    Internal { cause: String },
}

impl Failure {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Failure::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
    pub fn not_found(what: &str) -> Self {
        Failure::NotFound { what: what.into() }
    }
    pub fn conflict(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Failure::Conflict {
            field: field.into(),
            reason: reason.into(),
        }
    }
    pub fn refused(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Failure::Refused {
            status,
            code,
            reason: reason.into(),
            field: None,
            retry_after_secs: None,
        }
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Failure::Internal {
            cause: cause.to_string(),
        }
    }
    /// The same refusal, naming the input at fault.
    pub fn with_field(mut self, name: impl Into<String>) -> Self {
        if let Failure::Refused { field, .. } = &mut self {
            *field = Some(name.into());
        }
        self
    }
    /// The same refusal, saying when to ask again (at least a second).
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        if let Failure::Refused {
            retry_after_secs, ..
        } = &mut self
        {
            *retry_after_secs = Some(secs.max(1));
        }
        self
    }

    /// The input at fault, if one is named.
    pub fn field(&self) -> Option<&str> {
        match self {
            Failure::Invalid { field, .. } | Failure::Conflict { field, .. } => {
                Some(field.as_str()).filter(|f| !f.is_empty())
            }
            Failure::Refused { field, .. } => field.as_deref(),
            Failure::Store(StoreError::Conflict(field)) => Some(field.as_str()),
            _ => None,
        }
    }

    /// The machine-readable code the API answers with (`VALIDATION_ERROR`, `NOT_FOUND`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Invalid { .. } => "VALIDATION_ERROR",
            Failure::NotFound { .. } | Failure::Store(StoreError::NotFound) => "NOT_FOUND",
            Failure::Conflict { .. } | Failure::Store(StoreError::Conflict(_)) => "CONFLICT",
            Failure::Refused { code, .. } => code,
            Failure::Store(_) | Failure::Internal { .. } => "INTERNAL_ERROR",
        }
    }

    /// The message for a person at a terminal (an internal cause is shown there).
    pub fn describe(&self) -> String {
        match self {
            Failure::Invalid { field, reason } if field.is_empty() => reason.clone(),
            Failure::Invalid { field, reason } => format!("{field}: {reason}"),
            Failure::NotFound { what } => format!("{what} not found"),
            Failure::Conflict { reason, .. } | Failure::Refused { reason, .. } => reason.clone(),
            Failure::Store(e) => e.to_string(),
            Failure::Internal { cause } => format!("internal error: {cause}"),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl std::error::Error for Failure {}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl From<ValidationError> for Failure {
    fn from(e: ValidationError) -> Self {
        Failure::invalid(e.field, e.message)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Store(e.into())
    }
}
