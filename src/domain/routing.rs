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
