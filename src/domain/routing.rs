//! A tenant's call-routing policy: greeting, strategy in and out of hours, and dialling parameters.
//!
//! Stored as JSON on the tenant row. Unknown keys are rejected so a typo ("stratgy") is a 400, not a
//! silently ignored setting. Later capabilities (AI hand-off, gather menus) add fields here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{E164, ValidationError, text};

/// What to do with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Ring on-duty staff one after another.
    Forward,
    /// Ring a fixed external number.
    ForwardExternal,
    /// Play the voicemail prompt and record.
    Voicemail,
    /// Ask why the caller is calling (speech or keypad) first.
    Gather,
    /// Hand the call to an AI voice agent.
    AiAssistant,
}

/// The order in which staff are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffOrder {
    /// Lowest `priority` value first.
    Priority,
    /// Rotate the first staff member from call to call.
    RoundRobin,
}

/// What to do when everyone rung has failed to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Offer voicemail.
    Voicemail,
    /// Apologise and hang up.
    Hangup,
}

/// Why someone called (seed 000's enum).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallReason {
    SetupAppointment,
    CancelAppointment,
    ModifyAppointment,
    GetHours,
    GetPricing,
    Other,
}

impl CallReason {
    pub const ALL: [CallReason; 6] = [
        CallReason::SetupAppointment,
        CallReason::CancelAppointment,
        CallReason::ModifyAppointment,
        CallReason::GetHours,
        CallReason::GetPricing,
        CallReason::Other,
    ];
    /// The stored names, in the order of [`CallReason::ALL`].
    pub const NAMES: [&'static str; 6] = [
        "SETUP_APPOINTMENT",
        "CANCEL_APPOINTMENT",
        "MODIFY_APPOINTMENT",
        "GET_HOURS",
        "GET_PRICING",
        "OTHER",
    ];
    pub fn as_str(self) -> &'static str {
        // The variants are declared in the order of `ALL` and `NAMES`.
        Self::NAMES[self as usize]
    }
    pub fn parse(s: &str) -> Option<CallReason> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
    /// Whether the caller wants a person (the call routes on to staff).
    pub fn is_appointment(self) -> bool {
        matches!(
            self,
            CallReason::SetupAppointment
                | CallReason::CancelAppointment
                | CallReason::ModifyAppointment
        )
    }
}

/// Per-tenant keyword overrides for classifying what a caller said. A reason absent here uses
/// Switchboard's English defaults; a reason present replaces them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields, default)]
pub struct ReasonKeywords {
    pub setup_appointment: Option<Vec<String>>,
    pub cancel_appointment: Option<Vec<String>>,
    pub modify_appointment: Option<Vec<String>>,
    pub get_hours: Option<Vec<String>>,
    pub get_pricing: Option<Vec<String>>,
}

impl ReasonKeywords {
    /// The tenant's override for `reason`, if any (`Other` has none: it is what nothing matched).
    pub fn get(&self, reason: CallReason) -> Option<&[String]> {
        match reason {
            CallReason::SetupAppointment => self.setup_appointment.as_deref(),
            CallReason::CancelAppointment => self.cancel_appointment.as_deref(),
            CallReason::ModifyAppointment => self.modify_appointment.as_deref(),
            CallReason::GetHours => self.get_hours.as_deref(),
            CallReason::GetPricing => self.get_pricing.as_deref(),
            CallReason::Other => None,
        }
    }
}

/// How a call reaches the AI voice agent (strategy `ai_assistant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AiConnector {
    /// `<Connect><Stream>` to the agent's WebSocket (`url`, `parameters`).
    Stream,
    /// `<Dial>` the agent's phone number (`number`) or SIP URI (`sip`).
    Dial,
    /// Ask the provider's API for the call's TwiML (`url`, `apiKey`, `assistantId`, `metadata`,
    /// `timeoutMs`), the way Vapi's phone-call-provider bypass works.
    ProviderTwiml,
}

