//! Twilio's recording callbacks: the recording status callback (stores the recording once per
//! RecordingSid; `completed` queues the processing job in the same transaction; `absent` and
//! `failed` are recorded and never processed) and the transcription callback (keeps Twilio's text for
//! the job, and brings a job that is waiting for it forward).
//!
//! Both are signed like every Twilio webhook, answer an empty `<Response/>`, and ignore callbacks
//! about calls Switchboard never logged (there is no tenant to file them under). Statuses only move
//! forward: once a recording is completed, absent or failed, a repeated or late callback is a no-op.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use switchboard_twilio::twiml::VoiceResponse;

use super::job_key;
use super::process::{ProcessJob, ProcessPayload};
use crate::calls::is_sid;
use crate::db::StoreError;
use crate::db::calls::Call;
use crate::db::recordings::{self as store, Recording};
use crate::db::{self, Tx};
use crate::domain::CallSid;
use crate::domain::new_id;
use crate::jobs::JobKind;
use crate::state::AppState;
use crate::web::error::ApiError;
use crate::web::twilio_webhook::TwilioRequest;

fn is_final(status: &str) -> bool {
    matches!(status, "completed" | "absent" | "failed")
}

/// Voicemail (a `<Record>`) or a recorded call, from Twilio's `RecordingSource`, else from the call.
fn kind_of(source: Option<&str>, call: &Call) -> &'static str {
    match source {
        Some(s) if s.eq_ignore_ascii_case("RecordVerb") => store::VOICEMAIL,
        Some(_) => store::CALL,
        None if call.voicemail || (call.direction == "inbound" && call.answered_at.is_none()) => {
            store::VOICEMAIL
        }
        None => store::CALL,
    }
}

fn number(req: &TwilioRequest, key: &str) -> Option<i64> {
    req.non_empty(key)
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v >= 0)
}

fn bounded(v: Option<&str>, max: usize) -> Option<String> {
    v.map(|s| s.chars().take(max).collect())
}

/// A fresh row for a recording first heard of now.
fn new_row(call: &Call, recording_sid: &str, source: Option<&str>, now: i64) -> Recording {
    Recording {
        id: new_id(),
        tenant_id: call.tenant_id.clone(),
        call_id: call.id.clone(),
        call_sid: call.call_sid.clone(),
        recording_sid: recording_sid.to_string(),
        kind: kind_of(source, call).into(),
        source: bounded(source, 64),
        status: "in-progress".into(),
        twilio_url: None,
        duration_seconds: None,
        channels: None,
        error_code: None,
        processing: store::WAITING.into(),
        processing_error: None,
        storage_key: None,
        content_type: None,
        size_bytes: None,
        twilio_transcript: None,
        twilio_transcript_status: None,
        completed_at: None,
        created_at: now,
        updated_at: now,
        handled_at: None,
    }
}

/// Writes `rec` (a new row or an update) and reports whether it was written: a new row that lost
/// an insert race to a concurrent duplicate callback is not.
async fn write(tx: &mut Tx, rec: &Recording, is_new: bool) -> Result<bool, StoreError> {
    if is_new {
        store::insert_if_new(tx, rec).await
    } else {
        store::save(tx, rec).await.map(|()| true)
    }
}

fn required_sid<'a>(req: &'a TwilioRequest, key: &str) -> Result<&'a str, ApiError> {
    req.non_empty(key)
        .filter(|s| is_sid(s))
        .ok_or_else(|| ApiError::validation(key, "is required and must be a Twilio SID"))
}

