//! A message's status, as Twilio reports it.

use super::{UnknownStatus, status_enum};

status_enum! {
    /// Twilio's message statuses: accepted/scheduled/queued → sending → sent → one terminal status;
    /// an inbound message is `received`.
    MessageStatus, "message status" {
        Accepted = "accepted",
        Scheduled = "scheduled",
        Queued = "queued",
        Sending = "sending",
        Sent = "sent",
        Receiving = "receiving",
        Received = "received",
        Delivered = "delivered",
        Undelivered = "undelivered",
        Failed = "failed",
        Read = "read",
        PartiallyDelivered = "partially_delivered",
        Canceled = "canceled",
    }
}

impl MessageStatus {
    fn decode_str(s: &str) -> Result<Self, UnknownStatus> {
        Self::parse(s)
    }

    /// Progress rank: `received` and the terminal statuses share the top.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Accepted | Self::Scheduled | Self::Queued => 0,
            Self::Sending => 1,
            Self::Sent => 2,
            Self::Receiving
            | Self::Received
            | Self::Delivered
            | Self::Undelivered
            | Self::Failed
            | Self::Read
            | Self::PartiallyDelivered
            | Self::Canceled => 3,
        }
    }

    /// Whether a message in this status may move to `next` (forward only; no terminal replaces
    /// another).
    pub const fn can_move_to(self, next: Self) -> bool {
        next.rank() > self.rank()
    }

    /// Whether the message will not move again.
    pub const fn is_terminal(self) -> bool {
        self.rank() == 3
    }
}
