//! One call's page (`/console/t/{tenant}/calls/{call_id}`): its facts, its timeline (each webhook
//! step, dial attempt, status report, recording and text-back, from `calls::timeline::detail`, the
//! use case of the API's `GET /api/telephony/call-logs/{id}/timeline`), its recordings with a
//! player (the audio is served by the voicemail section's media route), transcript, reason,
//! summary and sentiment. Another tenant's call id is a 404, as in the API.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use crate::calls::logs;
use crate::calls::timeline;
use crate::clock::rfc3339;
use crate::console::auth::TenantView;
use crate::console::format;
use crate::console::pages::overview::reason_label;
use crate::console::render::{Chrome, ConsoleResult, page};
use crate::db::recordings as rec_store;
use crate::state::AppState;

use super::outcome_pill;

/// A fact of the call.
struct Fact {
    label: &'static str,
    value: String,
}

/// One line of the timeline.
struct Line {
    datetime: String,
    time: String,
    title: String,
    detail: Option<String>,
    kind: String,
    pill: Option<(String, &'static str)>,
}

/// A recording with its transcript.
struct RecordingBlock {
    id: String,
    heading: &'static str,
    /// The player's source, once the audio is stored.
    media: Option<String>,
    state: String,
    duration: Option<String>,
    transcript: Option<String>,
    transcript_error: Option<String>,
    summary: Option<String>,
    reason: Option<&'static str>,
    sentiment: Option<String>,
    provider: Option<String>,
}

#[derive(Template)]
#[template(path = "console/calls/show.html")]
struct CallPage {
    chrome: Chrome,
    back: String,
    heading: String,
    outcome: &'static str,
    pill: &'static str,
    facts: Vec<Fact>,
    notes: Option<String>,
    timeline: Vec<Line>,
    recordings: Vec<RecordingBlock>,
    time_zone: String,
}

/// The pill of a timeline outcome: a dial or call status, `ignored`, a notification status.
fn step_pill(outcome: &str) -> (String, &'static str) {
    let (words, class) = match outcome {
        "completed" | "answered" => ("completed", "pill-ok"),
        "DELIVERED" => ("delivered", "pill-ok"),
        "SENT" => ("sent", "pill-info"),
        "ignored" => ("ignored", "pill"),
        "no-input" => ("no input", "pill-warn"),
        "in-progress" | "ringing" | "queued" | "initiated" => (outcome, "pill-warn"),
        other => (other, "pill-bad"),
    };
    (words.replace('-', " ").to_lowercase(), class)
}

pub async fn show(
    view: TenantView,
    State(state): State<AppState>,
    Path((_tenant, call_id)): Path<(String, String)>,
) -> ConsoleResult<Response> {
    let d = timeline::detail(&state.db, &view.tenant.id, &call_id).await?;
    let tz = view.tenant.time_zone.time_zone();
    let c = &d.call;
    let (outcome, pill) = outcome_pill(logs::outcome_of(c));
    let inbound = c.direction != "outbound";
    let when = |ms: Option<i64>| ms.map(|m| format::date_time(m, &tz));
    let mut facts = vec![
        Fact {
            label: "From",
            value: c.from_number.clone(),
        },
        Fact {
            label: "To",
            value: c.to_number.clone(),
        },
        Fact {
            label: "Direction",
            value: if inbound { "Inbound" } else { "Outbound" }.into(),
        },
        Fact {
            label: "Twilio status",
            value: c.status.to_string(),
        },
        Fact {
            label: "Started",
            value: format::date_time(c.start_time, &tz),
        },
    ];
    let optional = [
        ("Answered", when(c.answered_at)),
        ("Ended", when(c.end_time)),
        ("Duration", c.duration_seconds.map(format::duration)),
        ("Forwarded to", c.forwarded_to.clone()),
        (
            "Reason",
            c.call_reason
                .as_deref()
                .map(|r| reason_label(r).to_string()),
        ),
    ];
    facts.extend(
        optional
            .into_iter()
            .filter_map(|(label, v)| v.map(|value| Fact { label, value })),
    );
    if inbound {
        facts.push(Fact {
            label: "Route",
            value: format!(
                "{}{}",
                c.strategy.as_str().replace('_', " "),
                if c.after_hours { ", after hours" } else { "" }
            ),
        });
    }
    let timeline = d
        .timeline
        .iter()
        .map(|e| Line {
            datetime: rfc3339(e.at),
            time: format!(
                "{} {}",
                format::date(e.at, &tz),
                format::time_of_day(e.at, &tz)
            ),
            title: e.title.clone(),
            detail: e.detail.clone(),
            kind: e.kind.clone(),
            pill: e.outcome.as_deref().map(step_pill),
        })
        .collect();
    let base = view.base();
    let recordings = d
        .recordings
        .iter()
        .map(|r| {
            let rec = &r.recording;
            let t = r.transcription.as_ref();
            RecordingBlock {
                id: rec.id.clone(),
                heading: if rec.kind == rec_store::VOICEMAIL {
                    "Voicemail"
                } else {
                    "Call recording"
                },
                media: rec
                    .storage_key
                    .as_ref()
                    .map(|_| format!("{base}/recordings/{}/media", rec.id)),
                state: match (rec.status.as_str(), rec.processing.as_str()) {
                    ("completed", "done") => "Ready".into(),
                    ("completed", p) => format!("Processing ({p})"),
                    (s, _) => format!("Recording {s}"),
                },
                duration: rec.duration_seconds.map(format::duration),
                transcript: t.map(|t| t.text.clone()).filter(|s| !s.is_empty()),
                transcript_error: t.and_then(|t| t.transcript_error.clone()),
                summary: t.map(|t| t.summary.clone()).filter(|s| !s.is_empty()),
                reason: t.map(|t| reason_label(&t.call_reason)),
                sentiment: t.map(|t| t.sentiment.clone()),
                provider: t.map(|t| t.provider.clone()),
            }
        })
        .collect();
    let who = if inbound {
        &c.from_number
    } else {
        &c.to_number
    };
    let tmpl = CallPage {
        chrome: view.chrome(format!("Call with {who}"), "calls"),
        back: format!("{base}/calls"),
        heading: format!(
            "{} call {} {who}",
            if inbound { "Inbound" } else { "Outbound" },
            if inbound { "from" } else { "to" }
        ),
        outcome,
        pill,
        facts,
        notes: c.notes.clone().filter(|n| !n.trim().is_empty()),
        timeline,
        recordings,
        time_zone: view.tenant.time_zone.to_string(),
    };
    Ok(page(&tmpl))
}
