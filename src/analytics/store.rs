//! The analytics queries: aggregates computed by the database, one SQL text for SQLite and
//! PostgreSQL. Time series are grouped by fixed UTC slots (see [`super::buckets`]) so that a tenant
//! with 100,000 calls costs a few thousand aggregate rows, not 100,000 call rows.
//!
//! The time-series queries take the same parameters: `$1` the tenant (or NULL for every tenant), `$2`
//! the slot origin, `$3` the slot length, `$4`/`$5` the range `[from, to)` in epoch milliseconds.
//! The tenant predicate is spliced from two constants (`x.tenant_id = $1` or `$1 IS NULL`) rather
//! than written `($1 IS NULL OR tenant_id = $1)`, which would keep PostgreSQL's generic plans
//! from using the tenant's index.
//!
//! Sums are `CAST(… AS BIGINT)`: PostgreSQL's `SUM(bigint)` is `numeric`.

use crate::db::Db;
use crate::db::StoreError;
use crate::db::calls::{self, Call};
use crate::db::messages::{self, MessageRow};
use crate::with_db;

/// Whose rows a query reads.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Tenant(&'a str),
    /// Every tenant (the admin API).
    All,
}

impl<'a> Scope<'a> {
    fn tenant(self) -> Option<&'a str> {
        match self {
            Scope::Tenant(t) => Some(t),
            Scope::All => None,
        }
    }

    /// The tenant predicate on `column` (a constant such as `c.tenant_id`).
    fn pred(self, column: &'static str) -> String {
        match self {
            Scope::Tenant(_) => format!("{column} = $1"),
            Scope::All => "$1 IS NULL".to_string(),
        }
    }
}

/// The slot grid and range of a time-series query.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub origin: i64,
    pub slot_ms: i64,
    pub from: i64,
    pub to: i64,
}

/// Call counts of one slot.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct CallSlot {
    pub slot: i64,
    pub total: i64,
    pub inbound: i64,
    pub answered: i64,
    pub missed: i64,
    pub voicemail: i64,
    /// Answered calls with a known duration, and the sum of their durations.
    pub timed: i64,
    pub talk_seconds: i64,
    /// Calls per reason, in the order of [`REASON_COLUMNS`]; the rest of `total` has none.
    pub setup_appointment: i64,
    pub cancel_appointment: i64,
    pub modify_appointment: i64,
    pub get_hours: i64,
    pub get_pricing: i64,
    pub other: i64,
}

/// The reasons counted by [`call_slots`], as stored: the names of
/// [`crate::domain::routing::CallReason`] (the SQL below spells each out; a test checks them).
pub const REASON_COLUMNS: [&str; 6] = crate::domain::routing::CallReason::NAMES;

impl CallSlot {
    /// The per-reason counts, in the order of [`REASON_COLUMNS`].
    pub fn reasons(&self) -> [i64; 6] {
        [
            self.setup_appointment,
            self.cancel_appointment,
            self.modify_appointment,
            self.get_hours,
            self.get_pricing,
            self.other,
        ]
    }
}

