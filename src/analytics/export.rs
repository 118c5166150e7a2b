//! CSV exports of a tenant's calls or messages, for spreadsheets: RFC 4180 (comma-separated, CRLF
//! line ends, a field quoted when it holds a comma, quote, CR or LF, quotes doubled), UTF-8, one
//! header row. The rows are read in keyset-paged batches and encoded batch by batch into a stream,
//! so an export of any size holds one page in memory and starts arriving at once.
//!
//! Free-text columns (a message's body, a call's notes) are written from customers' words; a cell
//! that begins with `=`, `+`, `-`, `@`, tab or CR is a formula to Excel and LibreOffice (CSV
//! injection), so such a text is prefixed with `'`, as OWASP advises. Every other column is written
//! exactly as stored.

use std::borrow::Cow;

use axum::body::Bytes;
use futures::Stream;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use utoipa::IntoParams;

use super::store::{self, Cursor};
use crate::calls::logs::{Bound, parse_date};
use crate::clock::rfc3339;
use crate::db::Db;
use crate::db::StoreError;
use crate::db::calls::Call;
use crate::db::messages::MessageRow;
use crate::failure::Failure;

/// Rows read per query (and encoded per chunk of the response).
pub const PAGE: i64 = 500;

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Calls,
    Messages,
}

impl Kind {
    pub const NAMES: [&'static str; 2] = ["calls", "messages"];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Calls => "calls",
            Kind::Messages => "messages",
        }
    }
}

/// The query of `GET /api/telephony/export`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `calls` or `messages` (required).
    #[param(schema_with = crate::domain::query_values::export_kind, required = true)]
    pub kind: Option<String>,
    /// Rows at or after this: a date (the start of that day in the tenant's time zone) or an
    /// instant. Default: the beginning.
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub from: Option<String>,
    /// Rows at or before this: a date (the whole day) or an instant. Default: no end.
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub to: Option<String>,
}

/// A validated export request.
#[derive(Debug, Clone)]
pub struct Export {
    pub kind: Kind,
    pub from_ms: i64,
    pub to_ms: i64,
    pub tz: TimeZone,
}

impl ExportQuery {
    pub fn validate(&self, tz: &TimeZone) -> Result<Export, Failure> {
        let present = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let kind = match present(&self.kind)
            .map(|k| k.to_ascii_lowercase())
            .as_deref()
        {
            Some("calls") => Kind::Calls,
            Some("messages") => Kind::Messages,
            _ => {
                return Err(Failure::invalid(
                    "kind",
                    format!("must be one of {}", Kind::NAMES.join(", ")),
                ));
            }
        };
        let from_ms = present(&self.from)
            .map(|s| parse_date("from", &s, tz, Bound::Start))
            .transpose()?
            .unwrap_or(i64::MIN);
        let to_ms = present(&self.to)
            .map(|s| parse_date("to", &s, tz, Bound::End))
            .transpose()?
            .unwrap_or(i64::MAX);
        if from_ms >= to_ms {
            return Err(Failure::invalid("from", "must be before to"));
        }
        Ok(Export {
            kind,
            from_ms,
            to_ms,
            tz: tz.clone(),
        })
    }
}

/// Appends `value` as one CSV field.
pub fn push_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// Appends one CSV record and its CRLF.
pub fn push_record<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, f.as_ref());
    }
    out.push_str("\r\n");
}

