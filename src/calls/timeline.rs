//! One call in full: the call row, its timeline and its recordings with their transcripts, as the
//! API (`GET /api/telephony/call-logs/{id}/timeline`) and the console's call page show them.
//!
//! The timeline is read from what Switchboard stores about the call: its steps (`call_steps`, see
//! [`super::steps`]), its recordings and their transcriptions, and the notifications about it (the
//! missed-call text-back). A call logged before steps were recorded gets the few entries its row
//! tells (started, answered, ended). Entries are in time order; entries of the same millisecond
//! keep the order above (a step before the recording it caused).

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::db::calls::Call;
use crate::db::notifications::Notification;
use crate::db::recordings::{self as rec_store, Recording, Transcription};
use crate::db::{self, Db};
use crate::failure::Failure;

use super::steps::{AfterDial, Step};

/// How long after a call ends its notifications may still be queued (a text-back waits for the
/// voicemail and the pacing of its sender number).
const NOTIFICATIONS_AFTER_MS: i64 = 24 * 3_600_000;

/// One line of a call's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// Epoch ms.
    pub at: i64,
    /// `incoming`, `dial`, `gather`, `voicemail`, `status`, `outbound`, `connect`, `ai`,
    /// `recording`, `transcription`, `text_back` or `call` (read from the call row).
    pub kind: String,
    pub title: String,
    pub detail: Option<String>,
    /// The outcome the step reports, when it has one (`no-answer`, `busy`, `completed`,
    /// `ignored`, `DELIVERED`, …).
    pub outcome: Option<String>,
}

/// A recording of the call with its transcription, once there is one.
#[derive(Debug, Clone)]
pub struct CallRecording {
    pub recording: Recording,
    pub transcription: Option<Transcription>,
}

/// A call with everything known about it.
#[derive(Debug, Clone)]
pub struct CallDetail {
    pub call: Call,
    pub timeline: Vec<TimelineEntry>,
    pub recordings: Vec<CallRecording>,
}

/// One of the tenant's calls in full; another tenant's id is as unknown as a made-up one.
pub async fn detail(db: &Db, tenant_id: &str, call_id: &str) -> Result<CallDetail, Failure> {
    let call = super::logs::get(db, tenant_id, call_id).await?;
    let until = call
        .end_time
        .unwrap_or(call.updated_at)
        .max(call.start_time)
        + NOTIFICATIONS_AFTER_MS;
    let (steps, recordings, notifications) = tokio::try_join!(
        db::call_steps::for_call(db, tenant_id, &call.id),
        db::call_steps::recordings_for_call(db, tenant_id, &call.id),
        db::call_steps::notifications_for_call(
            db,
            tenant_id,
            &call.call_sid,
            call.start_time,
            until
        ),
    )?;
    let ids: Vec<String> = recordings.iter().map(|r| r.id.clone()).collect();
    let mut transcriptions = rec_store::transcriptions_for(db, tenant_id, &ids).await?;
    let recordings: Vec<CallRecording> = recordings
        .into_iter()
        .map(|r| {
            let t = transcriptions
                .iter()
                .position(|t| t.recording_id == r.id)
                .map(|i| transcriptions.swap_remove(i));
            CallRecording {
                recording: r,
                transcription: t,
            }
        })
        .collect();

    let mut timeline: Vec<TimelineEntry> = steps
        .iter()
        .filter_map(|row| Step::read(row).map(|s| describe(row.at, &s)))
        .collect();
    if steps.is_empty() {
        timeline.extend(from_call_row(&call));
    }
    for r in &recordings {
        timeline.extend(recording_entries(r));
    }
    for n in &notifications {
        timeline.extend(notification_entries(n));
    }
    // Stable: entries of the same millisecond keep the order they were gathered in.
    timeline.sort_by_key(|e| e.at);
    Ok(CallDetail {
        call,
        timeline,
        recordings,
    })
}

fn entry(
    at: i64,
    kind: &str,
    title: String,
    detail: Option<String>,
    outcome: Option<&str>,
) -> TimelineEntry {
    TimelineEntry {
        at,
        kind: kind.to_string(),
        title,
        detail,
        outcome: outcome.map(str::to_string),
    }
}

