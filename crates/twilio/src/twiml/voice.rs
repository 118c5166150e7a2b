//! Voice TwiML: `<Response>` and its verbs, with the attributes twilio-node's `VoiceResponse`
//! defines for each (a subset where a feature is outside Switchboard's scope, such as
//! answering-machine-detection callbacks). `<Dial>`, `<Record>` and the stream verbs live in
//! sibling modules.

use super::dial::Dial;
use super::record::Record;
use super::stream::{Connect, Start};
use super::{El, HttpMethod, render_document, setters, twiml_enum};

twiml_enum! {
    /// `<Gather input>`: what the caller may answer with.
    GatherInput { Dtmf => "dtmf", Speech => "speech", DtmfSpeech => "dtmf speech" }
}

twiml_enum! {
    /// `<Reject reason>`: what the caller hears. Twilio's default is `rejected`.
    RejectReason { Rejected => "rejected", Busy => "busy" }
}

/// `<Gather speechTimeout>`: `auto` (stop at the first pause) or whole seconds of silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeechTimeout {
    Auto,
    Seconds(u32),
}

impl From<u32> for SpeechTimeout {
    fn from(secs: u32) -> Self {
        SpeechTimeout::Seconds(secs)
    }
}

impl super::AttrValue for SpeechTimeout {
    fn attr_value(&self) -> String {
        match self {
            SpeechTimeout::Auto => "auto".to_owned(),
            SpeechTimeout::Seconds(s) => s.to_string(),
        }
    }
}

/// The root of a voice TwiML document.
#[derive(Debug, Clone, Default)]
pub struct VoiceResponse {
    verbs: Vec<El>,
}

impl VoiceResponse {
    pub fn new() -> Self {
        Self::default()
    }

    /// No verbs: renders `<Response/>`, which ends the call (or acknowledges a status callback).
    pub fn is_empty(&self) -> bool {
        self.verbs.is_empty()
    }

    #[must_use]
    pub fn say(mut self, say: impl Into<Say>) -> Self {
        self.verbs.push(say.into().to_el());
        self
    }

    #[must_use]
    pub fn play(mut self, play: impl Into<Play>) -> Self {
        self.verbs.push(play.into().to_el());
        self
    }

    #[must_use]
    pub fn pause(mut self, pause: Pause) -> Self {
        self.verbs.push(pause.to_el());
        self
    }

    #[must_use]
    pub fn gather(mut self, gather: Gather) -> Self {
        self.verbs.push(gather.to_el());
        self
    }

    #[must_use]
    pub fn dial(mut self, dial: impl Into<Dial>) -> Self {
        self.verbs.push(dial.into().to_el());
        self
    }

    #[must_use]
    pub fn record(mut self, record: Record) -> Self {
        self.verbs.push(record.to_el());
        self
    }

    #[must_use]
    pub fn redirect(mut self, redirect: impl Into<Redirect>) -> Self {
        self.verbs.push(redirect.into().to_el());
        self
    }

    #[must_use]
    pub fn hangup(mut self) -> Self {
        self.verbs.push(El::new("Hangup"));
        self
    }

    #[must_use]
    pub fn reject(mut self, reject: Reject) -> Self {
        self.verbs.push(reject.to_el());
        self
    }

    #[must_use]
    pub fn connect(mut self, connect: Connect) -> Self {
        self.verbs.push(connect.to_el());
        self
    }

    #[must_use]
    pub fn start(mut self, start: Start) -> Self {
        self.verbs.push(start.to_el());
        self
    }

    /// The document: `<?xml version="1.0" encoding="UTF-8"?><Response>…</Response>`.
    pub fn to_xml(&self) -> String {
        render_document(self.verbs.iter().cloned())
    }
}

impl std::fmt::Display for VoiceResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_xml())
    }
}

/// `<Say>`: text-to-speech.
#[derive(Debug, Clone)]
pub struct Say {
    text: String,
    voice: Option<String>,
    language: Option<String>,
    loop_count: Option<u32>,
}

impl Say {
    pub fn new(text: impl Into<String>) -> Self {
        Say {
            text: text.into(),
            voice: None,
            language: None,
            loop_count: None,
        }
    }

    setters! {
        /// `voice`, e.g. `Polly.Joanna` or `Google.en-US-Neural2-F`. A string because Twilio's
        /// voice catalogue changes often.
        voice: String,
        /// `language`, a BCP-47 tag such as `en-GB`.
        language: String,
        /// `loop`: times to repeat; 0 repeats until the call ends.
        loop_count: u32,
    }

    fn to_el(&self) -> El {
        El::new("Say")
            .attr("voice", self.voice.as_ref())
            .attr("language", self.language.as_ref())
            .attr("loop", self.loop_count)
            .text(self.text.clone())
    }
}

impl From<&str> for Say {
    fn from(text: &str) -> Self {
        Say::new(text)
    }
}

impl From<String> for Say {
    fn from(text: String) -> Self {
        Say::new(text)
    }
}

/// `<Play>`: an audio URL, or DTMF tones with [`Play::dtmf`].
#[derive(Debug, Clone)]
pub struct Play {
    url: Option<String>,
    loop_count: Option<u32>,
    digits: Option<String>,
}

impl Play {
    pub fn new(url: impl Into<String>) -> Self {
        Play {
            url: Some(url.into()),
            loop_count: None,
            digits: None,
        }
    }

