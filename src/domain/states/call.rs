//! A call's status, as Twilio reports it.

use super::{UnknownStatus, status_enum};

status_enum! {
    /// Twilio's call statuses: queued/initiated → ringing → in-progress → one terminal status.
    CallStatus, "call status" {
        Queued = "queued",
        Initiated = "initiated",
        Ringing = "ringing",
        InProgress = "in-progress",
        Completed = "completed",
        Busy = "busy",
        Failed = "failed",
        NoAnswer = "no-answer",
        Canceled = "canceled",
    }
}

impl CallStatus {
    /// A status as a status callback reports it: Twilio's nine, and `answered` (the word of the
    /// Dial callback and of the `answered` callback event) for `in-progress`.
    pub fn reported(s: &str) -> Result<Self, UnknownStatus> {
        match s {
            "answered" => Ok(Self::InProgress),
            _ => Self::parse(s),
        }
    }

    /// How a stored or received string reads (stored rows may hold `answered`).
    fn decode_str(s: &str) -> Result<Self, UnknownStatus> {
        Self::reported(s)
    }

    /// Progress rank: the terminal statuses share the top.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Queued | Self::Initiated => 0,
            Self::Ringing => 1,
            Self::InProgress => 2,
            Self::Completed | Self::Busy | Self::Failed | Self::NoAnswer | Self::Canceled => 3,
        }
    }

    /// Whether a call in this status may move to `next` (forward only; no terminal replaces
    /// another).
    pub const fn can_move_to(self, next: Self) -> bool {
        next.rank() > self.rank()
    }

    /// Whether the call has ended.
    pub const fn is_terminal(self) -> bool {
        self.rank() == 3
    }
}