/// Default wait for a `provider_twiml` answer: short, because the caller hears silence meanwhile
/// and Twilio gives the whole webhook 15 s.
pub const AI_DEFAULT_TIMEOUT_MS: u32 = 3000;
/// Parameter names Switchboard always sends on a stream; a configured parameter may not shadow them.
pub const AI_STREAM_BUILTIN_PARAMETERS: [&str; 5] =
    ["tenantId", "callId", "callSid", "caller", "businessName"];

/// The AI hand-off's connection settings. One flat object (rather than one shape per connector) so
/// a mistake is a 400 naming the exact field, such as `routingPolicy.aiAssistant.url`; fields of
/// another connector are refused rather than ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AiAssistant {
    pub connector: AiConnector,
    /// `stream`: the agent's `wss://` URL. `provider_twiml`: the provider endpoint, `https://` to a
    /// public destination: not a private, loopback or link-local address, localhost or this
    /// deployment (plain `http://` and such destinations only when the operator sets
    /// `ALLOW_PRIVATE_DESTINATIONS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `stream`: extra `<Parameter>`s (name → value), after Switchboard's own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// `dial`: the agent's phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<E164>,
    /// `dial`: the agent's SIP URI (`sip:agent@example.com`), instead of `number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<String>,
    /// `dial`: caller id shown to the agent; absent: the tenant's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<E164>,
    /// `provider_twiml`: sent as `Authorization: Bearer <apiKey>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// `provider_twiml`: the provider's assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_id: Option<String>,
    /// `provider_twiml`: a JSON object merged into the request's `metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// `provider_twiml`: how long to wait for the provider, 500 to 10000 ms (default 3000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
}

impl AiAssistant {
    /// The provider timeout in force.
    pub fn timeout_ms(&self) -> u32 {
        self.timeout_ms.unwrap_or(AI_DEFAULT_TIMEOUT_MS)
    }

