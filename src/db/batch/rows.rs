//! What a batch writes: its rows as multi-row statements (PostgreSQL) or single-row statements
//! prepared once (SQLite's own connection), with the values to bind.

use std::collections::{HashMap, HashSet};

use crate::config::DbKind;
use crate::db::StoreError;
use crate::db::Tx;
use crate::db::call_steps;
use crate::db::calls::Call;
use crate::db::events::{Delivery, Event};
use crate::db::messages::MessageRow;
use crate::with_tx;

use super::*;

/// One write of a batch.
pub(crate) enum Write {
    /// A statement with its values.
    One(String, Vec<Val>),
    /// Rows for one table: `head`, then one `tuple` of `width` parameters per row, then `tail`.
    /// Sent as multi-row statements (PostgreSQL: one round trip per [`CHUNK`] rows) or as one
    /// prepared single-row statement run once per row (SQLite's own connection: no round trips).
    Rows {
        head: String,
        tuple: fn(&[String]) -> String,
        tail: String,
        width: usize,
        vals: Vec<Val>,
    },
}

impl Write {
    /// The statement for `rows` rows of a [`Write::Rows`].
    pub(crate) fn rows_sql(
        kind: DbKind,
        head: &str,
        tuple: fn(&[String]) -> String,
        tail: &str,
        width: usize,
        rows: usize,
    ) -> String {
        format!("{head}{}{tail}", values(kind, width, rows, tuple))
    }
}

/// A value to bind, so statements can be built once and sent either way.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

/// The batch's writes, in order.
#[derive(Default)]
pub(super) struct Statements(Vec<(String, Vec<Val>)>);

impl Statements {
    /// `writes` as statements of up to [`CHUNK`] rows each.
    pub(super) fn multi_row(writes: Vec<Write>, kind: DbKind) -> Statements {
        let mut out = Statements::default();
        for w in writes {
            match w {
                Write::One(sql, vals) => out.0.push((sql, vals)),
                Write::Rows {
                    head,
                    tuple,
                    tail,
                    width,
                    vals,
                } => {
                    let mut rest = vals;
                    while !rest.is_empty() {
                        let later = rest.split_off(rest.len().min(CHUNK * width));
                        let rows = rest.len() / width;
                        let sql = Write::rows_sql(kind, &head, tuple, &tail, width, rows);
                        out.0.push((sql, std::mem::replace(&mut rest, later)));
                    }
                }
            }
        }
        out
    }

    /// Runs the statements. On SQLite all of them go as one script with `?` parameters (one
    /// hand-off to the connection's thread instead of one per statement); on PostgreSQL as one
    /// script of literals, or one statement at a time with bound values. `tail` (statements of
    /// its own, e.g. `COMMIT; BEGIN`) goes in the same round trip when the statements go as one
    /// PostgreSQL script. Says whether the tail was run; when it was not (SQLite, or values that
    /// cannot be literals), the caller runs it. A failed statement stops the script: the tail does
    /// not run after it.
    pub(super) async fn execute_then(
        self,
        tx: &mut Tx,
        tail: Option<&str>,
    ) -> Result<bool, StoreError> {
        if let (DbKind::Postgres, Some(tail)) = (tx.kind(), tail)
            && let Some(mut script) = self.inline_pg()
        {
            script.push_str(tail);
            with_tx!(tx, |c| {
                sqlx::raw_sql(sqlx::AssertSqlSafe(script))
                    .execute(c)
                    .await
                    .map(|_| ())
            })
            .map_err(StoreError::from_sqlx)?;
            return Ok(true);
        }
        self.execute_statements(tx).await.map(|()| false)
    }

    async fn execute_statements(self, tx: &mut Tx) -> Result<(), StoreError> {
        match tx.kind() {
            DbKind::Sqlite => {
                let (sql, vals): (Vec<String>, Vec<Vec<Val>>) = self.0.into_iter().unzip();
                if sql.is_empty() {
                    return Ok(());
                }
                run(tx, sql.join(";\n"), vals.into_iter().flatten()).await
            }
            DbKind::Postgres => {
                if self.0.is_empty() {
                    return Ok(());
                }
                if let Some(script) = self.inline_pg() {
                    // One round trip for the whole flush (the simple-query protocol takes many
                    // statements at once) instead of a parse and an execute for each statement.
                    return with_tx!(tx, |c| {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(script))
                            .execute(c)
                            .await
                            .map(|_| ())
                    })
                    .map_err(StoreError::from_sqlx);
                }
                for (sql, vals) in self.0 {
                    run(tx, sql, vals.into_iter()).await?;
                }
                Ok(())
            }
        }
    }

    /// Every statement with its values written in as literals ([`pg_literal`]), joined into one
    /// script; `None` when some value cannot be (then each statement goes with bound values).
    fn inline_pg(&self) -> Option<String> {
        let mut script = String::with_capacity(
            self.0
                .iter()
                .map(|(sql, vals)| sql.len() + vals.len() * 24)
                .sum(),
        );
        for (sql, vals) in &self.0 {
            inline_pg(sql, vals, &mut script)?;
            script.push_str(";\n");
        }
        Some(script)
    }
}

