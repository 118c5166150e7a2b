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
use crate::db::batch::{Batch, Keys};
use crate::db::writer::BatchUnit;
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
        let last_attempt = job.attempts >= job.max_attempts;
        let outcome = match start_queued(state, job, id).await? {
            Some(Begun::Sending(n, from)) => send_now(state, *n, from).await,
            Some(Begun::Done) => Ok(()),
            None => match db::notifications::get(&state.db, id)
                .await
                .map_err(store_err)?
            {
                Some(n) => deliver(state, n, last_attempt).await,
                None => return Ok(()), // deleted with its tenant
            },
        };
        match outcome {
            Err(JobError::Retryable { message, .. }) if last_attempt => {
                if let Some(mut n) = db::notifications::get(&state.db, id)
                    .await
                    .map_err(store_err)?
                {
                    fail(
                        state,
                        &mut n,
                        None,
                        &format!("gave up after {} attempts: {message}", job.attempts),
                    )
                    .await?;
                }
                Err(JobError::permanent(message))
            }
            other => other,
        }
    }
}

/// How [`start_queued`] left the notification.
enum Begun {
    /// Marked SENDING: call Twilio now, from this number.
    Sending(Box<Notification>, String),
    /// Nothing to send (finished already, or failed because the recipient opted out).
    Done,
}