    fn validate(&self, field: &str) -> Result<(), ValidationError> {
        let f = |name: &str| format!("{field}.{name}");
        let unused = |name: &str| {
            ValidationError::new(
                f(name),
                format!("is not used by the {} connector", self.connector_name()),
            )
        };
        let stream = self.connector == AiConnector::Stream;
        let dial = self.connector == AiConnector::Dial;
        let provider = self.connector == AiConnector::ProviderTwiml;
        for (name, set, allowed) in [
            ("url", self.url.is_some(), stream || provider),
            ("parameters", !self.parameters.is_empty(), stream),
            ("number", self.number.is_some(), dial),
            ("sip", self.sip.is_some(), dial),
            ("callerId", self.caller_id.is_some(), dial),
            ("apiKey", self.api_key.is_some(), provider),
            ("assistantId", self.assistant_id.is_some(), provider),
            ("metadata", self.metadata.is_some(), provider),
            ("timeoutMs", self.timeout_ms.is_some(), provider),
        ] {
            if set && !allowed {
                return Err(unused(name));
            }
        }
        match self.connector {
            AiConnector::Stream => {
                let url = self.url.as_deref().ok_or_else(|| {
                    ValidationError::new(f("url"), "is required for the stream connector")
                })?;
                check_url(
                    &f("url"),
                    url,
                    |u| u.scheme() == "wss",
                    "must be a wss:// URL",
                )?;
                if self.parameters.len() > 20 {
                    return Err(ValidationError::new(
                        f("parameters"),
                        "at most 20 parameters",
                    ));
                }
                for (name, value) in &self.parameters {
                    let field = f(&format!("parameters.{name}"));
                    if name.is_empty()
                        || name.len() > 64
                        || !name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    {
                        return Err(ValidationError::new(
                            field,
                            "names must be 1-64 letters, digits, '-', '_' or '.'",
                        ));
                    }
                    if AI_STREAM_BUILTIN_PARAMETERS.contains(&name.as_str()) {
                        return Err(ValidationError::new(
                            field,
                            "is set by Switchboard and cannot be configured",
                        ));
                    }
                    text::required(&field, value, 500)?;
                }
            }
            AiConnector::Dial => match (&self.number, &self.sip) {
                (None, None) => {
                    return Err(ValidationError::new(
                        f("number"),
                        "number or sip is required for the dial connector",
                    ));
                }
                (Some(_), Some(_)) => {
                    return Err(ValidationError::new(
                        f("sip"),
                        "give number or sip, not both",
                    ));
                }
                (None, Some(sip)) => check_sip(&f("sip"), sip)?,
                (Some(_), None) => {}
            },
            AiConnector::ProviderTwiml => {
                let url = self.url.as_deref().ok_or_else(|| {
                    ValidationError::new(f("url"), "is required for the provider_twiml connector")
                })?;
                // Where it may lead (https, a public destination) depends on the deployment's
                // settings: `tenants::manage` checks that with `domain::destination`.
                check_url(
                    &f("url"),
                    url,
                    |u| u.scheme() == "https" || u.scheme() == "http",
                    "must be an http:// or https:// URL",
                )?;
                if let Some(k) = &self.api_key
                    && (k.is_empty() || k.len() > 512 || k.chars().any(|c| !c.is_ascii_graphic()))
                {
                    return Err(ValidationError::new(
                        f("apiKey"),
                        "must be 1-512 printable characters without spaces",
                    ));
                }
                if let Some(a) = &self.assistant_id {
                    text::required(&f("assistantId"), a, 200)?;
                }
                if let Some(m) = &self.metadata {
                    if !m.is_object() {
                        return Err(ValidationError::new(f("metadata"), "must be a JSON object"));
                    }
                    if m.to_string().len() > 4096 {
                        return Err(ValidationError::new(
                            f("metadata"),
                            "must be at most 4096 bytes of JSON",
                        ));
                    }
                }
                if !(500..=10_000).contains(&self.timeout_ms()) {
                    return Err(ValidationError::new(
                        f("timeoutMs"),
                        "must be between 500 and 10000",
                    ));
                }
            }
        }
        Ok(())
    }

    fn connector_name(&self) -> &'static str {
        match self.connector {
            AiConnector::Stream => "stream",
            AiConnector::Dial => "dial",
            AiConnector::ProviderTwiml => "provider_twiml",
        }
    }
}

fn check_url(
    field: &str,
    raw: &str,
    scheme_ok: impl Fn(&url::Url) -> bool,
    scheme_msg: &str,
) -> Result<(), ValidationError> {
    if raw.len() > 2048 {
        return Err(ValidationError::new(
            field,
            "must be at most 2048 characters",
        ));
    }
    let u =
        url::Url::parse(raw).map_err(|_| ValidationError::new(field, "must be an absolute URL"))?;
    if u.host_str().is_none_or(str::is_empty) {
        return Err(ValidationError::new(field, "must name a host"));
    }
    if !scheme_ok(&u) {
        return Err(ValidationError::new(field, scheme_msg));
    }
    Ok(())
}