/// Appends `sql` to `out` with each PostgreSQL parameter `$n` replaced by `vals[n - 1]` as a
/// literal. Only for the statements this module builds: their text holds no `$` but parameters.
/// `None` when a value cannot be a literal, or a parameter has no value.
pub(super) fn inline_pg(sql: &str, vals: &[Val], out: &mut String) -> Option<()> {
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        let n: usize = after[..digits].parse().ok()?;
        pg_literal(vals.get(n.checked_sub(1)?)?, out)?;
        rest = &after[digits..];
    }
    out.push_str(rest);
    Some(())
}

/// `v` as a PostgreSQL literal. Text is an escape string (`E'…'`, quotes and backslashes doubled),
/// read the same whatever `standard_conforming_strings` says, as libpq's `PQescapeLiteral` writes
/// it. A NUL character gives `None`: PostgreSQL text never holds one, and the simple protocol's
/// query string would end there; such a batch goes with bound values and fails as it always did.
pub(super) fn pg_literal(v: &Val, out: &mut String) -> Option<()> {
    use std::fmt::Write as _;
    match v {
        Val::Text(s) | Val::OptText(Some(s)) => {
            if s.contains('\0') {
                return None;
            }
            out.push_str("E'");
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("''"),
                    '\\' => out.push_str("\\\\"),
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
        Val::OptText(None) | Val::OptInt(None) => out.push_str("NULL"),
        Val::Int(i) | Val::OptInt(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        Val::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
    }
    Some(())
}

pub(super) async fn run(
    tx: &mut Tx,
    sql: String,
    vals: impl Iterator<Item = Val>,
) -> Result<(), StoreError> {
    with_tx!(tx, |c| {
        // Not kept in the connection's statement cache: batch statements differ in their row
        // counts, and a hundred cached scripts with thousands of parameters hold a lot of memory.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
        for v in vals {
            q = match v {
                Val::Text(s) => q.bind(s),
                Val::OptText(s) => q.bind(s),
                Val::Int(i) => q.bind(i),
                Val::OptInt(i) => q.bind(i),
                Val::Bool(b) => q.bind(b),
            };
        }
        q.execute(c).await.map(|_| ())
    })
    .map_err(StoreError::from_sqlx)
}

pub(super) fn distinct<T: AsRef<str>>(items: &[T]) -> Vec<&str> {
    distinct_iter(items.iter().map(AsRef::as_ref))
}

pub(super) fn distinct_iter<'s>(items: impl Iterator<Item = &'s str>) -> Vec<&'s str> {
    let mut seen = HashSet::new();
    items.filter(|s| seen.insert(*s)).collect()
}

/// `n` bind parameters numbered from `first`: `$first, $first+1, …` on PostgreSQL, `?, ?, …` on
/// SQLite, whose parser looks every named parameter up in a list of the names before it (quadratic
/// in a statement with thousands of them) while `?` costs nothing. Values bind in order either way.
pub(super) fn placeholders(kind: DbKind, first: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 5);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        match kind {
            DbKind::Sqlite => s.push('?'),
            DbKind::Postgres => {
                s.push('$');
                s.push_str(&(first + i).to_string());
            }
        }
    }
    s
}

/// Parameter `i` named by its number on either backend (`?i` or `$i`), for a statement whose
/// parameters do not appear in the order of their values.
pub(super) fn numbered(kind: DbKind, i: usize) -> String {
    match kind {
        DbKind::Sqlite => format!("?{i}"),
        DbKind::Postgres => format!("${i}"),
    }
}

/// `(…cols…), (…cols…)` for `rows` rows, each row's `cols` parameters wrapped by `row`
/// (`"({})"` for plain values).
pub(super) fn values(
    kind: DbKind,
    cols: usize,
    rows: usize,
    row: impl Fn(&[String]) -> String,
) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        let params: Vec<String> = (0..cols)
            .map(|i| placeholders(kind, r * cols + i + 1, 1))
            .collect();
        s.push_str(&row(&params));
    }
    s
}

pub(super) fn plain(params: &[String]) -> String {
    format!("({})", params.join(", "))
}

