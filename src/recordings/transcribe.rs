//! Turning a recording into text with the configured provider:
//!
//! - `none`: no text;
//! - `twilio`: the text Twilio's own transcription posted to the transcription callback (only
//!   `<Record transcribe>` voicemails of at most two minutes get one); the job waits a bounded time
//!   for it to arrive;
//! - `openai`: a multipart POST of the audio to `{TRANSCRIPTION_BASE_URL}/v1/audio/transcriptions`
//!   (OpenAI's Whisper API, or any server that speaks it).

use std::time::Duration;

use serde::Deserialize;

use crate::config::{TranscriptionConfig, TranscriptionProvider};
use crate::db::recordings::{Recording, VOICEMAIL};

/// Twilio transcribes recordings of at most this many seconds (TWILIO_FACTS B3).
pub const TWILIO_MAX_SECS: i64 = 120;
/// How long the job waits for Twilio's transcription callback after the recording completed.
pub const TWILIO_WAIT_MS: i64 = 10 * 60_000;
/// How often it looks again while waiting (the callback also brings the job forward at once).
pub const TWILIO_POLL_MS: i64 = 15_000;
/// Longest transcript kept.
pub const MAX_CHARS: usize = 20_000;

/// The outcome of transcription: the text (possibly empty) and why there is none, if so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub provider: &'static str,
    pub text: String,
    pub error: Option<String>,
}

impl Transcript {
    pub fn text(provider: &'static str, text: &str) -> Self {
        Transcript {
            provider,
            text: bounded(text),
            error: None,
        }
    }
    pub fn missing(provider: &'static str, why: impl Into<String>) -> Self {
        Transcript {
            provider,
            text: String::new(),
            error: Some(why.into()),
        }
    }
}

/// Trimmed and at most [`MAX_CHARS`] characters.
pub fn bounded(text: &str) -> String {
    text.trim().chars().take(MAX_CHARS).collect()
}

/// What the job should do about Twilio's transcription of `rec` at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioText {
    Ready(Transcript),
    /// Not here yet: look again at this instant (epoch ms).
    WaitUntil(i64),
}

/// Twilio's transcription of `rec`, or how long to wait for it. `give_up` stops waiting (the job's
/// last attempt), so a voicemail is never left unannounced for want of its text.
pub fn twilio_text(rec: &Recording, now: i64, give_up: bool) -> TwilioText {
    const P: &str = "twilio";
    match rec.twilio_transcript_status.as_deref() {
        Some("completed") => {
            return TwilioText::Ready(Transcript::text(
                P,
                rec.twilio_transcript.as_deref().unwrap_or(""),
            ));
        }
        Some(other) => {
            return TwilioText::Ready(Transcript::missing(
                P,
                format!("Twilio's transcription {other}"),
            ));
        }
        None => {}
    }
    let expected =
        rec.kind == VOICEMAIL && rec.duration_seconds.is_none_or(|d| d <= TWILIO_MAX_SECS);
    if !expected {
        return TwilioText::Ready(Transcript::missing(
            P,
            "Twilio transcribes only voicemails of up to two minutes",
        ));
    }
    let deadline = rec.completed_at.unwrap_or(rec.created_at) + TWILIO_WAIT_MS;
    if now < deadline && !give_up {
        return TwilioText::WaitUntil((now + TWILIO_POLL_MS).min(deadline));
    }
    TwilioText::Ready(Transcript::missing(
        P,
        "Twilio's transcription did not arrive in time",
    ))
}

/// A failed call to the transcription API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// Worth retrying (network, timeout, 408, 429, 5xx), with the server's `Retry-After`.
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Will not get better (bad key, unsupported audio, …).
    Permanent(String),
}

#[derive(Deserialize)]
struct TranscriptionAnswer {
    text: String,
}

/// `{base}/v1/{tail}`, without doubling a `/v1` the base already ends with.
pub fn endpoint(base: &url::Url, tail: &str) -> String {
    let base = base.as_str().trim_end_matches('/');
    if base.ends_with("/v1") {
        format!("{base}/{tail}")
    } else {
        format!("{base}/v1/{tail}")
    }
}

/// Classifies an HTTP status of an OpenAI-compatible API.
pub fn status_failure(status: u16, retry_after: Option<Duration>, body: &str) -> ApiFailure {
    let excerpt: String = body.chars().take(300).collect();
    let message = format!("HTTP {status}: {excerpt}");
    if status == 408 || status == 429 || status >= 500 {
        ApiFailure::Transient {
            message,
            retry_after,
        }
    } else {
        ApiFailure::Permanent(message)
    }
}

