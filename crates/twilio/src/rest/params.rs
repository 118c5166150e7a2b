//! Request parameters for the Api v2010 operations.
//!
//! Each struct holds only parameters that Twilio's OpenAPI description defines, under Rust names
//! that map one-to-one onto Twilio's (`status_callback_event` → `StatusCallbackEvent`). `None` and
//! empty lists are left out of the request so Twilio applies its own defaults. List parameters are
//! encoded as repeated keys (`StatusCallbackEvent=initiated&StatusCallbackEvent=ringing`): that is
//! what Twilio parses, and a space-joined value fails with error 21626.

use jiff::Timestamp;

use super::error::TwilioError;

/// `(Twilio parameter name, value)` pairs, in order; keys repeat for list parameters.
pub(crate) type Form = Vec<(&'static str, String)>;

/// The HTTP method Twilio uses for a webhook (`Method`, `SmsMethod`, `StatusCallbackMethod`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookMethod {
    Get,
    Post,
}

impl WebhookMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookMethod::Get => "GET",
            WebhookMethod::Post => "POST",
        }
    }
}

/// Appends parameters, skipping the unset ones.
#[derive(Default)]
struct FormBuilder(Form);

impl FormBuilder {
    fn text(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.0.push((name, value.to_string()));
        self
    }

    fn opt(&mut self, name: &'static str, value: &Option<String>) -> &mut Self {
        if let Some(value) = value {
            self.text(name, value);
        }
        self
    }

    fn num(&mut self, name: &'static str, value: Option<u32>) -> &mut Self {
        if let Some(value) = value {
            self.0.push((name, value.to_string()));
        }
        self
    }

    fn flag(&mut self, name: &'static str, value: Option<bool>) -> &mut Self {
        if let Some(value) = value {
            self.0.push((name, value.to_string()));
        }
        self
    }

    fn method(&mut self, name: &'static str, value: Option<WebhookMethod>) -> &mut Self {
        if let Some(value) = value {
            self.text(name, value.as_str());
        }
        self
    }

    fn list(&mut self, name: &'static str, values: &[String]) -> &mut Self {
        for value in values {
            self.text(name, value);
        }
        self
    }

    fn time(&mut self, name: &'static str, value: Option<Timestamp>) -> &mut Self {
        if let Some(value) = value {
            self.0.push((name, twilio_time(value)));
        }
        self
    }

    fn finish(&mut self) -> Form {
        std::mem::take(&mut self.0)
    }
}

/// Twilio's ISO 8601 form, whole seconds in UTC (`2024-05-01T12:00:00Z`): jiff's `Display` would add
/// fractional seconds when present, which Twilio's date filters do not document.
fn twilio_time(value: Timestamp) -> String {
    value.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn invalid(reason: &str) -> TwilioError {
    TwilioError::InvalidRequest(reason.to_string())
}

fn blank(value: &str) -> bool {
    value.trim().is_empty()
}

fn set(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !blank(v))
}

/// `POST Messages.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendMessage {
    /// `To`: E.164 number (or a channel address such as `whatsapp:+1…`).
    pub to: String,
    /// `From`: one of the account's numbers. Either this or `messaging_service_sid` is required.
    pub from: Option<String>,
    /// `MessagingServiceSid` (`MG…`).
    pub messaging_service_sid: Option<String>,
    /// `Body`, up to 1600 characters.
    pub body: Option<String>,
    /// `MediaUrl`, repeated once per attachment.
    pub media_url: Vec<String>,
    /// `ContentSid` (`HX…`): a Content API template instead of a body.
    pub content_sid: Option<String>,
    /// `ContentVariables`: JSON object text for the template.
    pub content_variables: Option<String>,
    /// `StatusCallback`: where Twilio posts delivery status updates.
    pub status_callback: Option<String>,
    /// `ValidityPeriod`: seconds the message may wait in Twilio's queue (1–36000).
    pub validity_period: Option<u32>,
    /// `SmartEncoded`: replace look-alike Unicode characters so the body stays GSM-7.
    pub smart_encoded: Option<bool>,
    /// `ShortenUrls` (needs a Messaging Service with link shortening).
    pub shorten_urls: Option<bool>,
    /// `SendAt` with `ScheduleType=fixed`; needs a Messaging Service.
    pub send_at: Option<Timestamp>,
}

