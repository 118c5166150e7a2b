//! `<Record>`: voicemail, with recording-status and transcription callbacks.

use super::{El, HttpMethod, setters, twiml_enum};

twiml_enum! {
    /// `recordingStatusCallbackEvent` values.
    RecordingEvent { InProgress => "in-progress", Completed => "completed", Absent => "absent" }
}

twiml_enum! {
    /// `trim` on `<Dial>` and `<Record>`.
    Trim { TrimSilence => "trim-silence", DoNotTrim => "do-not-trim" }
}

/// `<Record>`: records the caller (voicemail).
#[derive(Debug, Clone, Default)]
pub struct Record {
    action: Option<String>,
    method: Option<HttpMethod>,
    timeout: Option<u32>,
    finish_on_key: Option<String>,
    max_length: Option<u32>,
    play_beep: Option<bool>,
    trim: Option<Trim>,
    recording_status_callback: Option<String>,
    recording_status_callback_event: Option<Vec<RecordingEvent>>,
    recording_status_callback_method: Option<HttpMethod>,
    transcribe: Option<bool>,
    transcribe_callback: Option<String>,
}

impl Record {
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// `action`: receives `RecordingUrl`, `RecordingDuration`, `Digits`; skipped by Twilio
        /// when the recording is empty.
        action: String,
        method: HttpMethod,
        /// `timeout`: seconds of silence that end the recording (default 5).
        timeout: u32,
        finish_on_key: String,
        /// `maxLength`: seconds (default 3600).
        max_length: u32,
        play_beep: bool,
        trim: Trim,
        recording_status_callback: String,
        recording_status_callback_event: Vec<RecordingEvent>,
        recording_status_callback_method: HttpMethod,
        /// `transcribe`: built-in transcription, for recordings of at most 2 minutes.
        transcribe: bool,
        transcribe_callback: String,
    }

    pub(super) fn to_el(&self) -> El {
        El::new("Record")
            .attr("action", self.action.as_ref())
            .attr("method", self.method)
            .attr("timeout", self.timeout)
            .attr("finishOnKey", self.finish_on_key.as_ref())
            .attr("maxLength", self.max_length)
            .attr("playBeep", self.play_beep)
            .attr("trim", self.trim)
            .attr(
                "recordingStatusCallback",
                self.recording_status_callback.as_ref(),
            )
            .attr(
                "recordingStatusCallbackEvent",
                self.recording_status_callback_event.as_ref(),
            )
            .attr(
                "recordingStatusCallbackMethod",
                self.recording_status_callback_method,
            )
            .attr("transcribe", self.transcribe)
            .attr("transcribeCallback", self.transcribe_callback.as_ref())
    }
}
