//! The missed-call text-back (seed 004): when nobody answered, the caller gets a text from the
//! business. The voice flow enqueues `sms.missed_call_text_back` with the call; this handler turns it
//! into a notification (so it is delivered, retried and tracked like every other SMS).

use serde::{Deserialize, Serialize};

use crate::db;
use crate::domain::E164;
use crate::jobs::{Job, JobError, JobHandler, JobKind};
use crate::messaging::notifications::{NewSms, NotificationKind, queue};
use crate::state::AppState;

pub const DEFAULT_TEXT: &str = "Sorry we missed your call at {name}! We'll call you back as soon as we can. You can also reply to this text.";

/// Job kind of the missed-call text-back SMS (queued by the voice flow, run here).
pub const MISSED_CALL_TEXT_BACK: &str = "sms.missed_call_text_back";

/// What a text-back job carries: the tenant, the missed call and the caller to text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextBackPayload {
    pub tenant_id: String,
    pub call_sid: String,
    /// The caller's number, as Twilio gave it (checked as E.164 when the job runs).
    pub to: String,
}

pub struct MissedCallTextBack;

impl JobKind for MissedCallTextBack {
    const KIND: &'static str = MISSED_CALL_TEXT_BACK;
    type Payload = TextBackPayload;
}

#[async_trait::async_trait]
impl JobHandler<AppState> for MissedCallTextBack {
    fn kind(&self) -> &'static str {
        <Self as JobKind>::KIND
    }

    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let payload = <Self as JobKind>::decode(job)?;
        let (tenant_id, call_sid, to) = (
            payload.tenant_id.as_str(),
            payload.call_sid.as_str(),
            payload.to.as_str(),
        );
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
        let text = crate::domain::template::fill_business_name(template, &tenant.name);
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
