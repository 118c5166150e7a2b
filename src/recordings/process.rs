//! The `recording.process` job: download → store → transcribe → analyse → record → notify.
//!
//! Each run re-reads the recording and picks up where the last one stopped: the media is downloaded
//! once (the row keeps where it is stored), and the final step writes the transcription row, the
//! call's `recordingUrl`/`notes`/`callReason`, the recording's `done` mark and the staff notifications
//! in one transaction, so a crash anywhere before it repeats only idempotent work, and one after it
//! finds the recording done.
//!
//! Twilio can answer 404 for a recording's media for a short while after the callback (TWILIO_FACTS
//! B9); the REST client calls that permanent, so this job treats it as "not yet" and retries with
//! the job's backoff for up to [`MEDIA_GRACE_MS`] after the recording completed. Past that (or on any
//! other permanent download error) it carries on without the audio: staff still hear about the
//! voicemail, and the error is kept on the recording.

use std::time::Duration;

use axum::body::Bytes;
use serde_json::json;
use switchboard_twilio::rest::{MediaFormat, TwilioError};

use super::analyse::{self, Analysis};
use super::email::{self, NewEmail};
use super::media_url;
use super::storage::{self, MediaStore};
use super::transcribe::{self, ApiFailure, Transcript, TwilioText};
use crate::clock::rfc3339;
use crate::config::TranscriptionProvider;
use crate::db::StoreError;
use crate::db::calls::Call;
use crate::db::recordings::{self as store, Recording, Transcription};
use crate::db::staff::Staff;
use crate::db::tenants::Tenant;
use crate::db::{self, Tx};
use crate::domain::{CallSid, new_id};
use crate::jobs::{Job, JobError, JobHandler, JobKind, RetryPolicy};
use crate::messaging::notifications::{self, NewSms, NotificationKind};
use crate::state::AppState;

/// How long after completion a media 404 still counts as "not ready yet".
pub const MEDIA_GRACE_MS: i64 = 10 * 60_000;

/// Job kind that processes one completed recording.
pub const PROCESS_JOB: &str = "recording.process";

/// `recording.process`: fetch, store, transcribe and analyse one completed recording; queued by the
/// recording and transcription callbacks, run by [`ProcessRecording`].
pub struct ProcessJob;

/// What a processing job carries: the recording row, re-read when the job runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessPayload {
    pub recording_id: String,
}

impl JobKind for ProcessJob {
    const KIND: &'static str = PROCESS_JOB;
    type Payload = ProcessPayload;
}

pub struct ProcessRecording;

#[async_trait::async_trait]
impl JobHandler<AppState> for ProcessRecording {
    fn kind(&self) -> &'static str {
        ProcessJob::KIND
    }

    /// 2 s doubling to 10 min over 12 attempts: quick for Twilio's brief media 404, patient with a
    /// transcription API that is down.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 12,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(600),
        }
    }

    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let payload = ProcessJob::decode(job)?;
        process(
            state,
            &payload.recording_id,
            job.attempts >= job.max_attempts,
        )
        .await
    }
}

fn store_err(e: StoreError) -> JobError {
    JobError::retryable(format!("database: {e}"))
}

fn io_err(e: std::io::Error) -> JobError {
    JobError::retryable(format!("recording storage: {e}"))
}

async fn process(state: &AppState, id: &str, last_attempt: bool) -> Result<(), JobError> {
    let Some(mut rec) = store::get(&state.db, id).await.map_err(store_err)? else {
        return Ok(()); // deleted with its tenant
    };
    if rec.processing != store::PENDING {
        return Ok(()); // already processed: a repeated job
    }
    let Some(tenant) = db::tenants::get(&state.db, &rec.tenant_id)
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    let media = storage::from_config(&state.config);
    let (audio, media_error) = fetch_media(state, &mut rec, media.as_ref(), last_attempt).await?;
    let transcript = transcribe(state, &rec, media.as_ref(), audio, last_attempt).await?;
    let Some(call) = db::calls::get_by_sid(&state.db, &CallSid::stored(rec.call_sid.clone()))
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    let analysis = analyse::analyse(
        &state.clients.media,
        state.config.recordings.analysis.as_ref(),
        &tenant.name,
        &call.from_number,
        &transcript.text,
        rec.duration_seconds,
        &tenant.routing_policy.reason_keywords,
    )
    .await;
    let staff = db::staff::list(&state.db, &tenant.id)
        .await
        .map_err(store_err)?;
    finish(
        state,
        &tenant,
        rec,
        &staff,
        &transcript,
        &analysis,
        media_error,
    )
    .await?;
    state.job_wakeup.notify_waiters();
    Ok(())
}

