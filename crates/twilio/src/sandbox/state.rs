//! The sandbox's memory: resources it created, requests it received, webhooks it sent.
//!
//! Public snapshot types are plain data for tests; the Twilio JSON of each resource is built by
//! its own module, so what a test asserts on is what the sandbox decided, not how it is spelled.

use std::collections::{HashMap, VecDeque};

use jiff::Timestamp;
use rand::Rng as _;
use serde::Serialize;

/// One REST request as received under `/2010-04-01/`.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The request's parameters in order, repeated keys kept: the form body for a POST, the
    /// query string for any other method.
    pub params: Vec<(String, String)>,
    /// The Basic-auth user name presented, if any (never the password).
    pub auth_user: Option<String>,
    /// The status the sandbox answered with.
    pub status: u16,
    pub time: Timestamp,
}

impl RecordedRequest {
    /// The first value of parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        first(&self.params, key)
    }
}

/// One request the sandbox made to the outside: a status callback or a TwiML fetch.
#[derive(Debug, Clone, Serialize)]
pub struct SentWebhook {
    /// `message-status`, `call-status`, `call-url` (TwiML fetch) or `recording-status`.
    pub kind: String,
    pub method: String,
    /// The URL requested (for a GET, with the parameters in its query).
    pub url: String,
    pub params: Vec<(String, String)>,
    /// The HTTP status answered, or `None` when the request failed outright.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub time: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct SandboxMessage {
    pub sid: String,
    pub to: String,
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub body: String,
    pub media_urls: Vec<String>,
    /// Twilio's `message_enum_status` spelling.
    pub status: String,
    pub error_code: Option<u32>,
    pub error_message: Option<String>,
    pub num_segments: u32,
    pub price: Option<String>,
    pub status_callback: Option<String>,
    pub validity_period: Option<u32>,
    pub date_created: Timestamp,
    pub date_updated: Timestamp,
    pub date_sent: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SandboxCall {
    pub sid: String,
    pub to: String,
    pub from: String,
    /// Twilio's `call_enum_status` spelling.
    pub status: String,
    pub url: Option<String>,
    /// The method `url` is fetched with (`POST` unless `Method=GET`).
    pub method: String,
    /// The inline `Twiml` parameter, when the call was created with one.
    pub twiml: Option<String>,
    pub application_sid: Option<String>,
    /// What fetching `url` on answer returned (the body, whatever its status).
    pub fetched_twiml: Option<String>,
    pub status_callback: Option<String>,
    pub status_callback_method: String,
    /// The events asked for; empty means Twilio's default, `completed` only.
    pub status_callback_events: Vec<String>,
    pub record: bool,
    pub recording_channels: u16,
    pub recording_status_callback: Option<String>,
    pub recording_status_callback_method: String,
    pub recording_status_callback_events: Vec<String>,
    pub recording_sid: Option<String>,
    pub timeout: u32,
    pub duration: Option<u32>,
    pub phone_number_sid: Option<String>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub date_created: Timestamp,
    pub date_updated: Timestamp,
}

/// The OAI `capabilities` object: keys exactly as the schema names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub voice: bool,
    pub sms: bool,
    pub mms: bool,
    pub fax: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SandboxNumber {
    pub sid: String,
    pub phone_number: String,
    pub friendly_name: String,
    /// `local`, `toll-free` or `mobile`.
    pub number_type: String,
    pub capabilities: Capabilities,
    pub voice_url: Option<String>,
    pub voice_method: String,
    pub voice_fallback_url: Option<String>,
    pub voice_fallback_method: String,
    pub voice_caller_id_lookup: bool,
    pub voice_application_sid: Option<String>,
    pub voice_receive_mode: String,
    pub sms_url: Option<String>,
    pub sms_method: String,
    pub sms_fallback_url: Option<String>,
    pub sms_fallback_method: String,
    pub sms_application_sid: Option<String>,
    pub status_callback: Option<String>,
    pub status_callback_method: String,
    pub trunk_sid: Option<String>,
    pub address_sid: Option<String>,
    pub identity_sid: Option<String>,
    pub bundle_sid: Option<String>,
    pub emergency_status: String,
    pub emergency_address_sid: Option<String>,
    pub date_created: Timestamp,
    pub date_updated: Timestamp,
}

impl SandboxNumber {
    /// A freshly bought number with Twilio's defaults: no URLs, every method `POST`.
    pub(crate) fn new(phone_number: &str) -> Self {
        let now = Timestamp::now();
        Self {
            sid: new_sid("PN"),
            phone_number: phone_number.to_owned(),
            friendly_name: friendly_format(phone_number),
            number_type: super::available::number_type(phone_number).to_owned(),
            capabilities: super::available::capabilities_of(phone_number),
            voice_url: None,
            voice_method: "POST".into(),
            voice_fallback_url: None,
            voice_fallback_method: "POST".into(),
            voice_caller_id_lookup: false,
            voice_application_sid: None,
            voice_receive_mode: "voice".into(),
            sms_url: None,
            sms_method: "POST".into(),
            sms_fallback_url: None,
            sms_fallback_method: "POST".into(),
            sms_application_sid: None,
            status_callback: None,
            status_callback_method: "POST".into(),
            trunk_sid: None,
            address_sid: None,
            identity_sid: None,
            bundle_sid: None,
            emergency_status: "Inactive".into(),
            emergency_address_sid: None,
            date_created: now,
            date_updated: now,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SandboxRecording {
    pub sid: String,
    pub call_sid: String,
    pub duration_secs: u32,
    pub channels: u16,
    /// OAI `recording_enum_source`, e.g. `OutboundAPI` for `Record=true` on a created call.
    pub source: String,
    pub status: String,
    pub start_time: Timestamp,
    pub date_created: Timestamp,
    /// Media GETs answered so far, 404s included (drives `media_not_ready_for`).
    pub media_requests: u32,
}

#[derive(Default)]
pub(crate) struct Store {
    /// In the order created; add with [`Store::add_message`], which keeps `message_index`.
    pub(crate) messages: Vec<SandboxMessage>,
    /// Position in `messages` by SID: every status callback and fetch finds its message, and a
    /// scan of a long-running sandbox's messages made each one cost more than the rest of it.
    message_index: HashMap<String, usize>,
    pub(crate) calls: Vec<SandboxCall>,
    pub(crate) numbers: Vec<SandboxNumber>,
    pub(crate) recordings: Vec<SandboxRecording>,
    pub(crate) requests: VecDeque<RecordedRequest>,
    pub(crate) webhooks: VecDeque<SentWebhook>,
}

/// How many requests and webhooks the logs keep: a development server runs for days, and the
/// oldest entries are the least interesting.
pub(crate) const LOG_LIMIT: usize = 10_000;

/// Appends to a log, dropping the oldest entry beyond [`LOG_LIMIT`] (a ring: dropping costs
/// nothing, where removing the front of a `Vec` moved every entry once the log was full).
pub(crate) fn push_capped<T>(log: &mut VecDeque<T>, entry: T) {
    while log.len() >= LOG_LIMIT {
        log.pop_front();
    }
    log.push_back(entry);
}

impl Store {
    pub(crate) fn number_by_phone(&self, phone: &str) -> Option<&SandboxNumber> {
        self.numbers.iter().find(|n| n.phone_number == phone)
    }

    pub(crate) fn add_message(&mut self, message: SandboxMessage) {
        self.message_index
            .insert(message.sid.clone(), self.messages.len());
        self.messages.push(message);
    }

    pub(crate) fn message(&self, sid: &str) -> Option<&SandboxMessage> {
        self.message_index.get(sid).map(|&i| &self.messages[i])
    }

    pub(crate) fn message_mut(&mut self, sid: &str) -> Option<&mut SandboxMessage> {
        let i = *self.message_index.get(sid)?;
        self.messages.get_mut(i)
    }

    pub(crate) fn call_mut(&mut self, sid: &str) -> Option<&mut SandboxCall> {
        self.calls.iter_mut().find(|c| c.sid == sid)
    }
}

/// A Twilio-shaped SID: two-letter prefix, then 32 lowercase hex digits.
pub(crate) fn new_sid(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::rng().random();
    format!("{prefix}{}", hex::encode(bytes))
}

/// Twilio's date format: RFC 2822 in GMT, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`.
pub(crate) fn rfc2822(ts: Timestamp) -> String {
    ts.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// `(415) 555-0100` for a NANP number, the E.164 string otherwise (as Twilio's `friendly_name`
/// and `to_formatted` do).
pub(crate) fn friendly_format(e164: &str) -> String {
    match e164.strip_prefix("+1") {
        Some(n) if n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()) => {
            format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..])
        }
        _ => e164.to_owned(),
    }
}

/// `+` then 8 to 15 digits, the first not zero: what the sandbox calls E.164.
pub(crate) fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// An absolute http(s) URL, the only kind Twilio will call back.
pub(crate) fn is_http_url(s: &str) -> bool {
    url::Url::parse(s)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .unwrap_or(false)
}

/// The first value of `key` among form or query pairs.
pub(crate) fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Like [`first`], but an empty value counts as absent (Twilio treats `Body=` as no body).
pub(crate) fn non_empty<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    first(pairs, key).filter(|v| !v.is_empty())
}

/// Every value of a repeated `key`, in order.
pub(crate) fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_keep_the_newest_entries_up_to_the_limit() {
        let mut log: VecDeque<usize> = (0..LOG_LIMIT).collect();
        push_capped(&mut log, LOG_LIMIT);
        assert_eq!(log.len(), LOG_LIMIT);
        assert_eq!(log.front(), Some(&1));
        assert_eq!(log.back(), Some(&LOG_LIMIT));
    }

    #[test]
    fn sids_have_prefix_and_32_lowercase_hex() {
        let sid = new_sid("SM");
        assert_eq!(sid.len(), 34);
        assert!(sid.starts_with("SM"));
        assert!(
            sid[2..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(new_sid("SM"), sid, "SIDs must not repeat");
    }

    #[test]
    fn dates_are_rfc2822_gmt_like_twilio() {
        let ts: Timestamp = "2023-08-24T05:01:45Z".parse().unwrap();
        assert_eq!(rfc2822(ts), "Thu, 24 Aug 2023 05:01:45 +0000");
    }

    #[test]
    fn nanp_numbers_format_as_twilio_friendly_names() {
        assert_eq!(friendly_format("+14155550100"), "(415) 555-0100");
        assert_eq!(friendly_format("+447700900123"), "+447700900123");
    }

    #[test]
    fn e164_needs_plus_digits_and_no_leading_zero() {
        assert!(is_e164("+14155550100"));
        assert!(!is_e164("14155550100"));
        assert!(!is_e164("+1415555010a"));
        assert!(!is_e164("+0415555010"));
        assert!(!is_e164("+1234567"));
    }
}
