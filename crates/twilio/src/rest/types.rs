//! Typed views of Twilio's Api v2010 JSON responses (schemas `api.v2010.account.*`).
//!
//! Field names are Twilio's snake_case names. Decoding is defensive: unknown fields are ignored,
//! every field may be missing or `null` (`#[serde(default)]` + `Option`), and numbers that Twilio
//! sends as strings (`num_segments`, `price`, `duration`) stay strings with typed accessors beside
//! them, so a Twilio format change degrades one accessor instead of failing the whole response.
//! The types also serialise back to the same shape, which the sandbox and tests can use.

use std::fmt;

use jiff::Timestamp;
use jiff::fmt::rfc2822::DateTimeParser;
use serde::{Deserialize, Serialize};

use super::de;

/// Parses Twilio's RFC 2822 dates (`"Thu, 24 Aug 2023 05:01:45 +0000"`).
pub fn parse_twilio_date(value: &str) -> Option<Timestamp> {
    static PARSER: DateTimeParser = DateTimeParser::new();
    PARSER.parse_timestamp(value.trim()).ok()
}

fn date(value: &Option<String>) -> Option<Timestamp> {
    value.as_deref().and_then(parse_twilio_date)
}

fn count(value: &Option<String>) -> Option<u32> {
    value.as_deref().and_then(|v| v.trim().parse().ok())
}

/// Declares a status enum over Twilio's strings that keeps values it does not know in `Other`, so a
/// status Twilio adds tomorrow cannot make a response undecodable.
macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version of Switchboard does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Twilio's spelling of the status.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(other) => other,
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match value.as_str() {
                    $($text => Self::$variant,)*
                    _ => Self::Other(value),
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.as_str().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum! {
    /// `message_enum_status` in the OpenAPI description.
    MessageStatus {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
        Delivered => "delivered",
        Undelivered => "undelivered",
        Receiving => "receiving",
        Received => "received",
        Accepted => "accepted",
        Scheduled => "scheduled",
        Read => "read",
        PartiallyDelivered => "partially_delivered",
        Canceled => "canceled",
    }
}

status_enum! {
    /// `call_enum_status` in the OpenAPI description.
    CallStatus {
        Queued => "queued",
        Ringing => "ringing",
        InProgress => "in-progress",
        Completed => "completed",
        Busy => "busy",
        Failed => "failed",
        NoAnswer => "no-answer",
        Canceled => "canceled",
    }
}

status_enum! {
    /// `recording_enum_status` in the OpenAPI description.
    RecordingStatus {
        InProgress => "in-progress",
        Paused => "paused",
        Stopped => "stopped",
        Processing => "processing",
        Completed => "completed",
        Absent => "absent",
        Deleted => "deleted",
    }
}

/// `api.v2010.account.message`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    pub sid: Option<String>,
    pub account_sid: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub to: Option<String>,
    pub from: Option<String>,
    pub body: Option<String>,
    pub status: Option<MessageStatus>,
    /// `inbound`, `outbound-api`, `outbound-call` or `outbound-reply`.
    pub direction: Option<String>,
    /// Segment count, sent by Twilio as a string; see [`Message::segments`].
    #[serde(deserialize_with = "de::opt_text")]
    pub num_segments: Option<String>,
    #[serde(deserialize_with = "de::opt_text")]
    pub num_media: Option<String>,
    /// Decimal string, negative for charges (`"-0.00750"`); kept as text because it is money.
    #[serde(deserialize_with = "de::opt_text")]
    pub price: Option<String>,
    pub price_unit: Option<String>,
    #[serde(deserialize_with = "de::opt_u32")]
    pub error_code: Option<u32>,
    pub error_message: Option<String>,
    /// RFC 2822 dates; see the `*_at` accessors.
    pub date_created: Option<String>,
    pub date_sent: Option<String>,
    pub date_updated: Option<String>,
    pub api_version: Option<String>,
    pub uri: Option<String>,
}

