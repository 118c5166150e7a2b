//! `Recordings`: metadata JSON and downloadable media.
//!
//! `GET Recordings/{Sid}.json` answers the OAI `api.v2010.account.recording` shape. The media is
//! the same path without an extension or with `.wav` (a WAV, Twilio's default) or `.mp3`
//! (silent MPEG audio of the same length; see `wav`). Media needs Basic auth like any API path,
//! answers 404 while the recording is in progress, and, when `media_not_ready_for` is set, for
//! that many first GETs, to imitate Twilio's brief not-ready window (TWILIO_FACTS B9).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::auth::Params;
use super::error::ApiError;
use super::paging::{self, PageRequest};
use super::state::{SandboxRecording, first, new_sid, rfc2822};
use super::{Inner, RecordingInfo, SandboxConfig, wav};

/// The media URL Twilio hands out as `RecordingUrl`: absolute, no extension.
pub(crate) fn media_url(config: &SandboxConfig, sid: &str) -> String {
    config.public_url(&format!("{}/Recordings/{sid}", config.account_path()))
}

/// Creates a recording that is complete at once (for the simulator and for tests).
pub(crate) fn create(
    inner: &Inner,
    call_sid: &str,
    duration_secs: u32,
    channels: u16,
    source: &str,
) -> RecordingInfo {
    let sid = begin(inner, call_sid, channels, source);
    finish(inner, &sid, duration_secs);
    RecordingInfo {
        media_url: media_url(&inner.config, &sid),
        sid,
    }
}

/// Starts an `in-progress` recording (its media is not served yet) and returns its SID.
pub(crate) fn begin(inner: &Inner, call_sid: &str, channels: u16, source: &str) -> String {
    let now = Timestamp::now();
    let sid = new_sid("RE");
    inner.store.lock().recordings.push(SandboxRecording {
        sid: sid.clone(),
        call_sid: call_sid.to_owned(),
        duration_secs: 0,
        channels,
        source: source.to_owned(),
        status: "in-progress".to_owned(),
        start_time: now,
        date_created: now,
        media_requests: 0,
    });
    sid
}

pub(crate) fn finish(inner: &Inner, sid: &str, duration_secs: u32) {
    if let Some(r) = inner
        .store
        .lock()
        .recordings
        .iter_mut()
        .find(|r| r.sid == sid)
    {
        r.duration_secs = duration_secs;
        r.status = "completed".to_owned();
    }
}

/// Metadata (`.json`) or media (no extension, `.wav`, `.mp3`).
pub(crate) async fn fetch(
    State(inner): State<Arc<Inner>>,
    Path((_account, file)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(uri.path());
    let (sid, format) = match file.rsplit_once('.') {
        Some((sid, "json")) => (sid, Format::Json),
        Some((sid, "wav")) => (sid, Format::Wav),
        Some((sid, "mp3")) => (sid, Format::Mp3),
        Some(_) => return Err(not_found()),
        None => (file.as_str(), Format::Wav),
    };
    let mut store = inner.store.lock();
    let recording = store
        .recordings
        .iter_mut()
        .find(|r| r.sid == sid)
        .ok_or_else(not_found)?;
    if format == Format::Json {
        return Ok(Json(to_json(&inner, recording)).into_response());
    }
    recording.media_requests += 1;
    if recording.status != "completed"
        || recording.media_requests <= inner.config.media_not_ready_for
    {
        return Err(not_found());
    }
    let (duration, channels) = (recording.duration_secs, recording.channels);
    drop(store);
    let (content_type, bytes) = match format {
        Format::Mp3 => ("audio/mpeg", wav::silent_mp3(duration)),
        _ => ("audio/x-wav", wav::tone_wav(duration, channels)),
    };
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Wav,
    Mp3,
}

/// Newest first; filter `CallSid`.
pub(crate) async fn list(
    State(inner): State<Arc<Inner>>,
    Extension(params): Extension<Params>,
    uri: Uri,
) -> Json<Value> {
    let q = &params.query;
    let call_sid = first(q, "CallSid");
    let records: Vec<Value> = {
        let store = inner.store.lock();
        store
            .recordings
            .iter()
            .rev()
            .filter(|r| call_sid.is_none_or(|c| r.call_sid == c))
            .map(|r| to_json(&inner, r))
            .collect()
    };
    let filters: Vec<(&str, &str)> = call_sid.map(|c| ("CallSid", c)).into_iter().collect();
    Json(paging::envelope(
        "recordings",
        records,
        uri.path(),
        &filters,
        PageRequest::from_query(q),
    ))
}

/// The OAI `api.v2010.account.recording` representation.
pub(crate) fn to_json(inner: &Inner, r: &SandboxRecording) -> Value {
    let acct = inner.config.account_path();
    let completed = r.status == "completed";
    json!({
        "account_sid": inner.config.account_sid,
        "api_version": "2010-04-01",
        "call_sid": r.call_sid,
        "conference_sid": null,
        "channels": r.channels,
        "date_created": rfc2822(r.date_created),
        "date_updated": rfc2822(r.date_created),
        "start_time": rfc2822(r.start_time),
        // Twilio reports no duration until the recording is complete.
        "duration": completed.then(|| r.duration_secs.to_string()),
        "sid": r.sid,
        "price": null,
        "price_unit": "USD",
        "status": r.status,
        "source": r.source,
        "error_code": null,
        "uri": format!("{acct}/Recordings/{}.json", r.sid),
        "encryption_details": null,
        "subresource_uris": {
            "add_on_results": format!("{acct}/Recordings/{}/AddOnResults.json", r.sid),
            "transcriptions": format!("{acct}/Recordings/{}/Transcriptions.json", r.sid),
        },
        "media_url": media_url(&inner.config, &r.sid),
    })
}