impl SendMessage {
    /// Checks the rules Twilio would reject anyway (21604, 21603, 21602, 35118), so an obviously
    /// incomplete request never costs an API call.
    pub(crate) fn to_form(&self) -> Result<Form, TwilioError> {
        if blank(&self.to) {
            return Err(invalid("To is required"));
        }
        if !set(&self.from) && !set(&self.messaging_service_sid) {
            return Err(invalid("From or MessagingServiceSid is required"));
        }
        if !set(&self.body) && self.media_url.is_empty() && !set(&self.content_sid) {
            return Err(invalid("Body, MediaUrl or ContentSid is required"));
        }
        if self.send_at.is_some() && !set(&self.messaging_service_sid) {
            return Err(invalid("SendAt requires MessagingServiceSid"));
        }
        let mut form = FormBuilder::default();
        form.text("To", &self.to)
            .opt("From", &self.from)
            .opt("MessagingServiceSid", &self.messaging_service_sid)
            .opt("Body", &self.body)
            .list("MediaUrl", &self.media_url)
            .opt("ContentSid", &self.content_sid)
            .opt("ContentVariables", &self.content_variables)
            .opt("StatusCallback", &self.status_callback)
            .num("ValidityPeriod", self.validity_period)
            .flag("SmartEncoded", self.smart_encoded)
            .flag("ShortenUrls", self.shorten_urls);
        if self.send_at.is_some() {
            form.text("ScheduleType", "fixed");
        }
        form.time("SendAt", self.send_at);
        Ok(form.finish())
    }
}

/// Filters for `GET Messages.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListMessages {
    /// `To`.
    pub to: Option<String>,
    /// `From`.
    pub from: Option<String>,
    /// `DateSent>`: sent on or after this instant.
    pub date_sent_after: Option<Timestamp>,
    /// `DateSent<`: sent on or before this instant.
    pub date_sent_before: Option<Timestamp>,
    /// `PageSize` (Twilio's maximum is 1000).
    pub page_size: Option<u32>,
}

impl ListMessages {
    pub(crate) fn to_query(&self) -> Form {
        FormBuilder::default()
            .opt("To", &self.to)
            .opt("From", &self.from)
            .time("DateSent>", self.date_sent_after)
            .time("DateSent<", self.date_sent_before)
            .num("PageSize", self.page_size)
            .finish()
    }
}

/// `POST Calls.json`. Exactly one of `url` and `twiml` must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateCall {
    /// `To`: phone number, SIP address or client identifier.
    pub to: String,
    /// `From`: caller ID, one of the account's numbers.
    pub from: String,
    /// `Url`: where Twilio fetches the call's TwiML.
    pub url: Option<String>,
    /// `Twiml`: the call's TwiML inline (at most 4000 characters).
    pub twiml: Option<String>,
    /// `Method` for `Url`.
    pub method: Option<WebhookMethod>,
    /// `FallbackUrl`.
    pub fallback_url: Option<String>,
    /// `StatusCallback`.
    pub status_callback: Option<String>,
    /// `StatusCallbackEvent`: any of `initiated`, `ringing`, `answered`, `completed`, one per entry.
    /// Empty means Twilio's default (`completed` only).
    pub status_callback_event: Vec<String>,
    /// `StatusCallbackMethod`.
    pub status_callback_method: Option<WebhookMethod>,
    /// `Timeout`: seconds to let the phone ring (Twilio default 60, maximum 600).
    pub timeout: Option<u32>,
    /// `TimeLimit`: maximum call length in seconds.
    pub time_limit: Option<u32>,
    /// `Record`.
    pub record: Option<bool>,
    /// `RecordingChannels`: `mono` or `dual`.
    pub recording_channels: Option<String>,
    /// `RecordingStatusCallback`.
    pub recording_status_callback: Option<String>,
    /// `RecordingStatusCallbackEvent`: any of `in-progress`, `completed`, `absent`, one per entry.
    pub recording_status_callback_event: Vec<String>,
    /// `RecordingStatusCallbackMethod`.
    pub recording_status_callback_method: Option<WebhookMethod>,
    /// `MachineDetection`: `Enable` or `DetectMessageEnd`.
    pub machine_detection: Option<String>,
    /// `CallerId` (for SIP and client calls).
    pub caller_id: Option<String>,
    /// `SendDigits`: keys to press once the call connects.
    pub send_digits: Option<String>,
}

