//! Call rows: one per Twilio CallSid, created atomically by the first voice webhook (retries find the
//! existing row), carrying the routing plan so every later webhook of the call continues it.

use crate::db::StoreError;
use crate::domain::CallSid;
use crate::domain::call_route::{CallStrategy, RouteTargets};
use crate::domain::states::CallStatus;
use crate::{with_conn, with_db, with_tx};

use super::batch::Val;
use super::filter::{Where, bind_vals};
use super::{Conn, Db, Tx};

/// `Deserialize` reads a row as PostgreSQL's `json_agg` writes it (`db::batch::pg_load`).
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct Call {
    pub id: String,
    pub tenant_id: String,
    pub call_sid: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// As Twilio sent it: may be `Anonymous`, `client:…`, `sip:…`.
    pub from_number: String,
    pub to_number: String,
    /// Twilio's call status (`ringing`, `in-progress`, `completed`, `busy`, `no-answer`, …).
    pub status: CallStatus,
    /// The routing strategy chosen for this call (`forward`, `forward_external`, `voicemail`, `gather`, …).
    pub strategy: CallStrategy,
    pub after_hours: bool,
    /// E.164 numbers to ring in order (a JSON array in the column).
    #[serde(deserialize_with = "RouteTargets::deserialize_column")]
    pub route_targets: RouteTargets,
    /// Index in `route_targets` of the number being rung now.
    pub route_index: i64,
    pub gather_attempts: i64,
    pub forwarded_to: Option<String>,
    pub call_reason: Option<String>,
    pub notes: Option<String>,
    pub recording_url: Option<String>,
    pub voicemail: bool,
    pub missed: bool,
    pub start_time: i64,
    pub answered_at: Option<i64>,
    pub end_time: Option<i64>,
    pub duration_seconds: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Call {
    pub fn targets(&self) -> &[String] {
        &self.route_targets
    }
}

crate::stored_row! {
    $ bind_call, COLUMNS, WIDTH for c: Call {
        id: &c.id,
        tenant_id: &c.tenant_id,
        call_sid: &c.call_sid,
        direction: &c.direction,
        from_number: &c.from_number,
        to_number: &c.to_number,
        status: c.status,
        strategy: c.strategy,
        after_hours: c.after_hours,
        route_targets: &c.route_targets,
        route_index: c.route_index,
        gather_attempts: c.gather_attempts,
        forwarded_to: &c.forwarded_to,
        call_reason: &c.call_reason,
        notes: &c.notes,
        recording_url: &c.recording_url,
        voicemail: c.voicemail,
        missed: c.missed,
        start_time: c.start_time,
        answered_at: c.answered_at,
        end_time: c.end_time,
        duration_seconds: c.duration_seconds,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// Inserts `c` unless a call with its CallSid exists. Returns true when this insert created it.
pub async fn insert_if_new(tx: &mut Tx, c: &Call) -> Result<bool, StoreError> {
    let sql = super::row::insert_sql(
        "calls",
        COLUMNS,
        WIDTH,
        "ON CONFLICT (call_sid, tenant_id) DO NOTHING",
    );
    let n = with_tx!(tx, |conn| {
        bind_call!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), c)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

/// Writes the mutable state of `c` (by its tenant and CallSid) inside `tx`.
pub async fn save(tx: &mut Tx, c: &Call) -> Result<(), StoreError> {
    with_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE calls SET status = $2, strategy = $3, route_targets = $4, route_index = $5, gather_attempts = $6, \
             forwarded_to = $7, call_reason = $8, notes = $9, recording_url = $10, voicemail = $11, missed = $12, \
             answered_at = $13, end_time = $14, duration_seconds = $15, updated_at = $16 WHERE call_sid = $1 AND tenant_id = $17",
        )
        .bind(&c.call_sid)
        .bind(c.status)
        .bind(c.strategy)
        .bind(&c.route_targets)
        .bind(c.route_index)
        .bind(c.gather_attempts)
        .bind(&c.forwarded_to)
        .bind(&c.call_reason)
        .bind(&c.notes)
        .bind(&c.recording_url)
        .bind(c.voicemail)
        .bind(c.missed)
        .bind(c.answered_at)
        .bind(c.end_time)
        .bind(c.duration_seconds)
        .bind(c.updated_at)
        .bind(&c.tenant_id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The call with `call_sid`, on the pool or inside the caller's transaction.
pub async fn get_by_sid<'a>(
    conn: impl Into<Conn<'a>>,
    call_sid: &CallSid,
) -> Result<Option<Call>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM calls WHERE call_sid = $1");
    Ok(with_conn!(conn.into(), |c| sqlx::query_as::<_, Call>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(call_sid.as_str())
    .fetch_optional(c)
    .await)?)
}

/// One of a tenant's calls by id.
pub async fn get(db: &Db, tenant_id: &str, id: &str) -> Result<Option<Call>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM calls WHERE tenant_id = $1 AND id = $2");
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, Call>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(p)
            .await
    })?)
}

/// Filters for listing a tenant's calls. Times are epoch milliseconds, `start_time` in [from, to).
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub status: Option<CallStatus>,
    pub direction: Option<String>,
    pub reason: Option<String>,
    /// Calls where this number is the caller or the called party.
    pub phone_number: Option<String>,
    pub outcome: Option<CallOutcome>,
}

