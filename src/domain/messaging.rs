//! A tenant's messaging settings: which automatic texts it sends, when reminders go out, and the
//! quiet hours in which nothing automatic is sent.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ValidationError;
use super::hours::ClockTime;

/// Local hours in which no automatic text (reminders, text-backs) is sent; they wait for the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// "HH:MM" local; may be after `end` (e.g. 21:00 to 08:00 overnight).
    #[schema(value_type = String, example = "21:00")]
    pub start: ClockTime,
    #[schema(value_type = String, example = "08:00")]
    pub end: ClockTime,
}

impl QuietHours {
    /// Whether local minute-of-day `m` is inside the quiet window.
    pub fn contains(&self, m: u16) -> bool {
        let (s, e) = (self.start.minutes(), self.end.minutes());
        if s <= e {
            s <= m && m < e
        } else {
            m >= s || m < e
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MessagingSettings {
    /// Reply to inbound texts with the `smsAutoReply` template.
    pub auto_reply: bool,
    /// Text callers whose call nobody answered (`missedCallTextBack` template).
    pub missed_call_text_back: bool,
    /// Reminders go out this many minutes before an appointment (default one: 1440 = 24 h).
    pub reminder_offsets_minutes: Vec<u32>,
    pub quiet_hours: Option<QuietHours>,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        MessagingSettings {
            auto_reply: true,
            missed_call_text_back: true,
            reminder_offsets_minutes: vec![1440],
            quiet_hours: None,
        }
    }
}

impl MessagingSettings {
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        if self.reminder_offsets_minutes.len() > 5 {
            return Err(ValidationError::new(
                format!("{field}.reminderOffsetsMinutes"),
                "at most 5 reminders",
            ));
        }
        if self
            .reminder_offsets_minutes
            .iter()
            .any(|m| *m == 0 || *m > 60 * 24 * 30)
        {
            return Err(ValidationError::new(
                format!("{field}.reminderOffsetsMinutes"),
                "each must be between 1 minute and 30 days",
            ));
        }
        if let Some(q) = &self.quiet_hours
            && q.start == q.end
        {
            return Err(ValidationError::new(
                format!("{field}.quietHours"),
                "start and end must differ",
            ));
        }
        Ok(())
    }
}
