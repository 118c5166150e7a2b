//! Queueing notifications: the one way any feature asks for an SMS to be sent.
//!
//! [`queue`] writes the notification row (QUEUED, segments counted) and its `notification.send` job in
//! the caller's transaction, so the request that asked for the text and the promise to send it commit
//! together or not at all. Delivery is the worker's job (`crate::messaging::sender`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::db::StoreError;
use crate::db::{self, Tx, notifications::Notification};
use crate::domain::states::NotificationStatus;
use crate::domain::{E164, new_id};
use crate::failure::Failure;
use crate::jobs::JobKind;
use crate::messaging::send_job::{SendJob, SendPayload};
use crate::state::AppState;

pub use super::send_job::SEND_JOB;

/// What produced a notification (its `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// Sent through the send APIs.
    Api,
    /// To a staff member.
    Staff,
    AppointmentConfirmation,
    AppointmentReminder,
    MissedCallTextBack,
    /// Sent by another service through the internal API.
    Internal,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Api => "api",
            NotificationKind::Staff => "staff",
            NotificationKind::AppointmentConfirmation => "appointment_confirmation",
            NotificationKind::AppointmentReminder => "appointment_reminder",
            NotificationKind::MissedCallTextBack => "missed_call_text_back",
            NotificationKind::Internal => "internal",
        }
    }

    /// The kind stored as `s` (its `kind` column).
    pub fn parse(s: &str) -> Option<Self> {
        [
            NotificationKind::Api,
            NotificationKind::Staff,
            NotificationKind::AppointmentConfirmation,
            NotificationKind::AppointmentReminder,
            NotificationKind::MissedCallTextBack,
            NotificationKind::Internal,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// An SMS to queue.
#[derive(Debug, Clone)]
pub struct NewSms {
    pub tenant_id: String,
    pub kind: NotificationKind,
    pub recipient: E164,
    /// 1-1600 characters (checked by the caller's validation).
    pub message: String,
    pub related_appointment_id: Option<String>,
    pub related_call_sid: Option<String>,
    pub staff_id: Option<String>,
    /// The same key twice for one tenant queues once (the `Idempotency-Key` header, or a feature's own key).
    pub idempotency_key: Option<String>,
    /// JSON kept with the notification (seed 003's `metadata` and `userId`).
    pub metadata: Option<serde_json::Value>,
    /// Send no earlier than this instant (epoch ms); `None` = now.
    pub send_at: Option<i64>,
}

impl NewSms {
    pub fn new(
        tenant_id: impl Into<String>,
        kind: NotificationKind,
        recipient: E164,
        message: impl Into<String>,
    ) -> Self {
        NewSms {
            tenant_id: tenant_id.into(),
            kind,
            recipient,
            message: message.into(),
            related_appointment_id: None,
            related_call_sid: None,
            staff_id: None,
            idempotency_key: None,
            metadata: None,
            send_at: None,
        }
    }
}

/// The queued notification, and whether this call created it (false: an idempotent repeat).
#[derive(Debug, Clone)]
pub struct Queued {
    pub notification: Notification,
    pub created: bool,
}

/// Queues `sms` inside `tx`. With an idempotency key already used by the tenant, returns the existing
/// notification instead of queueing another.
pub async fn queue(state: &AppState, tx: &mut Tx, sms: NewSms) -> Result<Queued, StoreError> {
    let now = state.clock.now_ms();
    let n = Notification {
        id: new_id(),
        tenant_id: sms.tenant_id.clone(),
        r#type: "SMS".into(),
        recipient: sms.recipient.to_string(),
        segments: i64::from(switchboard_twilio::segments::count(&sms.message)),
        message: sms.message,
        status: NotificationStatus::Queued,
        kind: sms.kind.as_str().into(),
        related_appointment_id: sms.related_appointment_id,
        related_call_sid: sms.related_call_sid,
        staff_id: sms.staff_id,
        idempotency_key: sms.idempotency_key.clone(),
        twilio_sid: None,
        error_code: None,
        failure_reason: None,
        attempts: 0,
        sending_started_at: None,
        sent_at: None,
        delivered_at: None,
        scheduled_for: sms.send_at,
        metadata: sms.metadata.map(|m| m.to_string()),
        created_at: now,
        updated_at: now,
    };
    if !db::notifications::insert(tx, &n).await? {
        let key = sms.idempotency_key.unwrap_or_default();
        let existing = db::notifications::get_by_key(tx, &sms.tenant_id, &key)
            .await?
            .ok_or(StoreError::NotFound)?;
        return Ok(Queued {
            notification: existing,
            created: false,
        });
    }
    let payload = SendPayload {
        notification_id: n.id.clone(),
    };
    let mut job = SendJob::new_job(&payload)
        .tenant(n.tenant_id.clone())
        .dedupe(format!("notification:{}", n.id));
    if let Some(at) = n.scheduled_for {
        job = job.at(at);
    }
    state.enqueue(tx, job).await?;
    Ok(Queued {
        notification: n,
        created: true,
    })
}

/// Queues `sms` in a transaction of its own and wakes the local workers.
pub async fn queue_now(state: &AppState, sms: NewSms) -> Result<Queued, Failure> {
    let tenant = db::tenants::get(&state.db, &sms.tenant_id)
        .await?
        .ok_or_else(|| Failure::not_found("tenant"))?;
    crate::tenants::manage::ensure_may_send(&tenant)?;
    let mut tx = state.db.begin().await?;
    let q = queue(state, &mut tx, sms).await?;
    tx.commit().await?;
    state.job_wakeup.notify_waiters();
    Ok(q)
}

/// A notification as the API shows it (seed 000's fields, camelCase, plus delivery details).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationView {
    pub id: String,
    pub tenant_id: String,
    /// SMS or EMAIL.
    pub r#type: String,
    pub recipient: String,
    pub message: String,
    /// QUEUED, SENDING, SENT, DELIVERED, UNDELIVERED or FAILED.
    pub status: String,
    pub kind: String,
    pub related_appointment_id: Option<String>,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    pub failure_reason: Option<String>,
    pub error_code: Option<i64>,
    pub twilio_sid: Option<String>,
    pub segments: i64,
    pub attempts: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        NotificationView {
            id: n.id.clone(),
            tenant_id: n.tenant_id.clone(),
            r#type: n.r#type.clone(),
            recipient: n.recipient.clone(),
            message: n.message.clone(),
            status: n.status.to_string(),
            kind: n.kind.clone(),
            related_appointment_id: n.related_appointment_id.clone(),
            sent_at: n.sent_at.map(rfc3339),
            delivered_at: n.delivered_at.map(rfc3339),
            failure_reason: n.failure_reason.clone(),
            error_code: n.error_code,
            twilio_sid: n.twilio_sid.clone(),
            segments: n.segments,
            attempts: n.attempts,
            created_at: rfc3339(n.created_at),
            updated_at: rfc3339(n.updated_at),
        }
    }
}