/// The common case in one write: a QUEUED notification of a tenant that may send, with no pace
/// to keep, is read, checked against opt-outs and marked SENDING by one group-commit unit, so a
/// drain of many makes no statements of its own before Twilio is called. `None` when any of that
/// does not hold: [`deliver`] then takes the notification through every check one by one.
async fn start_queued(state: &AppState, job: &Job, id: &str) -> Result<Option<Begun>, JobError> {
    let paced = state.config.pacing.sms_segments_per_second > 0.0;
    let Some(tenant_id) = job.tenant_id.as_deref().filter(|_| !paced) else {
        return Ok(None);
    };
    let now = state.clock.now_ms();
    let Some(tenant) = state
        .routing
        .tenant(&state.db, now, tenant_id)
        .await
        .map_err(store_err)?
    else {
        return Ok(None);
    };
    let Some(from) = tenant.twilio_number.as_ref().map(|n| n.to_string()) else {
        return Ok(None);
    };
    if tenant.subscription_status.has_ended() {
        return Ok(None);
    }
    let start = StartSending {
        id: id.to_string(),
        tenant_id: Some(tenant_id.to_string()),
        now,
    };
    Ok(
        match state.writer.apply(id, start).await.map_err(store_err)? {
            Started::Sending(n) => Some(Begun::Sending(n, from)),
            Started::OptedOut(mut n) => {
                opted_out(state, &mut n).await?;
                Some(Begun::Done)
            }
            Started::Finished => Some(Begun::Done),
            Started::NotQueued => None,
        },
    )
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
    let now = state.clock.now_ms();
    let Some(tenant) = state
        .routing
        .tenant(&state.db, now, &n.tenant_id)
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
    let cost = pacing::cost_ms(n.segments, state.config.pacing.sms_segments_per_second);
    // Checked before a reconciliation or a paced slot is spent on it; otherwise inside
    // `StartSending`, in the same transaction that marks the row SENDING.
    if (n.status == NotificationStatus::Sending || cost > 0)
        && db::opt_outs::is_opted_out(&state.db, &n.tenant_id, &n.recipient)
            .await
            .map_err(store_err)?
    {
        return opted_out(state, &mut n).await;
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
    if let Some(at) = pacing::reserve(&state.db, &from, now, cost)
        .await
        .map_err(store_err)?
    {
        return Err(JobError::Deferred {
            until: at,
            message: format!("sender {from} busy until its next slot"),
        });
    }
    let start = StartSending {
        id: n.id.clone(),
        tenant_id: None,
        now,
    };
    match state.writer.apply(&n.id, start).await.map_err(store_err)? {
        Started::Sending(n) => send_now(state, *n, from).await,
        Started::OptedOut(mut n) => opted_out(state, &mut n).await,
        Started::Finished | Started::NotQueued => Ok(()),
    }
}

/// Calls Twilio for a notification marked SENDING and records what it answered.
async fn send_now(state: &AppState, mut n: Notification, from: String) -> Result<(), JobError> {
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
    // and no moment where one exists without the other. Keyed by the SID, like the message's
    // status callbacks, so they and this write queue on one writer in the order they came.
    let unit = RecordSent {
        notification: n.clone(),
        row,
        now,
    };
    *n = state
        .writer
        .apply(sid.as_str(), unit)
        .await
        .map_err(store_err)?;
    metrics::counter!("switchboard_notifications_total", "status" => NotificationStatus::Sent.as_str()).increment(1);
    Ok(())
}

async fn opted_out(state: &AppState, n: &mut Notification) -> Result<(), JobError> {
    fail(state, n, Some(21610), "The recipient has opted out (replied STOP); they must text START to receive messages again.").await
}

/// What [`StartSending`] found.
enum Started {
    /// Marked SENDING (committed once the unit's batch is): send it now.
    Sending(Box<Notification>),
    /// The recipient has opted out: nothing was written.
    OptedOut(Box<Notification>),
    /// Sent, failed or deleted meanwhile: nothing to do.
    Finished,
    /// Asked to start only a QUEUED notification of a given tenant, and this one is not (it is
    /// SENDING, to be reconciled first, or of another tenant): nothing was written.
    NotQueued,
}

/// Marks a notification SENDING before Twilio is called (see the module header), after checking,
/// in the same transaction, that its recipient has not opted out (the batch loads the opt-out of
/// every notification it loads by id). A group-commit unit, so the many sends a drain runs at once
/// share a transaction (see `db::writer`).
struct StartSending {
    id: String,
    /// Start only a QUEUED notification of this tenant (the fast path, which has not read it yet).
    tenant_id: Option<String>,
    now: i64,
}

impl BatchUnit for StartSending {
    type Output = Started;

    fn keys(&self, keys: &mut Keys) {
        keys.notification_ids.push(self.id.clone());
    }

    fn apply(&self, batch: &mut Batch<'_>) -> Result<Started, StoreError> {
        let Some(mut n) = batch.notification(&self.id) else {
            return Ok(Started::Finished);
        };
        if !n.status.is_pending() {
            return Ok(Started::Finished);
        }
        if let Some(tenant) = &self.tenant_id
            && (n.status != NotificationStatus::Queued || &n.tenant_id != tenant)
        {
            return Ok(Started::NotQueued);
        }
        if batch.opted_out(&n.tenant_id, &n.recipient) {
            return Ok(Started::OptedOut(Box::new(n)));
        }
        n.status = NotificationStatus::Sending;
        n.sending_started_at = Some(self.now);
        n.attempts += 1;
        n.updated_at = self.now;
        batch.put_notification(n.clone());
        Ok(Started::Sending(Box::new(n)))
    }
}

/// The notification SENT with its SID, and its outbound message row. Twilio's status callbacks
/// race this write: one that came first stored the message row (with its status) but could not
/// find the notification, so here that row is given the notification's text and its status is
/// applied to the notification, with the opt-out a 21610 or 30004 means. Output: the notification
/// as stored.
struct RecordSent {
    notification: Notification,
    row: MessageRow,
    now: i64,
}

impl BatchUnit for RecordSent {
    type Output = Notification;

    fn keys(&self, keys: &mut Keys) {
        keys.message_sids
            .extend(self.row.message_sid.clone().map(MessageSid::stored));
        keys.owners.push(self.row.tenant_id.clone());
    }

    fn apply(&self, batch: &mut Batch<'_>) -> Result<Notification, StoreError> {
        let mut n = self.notification.clone();
        let sid = self.row.message_sid.clone().map(MessageSid::stored);
        // A row stored under this SID for another tenant is not this send's: it is neither
        // adopted nor read, and this send gets its own row.
        match sid.filter(|sid| batch.attach_message(sid, &n, self.now)) {
            None => batch.add_message(self.row.clone()),
            Some(sid) => {
                let code = batch.message_error_code(&sid);
                if let Some(status) = batch.message_status(&sid)
                    && super::status::apply_to_notification(&mut n, status, code, self.now)
                    && let Some(code @ (21610 | 30004)) = n.error_code
                {
                    let source = format!("twilio-{code}");
                    batch.add_opt_out(&n.tenant_id, &n.recipient, &source, self.now);
                }
            }
        }
        batch.put_notification(n.clone());
        Ok(n)
    }
}