/// Twilio's limit on the `Twiml` parameter.
pub const MAX_TWIML_CHARS: usize = 4000;

impl CreateCall {
    pub(crate) fn to_form(&self) -> Result<Form, TwilioError> {
        if blank(&self.to) || blank(&self.from) {
            return Err(invalid("To and From are required"));
        }
        match (set(&self.url), &self.twiml) {
            (true, Some(_)) => return Err(invalid("set either Url or Twiml, not both")),
            (false, None) => return Err(invalid("one of Url or Twiml is required")),
            (false, Some(twiml)) if blank(twiml) => return Err(invalid("Twiml is empty")),
            (false, Some(twiml)) if twiml.chars().count() > MAX_TWIML_CHARS => {
                return Err(invalid(
                    "Twiml is longer than 4000 characters; serve it from a Url",
                ));
            }
            _ => {}
        }
        // One event per entry: "initiated ringing" in a single value is the space-joined mistake
        // Twilio rejects with 21626, so catch it before it costs a call attempt.
        let events = self
            .status_callback_event
            .iter()
            .chain(&self.recording_status_callback_event);
        if events
            .into_iter()
            .any(|e| blank(e) || e.contains(char::is_whitespace))
        {
            return Err(invalid("pass each callback event as its own list entry"));
        }
        Ok(FormBuilder::default()
            .text("To", &self.to)
            .text("From", &self.from)
            .opt("Url", &self.url)
            .opt("Twiml", &self.twiml)
            .method("Method", self.method)
            .opt("FallbackUrl", &self.fallback_url)
            .opt("StatusCallback", &self.status_callback)
            .list("StatusCallbackEvent", &self.status_callback_event)
            .method("StatusCallbackMethod", self.status_callback_method)
            .num("Timeout", self.timeout)
            .num("TimeLimit", self.time_limit)
            .flag("Record", self.record)
            .opt("RecordingChannels", &self.recording_channels)
            .opt("RecordingStatusCallback", &self.recording_status_callback)
            .list(
                "RecordingStatusCallbackEvent",
                &self.recording_status_callback_event,
            )
            .method(
                "RecordingStatusCallbackMethod",
                self.recording_status_callback_method,
            )
            .opt("MachineDetection", &self.machine_detection)
            .opt("CallerId", &self.caller_id)
            .opt("SendDigits", &self.send_digits)
            .finish())
    }
}

/// Which `AvailablePhoneNumbers/{CountryCode}/…` list to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberKind {
    Local,
    TollFree,
    Mobile,
}

impl NumberKind {
    /// The path segment, without `.json`.
    pub fn path_segment(self) -> &'static str {
        match self {
            NumberKind::Local => "Local",
            NumberKind::TollFree => "TollFree",
            NumberKind::Mobile => "Mobile",
        }
    }
}

