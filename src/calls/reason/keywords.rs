//! Switchboard's English keyword lists, one per call reason: the whole words and phrases that
//! classify a transcript when the tenant has no override for that reason. Each list spells out the
//! forms that count, because classification does no stemming (see the parent module).

use crate::domain::routing::CallReason;

const MODIFY: &[&str] = &[
    "reschedule",
    "reschedules",
    "rescheduled",
    "rescheduling",
    "re-schedule",
    "rebook",
    "rebooking",
    "re-book",
    "change",
    "changing",
    "modify",
    "move my",
    "move it",
    "move the",
    "moving my",
    "postpone",
    "push back",
    "push it back",
    "bring forward",
    "switch my",
    "update my",
];

const CANCEL: &[&str] = &[
    "cancel",
    "cancels",
    "canceled",
    "cancelled",
    "canceling",
    "cancelling",
    "cancellation",
    "call off",
    "can't make it",
    "cannot make it",
    "can not make it",
    "won't make it",
    "won't be able to make it",
    "can't come",
    "cannot come",
];

const SETUP: &[&str] = &[
    "book",
    "booking",
    "appointment",
    "appointments",
    "make an appointment",
    "make a booking",
    "new appointment",
    "i schedule",
    "to schedule",
    "schedule a",
    "schedule an",
    "schedule me",
    "schedule my",
    "schedule for",
    "reserve",
    "reservation",
    "set up",
    "sign up",
    "come in",
];

const HOURS: &[&str] = &[
    "hours",
    "open",
    "opens",
    "opening hours",
    "opening times",
    "close",
    "closes",
    "closing",
    "closed",
    "what time",
    "when do you",
    "how late",
    "how early",
    "until when",
    "your schedule",
];

const PRICING: &[&str] = &[
    "price",
    "prices",
    "pricing",
    "priced",
    "cost",
    "costs",
    "how much",
    "rate",
    "rates",
    "fee",
    "fees",
    "do you charge",
    "you charge",
    "charges",
    "expensive",
    "cheap",
    "quote",
];

/// Switchboard's English default keywords for `reason` (empty for `Other`, which is what nothing matched).
pub fn default_keywords(reason: CallReason) -> &'static [&'static str] {
    match reason {
        CallReason::SetupAppointment => SETUP,
        CallReason::CancelAppointment => CANCEL,
        CallReason::ModifyAppointment => MODIFY,
        CallReason::GetHours => HOURS,
        CallReason::GetPricing => PRICING,
        CallReason::Other => &[],
    }
}
