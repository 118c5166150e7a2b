//! The lifecycles of calls, messages and notifications in one place: every status each may hold
//! and the order they move in. Twilio's status callbacks arrive out of order and more than once,
//! so a status only replaces one of a lower rank; terminal statuses share the top rank, so none
//! replaces another.

/// Twilio's call statuses, the values a call-log `status` filter may name.
pub const CALL_STATUSES: [&str; 9] = [
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "failed",
    "no-answer",
    "canceled",
];

/// Progress rank of a Twilio call status (`answered` is the Dial callback's word for
/// `in-progress`); `None` for a status Twilio does not send.
pub fn call_rank(status: &str) -> Option<u8> {
    match status {
        "queued" | "initiated" => Some(0),
        "ringing" => Some(1),
        "in-progress" | "answered" => Some(2),
        "completed" | "busy" | "failed" | "no-answer" | "canceled" => Some(3),
        _ => None,
    }
}

/// Whether a call in `status` has ended.
pub fn call_is_terminal(status: &str) -> bool {
    call_rank(status) == Some(3)
}

/// Progress rank of a Twilio message status (`received` and the terminal ones share the top).
pub fn message_rank(status: &str) -> u8 {
    match status {
        "accepted" | "scheduled" | "queued" => 0,
        "sending" => 1,
        "sent" => 2,
        _ => 3,
    }
}

/// Notification statuses as stored (upper case): QUEUED → SENDING → SENT → DELIVERED |
/// UNDELIVERED, or FAILED.
pub const NOTIFICATION_STATUSES: [&str; 6] = [
    "QUEUED",
    "SENDING",
    "SENT",
    "DELIVERED",
    "UNDELIVERED",
    "FAILED",
];

/// Progress rank of a notification status; the terminal ones share the top rank.
pub fn notification_rank(status: &str) -> u8 {
    match status {
        "QUEUED" => 0,
        "SENDING" => 1,
        "SENT" => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward_and_terminals_tie() {
        assert!(call_rank("ringing") < call_rank("in-progress"));
        assert!(call_rank("in-progress") < call_rank("completed"));
        assert_eq!(call_rank("busy"), call_rank("completed"));
        assert_eq!(call_rank("bogus"), None);
        for s in CALL_STATUSES {
            assert!(call_rank(s).is_some(), "{s}");
        }
        assert!(message_rank("queued") < message_rank("sent"));
        assert_eq!(message_rank("delivered"), message_rank("undelivered"));
        let ranks: Vec<u8> = NOTIFICATION_STATUSES
            .iter()
            .map(|s| notification_rank(s))
            .collect();
        assert_eq!(ranks, vec![0, 1, 2, 3, 3, 3]);
    }
}