/// `SUM(CASE WHEN call_reason = 'GET_HOURS' THEN 1 ELSE 0 END) AS get_hours, …` for every reason,
/// named as [`CallSlot`]'s fields.
fn reason_counts() -> String {
    REASON_COLUMNS
        .iter()
        .map(|r| {
            format!(
                "SUM(CASE WHEN call_reason = '{r}' THEN 1 ELSE 0 END) AS {}",
                r.to_ascii_lowercase()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn call_slots(db: &Db, scope: Scope<'_>, w: Window) -> Result<Vec<CallSlot>, StoreError> {
    let sql = format!(
        "SELECT (start_time - $2) / $3 AS slot, COUNT(*) AS total, \
         SUM(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END) AS inbound, \
         SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered, \
         SUM(CASE WHEN missed THEN 1 ELSE 0 END) AS missed, \
         SUM(CASE WHEN voicemail THEN 1 ELSE 0 END) AS voicemail, \
         SUM(CASE WHEN answered_at IS NOT NULL AND duration_seconds IS NOT NULL THEN 1 ELSE 0 END) AS timed, \
         CAST(SUM(CASE WHEN answered_at IS NOT NULL AND duration_seconds IS NOT NULL THEN duration_seconds ELSE 0 END) AS BIGINT) AS talk_seconds, \
         {} \
         FROM calls WHERE {} AND start_time >= $4 AND start_time < $5 GROUP BY 1",
        reason_counts(),
        scope.pred("tenant_id")
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, CallSlot>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(scope.tenant())
            .bind(w.origin)
            .bind(w.slot_ms)
            .bind(w.from)
            .bind(w.to)
            .fetch_all(p)
            .await
    })?)
}

/// `(duration in seconds, calls)` of the answered calls with a known duration, by duration. (The
/// range is `$2`/`$3`: there is no slot grid.)
pub async fn duration_histogram(
    db: &Db,
    scope: Scope<'_>,
    w: Window,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let sql = format!(
        "SELECT duration_seconds, COUNT(*) FROM calls WHERE {} \
         AND start_time >= $2 AND start_time < $3 \
         AND answered_at IS NOT NULL AND duration_seconds IS NOT NULL GROUP BY duration_seconds",
        scope.pred("tenant_id")
    );
    let mut rows = with_db!(db, |p| {
        sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(scope.tenant())
            .bind(w.from)
            .bind(w.to)
            .fetch_all(p)
            .await
    })?;
    rows.sort_unstable();
    Ok(rows)
}

/// SMS notifications of one slot (by when they were queued), by delivery state.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct SmsSlot {
    pub slot: i64,
    /// Accepted by Twilio: SENT, DELIVERED or UNDELIVERED.
    pub sent: i64,
    pub delivered: i64,
    /// UNDELIVERED or FAILED.
    pub failed: i64,
    /// Refused before Twilio accepted it (FAILED); with `sent`, every SMS no longer pending.
    pub refused: i64,
    /// QUEUED or SENDING.
    pub pending: i64,
}

pub async fn sms_slots(db: &Db, scope: Scope<'_>, w: Window) -> Result<Vec<SmsSlot>, StoreError> {
    let sql = format!(
        "SELECT (created_at - $2) / $3 AS slot, \
         SUM(CASE WHEN status IN ('SENT', 'DELIVERED', 'UNDELIVERED') THEN 1 ELSE 0 END) AS sent, \
         SUM(CASE WHEN status = 'DELIVERED' THEN 1 ELSE 0 END) AS delivered, \
         SUM(CASE WHEN status IN ('UNDELIVERED', 'FAILED') THEN 1 ELSE 0 END) AS failed, \
         SUM(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END) AS refused, \
         SUM(CASE WHEN status IN ('QUEUED', 'SENDING') THEN 1 ELSE 0 END) AS pending \
         FROM notifications WHERE {} AND type = 'SMS' AND created_at >= $4 AND created_at < $5 GROUP BY 1",
        scope.pred("tenant_id")
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, SmsSlot>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(scope.tenant())
            .bind(w.origin)
            .bind(w.slot_ms)
            .bind(w.from)
            .bind(w.to)
            .fetch_all(p)
            .await
    })?)
}

/// Missed-call text-backs that reached Twilio, for calls started in the range: how many per slot of
/// their call, `(slot, count)`, and how many per delay, `(seconds, count)` sorted, where the delay is
/// whole seconds from the end of the call (its start when no end was recorded) to the text's
/// `sent_at`, 0 for a text that went out while the caller was still leaving a voicemail.
pub async fn text_backs(
    db: &Db,
    scope: Scope<'_>,
    w: Window,
) -> Result<(Vec<(i64, i64)>, Vec<(i64, i64)>), StoreError> {
    // One join, materialized once and grouped two ways. Grouping by (slot, delay) instead would
    // return about one row per text-back, and two queries would run the join twice. A text-back is queued after its call started, so
    // `n.created_at >= $4` lets the notifications index skip older rows without losing any.
    let sql = format!(
        "WITH tb AS MATERIALIZED (SELECT (c.start_time - $2) / $3 AS slot, \
           CASE WHEN n.sent_at < COALESCE(c.end_time, c.start_time) THEN 0 \
                ELSE (n.sent_at - COALESCE(c.end_time, c.start_time)) / 1000 END AS delay \
           FROM notifications n JOIN calls c ON c.call_sid = n.related_call_sid AND c.tenant_id = n.tenant_id \
           WHERE {} AND n.kind = 'missed_call_text_back' AND n.sent_at IS NOT NULL AND n.created_at >= $4 \
           AND c.start_time >= $4 AND c.start_time < $5) \
         SELECT CAST(0 AS BIGINT), slot, COUNT(*) FROM tb GROUP BY slot \
         UNION ALL SELECT CAST(1 AS BIGINT), delay, COUNT(*) FROM tb GROUP BY delay",
        scope.pred("n.tenant_id")
    );
    let rows = with_db!(db, |p| {
        sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(scope.tenant())
            .bind(w.origin)
            .bind(w.slot_ms)
            .bind(w.from)
            .bind(w.to)
            .fetch_all(p)
            .await
    })?;
    let (mut slots, mut delays) = (Vec::new(), Vec::new());
    for (grouping, key, n) in rows {
        if grouping == 0 {
            slots.push((key, n));
        } else {
            delays.push((key, n));
        }
    }
    delays.sort_unstable();
    Ok((slots, delays))
}

