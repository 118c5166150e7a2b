//! What a call's timeline records: one [`Step`] per thing Switchboard did or was told during the
//! call, written beside the change it describes (in the same transaction or group-commit batch), so
//! the timeline never claims a step whose change did not commit, nor misses one that did.
//!
//! Which steps there are:
//! - `incoming`: the first voice webhook and the plan it made (strategy, hours, numbers to ring);
//! - `dial`: a `<Dial>` ended (the dial action): which number was rung, Twilio's `DialCallStatus`,
//!   and what came next (the next number, the fallback, or the end of the call);
//! - `gather`: the caller's answer to the menu (speech or keys) and the reason it was read as, or
//!   no answer;
//! - `voicemail`: the caller left a message (the `<Record>` action);
//! - `status`: a status report (a callback, or Twilio's answer when an outbound call is read back),
//!   applied or ignored because the call had already moved past it;
//! - `outbound`: Switchboard placed the call; `connect`: a click-to-call leg was answered and
//!   planned; `ai`: an AI hand-off and how it went.
//!
//! Each step is stored as JSON (this enum, tagged by `kind`) on its call's row (`db::call_steps`).

use serde::{Deserialize, Serialize};

use crate::db::StoreError;
use crate::db::Tx;
use crate::db::batch::Batch;
use crate::db::call_steps::{self, CallStep};
use crate::db::calls::Call;

/// What the dial action did after a `<Dial>` ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "then", content = "number")]
pub enum AfterDial {
    /// Someone picked up; the call needs nothing more.
    Answered,
    /// Rang the next number of the plan.
    Next(String),
    /// Nobody left to ring: the policy's fallback (voicemail or goodbye).
    Fallback,
}

/// One step of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Step {
    Incoming {
        from: String,
        strategy: String,
        after_hours: bool,
        targets: Vec<String>,
    },
    Dial {
        /// The number that was rung (none for an agent the call was handed to).
        target: Option<String>,
        /// Twilio's `DialCallStatus` (`completed`, `answered`, `busy`, `no-answer`, `failed`, …).
        status: String,
        /// `DialCallDuration`: seconds the callee talked.
        duration_seconds: Option<i64>,
        #[serde(flatten)]
        then: AfterDial,
    },
    Gather {
        /// The caller's words, shortened.
        speech: Option<String>,
        digits: Option<String>,
        /// The reason they were read as; none when the caller said nothing.
        reason: Option<String>,
        /// 1 for the first question, 2 for the repeat.
        attempt: i64,
    },
    Voicemail {
        recording_duration_seconds: Option<i64>,
    },
    Status {
        /// The status reported.
        status: String,
        /// The call's status before.
        previous: String,
        /// False when the call had already moved past it (a late or repeated report).
        applied: bool,
        duration_seconds: Option<i64>,
        /// `callback` (Twilio's status callback) or `read_back` (Switchboard asked Twilio).
        source: String,
    },
    Outbound {
        from: String,
        to: String,
        record: bool,
    },
    Connect {
        targets: Vec<String>,
        after_hours: bool,
    },
    Ai {
        /// What the hand-off did, as noted on the call.
        note: String,
    },
}

/// Where a status report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportSource {
    Callback,
    ReadBack,
}

impl ReportSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportSource::Callback => "callback",
            ReportSource::ReadBack => "read_back",
        }
    }
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Incoming { .. } => "incoming",
            Step::Dial { .. } => "dial",
            Step::Gather { .. } => "gather",
            Step::Voicemail { .. } => "voicemail",
            Step::Status { .. } => "status",
            Step::Outbound { .. } => "outbound",
            Step::Connect { .. } => "connect",
            Step::Ai { .. } => "ai",
        }
    }

    /// The step at `at`, as stored.
    pub fn row(&self, at: i64) -> CallStep {
        CallStep {
            at,
            detail: serde_json::to_string(self).unwrap_or_else(|_| "{}".into()),
        }
    }

    /// Reads a stored step; `None` for a detail this build cannot read.
    pub fn read(row: &CallStep) -> Option<Step> {
        serde_json::from_str(&row.detail).ok()
    }

    /// The caller's words as stored: enough to read, bounded.
    pub fn shorten(words: &str) -> String {
        words.chars().take(300).collect()
    }
}

/// Records `step` of `call` at `at` inside `tx`.
pub async fn record(tx: &mut Tx, call: &Call, at: i64, step: Step) -> Result<(), StoreError> {
    call_steps::append(tx, &call.tenant_id, &call.id, &step.row(at)).await
}

/// Records `step` of `call` at `at` in a group-commit batch.
pub fn record_in(batch: &mut Batch<'_>, call: &Call, at: i64, step: Step) {
    batch.add_call_step(call, step.row(at));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_back_as_written() {
        let steps = [
            Step::Dial {
                target: Some("+14155550101".into()),
                status: "no-answer".into(),
                duration_seconds: None,
                then: AfterDial::Next("+14155550102".into()),
            },
            Step::Dial {
                target: None,
                status: "completed".into(),
                duration_seconds: Some(30),
                then: AfterDial::Answered,
            },
            Step::Status {
                status: "completed".into(),
                previous: "in-progress".into(),
                applied: true,
                duration_seconds: Some(31),
                source: "callback".into(),
            },
        ];
        for s in steps {
            let json = serde_json::to_string(&s).unwrap();
            assert!(
                json.contains(&format!("\"kind\":\"{}\"", s.kind())),
                "{json}"
            );
            let back: Step = serde_json::from_str(&json).unwrap();
            assert_eq!(back, s);
        }
    }
}