/// A free text made safe to open in a spreadsheet: one starting like a formula gets a leading `'`.
pub fn defuse(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

pub const CALL_COLUMNS: [&str; 18] = [
    "id",
    "callSid",
    "direction",
    "fromNumber",
    "toNumber",
    "status",
    "startTime",
    "localStartTime",
    "answeredAt",
    "endTime",
    "durationSeconds",
    "billedMinutes",
    "callReason",
    "voicemail",
    "missed",
    "forwardedTo",
    "recordingUrl",
    "notes",
];

pub const MESSAGE_COLUMNS: [&str; 14] = [
    "id",
    "messageSid",
    "direction",
    "customer",
    "fromNumber",
    "toNumber",
    "status",
    "segments",
    "errorCode",
    "createdAt",
    "localCreatedAt",
    "numMedia",
    "mediaUrls",
    "body",
];

/// `2026-11-22 10:30:00` on the tenant's clock: what a spreadsheet reads as a date-time.
fn local(ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

pub fn call_record(out: &mut String, c: &Call, tz: &TimeZone) {
    let billed = c
        .duration_seconds
        .map(|d| if d > 0 { (d + 59) / 60 } else { 0 });
    let notes = c.notes.as_deref().map(defuse).unwrap_or_default();
    push_record(
        out,
        &[
            c.id.as_str(),
            &c.call_sid,
            &c.direction,
            &c.from_number,
            &c.to_number,
            c.status.as_str(),
            &rfc3339(c.start_time),
            &local(c.start_time, tz),
            &c.answered_at.map(rfc3339).unwrap_or_default(),
            &c.end_time.map(rfc3339).unwrap_or_default(),
            &opt(&c.duration_seconds),
            &opt(&billed),
            c.call_reason.as_deref().unwrap_or(""),
            if c.voicemail { "true" } else { "false" },
            if c.missed { "true" } else { "false" },
            c.forwarded_to.as_deref().unwrap_or(""),
            c.recording_url.as_deref().unwrap_or(""),
            &notes,
        ],
    );
}

pub fn message_record(out: &mut String, m: &MessageRow, tz: &TimeZone) {
    // Stored as a JSON array; a space-separated list reads better in a cell and URLs hold no spaces.
    let media: Vec<String> = serde_json::from_str(&m.media_urls).unwrap_or_default();
    push_record(
        out,
        &[
            m.id.as_str(),
            m.message_sid.as_deref().unwrap_or(""),
            &m.direction,
            &m.customer,
            &m.from_number,
            &m.to_number,
            m.status.as_str(),
            &m.segments.to_string(),
            &opt(&m.error_code),
            &rfc3339(m.created_at),
            &local(m.created_at, tz),
            &m.num_media.to_string(),
            &media.join(" "),
            &defuse(&m.body),
        ],
    );
}

/// Where the stream is.
struct State {
    db: Db,
    tenant_id: String,
    export: Export,
    /// `None` until the header row has gone out.
    cursor: Option<Cursor>,
    done: bool,
}

/// The CSV of `export` for `tenant_id`, as a stream of chunks: the header, then one chunk per page.
/// A database error mid-stream ends it with that error (the client sees a cut-off body, never a
/// silently short file ending in a clean CRLF after the last page).
pub fn stream(
    db: Db,
    tenant_id: String,
    export: Export,
) -> impl Stream<Item = Result<Bytes, StoreError>> + Send + 'static {
    let start = State {
        db,
        tenant_id,
        export,
        cursor: None,
        done: false,
    };
    futures::stream::unfold(start, |mut st| async move {
        if st.done {
            return None;
        }
        let mut out = String::new();
        let Some(after) = st.cursor.clone() else {
            let header: &[&str] = match st.export.kind {
                Kind::Calls => &CALL_COLUMNS,
                Kind::Messages => &MESSAGE_COLUMNS,
            };
            push_record(&mut out, header);
            // Ids are non-empty, so "" sorts before every id at the first instant of the range.
            st.cursor = Some(Cursor {
                at: st.export.from_ms,
                id: String::new(),
            });
            return Some((Ok(Bytes::from(out)), st));
        };
        let e = &st.export;
        let page = match e.kind {
            Kind::Calls => {
                store::calls_page(&st.db, &st.tenant_id, e.from_ms, e.to_ms, &after, PAGE)
                    .await
                    .map(|rows| {
                        for c in &rows {
                            call_record(&mut out, c, &e.tz);
                        }
                        (
                            rows.len(),
                            rows.last().map(|c| Cursor {
                                at: c.start_time,
                                id: c.id.clone(),
                            }),
                        )
                    })
            }
            Kind::Messages => {
                store::messages_page(&st.db, &st.tenant_id, e.from_ms, e.to_ms, &after, PAGE)
                    .await
                    .map(|rows| {
                        for m in &rows {
                            message_record(&mut out, m, &e.tz);
                        }
                        (
                            rows.len(),
                            rows.last().map(|m| Cursor {
                                at: m.created_at,
                                id: m.id.clone(),
                            }),
                        )
                    })
            }
        };
        match page {
            Err(err) => {
                tracing::error!(error = %err, tenant = %st.tenant_id, "export failed mid-stream");
                st.done = true;
                Some((Err(err), st))
            }
            Ok((0, _)) | Ok((_, None)) => None,
            Ok((n, Some(next))) => {
                // A short page is the last one: no need to ask again.
                st.done = (n as i64) < PAGE;
                st.cursor = Some(next);
                Some((Ok(Bytes::from(out)), st))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut out = String::new();
        push_record(
            &mut out,
            &["plain", "a,b", "say \"hi\"", "two\nlines", "cr\rhere", ""],
        );
        assert_eq!(
            out,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\",\r\n"
        );
    }

    #[test]
    fn formulas_are_defused_and_phone_numbers_untouched() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("-2+3"), "'-2+3");
        assert_eq!(defuse("Hello = world"), "Hello = world");
        // Numbers are not free text and are never defused; only bodies and notes go through it.
        let mut out = String::new();
        push_record(&mut out, &["+14155550100"]);
        assert_eq!(out, "+14155550100\r\n");
    }
}