    /// `<Play digits="…"/>`: plays DTMF tones (`w` waits half a second) instead of audio.
    pub fn dtmf(digits: impl Into<String>) -> Self {
        Play {
            url: None,
            loop_count: None,
            digits: Some(digits.into()),
        }
    }

    setters! {
        /// `loop`: times to repeat; 0 repeats until the call ends.
        loop_count: u32,
        /// `digits`: DTMF tones to play.
        digits: String,
    }

    fn to_el(&self) -> El {
        let el = El::new("Play")
            .attr("loop", self.loop_count)
            .attr("digits", self.digits.as_ref());
        match &self.url {
            Some(url) => el.text(url.clone()),
            None => el,
        }
    }
}

impl From<&str> for Play {
    fn from(url: &str) -> Self {
        Play::new(url)
    }
}

/// `<Pause>`: silence, one second unless `length` says otherwise.
#[derive(Debug, Clone, Default)]
pub struct Pause {
    length: Option<u32>,
}

impl Pause {
    pub fn new() -> Self {
        Self::default()
    }

    /// A pause of `length` seconds.
    pub fn seconds(length: u32) -> Self {
        Pause {
            length: Some(length),
        }
    }

    fn to_el(&self) -> El {
        El::new("Pause").attr("length", self.length)
    }
}

/// `<Gather>`: collects digits and/or speech, optionally prompting with nested Say/Play/Pause.
#[derive(Debug, Clone, Default)]
pub struct Gather {
    input: Option<GatherInput>,
    action: Option<String>,
    method: Option<HttpMethod>,
    timeout: Option<u32>,
    speech_timeout: Option<SpeechTimeout>,
    max_speech_time: Option<u32>,
    speech_model: Option<String>,
    language: Option<String>,
    hints: Option<String>,
    num_digits: Option<u32>,
    finish_on_key: Option<String>,
    action_on_empty_result: Option<bool>,
    partial_result_callback: Option<String>,
    partial_result_callback_method: Option<HttpMethod>,
    profanity_filter: Option<bool>,
    barge_in: Option<bool>,
    enhanced: Option<bool>,
    prompts: Vec<El>,
}

impl Gather {
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        input: GatherInput,
        /// `action`: where Twilio posts the result; without it, the current document URL.
        action: String,
        method: HttpMethod,
        /// `timeout`: seconds to wait for the first input (default 5).
        timeout: u32,
        speech_timeout: SpeechTimeout,
        /// `maxSpeechTime`: maximum seconds of speech (default 60).
        max_speech_time: u32,
        /// `speechModel`. A string because Twilio's model list changed in 2025.
        speech_model: String,
        language: String,
        /// `hints`: comma-separated words or phrases to favour.
        hints: String,
        num_digits: u32,
        /// `finishOnKey`: one of `0-9#*`, or empty to disable.
        finish_on_key: String,
        action_on_empty_result: bool,
        partial_result_callback: String,
        partial_result_callback_method: HttpMethod,
        profanity_filter: bool,
        barge_in: bool,
        enhanced: bool,
    }

    /// A nested `<Say>` prompt.
    #[must_use]
    pub fn say(mut self, say: impl Into<Say>) -> Self {
        self.prompts.push(say.into().to_el());
        self
    }

    /// A nested `<Play>` prompt.
    #[must_use]
    pub fn play(mut self, play: impl Into<Play>) -> Self {
        self.prompts.push(play.into().to_el());
        self
    }

    /// A nested `<Pause>`.
    #[must_use]
    pub fn pause(mut self, pause: Pause) -> Self {
        self.prompts.push(pause.to_el());
        self
    }

    fn to_el(&self) -> El {
        El::new("Gather")
            .attr("input", self.input)
            .attr("action", self.action.as_ref())
            .attr("method", self.method)
            .attr("timeout", self.timeout)
            .attr("speechTimeout", self.speech_timeout)
            .attr("maxSpeechTime", self.max_speech_time)
            .attr("speechModel", self.speech_model.as_ref())
            .attr("language", self.language.as_ref())
            .attr("hints", self.hints.as_ref())
            .attr("numDigits", self.num_digits)
            .attr("finishOnKey", self.finish_on_key.as_ref())
            .attr("actionOnEmptyResult", self.action_on_empty_result)
            .attr(
                "partialResultCallback",
                self.partial_result_callback.as_ref(),
            )
            .attr(
                "partialResultCallbackMethod",
                self.partial_result_callback_method,
            )
            .attr("profanityFilter", self.profanity_filter)
            .attr("bargeIn", self.barge_in)
            .attr("enhanced", self.enhanced)
            .children(self.prompts.iter().cloned())
    }
}

/// `<Redirect>`: fetch TwiML from another URL (voice and messaging).
#[derive(Debug, Clone)]
pub struct Redirect {
    url: String,
    method: Option<HttpMethod>,
}

impl Redirect {
    pub fn new(url: impl Into<String>) -> Self {
        Redirect {
            url: url.into(),
            method: None,
        }
    }

    setters! {
        method: HttpMethod,
    }

    pub(super) fn to_el(&self) -> El {
        El::new("Redirect")
            .attr("method", self.method)
            .text(self.url.clone())
    }
}

impl From<&str> for Redirect {
    fn from(url: &str) -> Self {
        Redirect::new(url)
    }
}

/// `<Reject>`: refuses the call without answering it (no charge).
#[derive(Debug, Clone, Default)]
pub struct Reject {
    reason: Option<RejectReason>,
}

impl Reject {
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        reason: RejectReason,
    }

    fn to_el(&self) -> El {
        El::new("Reject").attr("reason", self.reason)
    }
}
