//! A notification's delivery status.

use super::{MessageStatus, UnknownStatus, status_enum};

status_enum! {
    /// Notification statuses as stored (upper case): QUEUED → SENDING → SENT → DELIVERED |
    /// UNDELIVERED, or FAILED.
    NotificationStatus, "notification status" {
        Queued = "QUEUED",
        Sending = "SENDING",
        Sent = "SENT",
        Delivered = "DELIVERED",
        Undelivered = "UNDELIVERED",
        Failed = "FAILED",
    }
}

impl NotificationStatus {
    fn decode_str(s: &str) -> Result<Self, UnknownStatus> {
        Self::parse(s)
    }

    /// Progress rank: the terminal statuses share the top.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Sending => 1,
            Self::Sent => 2,
            Self::Delivered | Self::Undelivered | Self::Failed => 3,
        }
    }

    /// Whether a notification in this status may move to `next` (forward only; no terminal
    /// replaces another).
    pub const fn can_move_to(self, next: Self) -> bool {
        next.rank() > self.rank()
    }

    /// Whether delivery is over (delivered, undelivered or failed).
    pub const fn is_terminal(self) -> bool {
        self.rank() == 3
    }

    /// Whether a send is still to be made or finished (QUEUED or SENDING).
    pub const fn is_pending(self) -> bool {
        matches!(self, Self::Queued | Self::Sending)
    }

    /// The status a Twilio message status means for the notification that sent it, if any.
    pub const fn from_message(m: MessageStatus) -> Option<Self> {
        use MessageStatus as M;
        match m {
            M::Sent => Some(Self::Sent),
            M::Delivered | M::Read | M::PartiallyDelivered => Some(Self::Delivered),
            M::Undelivered => Some(Self::Undelivered),
            M::Failed | M::Canceled => Some(Self::Failed),
            _ => None,
        }
    }
}