impl Message {
    /// Number of SMS segments billed, once Twilio knows it.
    pub fn segments(&self) -> Option<u32> {
        count(&self.num_segments)
    }

    pub fn media_count(&self) -> Option<u32> {
        count(&self.num_media)
    }

    pub fn created_at(&self) -> Option<Timestamp> {
        date(&self.date_created)
    }

    pub fn sent_at(&self) -> Option<Timestamp> {
        date(&self.date_sent)
    }

    pub fn updated_at(&self) -> Option<Timestamp> {
        date(&self.date_updated)
    }
}

/// One page of `GET Messages.json`. Pass it to
/// [`TwilioClient::next_message_page`](super::TwilioClient::next_message_page) for the next one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessagePage {
    #[serde(deserialize_with = "de::null_as_default")]
    pub messages: Vec<Message>,
    /// Path and query of the next page, `None` on the last page.
    pub next_page_uri: Option<String>,
    pub previous_page_uri: Option<String>,
    pub first_page_uri: Option<String>,
    pub uri: Option<String>,
    #[serde(deserialize_with = "de::opt_u32")]
    pub page: Option<u32>,
    #[serde(deserialize_with = "de::opt_u32")]
    pub page_size: Option<u32>,
}

/// `api.v2010.account.call`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Call {
    pub sid: Option<String>,
    pub account_sid: Option<String>,
    pub parent_call_sid: Option<String>,
    pub phone_number_sid: Option<String>,
    pub to: Option<String>,
    pub to_formatted: Option<String>,
    pub from: Option<String>,
    pub from_formatted: Option<String>,
    pub status: Option<CallStatus>,
    /// `inbound`, `outbound-api` or `outbound-dial`.
    pub direction: Option<String>,
    pub answered_by: Option<String>,
    pub caller_name: Option<String>,
    pub forwarded_from: Option<String>,
    /// Seconds, sent by Twilio as a string; see [`Call::duration_secs`].
    #[serde(deserialize_with = "de::opt_text")]
    pub duration: Option<String>,
    #[serde(deserialize_with = "de::opt_text")]
    pub queue_time: Option<String>,
    #[serde(deserialize_with = "de::opt_text")]
    pub price: Option<String>,
    pub price_unit: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub date_created: Option<String>,
    pub date_updated: Option<String>,
    pub api_version: Option<String>,
    pub uri: Option<String>,
}

impl Call {
    /// Call length in seconds, once the call has ended.
    pub fn duration_secs(&self) -> Option<u32> {
        count(&self.duration)
    }

    pub fn started_at(&self) -> Option<Timestamp> {
        date(&self.start_time)
    }

    pub fn ended_at(&self) -> Option<Timestamp> {
        date(&self.end_time)
    }

    pub fn created_at(&self) -> Option<Timestamp> {
        date(&self.date_created)
    }
}

/// The `capabilities` object of phone numbers. The OpenAPI description names the keys `voice`,
/// `sms`, `mms`, `fax`; Twilio's XML rendering (and older JSON) spells them `SMS`/`MMS`, so both are
/// accepted. A missing or `null` flag reads as `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    #[serde(deserialize_with = "de::flag", alias = "Voice")]
    pub voice: bool,
    #[serde(deserialize_with = "de::flag", alias = "SMS")]
    pub sms: bool,
    #[serde(deserialize_with = "de::flag", alias = "MMS")]
    pub mms: bool,
    #[serde(deserialize_with = "de::flag", alias = "Fax")]
    pub fax: bool,
}

/// `api.v2010.account.available_phone_number_country.available_phone_number_local` (the toll-free
/// and mobile schemas have the same fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AvailablePhoneNumber {
    pub phone_number: Option<String>,
    pub friendly_name: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub iso_country: Option<String>,
    pub lata: Option<String>,
    pub rate_center: Option<String>,
    /// A number in the schema, a string in Twilio's examples: kept as text.
    #[serde(deserialize_with = "de::opt_text")]
    pub latitude: Option<String>,
    #[serde(deserialize_with = "de::opt_text")]
    pub longitude: Option<String>,
    /// `none`, `any`, `local` or `foreign`: whether buying needs an Address on the account.
    pub address_requirements: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    pub beta: Option<bool>,
    #[serde(deserialize_with = "de::null_as_default")]
    pub capabilities: Capabilities,
}

