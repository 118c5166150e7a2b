//! What Twilio's numeric error codes mean for Switchboard: a sentence for people and a
//! permanent/transient verdict for the job queue.
//!
//! The same codes arrive two ways: in REST error bodies (`{"code": 21211, …}`) and as `ErrorCode` on
//! message status callbacks (30003…). Keeping one table means the sender and the status-callback
//! handler cannot disagree about whether a failure is worth retrying.
//! Sources: twilio.com/docs/api/errors/{code}, summarised in TWILIO_FACTS.md B4 and B11.

/// Codes after which sending the same request again will fail the same way, until a person changes
/// something (the number, the account's permissions, the recipient's opt-in…).
///
/// Unknown codes are *not* permanent: the HTTP status (4xx vs 5xx) decides for those, because Twilio
/// adds codes over time and a guess in either direction would be wrong somewhere.
pub fn is_permanent_code(code: u32) -> bool {
    matches!(lookup(code), Some((Verdict::Permanent, _)))
}

/// Codes that describe a temporary condition: waiting and trying again can succeed.
pub(crate) fn is_transient_code(code: u32) -> bool {
    matches!(lookup(code), Some((Verdict::Transient, _)))
}

/// A sentence explaining a Twilio error code, for logs, the dashboard and API error messages.
/// `None` for codes Switchboard has no specific advice for.
pub fn describe_code(code: u32) -> Option<&'static str> {
    lookup(code).map(|(_, reason)| reason)
}

#[derive(Clone, Copy)]
enum Verdict {
    Permanent,
    Transient,
}

fn lookup(code: u32) -> Option<(Verdict, &'static str)> {
    use Verdict::{Permanent as P, Transient as T};
    let entry = match code {
        // Account and API.
        20003 => (
            P,
            "Twilio rejected the credentials: check the Account SID and Auth Token or API key.",
        ),
        20404 => (
            P,
            "The Twilio resource does not exist (wrong SID or already deleted).",
        ),
        20429 => (
            T,
            "Twilio is rate limiting requests; the request was not processed and can be retried later.",
        ),
        // Sending: rejected before anything left Twilio.
        21211 => (P, "The 'To' phone number is not a valid phone number."),
        21212 => (P, "The 'From' phone number is not a valid phone number."),
        21266 => (P, "The 'To' and 'From' numbers are the same."),
        21408 => (
            P,
            "The account's geographic permissions do not allow sending to this country or region.",
        ),
        21422 => (
            P,
            "The phone number is not available to buy; search again and pick another.",
        ),
        21602 => (P, "The message has no body, media or content template."),
        21603 => (P, "The message has no 'From' number or Messaging Service."),
        21604 => (P, "The message has no 'To' number."),
        21606 => (
            P,
            "The 'From' number cannot send this message: it is not an SMS-capable number owned by the account.",
        ),
        21610 => (
            P,
            "The recipient has opted out by texting STOP; they must text START before they can receive messages again.",
        ),
        21611 => (
            T,
            "The 'From' number's outbound queue is full; slow down and try again later.",
        ),
        21612 => (
            P,
            "Twilio cannot route a message from this sender to the 'To' number.",
        ),
        21614 => (
            P,
            "The 'To' number cannot receive SMS (it is not a mobile number).",
        ),
        21617 => (P, "The message body is longer than 1600 characters."),
        21626 => (
            P,
            "A StatusCallbackEvent value is invalid; send each event as its own parameter.",
        ),
        21635 => (P, "The 'To' number is a landline and cannot receive SMS."),
        // Delivery outcomes reported on status callbacks.
        30001 => (
            T,
            "The sender's message queue overflowed; the message can be sent again later.",
        ),
        30003 => (
            T,
            "The recipient's handset was unreachable (off or out of coverage); a later attempt may succeed.",
        ),
        30004 => (
            P,
            "The message was blocked: the recipient opted out or their carrier blocks this sender.",
        ),
        30005 => (P, "The 'To' number is unknown or no longer in service."),
        30006 => (
            P,
            "The 'To' number is a landline or its carrier cannot receive SMS.",
        ),
        30007 => (
            P,
            "The carrier filtered the message as spam or disallowed content.",
        ),
        30008 => (
            T,
            "The carrier reported an unknown delivery error; a later attempt may succeed.",
        ),
        30032 => (
            P,
            "The toll-free sender is not verified, so carriers reject its messages.",
        ),
        30450 | 30453 => (
            T,
            "Twilio's SMS pumping protection temporarily blocked this destination; try again later.",
        ),
        // Scheduling.
        35114 | 35117 => (
            P,
            "SendAt must be between 5 minutes and 35 days in the future, in UTC.",
        ),
        35118 => (P, "Scheduled messages need a Messaging Service."),
        _ => return None,
    };
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_are_neither_permanent_nor_transient() {
        assert!(!is_permanent_code(99999));
        assert!(!is_transient_code(99999));
        assert_eq!(describe_code(99999), None);
    }

    #[test]
    fn queue_and_rate_limit_codes_are_transient_not_permanent() {
        for code in [20429, 21611, 30001, 30003, 30008, 30450, 30453] {
            assert!(is_transient_code(code), "{code} should be transient");
            assert!(!is_permanent_code(code), "{code} should not be permanent");
        }
    }
}