/// Inbound SMS of one slot and the conversations they opened.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct InboundSlot {
    pub slot: i64,
    pub messages: i64,
    pub conversations: i64,
    pub replied: i64,
}

/// Notification kinds Switchboard sends on its own: their texts are not replies to a customer.
const AUTOMATIC_KINDS: &str = "'missed_call_text_back', 'appointment_reminder'";

/// Inbound messages by slot, with the conversations they opened and how many of those were answered.
///
/// - A message *opens a conversation* when the same customer sent the tenant no other inbound message
///   in the 24 hours before it.
/// - An opened conversation is *replied* when the tenant sent that customer an outbound text through
///   the notifications pipeline (the send APIs, the host app, another service) within 24 hours after
///   the opening message. Automatic texts do not count: TwiML auto-replies and keyword answers (they
///   have no notification), missed-call text-backs and appointment reminders.
pub async fn inbound_slots(
    db: &Db,
    scope: Scope<'_>,
    w: Window,
) -> Result<Vec<InboundSlot>, StoreError> {
    // MATERIALIZED: a plain subquery is flattened into the outer query by SQLite, which then runs
    // the correlated lookups once for each of the two sums that read `state`.
    let sql = format!(
        "WITH x AS MATERIALIZED (SELECT (m.created_at - $2) / $3 AS slot, \
           CASE WHEN EXISTS (SELECT 1 FROM messages p WHERE p.tenant_id = m.tenant_id AND p.customer = m.customer \
                  AND p.direction = 'inbound' AND p.created_at >= m.created_at - 86400000 \
                  AND (p.created_at < m.created_at OR (p.created_at = m.created_at AND p.id < m.id))) THEN 0 \
                WHEN EXISTS (SELECT 1 FROM messages r JOIN notifications n ON n.id = r.notification_id AND n.tenant_id = r.tenant_id \
                  WHERE r.tenant_id = m.tenant_id AND r.customer = m.customer AND r.direction = 'outbound' \
                  AND r.created_at >= m.created_at AND r.created_at <= m.created_at + 86400000 \
                  AND n.kind NOT IN ({AUTOMATIC_KINDS})) THEN 2 \
                ELSE 1 END AS state \
           FROM messages m WHERE {} AND m.direction = 'inbound' AND m.created_at >= $4 AND m.created_at < $5) \
         SELECT slot, COUNT(*) AS messages, \
         SUM(CASE WHEN state >= 1 THEN 1 ELSE 0 END) AS conversations, \
         SUM(CASE WHEN state = 2 THEN 1 ELSE 0 END) AS replied \
         FROM x GROUP BY slot",
        scope.pred("m.tenant_id")
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, InboundSlot>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(scope.tenant())
            .bind(w.origin)
            .bind(w.slot_ms)
            .bind(w.from)
            .bind(w.to)
            .fetch_all(p)
            .await
    })?)
}

/// Opt-outs recorded in each slot that are still in force (a START deletes the row).
pub async fn opt_out_slots(
    db: &Db,
    scope: Scope<'_>,
    w: Window,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let sql = format!(
        "SELECT (created_at - $2) / $3 AS slot, COUNT(*) FROM opt_outs \
         WHERE {} AND created_at >= $4 AND created_at < $5 GROUP BY 1",
        scope.pred("tenant_id")
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(scope.tenant())
            .bind(w.origin)
            .bind(w.slot_ms)
            .bind(w.from)
            .bind(w.to)
            .fetch_all(p)
            .await
    })?)
}

/// A tenant's billable call usage in `[from, to)` for one direction.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct CallUsage {
    pub direction: String,
    pub calls: i64,
    /// Σ ⌈duration / 60 s⌉ over calls with a duration: Twilio bills every started minute of a call.
    pub minutes: i64,
    /// Σ ⌈(end − answered) / 60 s⌉ over answered forwarded calls: the `<Dial>` leg to staff or an
    /// external number, which Twilio bills as an outbound call of its own.
    pub forwarded_minutes: i64,
}

pub async fn call_usage(
    db: &Db,
    tenant_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<CallUsage>, StoreError> {
    let sql = "SELECT direction, COUNT(*) AS calls, \
        CAST(COALESCE(SUM(CASE WHEN duration_seconds > 0 THEN (duration_seconds + 59) / 60 ELSE 0 END), 0) AS BIGINT) AS minutes, \
        CAST(COALESCE(SUM(CASE WHEN forwarded_to IS NOT NULL AND answered_at IS NOT NULL AND end_time > answered_at \
             THEN (end_time - answered_at + 59999) / 60000 ELSE 0 END), 0) AS BIGINT) AS forwarded_minutes \
        FROM calls WHERE tenant_id = $1 AND start_time >= $2 AND start_time < $3 GROUP BY direction";
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, CallUsage>(sql)
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
    })?)
}

