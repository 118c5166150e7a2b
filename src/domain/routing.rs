//! A tenant's call-routing policy: greeting, strategy in and out of hours, and dialling parameters.
//!
//! Stored as JSON on the tenant row. Unknown keys are rejected so a typo ("stratgy") is a 400, not a
//! silently ignored setting. Later capabilities (AI hand-off, gather menus) add fields here.

use serde::{Deserialize, Serialize};
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
    pub fn as_str(self) -> &'static str {
        match self {
            CallReason::SetupAppointment => "SETUP_APPOINTMENT",
            CallReason::CancelAppointment => "CANCEL_APPOINTMENT",
            CallReason::ModifyAppointment => "MODIFY_APPOINTMENT",
            CallReason::GetHours => "GET_HOURS",
            CallReason::GetPricing => "GET_PRICING",
            CallReason::Other => "OTHER",
        }
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
        Ok(())
    }
}
