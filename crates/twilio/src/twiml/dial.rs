//! `<Dial>` and its nouns `<Number>`, `<Client>`, `<Sip>`.

use super::record::{RecordingEvent, Trim};
use super::{El, HttpMethod, setters, twiml_enum};

twiml_enum! {
    /// `<Dial record>`.
    DialRecord {
        DoNotRecord => "do-not-record",
        RecordFromAnswer => "record-from-answer",
        RecordFromRinging => "record-from-ringing",
        RecordFromAnswerDual => "record-from-answer-dual",
        RecordFromRingingDual => "record-from-ringing-dual",
    }
}

twiml_enum! {
    /// `<Dial recordingTrack>`.
    RecordingTrack { Both => "both", Inbound => "inbound", Outbound => "outbound" }
}

twiml_enum! {
    /// `statusCallbackEvent` values on `<Number>`, `<Client>` and `<Sip>`.
    CallEvent {
        Initiated => "initiated",
        Ringing => "ringing",
        Answered => "answered",
        Completed => "completed",
    }
}

twiml_enum! {
    /// `machineDetection` on `<Number>` and `<Sip>`.
    MachineDetection { Enable => "Enable", DetectMessageEnd => "DetectMessageEnd" }
}

#[derive(Debug, Clone)]
enum DialBody {
    /// `<Dial>+15551234567</Dial>`.
    Plain(String),
    Nouns(Vec<El>),
}

/// `<Dial>`: connects the caller to numbers, clients or SIP endpoints.
#[derive(Debug, Clone)]
pub struct Dial {
    body: DialBody,
    action: Option<String>,
    method: Option<HttpMethod>,
    timeout: Option<u32>,
    time_limit: Option<u32>,
    caller_id: Option<String>,
    answer_on_bridge: Option<bool>,
    hangup_on_star: Option<bool>,
    ring_tone: Option<String>,
    sequential: Option<bool>,
    record: Option<DialRecord>,
    recording_status_callback: Option<String>,
    recording_status_callback_event: Option<Vec<RecordingEvent>>,
    recording_status_callback_method: Option<HttpMethod>,
    recording_track: Option<RecordingTrack>,
    trim: Option<Trim>,
}

impl Default for Dial {
    fn default() -> Self {
        Self::new()
    }
}

impl Dial {
    /// A `<Dial>` to be given nouns with [`Dial::number`], [`Dial::client`], [`Dial::sip`].
    pub fn new() -> Self {
        Dial {
            body: DialBody::Nouns(Vec::new()),
            action: None,
            method: None,
            timeout: None,
            time_limit: None,
            caller_id: None,
            answer_on_bridge: None,
            hangup_on_star: None,
            ring_tone: None,
            sequential: None,
            record: None,
            recording_status_callback: None,
            recording_status_callback_event: None,
            recording_status_callback_method: None,
            recording_track: None,
            trim: None,
        }
    }

    /// `<Dial>number</Dial>`: the plain-text form.
    pub fn plain_number(number: impl Into<String>) -> Self {
        Dial {
            body: DialBody::Plain(number.into()),
            ..Dial::new()
        }
    }

    setters! {
        /// `action`: Twilio posts `DialCallStatus` here when the dialled leg ends.
        action: String,
        method: HttpMethod,
        /// `timeout`: seconds to ring (default 30).
        timeout: u32,
        /// `timeLimit`: maximum call seconds (default 14400).
        time_limit: u32,
        caller_id: String,
        answer_on_bridge: bool,
        hangup_on_star: bool,
        /// `ringTone`: a two-letter country code such as `us` or `uk`.
        ring_tone: String,
        /// `sequential`: ring nouns one after another instead of in parallel.
        sequential: bool,
        record: DialRecord,
        recording_status_callback: String,
        recording_status_callback_event: Vec<RecordingEvent>,
        recording_status_callback_method: HttpMethod,
        recording_track: RecordingTrack,
        trim: Trim,
    }

    fn push_noun(mut self, el: El) -> Self {
        self.body = match self.body {
            // Adding a noun to a plain-text dial keeps the plain number as a <Number>.
            DialBody::Plain(n) => DialBody::Nouns(vec![Number::new(n).to_el(), el]),
            DialBody::Nouns(mut nouns) => {
                nouns.push(el);
                DialBody::Nouns(nouns)
            }
        };
        self
    }

    /// A `<Number>`; Twilio allows up to 10 per `<Dial>`.
    #[must_use]
    pub fn number(self, number: impl Into<Number>) -> Self {
        let el = number.into().to_el();
        self.push_noun(el)
    }

    #[must_use]
    pub fn client(self, client: impl Into<Client>) -> Self {
        let el = client.into().to_el();
        self.push_noun(el)
    }

    #[must_use]
    pub fn sip(self, sip: impl Into<Sip>) -> Self {
        let el = sip.into().to_el();
        self.push_noun(el)
    }

