//! The message status callback (`StatusCallback` of every outbound SMS): moves the notification and
//! its message forward only — callbacks arrive out of order and twice — records error codes, and turns
//! 21610 (recipient replied STOP) and 30004 (blocked or opted out) into an opt-out.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use switchboard_twilio::twiml::MessagingResponse;

use crate::app::AppState;
use crate::db::{self, messages::MessageRow, notifications::Notification};
use crate::domain::{E164, new_id};
use crate::error::StoreError;
use crate::http::twilio_webhook::TwilioRequest;

/// The notification status a Twilio message status means, if it means one.
pub fn notification_status(twilio_status: &str) -> Option<&'static str> {
    match twilio_status {
        "sent" => Some("SENT"),
        "delivered" | "read" | "partially_delivered" => Some("DELIVERED"),
        "undelivered" => Some("UNDELIVERED"),
        "failed" | "canceled" => Some("FAILED"),
        _ => None,
    }
}

/// Applies a Twilio status to `n` if it moves it forward. Returns whether it changed.
pub fn apply_to_notification(
    n: &mut Notification,
    twilio_status: &str,
    error_code: Option<i64>,
    now: i64,
) -> bool {
    let Some(next) = notification_status(twilio_status) else {
        return false;
    };
    if db::notifications::rank(next) <= db::notifications::rank(&n.status) {
        return false;
    }
    n.status = next.to_string();
    n.updated_at = now;
    match next {
        "SENT" => {
            n.sent_at.get_or_insert(now);
        }
        "DELIVERED" => n.delivered_at = Some(now),
        _ => {
            if let Some(code) = error_code {
                n.error_code = Some(code);
                let reason = u32::try_from(code)
                    .ok()
                    .and_then(switchboard_twilio::rest::describe_code);
                n.failure_reason = Some(reason.map(str::to_string).unwrap_or_else(|| {
                    format!("Twilio reported {twilio_status} with error {code}")
                }));
            } else {
                n.failure_reason
                    .get_or_insert_with(|| format!("Twilio reported the message {twilio_status}"));
            }
        }
    }
    true
}

/// The event data describing a notification.
pub fn notification_data(n: &Notification) -> serde_json::Value {
    serde_json::json!({
        "notificationId": n.id, "kind": n.kind, "recipient": n.recipient, "status": n.status, "twilioSid": n.twilio_sid,
        "errorCode": n.error_code, "failureReason": n.failure_reason, "relatedAppointmentId": n.related_appointment_id,
        "relatedCallSid": n.related_call_sid,
    })
}

pub async fn status_callback(State(state): State<AppState>, req: TwilioRequest) -> Response {
    if let Err(e) = apply(&state, &req).await {
        tracing::error!(error = %e, "message status callback failed");
    }
    MessagingResponse::new().into_response()
}

async fn apply(state: &AppState, req: &TwilioRequest) -> Result<(), StoreError> {
    let sid = req.non_empty("MessageSid").or(req.non_empty("SmsSid"));
    let status = req
        .non_empty("MessageStatus")
        .or(req.non_empty("SmsStatus"))
        .map(str::to_ascii_lowercase);
    let (Some(sid), Some(status)) = (sid, status) else {
        tracing::warn!("message status callback without MessageSid or MessageStatus");
        return Ok(());
    };
    let error_code = req
        .non_empty("ErrorCode")
        .and_then(|c| c.parse::<i64>().ok());
    let now = state.clock.now_ms();
    let to = req.non_empty("To").unwrap_or("").to_string();
    let from = req.non_empty("From").unwrap_or("").to_string();

    if db::messages::get_by_sid(&state.db, sid).await?.is_some() {
        db::messages::record_status(&state.db, sid, &status, error_code, now).await?;
    } else {
        // The callback beat the sender's own write: keep the status on a message row the sender adopts.
        let tenant = match E164::parse("From", &from) {
            Ok(n) => db::tenants::get_by_number(&state.db, &n).await?,
            Err(_) => None,
        };
        let Some(tenant) = tenant else {
            tracing::warn!(sid, "status callback for a message of no known sender");
            return Ok(());
        };
        let row = MessageRow {
            id: new_id(),
            tenant_id: tenant.id,
            message_sid: Some(sid.to_string()),
            direction: "outbound".into(),
            customer: to.clone(),
            from_number: from.clone(),
            to_number: to.clone(),
            body: String::new(),
            num_media: 0,
            media_urls: "[]".into(),
            status: status.clone(),
            segments: 1,
            error_code,
            notification_id: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = state.db.begin().await?;
        let created = db::messages::insert_if_new(&mut tx, &row).await?;
        tx.commit().await?;
        if !created {
            db::messages::record_status(&state.db, sid, &status, error_code, now).await?;
        }
    }

    if let Some(mut n) = db::notifications::get_by_twilio_sid(&state.db, sid).await? {
        if apply_to_notification(&mut n, &status, error_code, now) {
            let mut tx = state.db.begin().await?;
            db::notifications::save_tx(&mut tx, &n).await?;
            let mut data = notification_data(&n);
            data["twilioStatus"] = serde_json::json!(status);
            crate::events::emit(
                state,
                &mut tx,
                Some(&n.tenant_id),
                "message.status",
                None,
                data,
            )
            .await?;
            if n.status == "FAILED" || n.status == "UNDELIVERED" {
                crate::events::emit(
                    state,
                    &mut tx,
                    Some(&n.tenant_id),
                    "notification.failed",
                    None,
                    notification_data(&n),
                )
                .await?;
            }
            tx.commit().await?;
        }
        if matches!(error_code, Some(21610) | Some(30004)) {
            let mut tx = state.db.begin().await?;
            db::opt_outs::add(
                &mut tx,
                &n.tenant_id,
                &n.recipient,
                &format!("twilio-{}", error_code.unwrap_or_default()),
                now,
            )
            .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(status: &str) -> Notification {
        Notification {
            id: "n".into(),
            tenant_id: "t".into(),
            r#type: "SMS".into(),
            recipient: "+14155550100".into(),
            message: "hi".into(),
            status: status.into(),
            kind: "api".into(),
            related_appointment_id: None,
            related_call_sid: None,
            staff_id: None,
            idempotency_key: None,
            twilio_sid: Some("SM1".into()),
            error_code: None,
            failure_reason: None,
            segments: 1,
            attempts: 1,
            sending_started_at: None,
            sent_at: None,
            delivered_at: None,
            scheduled_for: None,
            metadata: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn only_forward() {
        let mut x = n("SENT");
        assert!(apply_to_notification(&mut x, "delivered", None, 5));
        assert_eq!((x.status.as_str(), x.delivered_at), ("DELIVERED", Some(5)));
        assert!(
            !apply_to_notification(&mut x, "sent", None, 6),
            "late 'sent' is ignored"
        );
        assert!(
            !apply_to_notification(&mut x, "undelivered", Some(30003), 7),
            "no terminal replaces another"
        );
        let mut y = n("SENT");
        assert!(apply_to_notification(&mut y, "undelivered", Some(30003), 5));
        assert_eq!(y.error_code, Some(30003));
        assert!(y.failure_reason.is_some());
        assert!(!apply_to_notification(&mut n("SENT"), "queued", None, 1));
    }
}
