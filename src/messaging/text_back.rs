//! The missed-call text-back (seed 004): when nobody answered, the caller gets a text from the
//! business. The voice flow enqueues `sms.missed_call_text_back` with the call; this handler turns it
//! into a notification (so it is delivered, retried and tracked like every other SMS).

use crate::calls::MISSED_CALL_TEXT_BACK;
use crate::db;
use crate::domain::E164;
use crate::jobs::{Job, JobError, JobHandler};
use crate::messaging::notifications::{NewSms, NotificationKind, queue};
use crate::state::AppState;

pub const DEFAULT_TEXT: &str = "Sorry we missed your call at {name}! We'll call you back as soon as we can. You can also reply to this text.";

pub struct MissedCallTextBack;

#[async_trait::async_trait]
impl JobHandler<AppState> for MissedCallTextBack {
    fn kind(&self) -> &'static str {
        MISSED_CALL_TEXT_BACK
    }

    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let payload: serde_json::Value = serde_json::from_str(&job.payload)
            .map_err(|e| JobError::permanent(format!("bad payload: {e}")))?;
        let (Some(tenant_id), Some(call_sid), Some(to)) = (
            payload["tenantId"].as_str(),
            payload["callSid"].as_str(),
            payload["to"].as_str(),
        ) else {
            return Err(JobError::permanent(
                "payload needs tenantId, callSid and to",
            ));
        };
        let db_err = |e: crate::db::StoreError| JobError::retryable(format!("database: {e}"));
        let Some(tenant) = db::tenants::get(&state.db, tenant_id)
            .await
            .map_err(db_err)?
        else {
            return Ok(());
        };
        if !tenant.messaging.missed_call_text_back {
            return Ok(());
        }
        let Ok(recipient) = E164::parse("to", to) else {
            return Ok(());
        };
        let template = tenant
            .templates
            .missed_call_text_back
            .as_deref()
            .unwrap_or(DEFAULT_TEXT);
        let text = crate::domain::template::fill(template, &[("{name}", Some(&tenant.name))]);
        let mut sms = NewSms::new(
            &tenant.id,
            NotificationKind::MissedCallTextBack,
            recipient,
            text,
        );
        sms.related_call_sid = Some(call_sid.to_string());
        // One text per call, even if this job runs twice.
        sms.idempotency_key = Some(format!("missed-call-text-back:{call_sid}"));
        let mut tx = state.db.begin().await.map_err(db_err)?;
        queue(state, &mut tx, sms).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }
}