/// The recording's audio: already stored (read lazily later), freshly downloaded and stored, or
/// unavailable with the reason. A 404 inside the grace period and transient failures retry the job.
async fn fetch_media(
    state: &AppState,
    rec: &mut Recording,
    media: &dyn MediaStore,
    last_attempt: bool,
) -> Result<(Option<Bytes>, Option<String>), JobError> {
    if let Some(key) = &rec.storage_key
        && media.len(key).await.map_err(io_err)?.is_some()
    {
        return Ok((None, None));
    }
    let now = state.clock.now_ms();
    match state
        .twilio
        .client
        .fetch_recording_media(&rec.recording_sid, MediaFormat::Wav)
        .await
    {
        Ok((content_type, bytes)) => {
            let key = storage::wav_key(&rec.tenant_id, &rec.recording_sid);
            media.put(&key, &bytes).await.map_err(io_err)?;
            rec.storage_key = Some(key);
            rec.content_type = Some(content_type);
            rec.size_bytes = Some(bytes.len() as i64);
            rec.updated_at = now;
            store::save(&state.db, rec).await.map_err(store_err)?;
            Ok((Some(bytes), None))
        }
        Err(e) if e.http_status() == Some(404) => {
            let since = now - rec.completed_at.unwrap_or(rec.created_at);
            if since < MEDIA_GRACE_MS && !last_attempt {
                return Err(JobError::retryable(format!(
                    "recording media not ready yet ({e}); {} s after completion",
                    since / 1000
                )));
            }
            Ok((None, Some(format!("media never became available: {e}"))))
        }
        Err(e) if e.is_retryable() && !last_attempt => Err(retry(&e)),
        Err(e) => Ok((None, Some(format!("media download failed: {e}")))),
    }
}

fn retry(e: &TwilioError) -> JobError {
    JobError::Retryable {
        message: format!("recording media: {e}"),
        retry_after: e.retry_after(),
    }
}

async fn transcribe(
    state: &AppState,
    rec: &Recording,
    media: &dyn MediaStore,
    audio: Option<Bytes>,
    last_attempt: bool,
) -> Result<Transcript, JobError> {
    let config = &state.config.recordings.transcription;
    match config.provider {
        TranscriptionProvider::None => Ok(Transcript::missing("none", "transcription is off")),
        TranscriptionProvider::Twilio => {
            match transcribe::twilio_text(rec, state.clock.now_ms(), last_attempt) {
                TwilioText::Ready(t) => Ok(t),
                TwilioText::WaitUntil(until) => Err(JobError::Deferred {
                    until,
                    message: "waiting for Twilio's transcription".into(),
                }),
            }
        }
        TranscriptionProvider::OpenAi => {
            const P: &str = "openai";
            let audio = match (audio, &rec.storage_key) {
                (Some(bytes), _) => bytes.to_vec(),
                (None, Some(key)) => media.read_all(key).await.map_err(io_err)?,
                (None, None) => return Ok(Transcript::missing(P, "no audio to transcribe")),
            };
            let name = format!("{}.wav", rec.recording_sid);
            match transcribe::openai(&state.clients.media, config, audio, &name).await {
                Ok(text) => Ok(Transcript::text(P, &text)),
                Err(ApiFailure::Transient {
                    message,
                    retry_after,
                }) if !last_attempt => Err(JobError::Retryable {
                    message: format!("transcription: {message}"),
                    retry_after,
                }),
                Err(ApiFailure::Transient { message, .. } | ApiFailure::Permanent(message)) => {
                    tracing::warn!(recording = %rec.recording_sid, error = %message, "transcription failed; going on without text");
                    Ok(Transcript::missing(
                        P,
                        format!("transcription failed: {message}"),
                    ))
                }
            }
        }
    }
}

