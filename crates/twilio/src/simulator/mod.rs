//! Plays a caller or texter against a running Switchboard server over HTTP, the way Twilio would.
//!
//! The simulator sends Twilio's webhooks (form-encoded, signed with `X-Twilio-Signature` over the
//! URL the server believes it is reached at), then interprets the TwiML it gets back: it speaks
//! Say/Play/Pause as turns, answers Gathers from a script, dials with scripted outcomes, leaves a
//! voicemail with recording and transcription callbacks, follows Redirects, and finishes with the
//! call status callback. Everything is recorded in a [`Transcript`]; server mistakes (non-200,
//! wrong Content-Type, unparsable TwiML) become error turns, never panics.
//!
//! Limits, on purpose: dialled numbers are tried one after another rather than in parallel; the
//! call's duration is the sum of scripted durations (answered dials and recordings), not of speech
//! time; `<Connect>`/`<Start>` streams and `<Dial record>` are noted and skipped.

mod call;
mod http;
mod sms;
mod transcript;

pub use transcript::{Transcript, Turn};
pub use url::Url;

/// Where the simulator sends requests and how it signs them.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// The Switchboard server the requests really go to, e.g. `http://127.0.0.1:3000`.
    pub webhook_base_url: Url,
    /// The base URL the server believes it is reached at (its `APP_URL`). Signatures are
    /// computed over this public URL while the request goes to `webhook_base_url`, as happens
    /// behind a proxy. `None`: the same as `webhook_base_url`.
    pub public_base_url: Option<Url>,
    pub account_sid: String,
    /// Signs every request; must be the server's configured Auth Token.
    pub auth_token: String,
    /// The sandbox, when recordings should be real: `POST {sandbox}/sandbox/recordings`.
    /// `None`: recording SIDs and URLs are made up.
    pub sandbox_base_url: Option<Url>,
}

/// What happens to one dialled number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOutcome {
    Answered { duration_secs: u32 },
    NoAnswer,
    Busy,
    Failed,
    Canceled,
}

impl DialOutcome {
    /// The `DialCallStatus` Twilio reports for this outcome (`completed` when answered).
    pub fn dial_call_status(self) -> &'static str {
        match self {
            DialOutcome::Answered { .. } => "completed",
            DialOutcome::NoAnswer => "no-answer",
            DialOutcome::Busy => "busy",
            DialOutcome::Failed => "failed",
            DialOutcome::Canceled => "canceled",
        }
    }
}

/// What the caller does when asked to leave a recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordScript {
    /// Seconds recorded. 0 is an empty recording: Twilio skips the `action` and goes on.
    pub duration_secs: u32,
    /// The text a transcription produces, when the TwiML asks for one.
    pub transcription: Option<String>,
}

/// A scripted inbound call.
#[derive(Debug, Clone)]
pub struct CallScript {
    pub from: String,
    pub to: String,
    /// Default `/api/webhooks/twilio/voice`.
    pub voice_path: String,
    /// Default `/api/webhooks/twilio/voice/status`.
    pub status_path: String,
    /// Answers to successive speech Gathers.
    pub speech: Vec<String>,
    /// Answers to successive DTMF Gathers. A Gather accepting both takes the next digits when
    /// any are left, else the next speech.
    pub digits: Vec<String>,
    /// Outcome per dialled number, `"*"` for any other; first match wins. Unscripted numbers
    /// do not answer.
    pub dial_outcomes: Vec<(String, DialOutcome)>,
    pub record: RecordScript,
    /// TwiML documents fetched at most; guards against redirect loops. Default 50.
    pub max_steps: u32,
    /// Added to the first webhook only (e.g. `FromCity`, `CallerName`).
    pub extra_params: Vec<(String, String)>,
}

impl CallScript {
    pub fn new(from: impl Into<String>, to: impl Into<String>) -> Self {
        CallScript {
            from: from.into(),
            to: to.into(),
            voice_path: "/api/webhooks/twilio/voice".to_owned(),
            status_path: "/api/webhooks/twilio/voice/status".to_owned(),
            speech: Vec::new(),
            digits: Vec::new(),
            dial_outcomes: Vec::new(),
            record: RecordScript::default(),
            max_steps: 50,
            extra_params: Vec::new(),
        }
    }

    #[must_use]
    pub fn say(mut self, speech: impl Into<String>) -> Self {
        self.speech.push(speech.into());
        self
    }

    #[must_use]
    pub fn press(mut self, digits: impl Into<String>) -> Self {
        self.digits.push(digits.into());
        self
    }

    #[must_use]
    pub fn dial_outcome(mut self, number: impl Into<String>, outcome: DialOutcome) -> Self {
        self.dial_outcomes.push((number.into(), outcome));
        self
    }

    #[must_use]
    pub fn record(mut self, duration_secs: u32, transcription: Option<&str>) -> Self {
        self.record = RecordScript {
            duration_secs,
            transcription: transcription.map(str::to_owned),
        };
        self
    }

    fn outcome_for(&self, number: &str) -> DialOutcome {
        self.dial_outcomes
            .iter()
            .find(|(n, _)| n == number)
            .or_else(|| self.dial_outcomes.iter().find(|(n, _)| n == "*"))
            .map_or(DialOutcome::NoAnswer, |(_, o)| *o)
    }
}

/// A scripted inbound SMS/MMS.
#[derive(Debug, Clone)]
pub struct SmsScript {
    pub from: String,
    pub to: String,
    pub body: String,
    /// Default `/api/webhooks/twilio/sms`.
    pub path: String,
    pub media_urls: Vec<String>,
    /// TwiML documents fetched at most (Redirects). Default 10.
    pub max_steps: u32,
}

impl SmsScript {
    pub fn new(from: impl Into<String>, to: impl Into<String>, body: impl Into<String>) -> Self {
        SmsScript {
            from: from.into(),
            to: to.into(),
            body: body.into(),
            path: "/api/webhooks/twilio/sms".to_owned(),
            media_urls: Vec::new(),
            max_steps: 10,
        }
    }
}

/// Runs scripts against a server. Cheap to clone; reuses one HTTP connection pool.
#[derive(Debug, Clone)]
pub struct Simulator {
    config: SimulatorConfig,
    http: reqwest::Client,
}

impl Simulator {
    pub fn new(config: SimulatorConfig) -> Self {
        let http = crate::tls::client_builder()
            .expect("the platform's TLS verifier builds")
            .timeout(http::TWILIO_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain reqwest client builds on the shared TLS configuration");
        Self::with_http_client(config, http)
    }

    pub fn with_http_client(config: SimulatorConfig, http: reqwest::Client) -> Self {
        Simulator { config, http }
    }

    pub fn config(&self) -> &SimulatorConfig {
        &self.config
    }

    /// Places the scripted call and returns what happened.
    pub async fn run_call(&self, script: &CallScript) -> Transcript {
        call::run(self, script).await
    }

    /// Sends the scripted text message and returns the replies.
    pub async fn run_sms(&self, script: &SmsScript) -> Transcript {
        sms::run(self, script).await
    }
}

/// A Twilio-style SID: two-letter prefix and 32 lowercase hex digits.
pub fn new_sid(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::random::<u128>())
}