/// Query for `GET AvailablePhoneNumbers/{CountryCode}/{Local|TollFree|Mobile}.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AvailableNumberSearch {
    /// `AreaCode` (US and Canada only).
    pub area_code: Option<u32>,
    /// `Contains`: digits or letters the number must contain; `*` matches any digit.
    pub contains: Option<String>,
    /// `SmsEnabled`.
    pub sms_enabled: Option<bool>,
    /// `MmsEnabled`.
    pub mms_enabled: Option<bool>,
    /// `VoiceEnabled`.
    pub voice_enabled: Option<bool>,
    /// `InRegion`: state or province code.
    pub in_region: Option<String>,
    /// `InLocality`: city.
    pub in_locality: Option<String>,
    /// `InPostalCode`.
    pub in_postal_code: Option<String>,
    /// `NearNumber`: find numbers close to this one.
    pub near_number: Option<String>,
    /// `Distance`: miles around `near_number` (default 25).
    pub distance: Option<u32>,
    /// `ExcludeAllAddressRequired`: skip numbers that need a regulatory address.
    pub exclude_all_address_required: Option<bool>,
    /// `PageSize`: how many numbers to return.
    pub page_size: Option<u32>,
}

impl AvailableNumberSearch {
    pub(crate) fn to_query(&self) -> Form {
        FormBuilder::default()
            .num("AreaCode", self.area_code)
            .opt("Contains", &self.contains)
            .flag("SmsEnabled", self.sms_enabled)
            .flag("MmsEnabled", self.mms_enabled)
            .flag("VoiceEnabled", self.voice_enabled)
            .opt("InRegion", &self.in_region)
            .opt("InLocality", &self.in_locality)
            .opt("InPostalCode", &self.in_postal_code)
            .opt("NearNumber", &self.near_number)
            .num("Distance", self.distance)
            .flag(
                "ExcludeAllAddressRequired",
                self.exclude_all_address_required,
            )
            .num("PageSize", self.page_size)
            .finish()
    }
}

/// Which number `POST IncomingPhoneNumbers.json` buys: one exact number, or any number in an area
/// code. An enum because Twilio needs exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberToBuy {
    /// `PhoneNumber`: an E.164 number from a search.
    PhoneNumber(String),
    /// `AreaCode`: let Twilio pick an available number (US and Canada).
    AreaCode(String),
}

/// `POST IncomingPhoneNumbers.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyNumber {
    pub number: NumberToBuy,
    /// Webhooks and labels to set on the new number.
    pub config: NumberConfig,
}

impl BuyNumber {
    pub(crate) fn to_form(&self) -> Result<Form, TwilioError> {
        let mut form = FormBuilder::default();
        match &self.number {
            NumberToBuy::PhoneNumber(n) if !blank(n) => form.text("PhoneNumber", n),
            NumberToBuy::AreaCode(a) if !blank(a) => form.text("AreaCode", a),
            _ => return Err(invalid("PhoneNumber or AreaCode must not be empty")),
        };
        let mut pairs = form.finish();
        pairs.extend(self.config.to_form());
        Ok(pairs)
    }
}

