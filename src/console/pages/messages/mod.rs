//! A business's texts: the conversations, one per customer number, with their opt-out state
//! (`conversations`); one customer's thread with a reply box that sends through the notification
//! pipeline, refreshing itself while statuses move (`thread`); and the notification queue with its
//! statuses, Twilio's error texts and the retry of failures (`notifications`). Every query and rule is
//! the messaging feature's (`messaging::history`, `messaging::outgoing`), the ones the JSON API uses.

mod conversations;
mod notifications;
mod thread;

use axum::Router;
use axum::routing::{get, post};

use crate::domain::states::{MessageStatus, NotificationStatus};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/t/{tenant}/messages", get(conversations::list))
        .route(
            "/console/t/{tenant}/messages/{phone}",
            get(thread::show).post(thread::reply),
        )
        .route(
            "/console/t/{tenant}/messages/{phone}/thread",
            get(thread::fragment),
        )
        .route(
            "/console/t/{tenant}/notifications",
            get(notifications::list),
        )
        .route(
            "/console/t/{tenant}/notifications/{id}/retry",
            post(notifications::retry),
        )
}

/// The path segment of a customer's thread: their E.164 number with `+` encoded.
pub fn phone_segment(phone: &str) -> String {
    phone.replace('+', "%2B")
}

/// A status as a pill: the class that colours it (words carry the meaning too).
#[derive(Debug, Clone)]
pub struct Pill {
    pub class: &'static str,
    pub text: String,
}

pub fn message_pill(s: MessageStatus) -> Pill {
    use MessageStatus as M;
    let class = match s {
        M::Delivered | M::Read | M::PartiallyDelivered => "pill-ok",
        M::Failed | M::Undelivered | M::Canceled => "pill-bad",
        M::Received | M::Receiving => "",
        _ => "pill-info",
    };
    Pill {
        class,
        text: s.as_str().replace('_', " "),
    }
}

pub fn notification_pill(s: NotificationStatus) -> Pill {
    use NotificationStatus as N;
    let class = match s {
        N::Delivered => "pill-ok",
        N::Failed | N::Undelivered => "pill-bad",
        N::Sent => "pill-info",
        N::Queued | N::Sending => "pill-warn",
    };
    Pill {
        class,
        text: s.as_str().to_ascii_lowercase(),
    }
}

/// Twilio's error code with what it means (`30003: The recipient's handset was unreachable…`).
pub fn twilio_error_text(code: i64) -> String {
    match u32::try_from(code)
        .ok()
        .and_then(switchboard_twilio::rest::describe_code)
    {
        Some(text) => format!("Error {code}: {text}"),
        None => format!("Twilio error {code}"),
    }
}

/// The section's tabs.
#[derive(Debug, Clone)]
pub struct Tabs {
    pub base: String,
    /// `conversations` or `notifications`.
    pub current: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_statuses_and_codes_read_well() {
        assert_eq!(phone_segment("+14155550142"), "%2B14155550142");
        assert_eq!(message_pill(MessageStatus::Delivered).class, "pill-ok");
        assert_eq!(
            message_pill(MessageStatus::PartiallyDelivered).text,
            "partially delivered"
        );
        assert_eq!(notification_pill(NotificationStatus::Failed).text, "failed");
        assert!(twilio_error_text(30003).starts_with("Error 30003: The recipient's handset"));
        assert_eq!(twilio_error_text(99999), "Twilio error 99999");
    }
}
