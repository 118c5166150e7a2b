//! The `notification.send` job: delivers one queued SMS through Twilio, exactly once.
//!
//! Exactly once despite crashes: the row is marked SENDING (committed) *before* Twilio is called. A
//! run that finds a row still SENDING knows an earlier run may have reached Twilio, so it looks for
//! that message at Twilio (same To/From/body, created since the send began) and adopts it instead of
//! sending again. Twilio has no idempotency key for Messages (TWILIO_FACTS B2), so this reconciliation
//! is what stands between a crash and a double text.
//!
//! Failures: 429/5xx/timeouts retry with backoff (a timeout leaves the row SENDING, so the retry
//! reconciles first); permanent Twilio codes end FAILED with the code and a human reason; opted-out
//! recipients end FAILED without a Twilio call; the per-sender pace is kept by deferring the job.

use switchboard_twilio::rest::{ListMessages, SendMessage, TwilioError};

use super::{STATUS_PATH, pacing};
use crate::db::StoreError;
use crate::db::{self, messages::MessageRow, notifications::Notification};
use crate::domain::states::{MessageStatus, NotificationStatus};
use crate::domain::{MessageSid, new_id};
use crate::jobs::JobKind;
use crate::jobs::{Job, JobError, JobHandler, RetryPolicy};
use crate::messaging::send_job::SendJob;
use crate::state::AppState;

pub struct SendNotification;

#[async_trait::async_trait]
impl JobHandler<AppState> for SendNotification {
    fn kind(&self) -> &'static str {
        SendJob::KIND
    }

    /// About a day of retries: 5 s doubling to a 1 h cap over 30 attempts.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 30,
            base: std::time::Duration::from_secs(5),
            cap: std::time::Duration::from_secs(3600),
        }
    }

    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let payload = SendJob::decode(job)?;
        let id = payload.notification_id.as_str();
        let Some(n) = db::notifications::get(&state.db, id)
            .await
            .map_err(store_err)?
        else {
            return Ok(()); // deleted with its tenant
        };
        let last_attempt = job.attempts >= job.max_attempts;
        match deliver(state, n.clone(), last_attempt).await {
            Err(JobError::Retryable { message, .. }) if last_attempt => {
                let mut n = db::notifications::get(&state.db, id)
                    .await
                    .map_err(store_err)?
                    .unwrap_or(n);
                fail(
                    state,
                    &mut n,
                    None,
                    &format!("gave up after {} attempts: {message}", job.attempts),
                )
                .await?;
                Err(JobError::permanent(message))
            }
            other => other,
        }
    }
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

async fn fail(
    state: &AppState,
    n: &mut Notification,
    code: Option<u32>,
    reason: &str,
) -> Result<(), JobError> {
    n.status = NotificationStatus::Failed;
    n.error_code = code.map(i64::from);
    n.failure_reason = Some(reason.chars().take(500).collect());
    n.updated_at = state.clock.now_ms();
    // The failure and the event announcing it commit together.
    let mut tx = state.db.begin().await.map_err(store_err)?;
    db::notifications::save(&mut tx, n)
        .await
        .map_err(store_err)?;
    crate::events::emit(
        state,
        &mut tx,
        Some(&n.tenant_id),
        "notification.failed",
        None,
        super::status::notification_data(n),
    )
    .await
    .map_err(store_err)?;
    tx.commit().await.map_err(store_err)?;
    metrics::counter!("switchboard_notifications_total", "status" => NotificationStatus::Failed.as_str()).increment(1);
    tracing::warn!(notification = %n.id, code, reason, "notification failed");
    Ok(())
}