/// The settings of an owned number, used when buying (`POST IncomingPhoneNumbers.json`) and updating
/// (`POST IncomingPhoneNumbers/{Sid}.json`). Unset fields are left unchanged; `Some(String::new())`
/// clears a URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberConfig {
    /// `FriendlyName` (at most 64 characters).
    pub friendly_name: Option<String>,
    /// `VoiceUrl`: Twilio asks this URL what to do with incoming calls.
    pub voice_url: Option<String>,
    /// `VoiceMethod`.
    pub voice_method: Option<WebhookMethod>,
    /// `VoiceFallbackUrl`: used when `VoiceUrl` fails or is too slow.
    pub voice_fallback_url: Option<String>,
    /// `VoiceFallbackMethod`.
    pub voice_fallback_method: Option<WebhookMethod>,
    /// `SmsUrl`: Twilio posts incoming messages here.
    pub sms_url: Option<String>,
    /// `SmsMethod`.
    pub sms_method: Option<WebhookMethod>,
    /// `SmsFallbackUrl`.
    pub sms_fallback_url: Option<String>,
    /// `SmsFallbackMethod`.
    pub sms_fallback_method: Option<WebhookMethod>,
    /// `StatusCallback`: call status updates for calls to this number.
    pub status_callback: Option<String>,
    /// `StatusCallbackMethod`.
    pub status_callback_method: Option<WebhookMethod>,
    /// `VoiceApplicationSid`: a TwiML App that overrides the voice URLs.
    pub voice_application_sid: Option<String>,
    /// `SmsApplicationSid`: a TwiML App that overrides the SMS URLs.
    pub sms_application_sid: Option<String>,
    /// `VoiceCallerIdLookup`: look up caller names (billed per call).
    pub voice_caller_id_lookup: Option<bool>,
    /// `AddressSid`: regulatory address, where the number requires one.
    pub address_sid: Option<String>,
    /// `BundleSid`: regulatory bundle, where the number requires one.
    pub bundle_sid: Option<String>,
}

impl NumberConfig {
    pub(crate) fn to_form(&self) -> Form {
        FormBuilder::default()
            .opt("FriendlyName", &self.friendly_name)
            .opt("VoiceUrl", &self.voice_url)
            .method("VoiceMethod", self.voice_method)
            .opt("VoiceFallbackUrl", &self.voice_fallback_url)
            .method("VoiceFallbackMethod", self.voice_fallback_method)
            .opt("SmsUrl", &self.sms_url)
            .method("SmsMethod", self.sms_method)
            .opt("SmsFallbackUrl", &self.sms_fallback_url)
            .method("SmsFallbackMethod", self.sms_fallback_method)
            .opt("StatusCallback", &self.status_callback)
            .method("StatusCallbackMethod", self.status_callback_method)
            .opt("VoiceApplicationSid", &self.voice_application_sid)
            .opt("SmsApplicationSid", &self.sms_application_sid)
            .flag("VoiceCallerIdLookup", self.voice_caller_id_lookup)
            .opt("AddressSid", &self.address_sid)
            .opt("BundleSid", &self.bundle_sid)
            .finish()
    }
}

/// Audio format of recording media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaFormat {
    /// `Recordings/{Sid}.wav`: uncompressed, Twilio's default.
    Wav,
    /// `Recordings/{Sid}.mp3` (`audio/mpeg`): compressed, smaller to store and serve.
    Mp3,
}

impl MediaFormat {
    pub fn extension(self) -> &'static str {
        match self {
            MediaFormat::Wav => "wav",
            MediaFormat::Mp3 => "mp3",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_time_drops_fractional_seconds() {
        let ts: Timestamp = "2024-05-01T12:00:00.123456Z".parse().unwrap();
        assert_eq!(twilio_time(ts), "2024-05-01T12:00:00Z");
    }

    #[test]
    fn send_message_needs_a_sender_and_content() {
        let base = SendMessage {
            to: "+15005550006".into(),
            from: Some("+15005550006".into()),
            body: Some("hi".into()),
            ..Default::default()
        };
        assert!(base.to_form().is_ok());
        let no_sender = SendMessage {
            from: None,
            ..base.clone()
        };
        assert!(matches!(
            no_sender.to_form(),
            Err(TwilioError::InvalidRequest(_))
        ));
        let no_content = SendMessage {
            body: None,
            ..base.clone()
        };
        assert!(matches!(
            no_content.to_form(),
            Err(TwilioError::InvalidRequest(_))
        ));
        let scheduled_without_service = SendMessage {
            send_at: Some(Timestamp::UNIX_EPOCH),
            ..base
        };
        assert!(matches!(
            scheduled_without_service.to_form(),
            Err(TwilioError::InvalidRequest(_))
        ));
    }
}
