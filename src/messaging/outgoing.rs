//! The texts a business sends itself (the send APIs, staff notifications, the console's reply box)
//! and the retry of one that failed. Rules every such send obeys, whichever door it came through:
//! the text is 1-1600 characters a phone can show ([`sms_text`]); a recipient who texted STOP is
//! refused up front, before anything is queued ([`refuse_opted_out`]); an ended subscription is
//! refused (`notifications::queue_now`). Delivery is the notification pipeline's: a QUEUED row and
//! its `notification.send` job, worked off by the sender.
//!
//! A retry never resends the failed row (statuses only move forward, and Twilio's callbacks for its
//! SID must still find it): it queues a copy whose idempotency key is derived from the original's
//! id, so however often it is asked for, one retry is queued per failed notification.

use axum::http::StatusCode;
use switchboard_twilio::rest::describe_code;

use crate::db::{self, notifications::Notification};
use crate::domain::states::NotificationStatus;
use crate::domain::{E164, text};
use crate::failure::Failure;
use crate::messaging::notifications::{NewSms, NotificationKind, Queued, queue_now};
use crate::state::AppState;

/// Longest text (Twilio's limit, 21617).
pub const MAX_SMS_CHARS: usize = 1600;

/// The error code of a send refused because the recipient opted out.
pub const OPTED_OUT: &str = "RECIPIENT_OPTED_OUT";

/// A text as given in `field`: not blank, at most [`MAX_SMS_CHARS`], no control characters a
/// phone cannot show; surrounding blanks trimmed, the sender's own spacing inside kept.
pub fn sms_text(field: &str, v: &str) -> Result<String, Failure> {
    if v.trim().is_empty() {
        return Err(Failure::invalid(field, "must not be empty"));
    }
    if v.chars().count() > MAX_SMS_CHARS {
        return Err(Failure::invalid(
            field,
            format!("must be at most {MAX_SMS_CHARS} characters"),
        ));
    }
    text::required(field, v, MAX_SMS_CHARS)?;
    Ok(v.trim().to_string())
}

/// Refuses (409 `RECIPIENT_OPTED_OUT`, naming `field`) a text to a number that opted out of the
/// tenant's texts with STOP. Twilio would refuse it too (21610), after it had been queued and
/// counted; this says so while the person who wrote it is still looking.
pub async fn refuse_opted_out(
    state: &AppState,
    tenant_id: &str,
    recipient: &E164,
    field: &str,
) -> Result<(), Failure> {
    if db::opt_outs::is_opted_out(&state.db, tenant_id, recipient.as_str()).await? {
        return Err(Failure::refused(
            StatusCode::CONFLICT,
            OPTED_OUT,
            describe_code(21610).unwrap_or("The recipient has opted out (STOP)."),
        )
        .with_field(field));
    }
    Ok(())
}

/// Queues a text the business wrote: refused when `sms.recipient` opted out (`recipient_field`
/// names the input that gave the number), else queued through the pipeline.
pub async fn send(state: &AppState, sms: NewSms, recipient_field: &str) -> Result<Queued, Failure> {
    refuse_opted_out(state, &sms.tenant_id, &sms.recipient, recipient_field).await?;
    queue_now(state, sms).await
}

/// Whether a notification may be retried: an SMS whose delivery ended in failure.
pub fn retryable(n: &Notification) -> bool {
    n.r#type == "SMS"
        && matches!(
            n.status,
            NotificationStatus::Failed | NotificationStatus::Undelivered
        )
}

/// A retry's answer: the failed notification and the one queued to replace it (`created` false when
/// an earlier retry of it was already queued; nothing new was).
#[derive(Debug, Clone)]
pub struct Retried {
    pub original: Notification,
    pub retry: Queued,
}

/// Queues the tenant's failed (or undelivered) SMS `id` again, as a new notification with the same
/// recipient, text, kind and links. Refused when it did not fail, is not an SMS, or the recipient has
/// opted out since; once per failed notification however often it is asked.
pub async fn retry(state: &AppState, tenant_id: &str, id: &str) -> Result<Retried, Failure> {
    let n = db::notifications::get_for_tenant(&state.db, tenant_id, id)
        .await?
        .ok_or_else(|| Failure::not_found("notification"))?;
    if !retryable(&n) {
        let why = if n.r#type != "SMS" {
            format!(
                "only SMS notifications can be retried; this one is {}",
                n.r#type
            )
        } else {
            format!(
                "only FAILED or UNDELIVERED notifications can be retried; this one is {}",
                n.status
            )
        };
        return Err(Failure::refused(StatusCode::CONFLICT, "NOT_RETRYABLE", why));
    }
    let recipient = E164::parse("recipient", &n.recipient)?;
    let mut metadata = n
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    metadata["retryOf"] = serde_json::Value::String(n.id.clone());
    let mut sms = NewSms::new(
        tenant_id,
        NotificationKind::parse(&n.kind).unwrap_or(NotificationKind::Api),
        recipient,
        n.message.clone(),
    );
    sms.related_appointment_id = n.related_appointment_id.clone();
    sms.related_call_sid = n.related_call_sid.clone();
    sms.staff_id = n.staff_id.clone();
    sms.idempotency_key = Some(retry_key(&n.id));
    sms.metadata = Some(metadata);
    let retry = send(state, sms, "recipient").await?;
    Ok(Retried { original: n, retry })
}

/// The idempotency key of the retry of notification `id`: one retry per failed notification.
pub fn retry_key(id: &str) -> String {
    format!("retry-of:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_checked_as_the_api_checks_them() {
        assert_eq!(sms_text("message", "  hi there ").unwrap(), "hi there");
        assert_eq!(
            sms_text("message", "   ").unwrap_err().field(),
            Some("message")
        );
        let long = "x".repeat(MAX_SMS_CHARS + 1);
        let e = sms_text("body", &long).unwrap_err();
        assert_eq!(e.field(), Some("body"));
        assert!(e.describe().contains("1600"), "{}", e.describe());
        assert!(sms_text("message", &"é".repeat(MAX_SMS_CHARS)).is_ok());
    }
}