    pub(super) fn to_el(&self) -> El {
        let el = El::new("Dial")
            .attr("action", self.action.as_ref())
            .attr("method", self.method)
            .attr("timeout", self.timeout)
            .attr("timeLimit", self.time_limit)
            .attr("callerId", self.caller_id.as_ref())
            .attr("answerOnBridge", self.answer_on_bridge)
            .attr("hangupOnStar", self.hangup_on_star)
            .attr("ringTone", self.ring_tone.as_ref())
            .attr("sequential", self.sequential)
            .attr("record", self.record)
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
            .attr("recordingTrack", self.recording_track)
            .attr("trim", self.trim);
        match &self.body {
            DialBody::Plain(n) => el.text(n.clone()),
            DialBody::Nouns(nouns) => el.children(nouns.iter().cloned()),
        }
    }
}

impl From<&str> for Dial {
    fn from(number: &str) -> Self {
        Dial::plain_number(number)
    }
}

/// `<Number>` inside `<Dial>`.
#[derive(Debug, Clone)]
pub struct Number {
    number: String,
    url: Option<String>,
    method: Option<HttpMethod>,
    status_callback: Option<String>,
    status_callback_event: Option<Vec<CallEvent>>,
    status_callback_method: Option<HttpMethod>,
    send_digits: Option<String>,
    machine_detection: Option<MachineDetection>,
}

impl Number {
    pub fn new(number: impl Into<String>) -> Self {
        Number {
            number: number.into(),
            url: None,
            method: None,
            status_callback: None,
            status_callback_event: None,
            status_callback_method: None,
            send_digits: None,
            machine_detection: None,
        }
    }

    setters! {
        /// `url`: TwiML played to the callee before connecting (a whisper).
        url: String,
        method: HttpMethod,
        status_callback: String,
        status_callback_event: Vec<CallEvent>,
        status_callback_method: HttpMethod,
        send_digits: String,
        machine_detection: MachineDetection,
    }

    fn to_el(&self) -> El {
        El::new("Number")
            .attr("url", self.url.as_ref())
            .attr("method", self.method)
            .attr("statusCallback", self.status_callback.as_ref())
            .attr("statusCallbackEvent", self.status_callback_event.as_ref())
            .attr("statusCallbackMethod", self.status_callback_method)
            .attr("sendDigits", self.send_digits.as_ref())
            .attr("machineDetection", self.machine_detection)
            .text(self.number.clone())
    }
}

impl From<&str> for Number {
    fn from(number: &str) -> Self {
        Number::new(number)
    }
}

/// `<Client>` inside `<Dial>`: a Twilio Voice SDK identity.
#[derive(Debug, Clone)]
pub struct Client {
    identity: String,
    url: Option<String>,
    method: Option<HttpMethod>,
    status_callback: Option<String>,
    status_callback_event: Option<Vec<CallEvent>>,
    status_callback_method: Option<HttpMethod>,
}

impl Client {
    pub fn new(identity: impl Into<String>) -> Self {
        Client {
            identity: identity.into(),
            url: None,
            method: None,
            status_callback: None,
            status_callback_event: None,
            status_callback_method: None,
        }
    }

    setters! {
        url: String,
        method: HttpMethod,
        status_callback: String,
        status_callback_event: Vec<CallEvent>,
        status_callback_method: HttpMethod,
    }

    fn to_el(&self) -> El {
        El::new("Client")
            .attr("url", self.url.as_ref())
            .attr("method", self.method)
            .attr("statusCallback", self.status_callback.as_ref())
            .attr("statusCallbackEvent", self.status_callback_event.as_ref())
            .attr("statusCallbackMethod", self.status_callback_method)
            .text(self.identity.clone())
    }
}

impl From<&str> for Client {
    fn from(identity: &str) -> Self {
        Client::new(identity)
    }
}

/// `<Sip>` inside `<Dial>`: a SIP URI.
#[derive(Debug, Clone)]
pub struct Sip {
    uri: String,
    username: Option<String>,
    password: Option<String>,
    url: Option<String>,
    method: Option<HttpMethod>,
    status_callback: Option<String>,
    status_callback_event: Option<Vec<CallEvent>>,
    status_callback_method: Option<HttpMethod>,
    machine_detection: Option<MachineDetection>,
}

impl Sip {
    pub fn new(uri: impl Into<String>) -> Self {
        Sip {
            uri: uri.into(),
            username: None,
            password: None,
            url: None,
            method: None,
            status_callback: None,
            status_callback_event: None,
            status_callback_method: None,
            machine_detection: None,
        }
    }

    setters! {
        username: String,
        password: String,
        url: String,
        method: HttpMethod,
        status_callback: String,
        status_callback_event: Vec<CallEvent>,
        status_callback_method: HttpMethod,
        machine_detection: MachineDetection,
    }

    fn to_el(&self) -> El {
        El::new("Sip")
            .attr("username", self.username.as_ref())
            .attr("password", self.password.as_ref())
            .attr("url", self.url.as_ref())
            .attr("method", self.method)
            .attr("statusCallback", self.status_callback.as_ref())
            .attr("statusCallbackEvent", self.status_callback_event.as_ref())
            .attr("statusCallbackMethod", self.status_callback_method)
            .attr("machineDetection", self.machine_detection)
            .text(self.uri.clone())
    }
}

impl From<&str> for Sip {
    fn from(uri: &str) -> Self {
        Sip::new(uri)
    }
}