async fn deliver(
    state: &AppState,
    mut n: Notification,
    last_attempt: bool,
) -> Result<(), JobError> {
    if !n.status.is_pending() {
        return Ok(()); // already sent or failed: a repeated job
    }
    let Some(tenant) = db::tenants::get(&state.db, &n.tenant_id)
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    // Queued before the subscription ended (a reminder, a text-back): not sent on the shared
    // account now. A SENDING row may already be at Twilio, so it is reconciled below as usual.
    if n.status == NotificationStatus::Queued && tenant.subscription_status.has_ended() {
        let why = format!(
            "not sent: the business's subscription is {}",
            tenant.subscription_status.as_str()
        );
        fail(state, &mut n, None, &why).await?;
        return Ok(());
    }
    let Some(from) = tenant.twilio_number.as_ref().map(|n| n.to_string()) else {
        // The number may still be being provisioned: worth waiting for, up to the retry budget.
        if last_attempt {
            fail(
                state,
                &mut n,
                None,
                "the business has no phone number to send from",
            )
            .await?;
            return Ok(());
        }
        return Err(JobError::retryable("the business has no phone number yet"));
    };
    if db::opt_outs::is_opted_out(&state.db, &n.tenant_id, &n.recipient)
        .await
        .map_err(store_err)?
    {
        fail(state, &mut n, Some(21610), "The recipient has opted out (replied STOP); they must text START to receive messages again.").await?;
        return Ok(());
    }
    if n.status == NotificationStatus::Sending {
        match find_at_twilio(state, &n, &from).await {
            Ok(Some(sent)) => return record_sent(state, &mut n, &from, sent).await,
            Ok(None) => {} // never reached Twilio: send it now
            Err(e) => {
                return Err(JobError::retryable(format!(
                    "could not reconcile with Twilio: {e}"
                )));
            }
        }
    }
    let cost = pacing::cost_ms(n.segments, state.config.pacing.sms_segments_per_second);
    let now = state.clock.now_ms();
    if let Some(at) = pacing::reserve(&state.db, &from, now, cost)
        .await
        .map_err(store_err)?
    {
        return Err(JobError::Deferred {
            until: at,
            message: format!("sender {from} busy until its next slot"),
        });
    }
    n.status = NotificationStatus::Sending;
    n.sending_started_at = Some(now);
    n.attempts += 1;
    save(state, &mut n).await?;

    let msg = SendMessage {
        to: n.recipient.clone(),
        from: Some(from.clone()),
        body: Some(n.message.clone()),
        status_callback: Some(format!(
            "{}{STATUS_PATH}",
            state.config.server.app_url.as_str().trim_end_matches('/')
        )),
        ..Default::default()
    };
    match state.twilio.client.send_message(&msg).await {
        Ok(sent) => record_sent(state, &mut n, &from, sent).await,
        Err(e) if e.may_have_been_processed() => {
            // Stay SENDING: the next run reconciles before it would send again.
            Err(retry(&e))
        }
        Err(e) if e.is_retryable() => {
            n.status = NotificationStatus::Queued;
            save(state, &mut n).await?;
            Err(retry(&e))
        }
        Err(e) => {
            let code = e.twilio_code();
            fail(state, &mut n, code, &e.human_reason()).await?;
            if code == Some(21610) {
                add_opt_out(state, &n.tenant_id, &n.recipient, "twilio-21610").await?;
            }
            Ok(())
        }
    }
}

fn retry(e: &TwilioError) -> JobError {
    JobError::Retryable {
        message: e.to_string(),
        retry_after: e.retry_after(),
    }
}

pub(crate) async fn add_opt_out(
    state: &AppState,
    tenant_id: &str,
    phone: &str,
    source: &str,
) -> Result<(), JobError> {
    let mut tx = state.db.begin().await.map_err(store_err)?;
    db::opt_outs::add(&mut tx, tenant_id, phone, source, state.clock.now_ms())
        .await
        .map_err(store_err)?;
    tx.commit().await.map_err(store_err)
}