/// What became of a call, as the analytics count it: someone picked up (`answered_at` is set), the
/// call is flagged missed (nobody picked up an inbound call; voicemails included), or the caller
/// left a voicemail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Answered,
    Missed,
    Voicemail,
}

impl CallOutcome {
    pub const NAMES: [&'static str; 3] = crate::domain::query_values::CALL_OUTCOMES;

    pub fn parse(s: &str) -> Option<CallOutcome> {
        match s.trim().to_ascii_lowercase().as_str() {
            "answered" => Some(CallOutcome::Answered),
            "missed" => Some(CallOutcome::Missed),
            "voicemail" => Some(CallOutcome::Voicemail),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Where a keyset page starts: strictly older (`Before`) or strictly newer (`After`) than the call
/// that started at `start_time` with `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyset {
    Newest,
    Before { start_time: i64, id: String },
    After { start_time: i64, id: String },
}

/// A listing's WHERE clause with its values (`$1` is the tenant), built once from a [`CallFilter`]
/// for every query that lists calls. Only the filters given become predicates, so each query's
/// plan can use the `(tenant_id, start_time, id)` index range.
fn call_filter(tenant_id: &str, f: &CallFilter) -> Where {
    let mut w = Where::new();
    w.and("tenant_id = ?", [Val::Text(tenant_id.to_string())]);
    if let Some(from) = f.from_ms {
        w.and("start_time >= ?", [Val::Int(from)]);
    }
    if let Some(to) = f.to_ms {
        w.and("start_time < ?", [Val::Int(to)]);
    }
    if let Some(status) = f.status {
        w.and("status = ?", [Val::Text(status.to_string())]);
    }
    if let Some(d) = &f.direction {
        w.and("direction = ?", [Val::Text(d.clone())]);
    }
    if let Some(r) = &f.reason {
        w.and("call_reason = ?", [Val::Text(r.clone())]);
    }
    if let Some(n) = &f.phone_number {
        w.and(
            "(from_number = ? OR to_number = ?)",
            [Val::Text(n.clone()), Val::Text(n.clone())],
        );
    }
    match f.outcome {
        Some(CallOutcome::Answered) => w.and("answered_at IS NOT NULL", []),
        Some(CallOutcome::Missed) => w.and("missed = ?", [Val::Bool(true)]),
        Some(CallOutcome::Voicemail) => w.and("voicemail = ?", [Val::Bool(true)]),
        None => {}
    }
    w
}

/// A page of a tenant's calls, newest first, and the total matching (the API's offset paging).
pub async fn list(
    db: &Db,
    tenant_id: &str,
    f: &CallFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Call>, i64), StoreError> {
    let w = call_filter(tenant_id, f);
    let sql = format!(
        "SELECT {COLUMNS} FROM calls WHERE {} ORDER BY start_time DESC, id DESC LIMIT {} OFFSET {}",
        w.sql,
        w.next(1),
        w.next(2)
    );
    let count_sql = format!("SELECT COUNT(*) FROM calls WHERE {}", w.sql);
    let rows = with_db!(db, |p| {
        bind_vals!(
            sqlx::query_as::<_, Call>(sqlx::AssertSqlSafe(sql.as_str())),
            &w.vals
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await
    })?;
    let total: (i64,) = with_db!(db, |p| {
        bind_vals!(
            sqlx::query_as(sqlx::AssertSqlSafe(count_sql.as_str())),
            &w.vals
        )
        .fetch_one(p)
        .await
    })?;
    Ok((rows, total.0))
}

/// Up to `limit` of a tenant's calls from `page` on, without counting or skipping rows: newest
/// first from the newest or `Before` a call, oldest first `After` a call (the caller reverses).
/// The cursor's time is repeated as a plain bound (`start_time <= t`) so that the index range
/// starts there; the `(time, id)` comparison then only sorts out the calls of that millisecond.
pub async fn list_keyset(
    db: &Db,
    tenant_id: &str,
    f: &CallFilter,
    page: &Keyset,
    limit: i64,
) -> Result<Vec<Call>, StoreError> {
    let mut w = call_filter(tenant_id, f);
    let order = match page {
        Keyset::Newest => "DESC",
        Keyset::Before { start_time, id } => {
            w.and(
                "start_time <= ? AND (start_time < ? OR id < ?)",
                [
                    Val::Int(*start_time),
                    Val::Int(*start_time),
                    Val::Text(id.clone()),
                ],
            );
            "DESC"
        }
        Keyset::After { start_time, id } => {
            w.and(
                "start_time >= ? AND (start_time > ? OR id > ?)",
                [
                    Val::Int(*start_time),
                    Val::Int(*start_time),
                    Val::Text(id.clone()),
                ],
            );
            "ASC"
        }
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM calls WHERE {} ORDER BY start_time {order}, id {order} LIMIT {}",
        w.sql,
        w.next(1)
    );
    Ok(with_db!(db, |p| {
        bind_vals!(
            sqlx::query_as::<_, Call>(sqlx::AssertSqlSafe(sql.as_str())),
            &w.vals
        )
        .bind(limit)
        .fetch_all(p)
        .await
    })?)
}
