//! Magic numbers: Twilio's test-credential numbers (TWILIO_FACTS B11) and the sandbox's own
//! scripted outcomes. The tables are documented in the `sandbox` module header; this is the only
//! place that knows them.

use super::error::ApiError;

/// Twilio's "cannot buy this number" test number.
pub(crate) const UNAVAILABLE_NUMBER: &str = "+15005550000";

/// A `From` that Twilio's test credentials refuse for messages.
pub(crate) fn message_from_error(from: &str) -> Option<ApiError> {
    let (code, message) = match from {
        "+15005550001" => (
            21212,
            format!(
                "The 'From' number {from} is not a valid phone number, shortcode, or alphanumeric sender ID."
            ),
        ),
        "+15005550007" => (
            21606,
            format!(
                "The 'From' phone number provided ({from}) is not a valid message-capable Twilio phone number for this destination."
            ),
        ),
        "+15005550008" => (
            21611,
            "This 'From' number has exceeded the maximum number of queued messages".to_owned(),
        ),
        _ => return None,
    };
    Some(ApiError::bad_request(code, message))
}

/// A `To` that Twilio's test credentials refuse for messages.
pub(crate) fn message_to_error(to: &str) -> Option<ApiError> {
    let (code, message) = match to {
        "+15005550001" => (
            21211,
            format!("The 'To' number {to} is not a valid phone number."),
        ),
        "+15005550002" => (
            21612,
            format!("The 'To' phone number: {to}, is not currently reachable via SMS."),
        ),
        "+15005550003" => (
            21408,
            format!(
                "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}."
            ),
        ),
        "+15005550004" => (
            21610,
            "Attempt to send to unsubscribed recipient".to_owned(),
        ),
        "+15005550009" => (
            21614,
            format!("'To' number {to} is not a valid mobile number"),
        ),
        _ => return None,
    };
    Some(ApiError::bad_request(code, message))
}

/// How an accepted message ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Delivered,
    /// Reached the carrier (`sent`) but not the handset.
    Undelivered(u32),
    /// Never left Twilio.
    Failed(u32),
}

pub(crate) fn message_delivery(to: &str) -> Delivery {
    match to {
        "+15005550030" => Delivery::Undelivered(30003),
        "+15005550034" => Delivery::Undelivered(30004),
        "+15005550037" => Delivery::Undelivered(30007),
        "+15005550050" => Delivery::Failed(30005),
        _ => Delivery::Delivered,
    }
}

/// Twilio's wording for the delivery error codes the sandbox uses (twilio.com/docs/api/errors).
pub(crate) fn delivery_error_message(code: u32) -> &'static str {
    match code {
        30003 => "Unreachable destination handset",
        30004 => "Message blocked",
        30005 => "Unknown destination handset",
        30007 => "Message filtered",
        _ => "Unknown error",
    }
}

/// A `From`/`To` pair that Twilio's test credentials refuse for calls.
pub(crate) fn call_error(from: &str, to: &str) -> Option<ApiError> {
    if from == "+15005550001" {
        return Some(ApiError::bad_request(
            21212,
            format!(
                "The source phone number provided, {from}, is not yet verified for your account."
            ),
        ));
    }
    let (code, message) = match to {
        "+15005550001" => (
            21217,
            format!("Phone number {to} does not appear to be valid"),
        ),
        "+15005550002" => (21214, format!("'To' phone number {to} cannot be reached")),
        "+15005550003" => (
            21215,
            format!(
                "Account not authorized to call {to}. Perhaps you need to enable some international permissions"
            ),
        ),
        _ => return None,
    };
    Some(ApiError::bad_request(code, message))
}

/// How a created call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallOutcome {
    Answered {
        duration_secs: u32,
    },
    Busy,
    NoAnswer,
    /// Fails before ringing.
    Failed,
}

impl CallOutcome {
    /// The final `call_enum_status`.
    pub(crate) fn final_status(self) -> &'static str {
        match self {
            CallOutcome::Answered { .. } => "completed",
            CallOutcome::Busy => "busy",
            CallOutcome::NoAnswer => "no-answer",
            CallOutcome::Failed => "failed",
        }
    }
}

/// How long an answered sandbox call lasts.
pub(crate) const ANSWERED_CALL_SECS: u32 = 5;

pub(crate) fn call_outcome(to: &str) -> CallOutcome {
    match to {
        "+15005550020" => CallOutcome::Busy,
        "+15005550021" => CallOutcome::NoAnswer,
        "+15005550022" => CallOutcome::Failed,
        _ => CallOutcome::Answered {
            duration_secs: ANSWERED_CALL_SECS,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_message_number_maps_to_its_code() {
        let from = [
            ("+15005550001", 21212),
            ("+15005550007", 21606),
            ("+15005550008", 21611),
        ];
        for (number, code) in from {
            assert_eq!(
                message_from_error(number).unwrap().code,
                code,
                "From {number}"
            );
        }
        let to = [
            ("+15005550001", 21211),
            ("+15005550002", 21612),
            ("+15005550003", 21408),
            ("+15005550004", 21610),
            ("+15005550009", 21614),
        ];
        for (number, code) in to {
            assert_eq!(message_to_error(number).unwrap().code, code, "To {number}");
        }
        assert!(
            message_from_error("+15005550006").is_none(),
            "the valid test From"
        );
        assert!(message_to_error("+14155550100").is_none());
    }

    #[test]
    fn scripted_outcomes_follow_the_documented_table() {
        assert_eq!(
            message_delivery("+15005550030"),
            Delivery::Undelivered(30003)
        );
        assert_eq!(message_delivery("+15005550050"), Delivery::Failed(30005));
        assert_eq!(message_delivery("+14155550100"), Delivery::Delivered);
        assert_eq!(call_outcome("+15005550020"), CallOutcome::Busy);
        assert_eq!(call_outcome("+15005550021"), CallOutcome::NoAnswer);
        assert_eq!(call_outcome("+15005550022"), CallOutcome::Failed);
        assert_eq!(
            call_outcome("+14155550100"),
            CallOutcome::Answered { duration_secs: 5 }
        );
    }
}
