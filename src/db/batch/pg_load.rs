//! A batch's loads on PostgreSQL as one prepared statement: every table its units read, in one
//! round trip, each table's rows returned as one JSON array.
//!
//! Why: loaded with a query per table (`load.rs`), a batch of the webhook benchmark made four round
//! trips before its units could run (calls, messages, opt-outs, relay endpoints), and the relay
//! endpoints had to wait for the calls, whose tenants they are found by. Here each table is a part
//! of one `WITH` statement, and what depended on loaded rows is found in SQL from the same
//! statement's rows: the relay endpoints of the loaded calls' and notifications' tenants, the
//! opt-outs of the loaded notifications' recipients.
//!
//! The statement's text never changes (empty arrays match nothing), so each connection prepares it
//! once (sqlx's statement cache) and a writer's transaction keeps its plan (`PG_WRITER_BEGIN`).
//!
//! Locks: the parts that lock (`FOR NO KEY UPDATE`, as the loads one by one did) are each read by
//! the output column that aggregates them and, once more, by the relay endpoints' part; a part read
//! twice is computed once, so each row is locked once. PostgreSQL computes the output columns in
//! order, so rows are locked table by table in the order the loads one by one took them: calls,
//! notifications by SID, notifications by id, jobs, tenants. Last, the tenants the units store new
//! calls and messages for are locked `FOR KEY SHARE` (see `Keys::owners`): what each row's
//! foreign-key check took before migration 0016, once per tenant and batch instead of once per row.

use std::collections::HashSet;

use crate::db::StoreError;
use crate::db::calls::Call;
use crate::db::events::Endpoint;
use crate::db::notifications::Notification;
use crate::domain::states::MessageStatus;

use super::Keys;
use super::load::Loaded;
use super::rows::distinct;

/// The statement (see the module header). `$1` CallSids, `$2` MessageSids, `$3` notifications'
/// SIDs, `$4` notifications' ids, `$5` job ids, `$6`/`$7` opt-outs' tenants and phones (pairs, in
/// step), `$8` tenants whose relay endpoints are wanted, `$9` tenants whose round-robin cursor is.
/// Every part finds its rows through an index: a part that scanned (a condition `OR`ed with a
/// subquery does) would, besides its own cost, be priced past JIT compilation's threshold under
/// the writer's `enable_seqscan = off` (and `jit = off` there is the second guard).
pub fn statement() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let calls = crate::db::calls::COLUMNS;
        let notifications = crate::db::notifications::COLUMNS;
        let endpoints = crate::db::events::ENDPOINT_COLUMNS;
        format!(
            "WITH \
             c AS (SELECT {calls} FROM calls WHERE call_sid = ANY($1) FOR NO KEY UPDATE), \
             m AS (SELECT message_sid, tenant_id, status, error_code FROM messages WHERE message_sid = ANY($2)), \
             n AS (SELECT {notifications} FROM notifications WHERE twilio_sid = ANY($3) FOR NO KEY UPDATE), \
             ni AS (SELECT {notifications} FROM notifications WHERE id = ANY($4) FOR NO KEY UPDATE), \
             j AS (SELECT id, lease_token FROM jobs WHERE id = ANY($5) AND status = 'running' \
                   AND lease_token IS NOT NULL FOR NO KEY UPDATE), \
             o AS (SELECT tenant_id, phone FROM opt_outs WHERE (tenant_id, phone) IN \
                   (SELECT t, p FROM unnest($6::text[], $7::text[]) AS w(t, p) \
                    UNION ALL SELECT tenant_id, recipient FROM ni)), \
             e AS (SELECT {endpoints} FROM relay_endpoints WHERE enabled = TRUE AND tenant_id IS NULL \
                   UNION ALL SELECT {endpoints} FROM relay_endpoints WHERE enabled = TRUE \
                   AND tenant_id = ANY(array_cat($8::text[], ARRAY(SELECT tenant_id FROM c \
                   UNION ALL SELECT tenant_id FROM n UNION ALL SELECT tenant_id FROM ni)))), \
             t AS (SELECT id, round_robin_cursor FROM tenants WHERE id = ANY($9) FOR NO KEY UPDATE), \
             k AS (SELECT id FROM tenants WHERE id = ANY($10) FOR KEY SHARE) \
             SELECT (SELECT json_agg(c)::text FROM c), (SELECT json_agg(m)::text FROM m), \
             (SELECT json_agg(n)::text FROM n), (SELECT json_agg(ni)::text FROM ni), \
             (SELECT json_agg(j)::text FROM j), (SELECT json_agg(o)::text FROM o), \
             (SELECT json_agg(e)::text FROM e), (SELECT json_agg(t)::text FROM t), \
             (SELECT json_agg(k.id)::text FROM k)"
        )
    })
}

#[derive(serde::Deserialize)]
struct MessageState {
    message_sid: String,
    tenant_id: String,
    status: MessageStatus,
    error_code: Option<i64>,
}

#[derive(serde::Deserialize)]
struct JobLease {
    id: String,
    lease_token: String,
}

#[derive(serde::Deserialize)]
struct OptOut {
    tenant_id: String,
    phone: String,
}

