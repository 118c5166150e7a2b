//! Staff e-mail: a notification row of type EMAIL (QUEUED) and its `notification.email` job, written
//! in the caller's transaction like every other side effect, then delivered over SMTP with lettre.
//!
//! Only queued when `SMTP_URL` is configured. SMTP has no way to ask the server whether it already
//! took a message, so a crash between the server's acceptance and the row being marked SENT sends it
//! again on retry: e-mail is at-least-once, where SMS is exactly-once.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;

use crate::db::StoreError;
use crate::db::{self, Tx, notifications::Notification};
use crate::domain::new_id;
use crate::domain::states::NotificationStatus;
use crate::jobs::{Job, JobError, JobHandler, JobKind, RetryPolicy};
use crate::messaging::notifications::NotificationKind;
use crate::state::AppState;

/// Job kind that delivers one e-mail notification.
pub const SEND_EMAIL_JOB: &str = "notification.email";

/// `notification.email`: queued by [`queue`], run by [`SendEmail`].
pub struct EmailJob;

/// What an e-mail job carries: the notification, re-read when the job runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailPayload {
    pub notification_id: String,
}

impl JobKind for EmailJob {
    const KIND: &'static str = SEND_EMAIL_JOB;
    type Payload = EmailPayload;
}

/// An e-mail to queue.
#[derive(Debug, Clone)]
pub struct NewEmail {
    pub tenant_id: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub staff_id: Option<String>,
    pub related_call_sid: Option<String>,
    /// Queues once per tenant and key.
    pub idempotency_key: String,
}

/// Queues `email` inside `tx`. False when its idempotency key was already used (nothing new queued).
pub async fn queue(state: &AppState, tx: &mut Tx, email: NewEmail) -> Result<bool, StoreError> {
    let now = state.clock.now_ms();
    let n = Notification {
        id: new_id(),
        tenant_id: email.tenant_id,
        r#type: "EMAIL".into(),
        recipient: email.to,
        message: email.body,
        status: NotificationStatus::Queued,
        kind: NotificationKind::Staff.as_str().into(),
        related_appointment_id: None,
        related_call_sid: email.related_call_sid,
        staff_id: email.staff_id,
        idempotency_key: Some(email.idempotency_key),
        twilio_sid: None,
        error_code: None,
        failure_reason: None,
        segments: 0,
        attempts: 0,
        sending_started_at: None,
        sent_at: None,
        delivered_at: None,
        scheduled_for: None,
        metadata: Some(json!({ "subject": email.subject }).to_string()),
        created_at: now,
        updated_at: now,
    };
    if !db::notifications::insert(tx, &n).await? {
        return Ok(false);
    }
    let job = EmailJob::new_job(&EmailPayload {
        notification_id: n.id.clone(),
    })
    .tenant(n.tenant_id.clone())
    .dedupe(format!("notification:{}", n.id));
    state.enqueue(tx, job).await?;
    Ok(true)
}

/// Delivers one queued e-mail.
pub struct SendEmail;

#[async_trait::async_trait]
impl JobHandler<AppState> for SendEmail {
    fn kind(&self) -> &'static str {
        EmailJob::KIND
    }

    /// A mail server that is down for maintenance gets most of a day: 30 s doubling to 1 h.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 12,
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3600),
        }
    }

    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let payload = EmailJob::decode(job)?;
        let id = payload.notification_id.as_str();
        let Some(mut n) = db::notifications::get(&state.db, id)
            .await
            .map_err(store_err)?
        else {
            return Ok(()); // deleted with its tenant
        };
        if n.r#type != "EMAIL" || !n.status.is_pending() {
            return Ok(());
        }
        let last_attempt = job.attempts >= job.max_attempts;
        let message = match build(state, &n) {
            Ok(m) => m,
            Err(reason) => return fail(state, &mut n, &reason).await,
        };
        let Some(smtp) = &state.config.smtp else {
            return fail(state, &mut n, "SMTP is not configured (SMTP_URL)").await;
        };
        let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url) {
            Ok(b) => b.timeout(Some(Duration::from_secs(30))).build(),
            Err(e) => return fail(state, &mut n, &format!("SMTP_URL is unusable: {e}")).await,
        };
        n.status = NotificationStatus::Sending;
        n.attempts += 1;
        n.sending_started_at = Some(state.clock.now_ms());
        save(state, &mut n).await?;
        match transport.send(message).await {
            Ok(_) => {
                n.status = NotificationStatus::Sent;
                n.sent_at = Some(state.clock.now_ms());
                n.failure_reason = None;
                save(state, &mut n).await?;
                metrics::counter!("switchboard_notifications_total", "status" => NotificationStatus::Sent.as_str(), "type" => "EMAIL").increment(1);
                Ok(())
            }
            Err(e) if e.is_permanent() => {
                fail(state, &mut n, &format!("the mail server refused it: {e}")).await
            }
            Err(e) if last_attempt => {
                // Dead rather than done, so the give-up shows in the jobs list too.
                fail(state, &mut n, &format!("gave up: {e}")).await?;
                Err(JobError::permanent(e.to_string()))
            }
            Err(e) => {
                n.status = NotificationStatus::Queued;
                n.failure_reason = Some(truncate(&e.to_string()));
                save(state, &mut n).await?;
                Err(JobError::retryable(format!("SMTP: {e}")))
            }
        }
    }
}

fn build(state: &AppState, n: &Notification) -> Result<lettre::Message, String> {
    let from: Mailbox = state
        .config
        .smtp
        .as_ref()
        .map(|s| s.from.as_str())
        .unwrap_or("Switchboard <switchboard@localhost>")
        .parse()
        .map_err(|e| format!("SMTP_FROM is not an address: {e}"))?;
    let to: Mailbox = n
        .recipient
        .parse()
        .map_err(|e| format!("{:?} is not an e-mail address: {e}", n.recipient))?;
    let subject = n
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .and_then(|m| m["subject"].as_str().map(str::to_string))
        .unwrap_or_else(|| "Switchboard notification".into());
    lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(n.message.clone())
        .map_err(|e| format!("cannot build the message: {e}"))
}

fn truncate(s: &str) -> String {
    s.chars().take(500).collect()
}

fn store_err(e: StoreError) -> JobError {
    JobError::retryable(format!("database: {e}"))
}

async fn save(state: &AppState, n: &mut Notification) -> Result<(), JobError> {
    n.updated_at = state.clock.now_ms();
    db::notifications::save_alone(&state.db, n)
        .await
        .map_err(store_err)
}

/// Ends `n` FAILED with `reason`; the job itself is done (retrying cannot help).
async fn fail(state: &AppState, n: &mut Notification, reason: &str) -> Result<(), JobError> {
    n.status = NotificationStatus::Failed;
    n.failure_reason = Some(truncate(reason));
    save(state, n).await?;
    metrics::counter!("switchboard_notifications_total", "status" => NotificationStatus::Failed.as_str(), "type" => "EMAIL")
        .increment(1);
    tracing::warn!(notification = %n.id, reason, "e-mail notification failed");
    Ok(())
}
