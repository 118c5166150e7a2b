//! A call's steps: what happened during a call (`calls::steps` says which steps there are and what
//! their JSON holds), kept on the call's own row in `calls.steps`, one JSON object per line
//! (`{"at":<epoch ms>,"step":{…}}`), and read back as the call's timeline. Also the other rows that
//! timeline reads by call: its recordings and the notifications about it (the missed-call
//! text-back, staff alerts), each through an index that starts with the call.
//!
//! Why on the row: every webhook rewrites its call's row anyway, so a step appended there writes no
//! page of its own (migration 0014 says what a table of steps cost). Appends are SQL
//! concatenations, so a step recorded in its own transaction never overwrites one a batch wrote.

use serde::Deserialize;

use crate::db::StoreError;
use crate::db::notifications::{self, Notification};
use crate::db::recordings::{self, Recording};
use crate::{with_db, with_tx};

use super::{Db, Tx};

/// Past this many bytes of steps a call takes no more: a call has a handful of steps, and a flood
/// of repeated callbacks must not grow one row without bound.
pub const MAX_STEPS_BYTES: usize = 65_536;

/// One recorded step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStep {
    /// Epoch ms.
    pub at: i64,
    /// The step as JSON, tagged by its `kind`.
    pub detail: String,
}

impl CallStep {
    /// The line that stores this step in `calls.steps`.
    pub fn line(&self) -> String {
        format!("{{\"at\":{},\"step\":{}}}\n", self.at, self.detail)
    }
}

/// The SQL value of `column` (a call's stored steps) with `new` (lines to add) appended, unless the
/// call already holds [`MAX_STEPS_BYTES`].
pub fn appended(column: &str, new: &str) -> String {
    format!(
        "CASE WHEN length({column}) < {MAX_STEPS_BYTES} THEN {column} || {new} ELSE {column} END"
    )
}

/// Appends a step to the call `call_id` inside the transaction of the change it describes (the
/// call's row must exist in it).
pub async fn append(
    tx: &mut Tx,
    tenant_id: &str,
    call_id: &str,
    step: &CallStep,
) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE calls SET steps = {} WHERE id = $2 AND tenant_id = $3",
        appended("steps", "$1")
    );
    let line = step.line();
    with_tx!(tx, |c| {
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(&line)
            .bind(call_id)
            .bind(tenant_id)
            .execute(c)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// The steps of one of the tenant's calls, oldest first (steps of the same millisecond keep the
/// order they were written in).
pub async fn for_call(
    db: &Db,
    tenant_id: &str,
    call_id: &str,
) -> Result<Vec<CallStep>, StoreError> {
    let stored: Option<String> = with_db!(db, |p| {
        sqlx::query_scalar("SELECT steps FROM calls WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(call_id)
            .fetch_optional(p)
            .await
    })?;
    Ok(parse(stored.as_deref().unwrap_or("")))
}

/// The steps in a stored `calls.steps`, sorted by time; lines this build cannot read are skipped.
pub fn parse(stored: &str) -> Vec<CallStep> {
    #[derive(Deserialize)]
    struct Line {
        at: i64,
        step: serde_json::Value,
    }
    let mut steps: Vec<CallStep> = stored
        .lines()
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .map(|l| CallStep {
            at: l.at,
            detail: l.step.to_string(),
        })
        .collect();
    steps.sort_by_key(|s| s.at);
    steps
}

/// The tenant's notifications about the call `call_sid` (its missed-call text-back) queued in
/// `[from, to)`. The bounds let the analytics index on (tenant, created_at, …, related_call_sid)
/// serve the lookup: a call's notifications are queued while it lasts or soon after.
pub async fn notifications_for_call(
    db: &Db,
    tenant_id: &str,
    call_sid: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Notification>, StoreError> {
    let sql = format!(
        "SELECT {} FROM notifications WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 \
         AND related_call_sid = $4 ORDER BY created_at, id LIMIT 20",
        notifications::COLUMNS
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, Notification>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .bind(call_sid)
            .fetch_all(p)
            .await
    })?)
}

/// The tenant's recordings of the call `call_id`, oldest first (the `recordings_by_call` index).
pub async fn recordings_for_call(
    db: &Db,
    tenant_id: &str,
    call_id: &str,
) -> Result<Vec<Recording>, StoreError> {
    let sql = format!(
        "SELECT {} FROM recordings WHERE call_id = $1 AND tenant_id = $2 ORDER BY created_at, id LIMIT 20",
        recordings::COLUMNS
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, Recording>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(call_id)
            .bind(tenant_id)
            .fetch_all(p)
            .await
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_steps_read_back_in_time_order() {
        let first = CallStep {
            at: 2_000,
            detail: r#"{"kind":"dial","status":"busy"}"#.into(),
        };
        let same_ms = CallStep {
            at: 2_000,
            detail: r#"{"kind":"status","status":"completed"}"#.into(),
        };
        let earlier = CallStep {
            at: 1_000,
            detail: r#"{"kind":"incoming","from":"+14155550100"}"#.into(),
        };
        let stored = [&first, &same_ms, &earlier]
            .iter()
            .map(|s| s.line())
            .collect::<String>();
        assert_eq!(stored.lines().count(), 3, "one line per step: {stored}");
        let back = parse(&stored);
        assert_eq!(
            back.iter().map(|s| s.at).collect::<Vec<_>>(),
            [1_000, 2_000, 2_000]
        );
        assert!(
            back[1].detail.contains("dial") && back[2].detail.contains("status"),
            "{back:?}"
        );
    }

    #[test]
    fn lines_this_build_cannot_read_are_skipped() {
        // PostgreSQL's json_build_object (migration 0014) writes spaces around its colons.
        let stored = "{\"at\" : 5, \"step\" : {\"kind\":\"voicemail\"}}\nnot json\n\n{\"at\":7}\n";
        let back = parse(stored);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].at, 5);
        assert_eq!(back[0].detail, r#"{"kind":"voicemail"}"#);
    }

    #[test]
    fn appends_stop_at_the_cap() {
        let sql = appended("calls.steps", "excluded.steps");
        assert!(
            sql.contains(&format!("length(calls.steps) < {MAX_STEPS_BYTES}")),
            "{sql}"
        );
        assert!(sql.contains("calls.steps || excluded.steps"), "{sql}");
    }
}