/// `api.v2010.account.incoming_phone_number`: a number the account owns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IncomingPhoneNumber {
    pub sid: Option<String>,
    pub account_sid: Option<String>,
    pub phone_number: Option<String>,
    pub friendly_name: Option<String>,
    pub voice_url: Option<String>,
    pub voice_method: Option<String>,
    pub voice_fallback_url: Option<String>,
    pub voice_fallback_method: Option<String>,
    pub voice_application_sid: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    pub voice_caller_id_lookup: Option<bool>,
    pub sms_url: Option<String>,
    pub sms_method: Option<String>,
    pub sms_fallback_url: Option<String>,
    pub sms_fallback_method: Option<String>,
    pub sms_application_sid: Option<String>,
    pub status_callback: Option<String>,
    pub status_callback_method: Option<String>,
    #[serde(deserialize_with = "de::null_as_default")]
    pub capabilities: Capabilities,
    pub address_sid: Option<String>,
    pub bundle_sid: Option<String>,
    pub address_requirements: Option<String>,
    pub origin: Option<String>,
    /// e.g. `in-use`.
    pub status: Option<String>,
    /// `local`, `toll-free`, `mobile`… (`type` in Twilio's JSON).
    #[serde(rename = "type")]
    pub number_type: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    pub beta: Option<bool>,
    pub date_created: Option<String>,
    pub date_updated: Option<String>,
    pub api_version: Option<String>,
    pub uri: Option<String>,
}

impl IncomingPhoneNumber {
    pub fn created_at(&self) -> Option<Timestamp> {
        date(&self.date_created)
    }
}

/// `api.v2010.account.recording`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recording {
    pub sid: Option<String>,
    pub account_sid: Option<String>,
    pub call_sid: Option<String>,
    pub conference_sid: Option<String>,
    pub status: Option<RecordingStatus>,
    /// How the recording was made: `DialVerb`, `RecordVerb`, `OutboundAPI`…
    pub source: Option<String>,
    #[serde(deserialize_with = "de::opt_u32")]
    pub channels: Option<u32>,
    /// Seconds, sent by Twilio as a string; see [`Recording::duration_secs`].
    #[serde(deserialize_with = "de::opt_text")]
    pub duration: Option<String>,
    #[serde(deserialize_with = "de::opt_text")]
    pub price: Option<String>,
    pub price_unit: Option<String>,
    #[serde(deserialize_with = "de::opt_u32")]
    pub error_code: Option<u32>,
    pub start_time: Option<String>,
    pub date_created: Option<String>,
    pub date_updated: Option<String>,
    /// The media URL without extension (WAV); may be `http://` in Twilio's answers.
    pub media_url: Option<String>,
    pub api_version: Option<String>,
    pub uri: Option<String>,
}

impl Recording {
    /// Recording length in seconds; `None` while unknown (missing, negative or not a number).
    pub fn duration_secs(&self) -> Option<u32> {
        count(&self.duration)
    }

    pub fn started_at(&self) -> Option<Timestamp> {
        date(&self.start_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_twilio_rfc2822_dates() {
        let ts = parse_twilio_date("Thu, 24 Aug 2023 05:01:45 +0000").unwrap();
        assert_eq!(ts.to_string(), "2023-08-24T05:01:45Z");
        assert_eq!(parse_twilio_date("yesterday"), None);
    }

    #[test]
    fn unknown_status_is_kept_verbatim_and_round_trips() {
        let status: MessageStatus = serde_json::from_str("\"teleported\"").unwrap();
        assert_eq!(status, MessageStatus::Other("teleported".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"teleported\"");
        let known: CallStatus = serde_json::from_str("\"no-answer\"").unwrap();
        assert_eq!(known, CallStatus::NoAnswer);
    }
}