/// Sends `audio` (a WAV file named `file_name`) to the OpenAI-compatible transcription endpoint.
pub async fn openai(
    client: &reqwest::Client,
    config: &TranscriptionConfig,
    audio: Vec<u8>,
    file_name: &str,
) -> Result<String, ApiFailure> {
    debug_assert_eq!(config.provider, TranscriptionProvider::OpenAi);
    let part = reqwest::multipart::Part::bytes(audio)
        .file_name(file_name.to_string())
        .mime_str("audio/wav")
        .map_err(|e| ApiFailure::Permanent(e.to_string()))?;
    let form = reqwest::multipart::Form::new()
        .text("model", config.model.clone())
        .text("response_format", "json")
        .part("file", part);
    let mut req = client
        .post(endpoint(&config.base_url, "audio/transcriptions"))
        .multipart(form);
    if let Some(key) = &config.api_key {
        req = req.bearer_auth(key.expose());
    }
    let res = req.send().await.map_err(|e| ApiFailure::Transient {
        message: format!("transcription request failed: {e}"),
        retry_after: None,
    })?;
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(switchboard_twilio::rest::parse_retry_after);
    let body = res.text().await.map_err(|e| ApiFailure::Transient {
        message: format!("transcription answer cut short: {e}"),
        retry_after: None,
    })?;
    if !(200..300).contains(&status) {
        return Err(status_failure(status, retry_after, &body));
    }
    match serde_json::from_str::<TranscriptionAnswer>(&body) {
        Ok(a) => Ok(a.text),
        // `response_format=text` servers, or ones that ignore the parameter.
        Err(_) if !body.trim_start().starts_with('{') => Ok(body),
        Err(e) => Err(ApiFailure::Permanent(format!(
            "transcription answer is not {{\"text\": …}}: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::recordings::CALL;

    fn rec(kind: &str, duration: i64) -> Recording {
        Recording {
            id: "r".into(),
            tenant_id: "t".into(),
            call_id: "c".into(),
            call_sid: "CA1".into(),
            recording_sid: "RE1".into(),
            kind: kind.into(),
            source: None,
            status: "completed".into(),
            twilio_url: None,
            duration_seconds: Some(duration),
            channels: Some(1),
            error_code: None,
            processing: "pending".into(),
            processing_error: None,
            storage_key: None,
            content_type: None,
            size_bytes: None,
            twilio_transcript: None,
            twilio_transcript_status: None,
            completed_at: Some(1_000),
            created_at: 1_000,
            updated_at: 1_000,
            handled_at: None,
        }
    }

    #[test]
    fn twilio_text_waits_a_bounded_time_only_when_one_is_coming() {
        let r = rec(VOICEMAIL, 30);
        assert_eq!(
            twilio_text(&r, 1_000, false),
            TwilioText::WaitUntil(1_000 + TWILIO_POLL_MS)
        );
        let late = 1_000 + TWILIO_WAIT_MS - 1;
        assert_eq!(
            twilio_text(&r, late, false),
            TwilioText::WaitUntil(1_000 + TWILIO_WAIT_MS)
        );
        let TwilioText::Ready(t) = twilio_text(&r, 1_000 + TWILIO_WAIT_MS, false) else {
            panic!("must stop waiting at the deadline")
        };
        assert!(t.text.is_empty() && t.error.is_some());
        assert!(
            matches!(twilio_text(&r, 1_000, true), TwilioText::Ready(_)),
            "last attempt"
        );
        // Twilio never transcribes these: no waiting at all.
        assert!(matches!(
            twilio_text(&rec(VOICEMAIL, 121), 1_000, false),
            TwilioText::Ready(_)
        ));
        assert!(matches!(
            twilio_text(&rec(CALL, 10), 1_000, false),
            TwilioText::Ready(_)
        ));
        let mut done = rec(VOICEMAIL, 30);
        done.twilio_transcript_status = Some("completed".into());
        done.twilio_transcript = Some("  hello  ".into());
        assert_eq!(
            twilio_text(&done, 1_000, false),
            TwilioText::Ready(Transcript::text("twilio", "hello"))
        );
    }

    #[test]
    fn endpoints_and_failures() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            endpoint(&u("https://api.openai.com"), "audio/transcriptions"),
            "https://api.openai.com/v1/audio/transcriptions"
        );
        assert_eq!(
            endpoint(&u("http://h:8000/v1/"), "chat/completions"),
            "http://h:8000/v1/chat/completions"
        );
        assert!(matches!(
            status_failure(429, None, ""),
            ApiFailure::Transient { .. }
        ));
        assert!(matches!(
            status_failure(503, None, ""),
            ApiFailure::Transient { .. }
        ));
        assert!(matches!(
            status_failure(401, None, ""),
            ApiFailure::Permanent(_)
        ));
    }
}