/// The message an earlier, interrupted run sent, if Twilio has it: same To/From/body, created no
/// earlier than a minute before that run began (clock skew).
async fn find_at_twilio(
    state: &AppState,
    n: &Notification,
    from: &str,
) -> Result<Option<switchboard_twilio::rest::Message>, TwilioError> {
    let since = n.sending_started_at.unwrap_or(n.created_at) - 60_000;
    let page = state
        .twilio
        .client
        .list_messages(&ListMessages {
            to: Some(n.recipient.clone()),
            from: Some(from.to_string()),
            page_size: Some(100),
            ..Default::default()
        })
        .await?;
    Ok(page.messages.into_iter().find(|m| {
        m.body.as_deref() == Some(n.message.as_str())
            && m.created_at()
                .map(|t| t.as_millisecond() >= since)
                .unwrap_or(true)
    }))
}

/// Marks the notification SENT with Twilio's SID and records the outbound message in its thread.
///
/// Order matters because Twilio's status callbacks race this function: the notification is saved with
/// its SID first (so a callback arriving from now on finds it), then the message row is written (or,
/// if a callback already created it, adopted), and finally any status a callback left on the message
/// row before the notification had its SID is applied.
async fn record_sent(
    state: &AppState,
    n: &mut Notification,
    from: &str,
    sent: switchboard_twilio::rest::Message,
) -> Result<(), JobError> {
    let now = state.clock.now_ms();
    // Twilio's own (authenticated) answer names the message: taken as it is.
    let sid =
        sent.sid.clone().map(MessageSid::stored).ok_or_else(|| {
            JobError::retryable("Twilio accepted the message but returned no SID")
        })?;
    n.status = NotificationStatus::Sent;
    n.twilio_sid = Some(sid.to_string());
    n.sent_at = Some(now);
    if let Some(s) = sent.segments() {
        n.segments = i64::from(s);
    }

    // A status Twilio does not document is kept as `queued`, which any callback moves on from.
    let twilio_status = sent
        .status
        .as_ref()
        .and_then(|s| {
            MessageStatus::parse(s.as_str())
                .inspect_err(|e| tracing::warn!(%sid, error = %e, "message created"))
                .ok()
        })
        .unwrap_or(MessageStatus::Queued);
    let row = MessageRow {
        id: new_id(),
        tenant_id: n.tenant_id.clone(),
        message_sid: Some(sid.to_string()),
        direction: "outbound".into(),
        customer: n.recipient.clone(),
        from_number: from.to_string(),
        to_number: n.recipient.clone(),
        body: n.message.clone(),
        num_media: 0,
        media_urls: "[]".into(),
        status: twilio_status,
        segments: n.segments,
        error_code: None,
        notification_id: Some(n.id.clone()),
        created_at: now,
        updated_at: now,
    };
    // The notification's SENT and its message row in one transaction: one write instead of two,
    // and no moment where one exists without the other.
    let mut tx = state.db.begin().await.map_err(store_err)?;
    db::notifications::save(&mut tx, n)
        .await
        .map_err(store_err)?;
    let created = db::messages::insert_if_new(&mut tx, &row)
        .await
        .map_err(store_err)?;
    tx.commit().await.map_err(store_err)?;
    metrics::counter!("switchboard_notifications_total", "status" => NotificationStatus::Sent.as_str()).increment(1);
    if !created {
        db::messages::attach_notification(&state.db, &sid, &n.id, &n.message, n.segments, now)
            .await
            .map_err(store_err)?;
    }
    if let Some(m) = db::messages::get_by_sid(&state.db, &sid)
        .await
        .map_err(store_err)?
        && let Some(mut fresh) = db::notifications::get(&state.db, &n.id)
            .await
            .map_err(store_err)?
        && super::status::apply_to_notification(&mut fresh, m.status, m.error_code, now)
    {
        db::notifications::save_alone(&state.db, &fresh)
            .await
            .map_err(store_err)?;
        // A callback that arrived before the SID was saved could not record the opt-out it implies.
        if matches!(fresh.error_code, Some(21610) | Some(30004)) {
            add_opt_out(
                state,
                &fresh.tenant_id,
                &fresh.recipient,
                &format!("twilio-{}", fresh.error_code.unwrap_or_default()),
            )
            .await?;
        }
        *n = fresh;
    }
    Ok(())
}