/// The columns `calls::save` writes, as an upsert's conflict action.
/// What a stored call takes from the batch: its new state, and the batch's steps appended to the
/// ones it has (never replacing them: a step recorded in a transaction of its own stays).
pub(super) static CALL_UPDATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "DO UPDATE SET status = excluded.status, \
         strategy = excluded.strategy, route_targets = excluded.route_targets, route_index = excluded.route_index, \
         gather_attempts = excluded.gather_attempts, forwarded_to = excluded.forwarded_to, \
         call_reason = excluded.call_reason, notes = excluded.notes, recording_url = excluded.recording_url, \
         voicemail = excluded.voicemail, missed = excluded.missed, answered_at = excluded.answered_at, \
         end_time = excluded.end_time, duration_seconds = excluded.duration_seconds, updated_at = excluded.updated_at, \
         steps = {}",
        call_steps::appended("calls.steps", "excluded.steps")
    )
});

/// Inserts `calls` with their new step lines (`steps`, by CallSid); `on_conflict` says what a
/// CallSid that exists gets.
pub(super) fn call_rows(
    calls: &[&Call],
    on_conflict: &str,
    steps: &HashMap<String, String>,
) -> Option<Write> {
    let mut vals = Vec::with_capacity(calls.len() * (crate::db::calls::WIDTH + 1));
    for c in calls {
        vals.extend([
            Val::Text(c.id.clone()),
            Val::Text(c.tenant_id.clone()),
            Val::Text(c.call_sid.clone()),
            Val::Text(c.direction.clone()),
            Val::Text(c.from_number.clone()),
            Val::Text(c.to_number.clone()),
            Val::Text(c.status.to_string()),
            Val::Text(c.strategy.to_string()),
            Val::Bool(c.after_hours),
            Val::Text(c.route_targets.to_json()),
            Val::Int(c.route_index),
            Val::Int(c.gather_attempts),
            Val::OptText(c.forwarded_to.clone()),
            Val::OptText(c.call_reason.clone()),
            Val::OptText(c.notes.clone()),
            Val::OptText(c.recording_url.clone()),
            Val::Bool(c.voicemail),
            Val::Bool(c.missed),
            Val::Int(c.start_time),
            Val::OptInt(c.answered_at),
            Val::OptInt(c.end_time),
            Val::OptInt(c.duration_seconds),
            Val::Int(c.created_at),
            Val::Int(c.updated_at),
            Val::Text(steps.get(&c.call_sid).cloned().unwrap_or_default()),
        ]);
    }
    rows(
        format!(
            "INSERT INTO calls ({}, steps) VALUES ",
            crate::db::calls::COLUMNS
        ),
        plain,
        format!(" ON CONFLICT (call_sid, tenant_id) {on_conflict}"),
        crate::db::calls::WIDTH + 1,
        vals,
    )
}

/// A [`Write::Rows`], or nothing when there are no rows.
pub(super) fn rows(
    head: String,
    tuple: fn(&[String]) -> String,
    tail: String,
    width: usize,
    vals: Vec<Val>,
) -> Option<Write> {
    (!vals.is_empty()).then_some(Write::Rows {
        head,
        tuple,
        tail,
        width,
        vals,
    })
}

pub(super) fn message_rows(messages: &[MessageRow]) -> Option<Write> {
    let mut vals = Vec::with_capacity(messages.len() * 16);
    for m in messages {
        vals.extend([
            Val::Text(m.id.clone()),
            Val::Text(m.tenant_id.clone()),
            Val::OptText(m.message_sid.clone()),
            Val::Text(m.direction.clone()),
            Val::Text(m.customer.clone()),
            Val::Text(m.from_number.clone()),
            Val::Text(m.to_number.clone()),
            Val::Text(m.body.clone()),
            Val::Int(m.num_media),
            Val::Text(m.media_urls.clone()),
            Val::Text(m.status.to_string()),
            Val::Int(m.segments),
            Val::OptInt(m.error_code),
            Val::OptText(m.notification_id.clone()),
            Val::Int(m.created_at),
            Val::Int(m.updated_at),
        ]);
    }
    rows(
        format!(
            "INSERT INTO messages ({}) VALUES ",
            crate::db::messages::COLUMNS
        ),
        plain,
        " ON CONFLICT (message_sid, tenant_id) DO NOTHING".into(),
        16,
        vals,
    )
}