/// The one transaction that completes a recording.
async fn finish(
    state: &AppState,
    tenant: &Tenant,
    mut rec: Recording,
    staff: &[Staff],
    transcript: &Transcript,
    analysis: &Analysis,
    media_error: Option<String>,
) -> Result<(), JobError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await.map_err(store_err)?;
    let Some(mut call) = db::calls::get_by_sid(&mut tx, &CallSid::stored(rec.call_sid.clone()))
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    let t = Transcription {
        id: new_id(),
        tenant_id: rec.tenant_id.clone(),
        recording_id: rec.id.clone(),
        call_id: rec.call_id.clone(),
        provider: transcript.provider.into(),
        text: transcript.text.clone(),
        transcript_error: transcript.error.clone(),
        summary: analysis.summary.clone(),
        call_reason: analysis.reason.as_str().into(),
        sentiment: analysis.sentiment.as_str().into(),
        analysis_source: analysis.source.into(),
        created_at: now,
    };
    let created = store::insert_transcription(&mut tx, &t)
        .await
        .map_err(store_err)?;
    update_call(state, &mut call, &rec, analysis, now);
    db::calls::save(&mut tx, &call).await.map_err(store_err)?;
    rec.processing = store::DONE.into();
    rec.processing_error = media_error.or(rec.processing_error);
    rec.updated_at = now;
    store::save(&mut tx, &rec).await.map_err(store_err)?;
    if created {
        let mut data = crate::events::call_data(&call);
        data["recordingId"] = json!(rec.id);
        data["recordingSid"] = json!(rec.recording_sid);
        data["kind"] = json!(rec.kind);
        data["recordingDurationSeconds"] = json!(rec.duration_seconds);
        data["transcription"] = json!({
            "provider": t.provider, "text": t.text, "summary": t.summary,
            "callReason": t.call_reason, "sentiment": t.sentiment, "analysisSource": t.analysis_source,
        });
        crate::events::emit(
            state,
            &mut tx,
            Some(&rec.tenant_id),
            "transcription.completed",
            Some(&rec.call_sid),
            data,
        )
        .await
        .map_err(store_err)?;
    }
    if created && rec.kind == store::VOICEMAIL {
        notify_staff(
            state, &mut tx, tenant, &call, &rec, staff, transcript, analysis,
        )
        .await
        .map_err(store_err)?;
    }
    tx.commit().await.map_err(store_err)?;
    tracing::info!(recording = %rec.recording_sid, call_sid = %rec.call_sid, reason = analysis.reason.as_str(),
        sentiment = analysis.sentiment.as_str(), analysis = analysis.source, transcript_chars = t.text.len(), "recording processed");
    Ok(())
}

/// Sets the call's `recordingUrl` (Switchboard's own, tenant-authenticated media URL), appends the
/// summary to its notes once, and sets its reason unless the caller already chose one in the menu.
fn update_call(state: &AppState, call: &mut Call, rec: &Recording, analysis: &Analysis, now: i64) {
    if rec.storage_key.is_some() {
        call.recording_url = Some(media_url(&state.config, &rec.id));
    }
    let label = if rec.kind == store::VOICEMAIL {
        "Voicemail"
    } else {
        "Recording"
    };
    let line = format!("{label} summary: {}", analysis.summary);
    call.notes = Some(match call.notes.take() {
        Some(n) if n.contains(&line) => n,
        Some(n) if !n.trim().is_empty() => format!("{n}\n{line}"),
        _ => line,
    });
    let keep = call
        .call_reason
        .as_deref()
        .is_some_and(|r| r != crate::domain::routing::CallReason::Other.as_str());
    if !keep {
        call.call_reason = Some(analysis.reason.as_str().into());
    }
    call.updated_at = now;
}