/// `sip:user@host[:port][;params]`: Twilio dials only `sip:` URIs; the characters are limited so the
/// value cannot break out of the TwiML noun or smuggle whitespace.
fn check_sip(field: &str, sip: &str) -> Result<(), ValidationError> {
    let ok = sip.len() <= 255
        && sip.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("sip:"))
        && sip[4..]
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty())
        && sip[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()%;:&=+$,@?/[]".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "must be a SIP URI like sip:agent@example.com (at most 255 characters)",
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RoutingPolicy {
    /// Greeting spoken first; `{name}` is replaced by the tenant name. Absent: the salon default.
    pub greeting: Option<String>,
    /// Twilio `Say` voice, e.g. `Polly.Joanna` or `alice`.
    pub voice: Option<String>,
    /// Twilio `Say` language, e.g. `en-US`.
    pub language: Option<String>,
    pub strategy: Strategy,
    pub staff_order: StaffOrder,
    /// Target of `forward_external`.
    pub external_number: Option<E164>,
    /// Strategy outside business hours.
    pub after_hours_strategy: Strategy,
    /// Seconds each `Dial` rings before giving up (Twilio's `timeout`), 5 to 600.
    pub dial_timeout_secs: u32,
    /// Longest voicemail in seconds, 5 to 3600.
    pub voicemail_max_length_secs: u32,
    /// Record forwarded calls (the greeting then announces it).
    pub record_calls: bool,
    /// After every forwarding target failed: voicemail (default) or hang up.
    pub fallback: Fallback,
    /// Ask the caller's reason (speech or keypad menu) after the greeting even when the strategy is not `gather`.
    pub gather_after_greeting: bool,
    /// The menu read in the Gather; absent: the default menu (1 book, 2 cancel, 3 change, 4 hours, 5 prices).
    pub gather_prompt: Option<String>,
    /// Keyword overrides for classifying the caller's words.
    pub reason_keywords: ReasonKeywords,
    /// The AI voice agent; required when a strategy is `ai_assistant`.
    pub ai_assistant: Option<AiAssistant>,
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        RoutingPolicy {
            greeting: None,
            voice: None,
            language: None,
            strategy: Strategy::Forward,
            staff_order: StaffOrder::Priority,
            external_number: None,
            after_hours_strategy: Strategy::Voicemail,
            dial_timeout_secs: 20,
            voicemail_max_length_secs: 120,
            record_calls: false,
            fallback: Fallback::Voicemail,
            gather_after_greeting: false,
            gather_prompt: None,
            reason_keywords: ReasonKeywords::default(),
            ai_assistant: None,
        }
    }
}

impl RoutingPolicy {
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        let f = |name: &str| format!("{field}.{name}");
        if let Some(g) = &self.greeting {
            text::required(&f("greeting"), g, 1000)?;
        }
        for (name, v) in [("voice", &self.voice), ("language", &self.language)] {
            if let Some(v) = v
                && (v.is_empty()
                    || v.len() > 64
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
            {
                return Err(ValidationError::new(
                    f(name),
                    "must be 1-64 letters, digits, '-', '_' or '.'",
                ));
            }
        }
        if !(5..=600).contains(&self.dial_timeout_secs) {
            return Err(ValidationError::new(
                f("dialTimeoutSecs"),
                "must be between 5 and 600",
            ));
        }
        if !(5..=3600).contains(&self.voicemail_max_length_secs) {
            return Err(ValidationError::new(
                f("voicemailMaxLengthSecs"),
                "must be between 5 and 3600",
            ));
        }
        if let Some(p) = &self.gather_prompt {
            text::required(&f("gatherPrompt"), p, 1000)?;
        }
        for reason in CallReason::ALL {
            if let Some(words) = self.reason_keywords.get(reason) {
                let field = f(&format!("reasonKeywords.{}", reason.as_str()));
                if words.len() > 100 {
                    return Err(ValidationError::new(field, "at most 100 keywords"));
                }
                for w in words {
                    text::required(&field, w, 100)?;
                }
            }
        }
        let uses_external = self.strategy == Strategy::ForwardExternal
            || self.after_hours_strategy == Strategy::ForwardExternal;
        if uses_external && self.external_number.is_none() {
            return Err(ValidationError::new(
                f("externalNumber"),
                "is required when a strategy is forward_external",
            ));
        }
        let uses_ai = self.strategy == Strategy::AiAssistant
            || self.after_hours_strategy == Strategy::AiAssistant;
        match &self.ai_assistant {
            Some(ai) => ai.validate(&f("aiAssistant"))?,
            None if uses_ai => {
                return Err(ValidationError::new(
                    f("aiAssistant"),
                    "is required when a strategy is ai_assistant",
                ));
            }
            None => {}
        }
        Ok(())
    }
}