pub(super) fn event_rows(events: &[Event]) -> Option<Write> {
    let mut vals = Vec::with_capacity(events.len() * 6);
    for e in events {
        vals.extend([
            Val::Text(e.id.clone()),
            Val::OptText(e.tenant_id.clone()),
            Val::Text(e.r#type.clone()),
            Val::OptText(e.ordering_key.clone()),
            Val::Text(e.payload.clone()),
            Val::Int(e.created_at),
        ]);
    }
    rows(
        "INSERT INTO events (id, tenant_id, type, ordering_key, payload, created_at) VALUES "
            .into(),
        plain,
        String::new(),
        6,
        vals,
    )
}

pub(super) fn delivery_rows(deliveries: &[Delivery]) -> Option<Write> {
    let mut vals = Vec::with_capacity(deliveries.len() * 11);
    for d in deliveries {
        vals.extend([
            Val::Text(d.id.clone()),
            Val::Text(d.event_id.clone()),
            Val::Text(d.endpoint_id.clone()),
            Val::OptText(d.ordering_key.clone()),
            Val::Text(d.status.clone()),
            Val::Int(d.attempts),
            Val::OptInt(d.last_status_code),
            Val::OptText(d.last_error.clone()),
            Val::Int(d.created_at),
            Val::Int(d.updated_at),
            Val::OptInt(d.delivered_at),
        ]);
    }
    rows(
        format!(
            "INSERT INTO deliveries ({}) VALUES ",
            crate::db::events::DELIVERY_COLUMNS
        ),
        plain,
        String::new(),
        11,
        vals,
    )
}

/// Same shape as `jobs::store::enqueue`: pending, no attempts, no lease yet.
pub(super) fn job_tuple(p: &[String]) -> String {
    format!(
        "({}, {}, {}, {}, 'pending', 0, {}, {}, NULL, NULL, NULL, {}, {}, {}, NULL)",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    )
}

pub(super) fn job_rows(jobs: &[PendingJob]) -> Option<Write> {
    let mut vals = Vec::with_capacity(jobs.len() * 9);
    for j in jobs {
        vals.extend([
            Val::Text(j.id.clone()),
            Val::Text(j.kind.clone()),
            Val::Text(j.payload.clone()),
            Val::OptText(j.tenant_id.clone()),
            Val::Int(j.max_attempts),
            Val::Int(j.run_at),
            Val::OptText(j.dedupe_key.clone()),
            Val::Int(j.created_at),
            Val::Int(j.created_at),
        ]);
    }
    rows(
        format!("INSERT INTO jobs ({}) VALUES ", crate::db::JOB_COLUMNS),
        job_tuple,
        " ON CONFLICT (dedupe_key) DO NOTHING".into(),
        9,
        vals,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inlined(sql: &str, vals: &[Val]) -> Option<String> {
        let mut out = String::new();
        inline_pg(sql, vals, &mut out).map(|()| out)
    }

    #[test]
    fn values_are_written_in_as_literals() {
        let vals = [
            Val::Text("it's".into()),
            Val::OptText(None),
            Val::Int(-42),
            Val::Bool(true),
            Val::OptInt(Some(7)),
            Val::Text(r"C:\path\'".into()),
            Val::OptInt(None),
            Val::Text("ünïcode ☎".into()),
            Val::Bool(false),
            Val::Text("ten".into()),
            Val::Text("eleven".into()),
        ];
        assert_eq!(
            inlined(
                "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO UPDATE SET a = $11, b = $10",
                &vals
            )
            .unwrap(),
            r"INSERT INTO t VALUES (E'it''s', NULL, -42, TRUE, 7, E'C:\\path\\''', NULL, E'ünïcode ☎', FALSE) ON CONFLICT DO UPDATE SET a = E'eleven', b = E'ten'"
        );
    }

    #[test]
    fn what_cannot_be_a_literal_is_refused() {
        assert_eq!(
            inlined("SELECT $1", &[Val::Text("a\0b".into())]),
            None,
            "NUL"
        );
        assert_eq!(inlined("SELECT $2", &[Val::Int(1)]), None, "no such value");
        assert_eq!(inlined("SELECT $0", &[Val::Int(1)]), None, "no parameter 0");
        assert_eq!(inlined("SELECT 1", &[]).unwrap(), "SELECT 1");
    }

    #[test]
    fn placeholders_number_every_row() {
        assert_eq!(placeholders(DbKind::Postgres, 3, 2), "$3, $4");
        assert_eq!(placeholders(DbKind::Sqlite, 3, 2), "?, ?");
        assert_eq!(values(DbKind::Postgres, 2, 2, plain), "($1, $2), ($3, $4)");
        assert_eq!(values(DbKind::Sqlite, 2, 2, plain), "(?, ?), (?, ?)");
        assert_eq!(numbered(DbKind::Sqlite, 11), "?11");
        assert_eq!(numbered(DbKind::Postgres, 11), "$11");
    }
}