/// Who hears about a voicemail: the staff on duty, or everyone when nobody is (it must reach someone).
fn recipients(staff: &[Staff]) -> Vec<&Staff> {
    let on_duty: Vec<&Staff> = staff.iter().filter(|s| s.on_duty).collect();
    if on_duty.is_empty() {
        staff.iter().collect()
    } else {
        on_duty
    }
}

fn local_time(tenant: &Tenant, ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(tenant.time_zone.time_zone())
                .strftime("%a %b %-d, %-I:%M %p %Z")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339(ms))
}

#[allow(clippy::too_many_arguments)]
async fn notify_staff(
    state: &AppState,
    tx: &mut Tx,
    tenant: &Tenant,
    call: &Call,
    rec: &Recording,
    staff: &[Staff],
    transcript: &Transcript,
    analysis: &Analysis,
) -> Result<(), StoreError> {
    let when = local_time(tenant, call.start_time);
    let caller = if call.from_number.is_empty() {
        "an unknown caller"
    } else {
        call.from_number.as_str()
    };
    let duration = rec
        .duration_seconds
        .map(|d| format!("{d} s"))
        .unwrap_or_else(|| "unknown length".into());
    let sms = sms_text(&tenant.name, caller, &duration, &when, transcript, analysis);
    let link = media_url(&state.config, &rec.id);
    for s in recipients(staff) {
        let mut n = NewSms::new(
            &tenant.id,
            NotificationKind::Staff,
            s.phone.clone(),
            sms.clone(),
        );
        n.staff_id = Some(s.id.clone());
        n.related_call_sid = Some(call.call_sid.clone());
        n.idempotency_key = Some(format!("voicemail:{}:sms:{}", rec.recording_sid, s.id));
        notifications::queue(state, tx, n).await?;
        let (Some(_), Some(address)) = (&state.config.smtp, &s.email) else {
            continue;
        };
        let body = email_text(
            &tenant.name,
            caller,
            &duration,
            &when,
            transcript,
            analysis,
            &link,
        );
        email::queue(
            state,
            tx,
            NewEmail {
                tenant_id: tenant.id.clone(),
                to: address.clone(),
                subject: format!("New voicemail from {caller} for {}", tenant.name),
                body,
                staff_id: Some(s.id.clone()),
                related_call_sid: Some(call.call_sid.clone()),
                idempotency_key: format!("voicemail:{}:email:{}", rec.recording_sid, s.id),
            },
        )
        .await?;
    }
    Ok(())
}

/// The staff SMS: short enough for two or three segments.
pub fn sms_text(
    business: &str,
    caller: &str,
    duration: &str,
    when: &str,
    transcript: &Transcript,
    analysis: &Analysis,
) -> String {
    let head = format!("New voicemail for {business} from {caller} ({duration}, {when}).");
    if transcript.text.is_empty() {
        return format!("{head} No transcript available.");
    }
    format!(
        "{head} \"{}\" Reason: {}. Sentiment: {}.",
        analyse::excerpt(&transcript.text, 160),
        analysis.reason.as_str(),
        analysis.sentiment.as_str()
    )
}

/// The staff e-mail body: caller, time, duration, analysis, transcript excerpt, and the link.
pub fn email_text(
    business: &str,
    caller: &str,
    duration: &str,
    when: &str,
    transcript: &Transcript,
    analysis: &Analysis,
    link: &str,
) -> String {
    let text = if transcript.text.is_empty() {
        "(no transcript available)".to_string()
    } else {
        analyse::excerpt(&transcript.text, 1_000)
    };
    format!(
        "New voicemail for {business}\n\nFrom: {caller}\nTime: {when}\nDuration: {duration}\nReason: {}\nSentiment: {}\nSummary: {}\n\nTranscript:\n{text}\n\nListen (sign in with your Switchboard API key):\n{link}\n",
        analysis.reason.as_str(),
        analysis.sentiment.as_str(),
        analysis.summary,
    )
}