/// A tenant's SMS usage in `[from, to)` for one direction: messages and segments. Messages Twilio
/// reported `failed` are left out (Twilio does not bill them; `undelivered` ones it does).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct MessageUsage {
    pub direction: String,
    pub messages: i64,
    pub segments: i64,
}

pub async fn message_usage(
    db: &Db,
    tenant_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<MessageUsage>, StoreError> {
    let sql = "SELECT direction, COUNT(*) AS messages, CAST(COALESCE(SUM(segments), 0) AS BIGINT) AS segments \
        FROM messages WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 AND status <> 'failed' \
        GROUP BY direction";
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, MessageUsage>(sql)
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
    })?)
}

/// Recordings and transcriptions of a tenant's calls in a range.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct RecordingUsage {
    pub recordings: i64,
    /// Σ per recording of its minutes rounded up.
    pub recording_minutes: i64,
    pub transcriptions: i64,
    pub transcription_minutes: i64,
}

/// Recording usage in `[from, to)` (by when the recording was reported): Twilio bills completed
/// recordings, each rounded up to whole minutes. A transcription is a recording with a transcript
/// from a provider (not `none`, not failed), billed by the recording's minutes.
pub async fn recording_usage(
    db: &Db,
    tenant_id: &str,
    from: i64,
    to: i64,
) -> Result<RecordingUsage, StoreError> {
    let sql = "SELECT COUNT(*) AS recordings, \
        CAST(COALESCE(SUM(CASE WHEN r.duration_seconds > 0 THEN (r.duration_seconds + 59) / 60 ELSE 0 END), 0) AS BIGINT) AS recording_minutes, \
        CAST(COALESCE(SUM(CASE WHEN t.id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS transcriptions, \
        CAST(COALESCE(SUM(CASE WHEN t.id IS NOT NULL AND r.duration_seconds > 0 THEN (r.duration_seconds + 59) / 60 ELSE 0 END), 0) AS BIGINT) AS transcription_minutes \
        FROM recordings r LEFT JOIN transcriptions t \
          ON t.recording_id = r.id AND t.tenant_id = r.tenant_id AND t.provider <> 'none' AND t.transcript_error IS NULL \
        WHERE r.tenant_id = $1 AND r.status = 'completed' AND r.created_at >= $2 AND r.created_at < $3";
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, RecordingUsage>(sql)
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .fetch_one(p)
            .await
    })?)
}

/// When the tenant's provisioned number was released, if it was.
pub async fn number_released_at(db: &Db, tenant_id: &str) -> Result<Option<i64>, StoreError> {
    let row: Option<(Option<i64>,)> = with_db!(db, |p| {
        sqlx::query_as("SELECT released_at FROM number_provisioning WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(p)
            .await
    })?;
    Ok(row.and_then(|r| r.0))
}

/// Where a page of an export continues: after this (time, id). The page queries repeat the cursor's
/// time as a plain lower bound (`t >= $4`) so that the index scan starts there; written only as
/// `(t > $4 OR (t = $4 AND id > $5))`, PostgreSQL filters every earlier row again on every page.
#[derive(Debug, Clone)]
pub struct Cursor {
    pub at: i64,
    pub id: String,
}

/// One keyset page of `table`'s rows for a tenant with `time_col` in `[from, to)`, oldest first,
/// after `after`. `table`, `columns` and `time_col` are compile-time constants of the callers below.
async fn keyset_page<R>(
    db: &Db,
    (table, columns, time_col): (&str, &str, &str),
    tenant_id: &str,
    (from, to): (i64, i64),
    after: &Cursor,
    limit: i64,
) -> Result<Vec<R>, StoreError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE tenant_id = $1 AND {time_col} >= $2 AND {time_col} < $3 \
         AND {time_col} >= $4 AND ({time_col} > $4 OR id > $5) ORDER BY {time_col}, id LIMIT $6"
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .bind(after.at)
            .bind(&after.id)
            .bind(limit)
            .fetch_all(p)
            .await
    })?)
}

/// The next page of a tenant's calls started in `[from, to)`, oldest first, after `after`.
pub async fn calls_page(
    db: &Db,
    tenant_id: &str,
    from: i64,
    to: i64,
    after: &Cursor,
    limit: i64,
) -> Result<Vec<Call>, StoreError> {
    keyset_page(
        db,
        ("calls", calls::COLUMNS, "start_time"),
        tenant_id,
        (from, to),
        after,
        limit,
    )
    .await
}

/// The next page of a tenant's messages created in `[from, to)`, oldest first, after `after`.
pub async fn messages_page(
    db: &Db,
    tenant_id: &str,
    from: i64,
    to: i64,
    after: &Cursor,
    limit: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    keyset_page(
        db,
        ("messages", messages::COLUMNS, "created_at"),
        tenant_id,
        (from, to),
        after,
        limit,
    )
    .await
}
