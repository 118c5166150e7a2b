//! Why a number operation did not happen ([`NumberError`]), how a caller is answered
//! ([`Failure`]) and how a job retries it.

use switchboard_twilio::rest::TwilioError;

use crate::db::StoreError;
use crate::failure::Failure;
use crate::jobs::retry::JobError;

#[derive(Debug, thiserror::Error)]
pub enum NumberError {
    #[error("{}", .0.human_reason())]
    Twilio(TwilioError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another run holds the tenant's lease.
    #[error("another run holds the tenant's provisioning lease")]
    Busy { retry_in_ms: i64 },
    #[error("Phone number already provisioned for this tenant")]
    AlreadyProvisioned,
    #[error("the tenant's number is being released")]
    Releasing,
    #[error("the tenant has no phone number")]
    NoNumber,
    /// Only ACTIVE and TRIALING tenants get numbers.
    #[error("the tenant's subscription is {}", .0.as_str())]
    SubscriptionInactive(crate::domain::SubscriptionStatus),
    #[error("the Twilio account does not own {0}")]
    NotOwned(String),
    #[error("{0}")]
    NoneAvailable(String),
    #[error("{0} already belongs to another tenant")]
    Clash(String),
    #[error("the tenant no longer exists")]
    TenantGone,
}

impl From<TwilioError> for NumberError {
    fn from(e: TwilioError) -> Self {
        NumberError::Twilio(e)
    }
}

impl NumberError {
    /// Twilio's error code, when Twilio refused.
    pub fn twilio_code(&self) -> Option<u32> {
        match self {
            NumberError::Twilio(t) => t.twilio_code(),
            _ => None,
        }
    }
}

impl From<NumberError> for Failure {
    fn from(e: NumberError) -> Self {
        use axum::http::StatusCode;
        match e {
            NumberError::Store(s) => s.into(),
            NumberError::TenantGone => Failure::not_found("tenant"),
            NumberError::SubscriptionInactive(status) => Failure::refused(
                StatusCode::PAYMENT_REQUIRED,
                "SUBSCRIPTION_INACTIVE",
                format!(
                    "the tenant's subscription is {}; a number can be provisioned or bought only while it is ACTIVE or TRIALING",
                    status.as_str()
                ),
            ),
            NumberError::AlreadyProvisioned => Failure::refused(
                StatusCode::BAD_REQUEST,
                "ALREADY_PROVISIONED",
                "Phone number already provisioned for this tenant",
            ),
            NumberError::Releasing => Failure::refused(
                StatusCode::CONFLICT,
                "NUMBER_RELEASING",
                "the tenant's subscription was canceled and its number is being released; reactivate the subscription first",
            ),
            NumberError::Busy { .. } => Failure::refused(
                StatusCode::CONFLICT,
                "PROVISIONING_IN_PROGRESS",
                "a number is being provisioned for this tenant right now; ask again in a moment",
            ),
            NumberError::NoNumber => Failure::refused(
                StatusCode::BAD_REQUEST,
                "NO_PHONE_NUMBER",
                "the tenant has no phone number",
            ),
            NumberError::NotOwned(n) => Failure::refused(
                StatusCode::CONFLICT,
                "NUMBER_NOT_OWNED",
                format!("the Twilio account does not own {n}"),
            ),
            NumberError::NoneAvailable(why) => {
                Failure::refused(StatusCode::SERVICE_UNAVAILABLE, "NO_NUMBERS_AVAILABLE", why)
            }
            NumberError::Clash(n) => Failure::conflict(
                "phoneNumber",
                format!("{n} already belongs to another tenant"),
            ),
            NumberError::Twilio(t) => twilio_api_error(&t),
        }
    }
}

/// Twilio refusing the request itself (unavailable number, bad area code) is the caller's 400;
/// Twilio failing (outage, credentials, timeouts) is a 502. The message carries Twilio's code.
pub fn twilio_api_error(t: &TwilioError) -> Failure {
    use axum::http::StatusCode;
    let reason = t.human_reason();
    let message = match t.twilio_code() {
        Some(code) if !reason.contains(&code.to_string()) => {
            format!("{reason} (Twilio error {code})")
        }
        _ => reason,
    };
    match t.http_status() {
        Some(400 | 404 | 409 | 422) => {
            Failure::refused(StatusCode::BAD_REQUEST, "TWILIO_REJECTED", message)
        }
        _ => Failure::refused(StatusCode::BAD_GATEWAY, "TWILIO_ERROR", message),
    }
}

impl NumberError {
    /// How a job run that failed with this error is retried.
    pub fn into_job_error(self) -> JobError {
        match self {
            NumberError::Busy { retry_in_ms } => JobError::Retryable {
                message: "another run holds this tenant's provisioning lease".into(),
                retry_after: Some(std::time::Duration::from_millis(
                    retry_in_ms.max(1000) as u64
                )),
            },
            NumberError::Twilio(t) => JobError::Retryable {
                message: t.human_reason(),
                retry_after: t.retry_after(),
            },
            // Number inventory, a clashing assignment or the account's numbers can all change
            // before the next attempt; the retry policy bounds how long we keep trying.
            other => JobError::retryable(other.to_string()),
        }
    }
}
