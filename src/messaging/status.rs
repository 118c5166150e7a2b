//! The message status callback (`StatusCallback` of every outbound SMS): moves the notification and
//! its message forward only — callbacks arrive out of order and twice — records error codes, and turns
//! 21610 (recipient replied STOP) and 30004 (blocked or opted out) into an opt-out.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use switchboard_twilio::twiml::MessagingResponse;

use crate::db::StoreError;
use crate::db::batch::{Batch, Keys};
use crate::db::writer::BatchUnit;
use crate::db::{messages::MessageRow, notifications::Notification};
use crate::domain::states::{MessageStatus, NotificationStatus};
use crate::domain::{E164, MessageSid, new_id};
use crate::state::AppState;
use crate::web::twilio_webhook::TwilioRequest;

/// Applies a Twilio status to `n` if it moves it forward. Returns whether it changed.
pub fn apply_to_notification(
    n: &mut Notification,
    twilio_status: MessageStatus,
    error_code: Option<i64>,
    now: i64,
) -> bool {
    let Some(next) = NotificationStatus::from_message(twilio_status) else {
        return false;
    };
    if !n.status.can_move_to(next) {
        return false;
    }
    n.status = next;
    n.updated_at = now;
    match next {
        NotificationStatus::Sent => {
            n.sent_at.get_or_insert(now);
        }
        NotificationStatus::Delivered => n.delivered_at = Some(now),
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
    let sid = req.message_sid();
    let status = req
        .non_empty("MessageStatus")
        .or(req.non_empty("SmsStatus"))
        .map(str::to_ascii_lowercase);
    let (Some(sid), Some(status)) = (sid, status) else {
        tracing::warn!("message status callback without MessageSid or MessageStatus");
        return Ok(());
    };
    let status = match MessageStatus::parse(&status) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%sid, error = %e, "message status callback");
            return Ok(());
        }
    };
    let error_code = req
        .non_empty("ErrorCode")
        .and_then(|c| c.parse::<i64>().ok());
    let from = req.non_empty("From").unwrap_or("").to_string();
    // The sender, for a callback that beats the sender's own write of the message (from the
    // routing cache, before the writer, whose time all webhooks share).
    let sender = match E164::parse("From", &from) {
        Ok(n) => state
            .routing
            .tenant_by_number(&state.db, state.clock.now_ms(), &n)
            .await?
            .map(|t| t.id.clone()),
        Err(_) => None,
    };
    let key = sid.to_string();
    let unit = StatusReport {
        state: state.clone(),
        sid,
        status,
        error_code,
        to: req.non_empty("To").unwrap_or("").to_string(),
        from,
        sender,
    };
    // Keyed by MessageSid: one message's callbacks meet on one writer, in order.
    if state.writer.apply(&key, unit).await? {
        // Relay deliveries of its events may be waiting.
        state.job_wakeup.notify_waiters();
    }
    Ok(())
}

/// One status callback's writes: the message moved forward (or stored, when the callback came
/// first), its notification moved forward with its events, and the opt-out a 21610 or 30004 means.
struct StatusReport {
    state: AppState,
    sid: MessageSid,
    status: MessageStatus,
    error_code: Option<i64>,
    to: String,
    from: String,
    /// The tenant owning `from`, if any.
    sender: Option<String>,
}

impl BatchUnit for StatusReport {
    /// Whether the notification moved (and events were queued).
    type Output = bool;

    fn keys(&self, keys: &mut Keys) {
        keys.message_sids.push(self.sid.clone());
        keys.notification_sids.push(self.sid.clone());
        keys.tenants.extend(self.sender.clone());
        keys.owners.extend(self.sender.clone());
    }

    fn apply(&self, batch: &mut Batch<'_>) -> Result<bool, StoreError> {
        let (state, sid, status) = (&self.state, &self.sid, self.status);
        let now = state.clock.now_ms();
        match batch.message_status(sid) {
            Some(current) => {
                if current.can_move_to(status) {
                    batch.move_message(sid, status, self.error_code, now);
                }
            }
            None => {
                // The callback beat the sender's own write: keep the status on a message row the
                // sender adopts.
                let Some(tenant_id) = self.sender.clone() else {
                    tracing::warn!(%sid, "status callback for a message of no known sender");
                    return Ok(false);
                };
                batch.add_message(MessageRow {
                    id: new_id(),
                    tenant_id,
                    message_sid: Some(sid.to_string()),
                    direction: "outbound".into(),
                    customer: self.to.clone(),
                    from_number: self.from.clone(),
                    to_number: self.to.clone(),
                    body: String::new(),
                    num_media: 0,
                    media_urls: "[]".into(),
                    status,
                    segments: 1,
                    error_code: self.error_code,
                    notification_id: None,
                    created_at: now,
                    updated_at: now,
                });
            }
        }
        let Some(mut n) = batch.notification_by_sid(sid) else {
            return Ok(false);
        };
        let moved = apply_to_notification(&mut n, status, self.error_code, now);
        if moved {
            batch.put_notification(n.clone());
            let mut data = notification_data(&n);
            data["twilioStatus"] = serde_json::json!(status);
            let tenant = Some(n.tenant_id.as_str());
            crate::events::emit_in(state, batch, tenant, "message.status", None, data);
            if matches!(
                n.status,
                NotificationStatus::Failed | NotificationStatus::Undelivered
            ) {
                let data = notification_data(&n);
                crate::events::emit_in(state, batch, tenant, "notification.failed", None, data);
            }
        }
        if let Some(code @ (21610 | 30004)) = self.error_code {
            batch.add_opt_out(&n.tenant_id, &n.recipient, &format!("twilio-{code}"), now);
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(status: NotificationStatus) -> Notification {
        Notification {
            id: "n".into(),
            tenant_id: "t".into(),
            r#type: "SMS".into(),
            recipient: "+14155550100".into(),
            message: "hi".into(),
            status,
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
        let mut x = n(NotificationStatus::Sent);
        assert!(apply_to_notification(
            &mut x,
            MessageStatus::Delivered,
            None,
            5
        ));
        assert_eq!((x.status.as_str(), x.delivered_at), ("DELIVERED", Some(5)));
        assert!(
            !apply_to_notification(&mut x, MessageStatus::Sent, None, 6),
            "late 'sent' is ignored"
        );
        assert!(
            !apply_to_notification(&mut x, MessageStatus::Undelivered, Some(30003), 7),
            "no terminal replaces another"
        );
        let mut y = n(NotificationStatus::Sent);
        assert!(apply_to_notification(
            &mut y,
            MessageStatus::Undelivered,
            Some(30003),
            5
        ));
        assert_eq!(y.error_code, Some(30003));
        assert!(y.failure_reason.is_some());
        assert!(!apply_to_notification(
            &mut n(NotificationStatus::Sent),
            MessageStatus::Queued,
            None,
            1
        ));
    }
}