fn seconds(s: i64) -> String {
    if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// A `DialCallStatus` in words.
fn dial_words(status: &str) -> &str {
    match status {
        "completed" | "answered" => "answered",
        "no-answer" => "no answer",
        "busy" => "busy",
        "failed" => "failed",
        "canceled" => "canceled",
        "" => "no status",
        other => other,
    }
}

fn strategy_words(strategy: &str) -> &str {
    match strategy {
        "forward" => "ring the staff on duty",
        "forward_external" => "ring the external number",
        "voicemail" => "take a voicemail",
        "gather" => "ask the caller's reason",
        "ai_assistant" => "hand off to the AI assistant",
        "outbound" => "outbound call",
        other => other,
    }
}

/// The timeline line of a recorded step.
pub fn describe(at: i64, step: &Step) -> TimelineEntry {
    match step {
        Step::Incoming {
            from,
            strategy,
            after_hours,
            targets,
        } => {
            let mut plan = format!("Plan: {}", strategy_words(strategy));
            if *after_hours {
                plan.push_str(" (after hours)");
            }
            if !targets.is_empty() && !after_hours {
                plan.push_str(&format!("; numbers to ring: {}", targets.join(", ")));
            }
            entry(
                at,
                "incoming",
                format!("Voice webhook: incoming call from {from}"),
                Some(plan),
                None,
            )
        }
        Step::Dial {
            target,
            status,
            duration_seconds,
            then,
        } => {
            let who = target.as_deref().unwrap_or("the agent");
            let detail = match then {
                AfterDial::Answered => match duration_seconds {
                    Some(d) => format!("Talked for {}", seconds(*d)),
                    None => "Connected".to_string(),
                },
                AfterDial::Next(n) => format!("Ringing the next number, {n}"),
                AfterDial::Fallback => {
                    "Nobody left to ring: the fallback (voicemail or goodbye)".to_string()
                }
            };
            entry(
                at,
                "dial",
                format!("Dial attempt to {who}: {}", dial_words(status)),
                Some(detail),
                Some(status),
            )
        }
        Step::Gather {
            speech,
            digits,
            reason,
            attempt,
        } => {
            let heard = match (speech, digits) {
                (Some(s), _) => Some(format!("Caller said \u{201c}{s}\u{201d}")),
                (None, Some(d)) => Some(format!("Caller pressed {d}")),
                _ => None,
            };
            match reason {
                Some(r) => entry(at, "gather", format!("Menu answered: {r}"), heard, None),
                None => entry(
                    at,
                    "gather",
                    format!("No answer to the menu (attempt {attempt})"),
                    None,
                    Some("no-input"),
                ),
            }
        }
        Step::Voicemail {
            recording_duration_seconds,
        } => entry(
            at,
            "voicemail",
            "Voicemail left".to_string(),
            recording_duration_seconds.map(|d| format!("{} recorded", seconds(d))),
            None,
        ),
        Step::Status {
            status,
            previous,
            applied,
            duration_seconds,
            source,
        } => {
            let from = if source == "read_back" {
                "read back from Twilio"
            } else {
                "status callback"
            };
            let mut detail = from.to_string();
            if let Some(d) = duration_seconds {
                detail.push_str(&format!("; call lasted {}", seconds(*d)));
            }
            let title = if *applied {
                format!("Status: {status}")
            } else {
                format!("Status: {status} (ignored: the call was already {previous})")
            };
            entry(
                at,
                "status",
                title,
                Some(detail),
                Some(if *applied { status.as_str() } else { "ignored" }),
            )
        }
        Step::Outbound { from, to, record } => entry(
            at,
            "outbound",
            format!("Outbound call placed to {to}"),
            Some(format!(
                "From {from}{}",
                if *record { "; recorded" } else { "" }
            )),
            None,
        ),
        Step::Connect {
            targets,
            after_hours,
        } => entry(
            at,
            "connect",
            "Click-to-call answered".to_string(),
            Some(if *after_hours || targets.is_empty() {
                "Nobody to connect (after hours or no one on duty)".to_string()
            } else {
                format!("Numbers to ring: {}", targets.join(", "))
            }),
            None,
        ),
        Step::Ai { note } => entry(
            at,
            "ai",
            "AI hand-off".to_string(),
            Some(note.clone()),
            None,
        ),
    }
}

/// What the call row alone tells, for calls logged before steps were recorded.
fn from_call_row(c: &Call) -> Vec<TimelineEntry> {
    let mut out = vec![entry(
        c.start_time,
        "call",
        format!("Call started ({} from {})", c.direction, c.from_number),
        None,
        None,
    )];
    if let Some(a) = c.answered_at {
        out.push(entry(
            a,
            "call",
            "Answered".to_string(),
            c.forwarded_to.clone(),
            None,
        ));
    }
    if let Some(e) = c.end_time {
        out.push(entry(
            e,
            "call",
            format!("Ended: {}", c.status),
            c.duration_seconds.map(seconds),
            Some(c.status.as_str()),
        ));
    }
    out
}

fn recording_entries(r: &CallRecording) -> Vec<TimelineEntry> {
    let rec = &r.recording;
    let what = if rec.kind == rec_store::VOICEMAIL {
        "Voicemail recording"
    } else {
        "Call recording"
    };
    let mut out = vec![entry(
        rec.created_at,
        "recording",
        format!("{what} reported"),
        rec.source.as_ref().map(|s| format!("Source: {s}")),
        None,
    )];
    match (rec.status.as_str(), rec.completed_at) {
        ("completed", Some(at)) => out.push(entry(
            at,
            "recording",
            format!("{what} completed"),
            rec.duration_seconds.map(seconds),
            Some("completed"),
        )),
        ("absent" | "failed", _) => out.push(entry(
            rec.updated_at,
            "recording",
            format!("{what} {}", rec.status),
            rec.error_code.map(|c| format!("Twilio error {c}")),
            Some(rec.status.as_str()),
        )),
        _ => {}
    }
    if let Some(t) = &r.transcription {
        let detail = match &t.transcript_error {
            Some(e) => format!("No transcript: {e}"),
            None => format!("Reason {}, sentiment {}", t.call_reason, t.sentiment),
        };
        out.push(entry(
            t.created_at,
            "transcription",
            format!("Transcribed and analysed ({})", t.provider),
            Some(detail),
            None,
        ));
    } else if rec.processing == rec_store::FAILED {
        out.push(entry(
            rec.updated_at,
            "transcription",
            "Processing failed".to_string(),
            rec.processing_error.clone(),
            Some("failed"),
        ));
    }
    out
}

fn notification_entries(n: &Notification) -> Vec<TimelineEntry> {
    let what = match n.kind.as_str() {
        "missed_call_text_back" => "Missed-call text-back",
        "staff" => "Staff alert",
        _ => "Text",
    };
    let what = format!("{what} to {}", n.recipient);
    let mut out = vec![entry(
        n.created_at,
        "text_back",
        format!("{what}: queued"),
        None,
        None,
    )];
    if let Some(at) = n.sent_at {
        out.push(entry(
            at,
            "text_back",
            format!("{what}: sent"),
            None,
            Some("SENT"),
        ));
    }
    if let Some(at) = n.delivered_at {
        out.push(entry(
            at,
            "text_back",
            format!("{what}: delivered"),
            None,
            Some("DELIVERED"),
        ));
    }
    let status = n.status.as_str();
    if matches!(status, "FAILED" | "UNDELIVERED") {
        out.push(entry(
            n.updated_at,
            "text_back",
            format!("{what}: {}", status.to_ascii_lowercase()),
            n.failure_reason.clone(),
            Some(status),
        ));
    }
    out
}

/// One timeline line as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntryView {
    /// RFC 3339.
    pub at: String,
    /// `incoming`, `dial`, `gather`, `voicemail`, `status`, `outbound`, `connect`, `ai`,
    /// `recording`, `transcription`, `text_back` or `call`.
    pub kind: String,
    pub title: String,
    pub detail: Option<String>,
    /// The step's outcome when it has one: a `DialCallStatus` (`no-answer`, `busy`, …), a call
    /// status, `ignored` for a late status report, a notification status.
    pub outcome: Option<String>,
}

/// `{"callId", "entries": […]}`, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallTimeline {
    pub call_id: String,
    pub call_sid: String,
    pub entries: Vec<TimelineEntryView>,
}

impl From<&CallDetail> for CallTimeline {
    fn from(d: &CallDetail) -> Self {
        CallTimeline {
            call_id: d.call.id.clone(),
            call_sid: d.call.call_sid.clone(),
            entries: d
                .timeline
                .iter()
                .map(|e| TimelineEntryView {
                    at: rfc3339(e.at),
                    kind: e.kind.clone(),
                    title: e.title.clone(),
                    detail: e.detail.clone(),
                    outcome: e.outcome.clone(),
                })
                .collect(),
        }
    }
}