#[derive(serde::Deserialize)]
struct Cursor {
    id: String,
    round_robin_cursor: i64,
}

type Arrays = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The rows of one output column: none when the part matched nothing (`json_agg` of no rows is
/// NULL).
fn rows<T: serde::de::DeserializeOwned>(
    column: Option<String>,
    table: &str,
) -> Result<Vec<T>, StoreError> {
    match column {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("a batch's {table} did not load: {e}"))),
    }
}

/// Loads everything `keys` name on `conn` (in the writer's transaction), in one round trip.
pub(super) async fn load(conn: &mut sqlx::PgConnection, keys: &Keys) -> Result<Loaded, StoreError> {
    let (opt_out_tenants, opt_out_phones): (Vec<&str>, Vec<&str>) = keys
        .opt_outs
        .iter()
        .map(|(t, p)| (t.as_str(), p.as_str()))
        .unzip();
    let arrays: Arrays = sqlx::query_as(sqlx::AssertSqlSafe(statement()))
        .bind(distinct(&keys.call_sids))
        .bind(distinct(&keys.message_sids))
        .bind(distinct(&keys.notification_sids))
        .bind(distinct(&keys.notification_ids))
        .bind(distinct(&keys.jobs))
        .bind(opt_out_tenants)
        .bind(opt_out_phones)
        .bind(distinct(&keys.tenants))
        .bind(distinct(&keys.cursors))
        .bind(distinct(&keys.owners))
        .fetch_one(conn)
        .await?;
    let (calls, messages, by_sid, by_id, jobs, opt_outs, endpoints, cursors, owners) = arrays;
    let mut loaded = Loaded::default();
    for call in rows::<Call>(calls, "calls")? {
        loaded.calls.insert(call.call_sid.clone(), call);
    }
    for m in rows::<MessageState>(messages, "messages")? {
        if let Some(code) = m.error_code {
            loaded.message_codes.insert(m.message_sid.clone(), code);
        }
        loaded
            .message_tenants
            .insert(m.message_sid.clone(), m.tenant_id);
        loaded.message_statuses.insert(m.message_sid, m.status);
    }
    for n in rows::<Notification>(by_sid, "notifications")? {
        if let Some(sid) = n.twilio_sid.clone() {
            loaded.notifications.insert(sid, n);
        }
    }
    for n in rows::<Notification>(by_id, "notifications")? {
        loaded.notifications_by_id.insert(n.id.clone(), n);
    }
    loaded.job_leases.extend(
        rows::<JobLease>(jobs, "jobs")?
            .into_iter()
            .map(|j| (j.id, j.lease_token)),
    );
    loaded.opt_outs.extend(
        rows::<OptOut>(opt_outs, "opt-outs")?
            .into_iter()
            .map(|o| (o.tenant_id, o.phone)),
    );
    // Endpoints are listed once each, as the loads one by one did.
    let mut seen = HashSet::new();
    loaded.endpoints = rows::<Endpoint>(endpoints, "relay endpoints")?
        .into_iter()
        .filter(|e| seen.insert(e.id.clone()))
        .collect();
    loaded.cursors.extend(
        rows::<Cursor>(cursors, "tenants")?
            .into_iter()
            .map(|c| (c.id, c.round_robin_cursor)),
    );
    loaded.owners = rows::<String>(owners, "tenants")?.into_iter().collect();
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call row as PostgreSQL's `json_agg` writes it: `route_targets` is the column's text, a
    /// JSON array inside a string.
    const CALL: &str = r#"[{"id":"c1","tenant_id":"t1","call_sid":"CA1","direction":"inbound",
        "from_number":"+14155550100","to_number":"+15005550006","status":"ringing",
        "strategy":"forward","after_hours":false,"route_targets":"[\"+14155550101\",\"+14155550102\"]",
        "route_index":1,"gather_attempts":0,"forwarded_to":null,"call_reason":null,"notes":null,
        "recording_url":null,"voicemail":false,"missed":true,"start_time":1000,"answered_at":null,
        "end_time":null,"duration_seconds":null,"created_at":1000,"updated_at":2000}]"#;

    #[test]
    fn a_call_reads_as_json_agg_writes_it() {
        let calls: Vec<Call> = rows(Some(CALL.into()), "calls").unwrap();
        assert_eq!(calls.len(), 1);
        let call = &calls[0];
        assert_eq!(call.targets(), ["+14155550101", "+14155550102"]);
        assert_eq!(call.status.as_str(), "ringing");
        assert_eq!(call.strategy.as_str(), "forward");
        assert_eq!(
            (call.route_index, call.missed, call.updated_at),
            (1, true, 2000)
        );
    }

    #[test]
    fn a_part_that_matched_nothing_is_no_rows() {
        assert!(rows::<Call>(None, "calls").unwrap().is_empty());
    }

    #[test]
    fn a_row_that_does_not_read_names_its_table() {
        let bad = CALL.replace(r#""status":"ringing""#, r#""status":"ringingg""#);
        let err = rows::<Call>(Some(bad), "calls").unwrap_err().to_string();
        assert!(err.contains("calls"), "{err}");
    }
}