/// `POST /api/webhooks/twilio/recording-status` (and seed 003's `/api/twilio/recording-status`).
pub async fn recording_status(State(state): State<AppState>, req: TwilioRequest) -> Response {
    let call_sid = req
        .call_sid()
        .ok_or_else(|| ApiError::validation("CallSid", "is required and must be a Twilio SID"));
    let (recording_sid, call_sid) = match (required_sid(&req, "RecordingSid"), call_sid) {
        (Ok(r), Ok(c)) => (r, c),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    match apply_status(&state, &req, recording_sid, &call_sid).await {
        Ok(queued) => {
            if queued {
                state.job_wakeup.notify_waiters();
            }
            VoiceResponse::new().into_response()
        }
        Err(e) => ApiError::internal(format!("recording status callback: {e}")).into_response(),
    }
}

/// Returns whether the processing job was queued.
async fn apply_status(
    state: &AppState,
    req: &TwilioRequest,
    recording_sid: &str,
    call_sid: &CallSid,
) -> Result<bool, StoreError> {
    // Twilio's default (and only mandatory) event is `completed`.
    let status = req
        .non_empty("RecordingStatus")
        .unwrap_or("completed")
        .to_ascii_lowercase();
    let source = req.non_empty("RecordingSource");
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let Some(call) = db::calls::get_by_sid(&mut tx, call_sid).await? else {
        tracing::warn!(
            recording_sid,
            %call_sid,
            "recording of a call Switchboard never logged; ignored"
        );
        return Ok(false);
    };
    let existing = store::get_by_sid(&mut tx, recording_sid).await?;
    let is_new = existing.is_none();
    let mut rec = existing.unwrap_or_else(|| new_row(&call, recording_sid, source, now));
    if rec.tenant_id != call.tenant_id {
        tracing::warn!(
            recording_sid,
            %call_sid,
            "recording callback names another tenant's call; ignored"
        );
        return Ok(false);
    }
    if !is_new && is_final(&rec.status) {
        tracing::debug!(recording_sid, status, "repeated or late recording callback");
        return Ok(false);
    }
    if source.is_some() {
        rec.kind = kind_of(source, &call).into();
        rec.source = bounded(source, 64);
    }
    if let Some(url) = req.non_empty("RecordingUrl") {
        rec.twilio_url = bounded(Some(url), 2048);
    }
    rec.duration_seconds = number(req, "RecordingDuration").or(rec.duration_seconds);
    rec.channels = number(req, "RecordingChannels").or(rec.channels);
    rec.error_code = number(req, "ErrorCode")
        .filter(|c| *c != 0)
        .or(rec.error_code);
    rec.updated_at = now;
    let mut queue = false;
    match status.as_str() {
        "completed" => {
            rec.status = status.clone();
            rec.processing = store::PENDING.into();
            rec.completed_at = Some(now);
            queue = true;
        }
        "absent" | "failed" => {
            rec.status = status.clone();
            rec.processing = store::SKIPPED.into();
            rec.processing_error = Some(match rec.error_code {
                Some(code) => format!("Twilio reported the recording {status} (error {code})"),
                None => format!("Twilio reported the recording {status}"),
            });
        }
        // in-progress, paused, stopped, processing …: known, not ready.
        other => rec.status = other.chars().take(32).collect(),
    }
    if !write(&mut tx, &rec, is_new).await? {
        return Ok(false);
    }
    if queue {
        let job = ProcessJob::new_job(&ProcessPayload {
            recording_id: rec.id.clone(),
        })
        .tenant(rec.tenant_id.clone())
        .dedupe(job_key(recording_sid));
        state.enqueue(&mut tx, job).await?;
    }
    tx.commit().await?;
    tracing::info!(recording_sid, %call_sid, status, kind = %rec.kind, "recording status");
    Ok(queue)
}

/// `POST /api/webhooks/twilio/transcription`: Twilio's `transcribeCallback`.
pub async fn transcription(State(state): State<AppState>, req: TwilioRequest) -> Response {
    let recording_sid = match required_sid(&req, "RecordingSid") {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match apply_transcription(&state, &req, recording_sid).await {
        Ok(nudged) => {
            if nudged {
                state.job_wakeup.notify_waiters();
            }
            VoiceResponse::new().into_response()
        }
        Err(e) => ApiError::internal(format!("transcription callback: {e}")).into_response(),
    }
}

/// Returns whether a waiting processing job was brought forward.
async fn apply_transcription(
    state: &AppState,
    req: &TwilioRequest,
    recording_sid: &str,
) -> Result<bool, StoreError> {
    let status = req
        .non_empty("TranscriptionStatus")
        .unwrap_or("completed")
        .to_ascii_lowercase();
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let (mut rec, is_new) = match store::get_by_sid(&mut tx, recording_sid).await? {
        Some(r) => (r, false),
        None => {
            // The transcription overtook the recording status callback: file it under the call now.
            let call = match req.call_sid() {
                Some(sid) => db::calls::get_by_sid(&mut tx, &sid).await?,
                None => None,
            };
            let Some(call) = call else {
                tracing::warn!(
                    recording_sid,
                    "transcription of an unknown recording; ignored"
                );
                return Ok(false);
            };
            // Only `<Record transcribe>` produces these.
            let mut r = new_row(&call, recording_sid, Some("RecordVerb"), now);
            r.twilio_url = bounded(req.non_empty("RecordingUrl"), 2048);
            (r, true)
        }
    };
    if rec.twilio_transcript_status.is_some() {
        return Ok(false); // a repeat: the first one counts
    }
    rec.twilio_transcript_status = Some(status.chars().take(32).collect());
    if status == "completed" {
        rec.twilio_transcript = Some(super::transcribe::bounded(
            req.get("TranscriptionText").unwrap_or(""),
        ));
    }
    rec.updated_at = now;
    if !write(&mut tx, &rec, is_new).await? {
        return Ok(false);
    }
    let nudged = rec.processing == store::PENDING
        && store::nudge_job(&mut tx, &job_key(recording_sid), now).await?;
    tx.commit().await?;
    tracing::info!(recording_sid, status, "Twilio transcription");
    Ok(nudged)
}
