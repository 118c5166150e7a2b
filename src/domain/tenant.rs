//! Tenant-level value types: slug, IANA time zone name, subscription status and message templates.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::{ValidationError, text};

/// URL-safe tenant handle: 1-64 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, s: &str) -> Result<Self, ValidationError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Slug(s.to_string()))
        } else {
            Err(ValidationError::new(
                field,
                "must be 1-64 lowercase letters, digits or '-', not starting or ending with '-'",
            ))
        }
    }

    /// Derives a slug from a display name ("Café Zoë & Co" → "caf-zo-co"); never empty.
    pub fn from_name(name: &str) -> Slug {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
            if out.len() >= 56 {
                break;
            }
        }
        let out = out.trim_matches('-').to_string();
        Slug(if out.is_empty() {
            "tenant".to_string()
        } else {
            out
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slug::parse("", &s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// An IANA time zone name that the bundled tz database knows ("America/New_York", "UTC").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(field: &str, s: &str) -> Result<Self, ValidationError> {
        let s = s.trim();
        if s.is_empty() || s.len() > 64 {
            return Err(ValidationError::new(
                field,
                "must be an IANA time zone name such as America/New_York",
            ));
        }
        match jiff::tz::TimeZone::get(s) {
            Ok(_) => Ok(TimeZoneName(s.to_string())),
            Err(_) => Err(ValidationError::new(
                field,
                format!("unknown time zone \"{s}\" (use an IANA name such as America/New_York)"),
            )),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        // Parsed at construction; the bundled database cannot lose it afterwards.
        jiff::tz::TimeZone::get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TimeZoneName::parse("", &s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Billing state of a tenant, Stripe's subscription statuses in upper case, plus `NONE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubscriptionStatus {
    None,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Incomplete,
    IncompleteExpired,
    Unpaid,
    Paused,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 9] = [
        Self::None,
        Self::Trialing,
        Self::Active,
        Self::PastDue,
        Self::Canceled,
        Self::Incomplete,
        Self::IncompleteExpired,
        Self::Unpaid,
        Self::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Trialing => "TRIALING",
            Self::Active => "ACTIVE",
            Self::PastDue => "PAST_DUE",
            Self::Canceled => "CANCELED",
            Self::Incomplete => "INCOMPLETE",
            Self::IncompleteExpired => "INCOMPLETE_EXPIRED",
            Self::Unpaid => "UNPAID",
            Self::Paused => "PAUSED",
        }
    }

    /// Accepts either case and Stripe's spelling ("past_due", "canceled"), and "cancelled".
    pub fn parse(field: &str, s: &str) -> Result<Self, ValidationError> {
        let up = s
            .trim()
            .to_ascii_uppercase()
            .replace("CANCELLED", "CANCELED");
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == up)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                ValidationError::new(field, format!("must be one of {}", names.join(", ")))
            })
    }

    /// Whether the tenant is paying or trialling, so it should have a phone number.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Active | Self::Trialing)
    }

    /// Whether the subscription is over (canceled, unpaid, expired or paused): the tenant's number
    /// still answers calls and texts, but nothing is sent or placed on the shared account for it.
    /// `NONE` (no billing managed here), `PAST_DUE` and `INCOMPLETE` (Stripe's grace states) are not.
    pub fn has_ended(self) -> bool {
        matches!(
            self,
            Self::Canceled | Self::Unpaid | Self::IncompleteExpired | Self::Paused
        )
    }
}

impl<'de> Deserialize<'de> for SubscriptionStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SubscriptionStatus::parse("", &s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// Message templates a tenant can override; absent ones use Switchboard's defaults.
/// Placeholders such as `{name}`, `{customerName}`, `{time}` are filled by the feature using them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Templates {
    pub sms_auto_reply: Option<String>,
    pub missed_call_text_back: Option<String>,
    pub appointment_confirmation: Option<String>,
    pub appointment_reminder: Option<String>,
    pub help_reply: Option<String>,
    pub voicemail_prompt: Option<String>,
    pub after_hours_greeting: Option<String>,
    /// Read to callers who ask about prices (GET_PRICING).
    pub price_list: Option<String>,
}

impl Templates {
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        for (name, v) in [
            ("smsAutoReply", &self.sms_auto_reply),
            ("missedCallTextBack", &self.missed_call_text_back),
            ("appointmentConfirmation", &self.appointment_confirmation),
            ("appointmentReminder", &self.appointment_reminder),
            ("helpReply", &self.help_reply),
            ("voicemailPrompt", &self.voicemail_prompt),
            ("afterHoursGreeting", &self.after_hours_greeting),
            ("priceList", &self.price_list),
        ] {
            if let Some(v) = v {
                text::required(&format!("{field}.{name}"), v, 1600)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rules() {
        assert!(Slug::parse("s", "bella-salon-2").is_ok());
        for bad in ["", "-a", "a-", "A", "a b", "a'b", &"x".repeat(65)] {
            assert!(Slug::parse("s", bad).is_err(), "{bad}");
        }
        assert_eq!(Slug::from_name("Café Zoë & Co").as_str(), "caf-zo-co");
        assert_eq!(Slug::from_name("!!!").as_str(), "tenant");
    }

    #[test]
    fn time_zones() {
        assert!(TimeZoneName::parse("tz", "America/New_York").is_ok());
        assert!(TimeZoneName::parse("tz", "Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("tz", "").is_err());
    }

    #[test]
    fn subscription_status_spellings() {
        assert_eq!(
            SubscriptionStatus::parse("s", "past_due").unwrap(),
            SubscriptionStatus::PastDue
        );
        assert_eq!(
            SubscriptionStatus::parse("s", "cancelled").unwrap(),
            SubscriptionStatus::Canceled
        );
        assert!(SubscriptionStatus::parse("s", "free").is_err());
    }
}
