//! One group-commit batch of webhook writes, held in memory: what the batch's units read, loaded
//! with one query per table for all of them, and what they write, sent with one multi-row statement
//! per table when the batch ends.
//!
//! Why: a statement costs a round trip (to SQLite's connection thread or to PostgreSQL) that is far
//! dearer than the work it does. A webhook used to make four to six of them; in a batch it makes
//! none of its own, and a batch of hundreds makes about ten.
//!
//! How a unit sees the data: [`Batch`] answers from the rows loaded at the start of the batch
//! overlaid with what earlier units of the same batch wrote, so a unit sees its predecessors exactly
//! as it would in the next transaction (a retried webhook finds its original's call). The loaded
//! rows are locked (PostgreSQL `FOR UPDATE`; SQLite holds its write lock for the whole batch), so
//! nothing else changes them between the load and the commit.

use std::collections::{HashMap, HashSet};

use super::Tx;
use super::calls::Call;
use super::events::{Delivery, Endpoint, Event};
use super::messages::MessageRow;
use super::notifications::Notification;
use crate::config::DbKind;
use crate::db::StoreError;
use crate::domain::states::MessageStatus;
use crate::domain::{CallSid, MessageSid};
use crate::with_tx;

/// Rows per multi-row statement: well inside SQLite's 32,766 and PostgreSQL's 65,535 bind limits
/// for the widest table (calls, 24 columns).
const CHUNK: usize = 500;

/// What a unit will read, declared before the batch loads.
#[derive(Debug, Default)]
pub struct Keys {
    pub call_sids: Vec<CallSid>,
    pub message_sids: Vec<MessageSid>,
    /// Twilio SIDs of the notifications the unit reads.
    pub notification_sids: Vec<MessageSid>,
    /// (tenant, phone) pairs whose opt-out state the unit reads.
    pub opt_outs: Vec<(String, String)>,
    /// Tenants whose relay endpoints the unit may emit to (the tenants of loaded calls are added).
    pub tenants: Vec<String>,
    /// Tenants whose round-robin cursor the unit advances.
    pub cursors: Vec<String>,
}

/// An outbox job ready to insert (built by `jobs::store::pending`).
#[derive(Debug, Clone)]
pub struct PendingJob {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub tenant_id: Option<String>,
    pub max_attempts: i64,
    pub run_at: i64,
    pub dedupe_key: Option<String>,
    pub created_at: i64,
}

/// The rows loaded for a batch, before any unit ran.
#[derive(Debug, Default)]
pub struct Loaded {
    pub(super) calls: HashMap<String, Call>,
    /// Stored messages' statuses, by MessageSid.
    pub(super) message_statuses: HashMap<String, MessageStatus>,
    /// Stored messages' tenants, by MessageSid (a status move names the tenant of the row it moves).
    pub(super) message_tenants: HashMap<String, String>,
    /// Notifications by their Twilio SID.
    pub(super) notifications: HashMap<String, Notification>,
    pub(super) opt_outs: HashSet<(String, String)>,
    pub(super) endpoints: Vec<Endpoint>,
    pub(super) cursors: HashMap<String, i64>,
}

impl Loaded {
    /// Loads everything `keys` name, in `tx`, locking the rows that units may change.
    pub async fn load(tx: &mut Tx, keys: &Keys) -> Result<Loaded, StoreError> {
        let mut loaded = Loaded::default();
        let (lock, kind) = (tx.row_lock(), tx.kind());
        for chunk in distinct(&keys.call_sids).chunks(CHUNK) {
            let sql = format!(
                "SELECT {} FROM calls WHERE call_sid IN ({}) {lock}",
                super::calls::COLUMNS,
                placeholders(kind, 1, chunk.len())
            );
            let rows: Vec<Call> = with_tx!(tx, |c| {
                let mut q =
                    sqlx::query_as::<_, Call>(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
                for sid in chunk {
                    q = q.bind(*sid);
                }
                q.fetch_all(c).await
            })?;
            for call in rows {
                loaded.calls.insert(call.call_sid.clone(), call);
            }
        }
        for chunk in distinct(&keys.message_sids).chunks(CHUNK) {
            let sql = format!(
                "SELECT message_sid, tenant_id, status FROM messages WHERE message_sid IN ({})",
                placeholders(kind, 1, chunk.len())
            );
            let rows: Vec<(String, String, MessageStatus)> = with_tx!(tx, |c| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
                for sid in chunk {
                    q = q.bind(*sid);
                }
                q.fetch_all(c).await
            })?;
            for (sid, tenant, status) in rows {
                loaded.message_tenants.insert(sid.clone(), tenant);
                loaded.message_statuses.insert(sid, status);
            }
        }
        for chunk in distinct(&keys.notification_sids).chunks(CHUNK) {
            let sql = format!(
                "SELECT {} FROM notifications WHERE twilio_sid IN ({}) {lock}",
                super::notifications::COLUMNS,
                placeholders(kind, 1, chunk.len())
            );
            let rows: Vec<Notification> = with_tx!(tx, |c| {
                let mut q = sqlx::query_as::<_, Notification>(sqlx::AssertSqlSafe(sql.as_str()))
                    .persistent(false);
                for sid in chunk {
                    q = q.bind(*sid);
                }
                q.fetch_all(c).await
            })?;
            for n in rows {
                if let Some(sid) = n.twilio_sid.clone() {
                    loaded.notifications.insert(sid, n);
                }
            }
        }
        if !keys.opt_outs.is_empty() {
            // By tenant and phone separately (the primary key's prefix serves it), exact pairs kept.
            let wanted: HashSet<(String, String)> = keys.opt_outs.iter().cloned().collect();
            let tenants = distinct_iter(keys.opt_outs.iter().map(|(t, _)| t.as_str()));
            let phones = distinct_iter(keys.opt_outs.iter().map(|(_, p)| p.as_str()));
            for tenants in tenants.chunks(CHUNK) {
                for phones in phones.chunks(CHUNK) {
                    let sql = format!(
                        "SELECT tenant_id, phone FROM opt_outs WHERE tenant_id IN ({}) AND phone IN ({})",
                        placeholders(kind, 1, tenants.len()),
                        placeholders(kind, tenants.len() + 1, phones.len())
                    );
                    let rows: Vec<(String, String)> = with_tx!(tx, |c| {
                        let mut q =
                            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
                        for t in tenants {
                            q = q.bind(*t);
                        }
                        for p in phones {
                            q = q.bind(*p);
                        }
                        q.fetch_all(c).await
                    })?;
                    loaded
                        .opt_outs
                        .extend(rows.into_iter().filter(|r| wanted.contains(r)));
                }
            }
        }
        let mut tenants: Vec<&str> = keys.tenants.iter().map(String::as_str).collect();
        tenants.extend(loaded.calls.values().map(|c| c.tenant_id.as_str()));
        tenants.extend(loaded.notifications.values().map(|n| n.tenant_id.as_str()));
        let tenants = distinct_iter(tenants.into_iter());
        loaded.endpoints = load_endpoints(tx, &tenants).await?;
        for chunk in distinct(&keys.cursors).chunks(CHUNK) {
            let sql = format!(
                "SELECT id, round_robin_cursor FROM tenants WHERE id IN ({}) {lock}",
                placeholders(kind, 1, chunk.len())
            );
            let rows: Vec<(String, i64)> = with_tx!(tx, |c| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(c).await
            })?;
            loaded.cursors.extend(rows);
        }
        Ok(loaded)
    }
}

/// Enabled endpoints that are global or belong to one of `tenants`.
async fn load_endpoints(tx: &mut Tx, tenants: &[&str]) -> Result<Vec<Endpoint>, StoreError> {
    let mut out: Vec<Endpoint> = Vec::new();
    let mut seen = HashSet::new();
    let kind = tx.kind();
    // At least one query, for the global endpoints, even when no tenant is named.
    let chunks: Vec<&[&str]> = if tenants.is_empty() {
        vec![&[]]
    } else {
        tenants.chunks(CHUNK).collect()
    };
    for chunk in chunks {
        let tenant_clause = if chunk.is_empty() {
            String::new()
        } else {
            format!(" OR tenant_id IN ({})", placeholders(kind, 1, chunk.len()))
        };
        let sql = format!(
            "SELECT {} FROM relay_endpoints WHERE enabled = TRUE AND (tenant_id IS NULL{tenant_clause})",
            super::events::ENDPOINT_COLUMNS
        );
        let rows: Vec<Endpoint> = with_tx!(tx, |c| {
            let mut q =
                sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
            for t in chunk {
                q = q.bind(*t);
            }
            q.fetch_all(c).await
        })?;
        out.extend(rows.into_iter().filter(|e| seen.insert(e.id.clone())));
    }
    Ok(out)
}

/// Opt-out changes: add (with its source) or remove.
#[derive(Debug, Clone)]
enum OptOutChange {
    Add { source: String, at: i64 },
    Remove,
}

/// The batch as its units see and change it.
pub struct Batch<'a> {
    loaded: &'a Loaded,
    /// Calls created or changed by this batch, in their latest state.
    calls: HashMap<String, Call>,
    /// In the order first written, so the statements are deterministic.
    call_order: Vec<String>,
    messages: Vec<MessageRow>,
    message_sids: HashSet<String>,
    /// Status moves of stored messages: SID → (status, error code, time, status it moves from).
    message_moves: HashMap<String, (MessageStatus, Option<i64>, i64, MessageStatus)>,
    message_move_order: Vec<String>,
    /// Notifications changed by this batch, by id, in their latest state.
    notifications: HashMap<String, Notification>,
    notification_order: Vec<String>,
    opt_outs: HashMap<(String, String), OptOutChange>,
    opt_out_order: Vec<(String, String)>,
    events: Vec<Event>,
    deliveries: Vec<Delivery>,
    jobs: Vec<PendingJob>,
    cursors: HashMap<String, i64>,
}

impl<'a> Batch<'a> {
    pub fn new(loaded: &'a Loaded) -> Self {
        Batch {
            loaded,
            calls: HashMap::new(),
            call_order: Vec::new(),
            messages: Vec::new(),
            message_sids: HashSet::new(),
            message_moves: HashMap::new(),
            message_move_order: Vec::new(),
            notifications: HashMap::new(),
            notification_order: Vec::new(),
            opt_outs: HashMap::new(),
            opt_out_order: Vec::new(),
            events: Vec::new(),
            deliveries: Vec::new(),
            jobs: Vec::new(),
            cursors: HashMap::new(),
        }
    }

    /// The call with this SID as the batch has it so far (only SIDs declared in [`Keys`] were loaded).
    pub fn call(&self, call_sid: &CallSid) -> Option<Call> {
        let call_sid = call_sid.as_str();
        self.calls
            .get(call_sid)
            .or_else(|| self.loaded.calls.get(call_sid))
            .cloned()
    }

    /// Creates or replaces the call (by its SID).
    pub fn put_call(&mut self, call: Call) {
        if !self.calls.contains_key(&call.call_sid) {
            self.call_order.push(call.call_sid.clone());
        }
        self.calls.insert(call.call_sid.clone(), call);
    }

    /// Whether a message with this SID is stored (or stored earlier in this batch).
    pub fn message_stored(&self, message_sid: &MessageSid) -> bool {
        let message_sid = message_sid.as_str();
        self.message_sids.contains(message_sid)
            || self.loaded.message_statuses.contains_key(message_sid)
    }

    /// A stored message's status as the batch has it so far (only SIDs declared in [`Keys`]).
    pub fn message_status(&self, message_sid: &MessageSid) -> Option<MessageStatus> {
        let message_sid = message_sid.as_str();
        if let Some(m) = self
            .messages
            .iter()
            .rev()
            .find(|m| m.message_sid.as_deref() == Some(message_sid))
        {
            return Some(m.status);
        }
        if let Some((status, ..)) = self.message_moves.get(message_sid) {
            return Some(*status);
        }
        self.loaded.message_statuses.get(message_sid).copied()
    }

    /// Sets a stored message's status (and its error code, when one is given). The write only
    /// lands if the row still has the status it was loaded with, as a transaction of its own would.
    pub fn move_message(
        &mut self,
        message_sid: &MessageSid,
        status: MessageStatus,
        error_code: Option<i64>,
        now: i64,
    ) {
        let message_sid = message_sid.as_str();
        if let Some(m) = self
            .messages
            .iter_mut()
            .rev()
            .find(|m| m.message_sid.as_deref() == Some(message_sid))
        {
            m.status = status;
            m.error_code = error_code.or(m.error_code);
            m.updated_at = now;
            return;
        }
        let Some(from) = self.loaded.message_statuses.get(message_sid).copied() else {
            return;
        };
        let code = match self.message_moves.get(message_sid) {
            Some((_, earlier, ..)) => error_code.or(*earlier),
            None => {
                self.message_move_order.push(message_sid.to_string());
                error_code
            }
        };
        self.message_moves
            .insert(message_sid.to_string(), (status, code, now, from));
    }

    /// The notification with this Twilio SID as the batch has it so far (only SIDs declared in
    /// [`Keys::notification_sids`] were loaded).
    pub fn notification_by_sid(&self, twilio_sid: &MessageSid) -> Option<Notification> {
        let loaded = self.loaded.notifications.get(twilio_sid.as_str());
        match loaded.and_then(|n| self.notifications.get(&n.id)) {
            Some(changed) => Some(changed.clone()),
            None => loaded.cloned(),
        }
    }

    /// Saves the notification's state (by its id).
    pub fn put_notification(&mut self, n: Notification) {
        if !self.notifications.contains_key(&n.id) {
            self.notification_order.push(n.id.clone());
        }
        self.notifications.insert(n.id.clone(), n);
    }

    pub fn add_message(&mut self, row: MessageRow) {
        if let Some(sid) = &row.message_sid {
            self.message_sids.insert(sid.clone());
        }
        self.messages.push(row);
    }

    pub fn opted_out(&self, tenant_id: &str, phone: &str) -> bool {
        let key = (tenant_id.to_string(), phone.to_string());
        match self.opt_outs.get(&key) {
            Some(OptOutChange::Add { .. }) => true,
            Some(OptOutChange::Remove) => false,
            None => self.loaded.opt_outs.contains(&key),
        }
    }

    /// Records an opt-out; an existing one keeps its original source and time.
    pub fn add_opt_out(&mut self, tenant_id: &str, phone: &str, source: &str, at: i64) {
        if self.opted_out(tenant_id, phone) {
            return;
        }
        self.change_opt_out(
            tenant_id,
            phone,
            OptOutChange::Add {
                source: source.into(),
                at,
            },
        );
    }

    pub fn remove_opt_out(&mut self, tenant_id: &str, phone: &str) {
        self.change_opt_out(tenant_id, phone, OptOutChange::Remove);
    }

    fn change_opt_out(&mut self, tenant_id: &str, phone: &str, change: OptOutChange) {
        let key = (tenant_id.to_string(), phone.to_string());
        if !self.opt_outs.contains_key(&key) {
            self.opt_out_order.push(key.clone());
        }
        self.opt_outs.insert(key, change);
    }

    /// Enabled relay endpoints that are global or the tenant's.
    pub fn endpoints_for<'s>(
        &'s self,
        tenant_id: Option<&'s str>,
    ) -> impl Iterator<Item = &'s Endpoint> + 's {
        self.loaded
            .endpoints
            .iter()
            .filter(move |e| e.tenant_id.is_none() || e.tenant_id.as_deref() == tenant_id)
    }

    pub fn add_event(&mut self, event: Event) {
        self.events.push(event);
    }

    pub fn add_delivery(&mut self, delivery: Delivery) {
        self.deliveries.push(delivery);
    }

    /// Adds a job to the outbox; a job whose dedupe key exists already is dropped when written.
    pub fn enqueue(&mut self, job: PendingJob) {
        self.jobs.push(job);
    }

    /// Advances the tenant's round-robin cursor and returns its value before (the tenant must be
    /// in [`Keys::cursors`]).
    pub fn next_rotation(&mut self, tenant_id: &str) -> u64 {
        let current = self
            .cursors
            .get(tenant_id)
            .or_else(|| self.loaded.cursors.get(tenant_id))
            .copied()
            .unwrap_or(0);
        self.cursors.insert(tenant_id.to_string(), current + 1);
        current.max(0) as u64
    }

    /// Writes everything the units changed, in `tx`, parents before children.
    pub async fn flush(&self, tx: &mut Tx) -> Result<(), StoreError> {
        Statements::multi_row(self.writes(tx.kind()), tx.kind())
            .execute(tx)
            .await
    }

    /// What the units changed, as the writes that store it, parents before children.
    pub(super) fn writes(&self, kind: DbKind) -> Vec<Write> {
        let mut out = Vec::new();
        for (id, cursor) in &self.cursors {
            out.push(Write::One(
                format!(
                    "UPDATE tenants SET round_robin_cursor = {} WHERE id = {}",
                    placeholders(kind, 1, 1),
                    placeholders(kind, 2, 1)
                ),
                vec![Val::Int(*cursor), Val::Text(id.clone())],
            ));
        }
        // New calls never overwrite a row another writer stored meanwhile; loaded ones (locked
        // since the load) take their new state.
        let (changed, created): (Vec<&Call>, Vec<&Call>) = self
            .call_order
            .iter()
            .map(|s| &self.calls[s])
            .partition(|c| self.loaded.calls.contains_key(&c.call_sid));
        out.extend(call_rows(&created, "DO NOTHING"));
        out.extend(call_rows(&changed, CALL_UPDATE));
        out.extend(message_rows(&self.messages));
        for sid in &self.message_move_order {
            let (status, code, at, from) = &self.message_moves[sid];
            // Only loaded messages move, and every loaded message has its tenant.
            let tenant = self.loaded.message_tenants.get(sid).cloned();
            out.push(Write::One(
                format!(
                    "UPDATE messages SET status = {}, error_code = COALESCE({}, error_code), updated_at = {} \
                     WHERE message_sid = {} AND tenant_id = {} AND status = {}",
                    placeholders(kind, 1, 1),
                    placeholders(kind, 2, 1),
                    placeholders(kind, 3, 1),
                    placeholders(kind, 4, 1),
                    placeholders(kind, 5, 1),
                    placeholders(kind, 6, 1)
                ),
                vec![
                    Val::Text(status.to_string()),
                    Val::OptInt(*code),
                    Val::Int(*at),
                    Val::Text(sid.clone()),
                    Val::OptText(tenant),
                    Val::Text(from.to_string()),
                ],
            ));
        }
        for id in &self.notification_order {
            let n = &self.notifications[id];
            // What `notifications::save` writes, in the order of `save_sql`.
            out.push(Write::One(
                super::notifications::save_sql(|i| numbered(kind, i)),
                vec![
                    Val::Text(n.id.clone()),
                    Val::Text(n.status.to_string()),
                    Val::OptText(n.twilio_sid.clone()),
                    Val::OptInt(n.error_code),
                    Val::OptText(n.failure_reason.clone()),
                    Val::Int(n.segments),
                    Val::Int(n.attempts),
                    Val::OptInt(n.sending_started_at),
                    Val::OptInt(n.sent_at),
                    Val::OptInt(n.delivered_at),
                    Val::Int(n.updated_at),
                    Val::Text(n.tenant_id.clone()),
                ],
            ));
        }
        for key in &self.opt_out_order {
            let (tenant, phone) = key;
            let (sql, mut vals) = match &self.opt_outs[key] {
                OptOutChange::Add { source, at } => (
                    format!(
                        "INSERT INTO opt_outs (tenant_id, phone, source, created_at) VALUES ({}) \
                         ON CONFLICT (tenant_id, phone) DO NOTHING",
                        placeholders(kind, 1, 4)
                    ),
                    vec![Val::Text(source.clone()), Val::Int(*at)],
                ),
                OptOutChange::Remove => (
                    format!(
                        "DELETE FROM opt_outs WHERE tenant_id = {} AND phone = {}",
                        placeholders(kind, 1, 1),
                        placeholders(kind, 2, 1)
                    ),
                    Vec::new(),
                ),
            };
            vals.splice(0..0, [Val::Text(tenant.clone()), Val::Text(phone.clone())]);
            out.push(Write::One(sql, vals));
        }
        out.extend(event_rows(&self.events));
        out.extend(delivery_rows(&self.deliveries));
        out.extend(job_rows(&self.jobs));
        out
    }
}

/// One write of a batch.
pub(super) enum Write {
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
    pub(super) fn rows_sql(
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
pub(super) enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

/// The batch's writes, in order.
#[derive(Default)]
struct Statements(Vec<(String, Vec<Val>)>);

impl Statements {
    /// `writes` as statements of up to [`CHUNK`] rows each.
    fn multi_row(writes: Vec<Write>, kind: DbKind) -> Statements {
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

    /// On SQLite all of them go as one script with `?` parameters (one hand-off to the
    /// connection's thread instead of one per statement); PostgreSQL takes one statement at a time.
    async fn execute(self, tx: &mut Tx) -> Result<(), StoreError> {
        match tx.kind() {
            DbKind::Sqlite => {
                let (sql, vals): (Vec<String>, Vec<Vec<Val>>) = self.0.into_iter().unzip();
                if sql.is_empty() {
                    return Ok(());
                }
                run(tx, sql.join(";\n"), vals.into_iter().flatten()).await
            }
            DbKind::Postgres => {
                for (sql, vals) in self.0 {
                    run(tx, sql, vals.into_iter()).await?;
                }
                Ok(())
            }
        }
    }
}

async fn run(tx: &mut Tx, sql: String, vals: impl Iterator<Item = Val>) -> Result<(), StoreError> {
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

fn distinct<T: AsRef<str>>(items: &[T]) -> Vec<&str> {
    distinct_iter(items.iter().map(AsRef::as_ref))
}

fn distinct_iter<'s>(items: impl Iterator<Item = &'s str>) -> Vec<&'s str> {
    let mut seen = HashSet::new();
    items.filter(|s| seen.insert(*s)).collect()
}

/// `n` bind parameters numbered from `first`: `$first, $first+1, …` on PostgreSQL, `?, ?, …` on
/// SQLite, whose parser looks every named parameter up in a list of the names before it (quadratic
/// in a statement with thousands of them) while `?` costs nothing. Values bind in order either way.
fn placeholders(kind: DbKind, first: usize, n: usize) -> String {
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
fn numbered(kind: DbKind, i: usize) -> String {
    match kind {
        DbKind::Sqlite => format!("?{i}"),
        DbKind::Postgres => format!("${i}"),
    }
}

/// `(…cols…), (…cols…)` for `rows` rows, each row's `cols` parameters wrapped by `row`
/// (`"({})"` for plain values).
fn values(kind: DbKind, cols: usize, rows: usize, row: impl Fn(&[String]) -> String) -> String {
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

fn plain(params: &[String]) -> String {
    format!("({})", params.join(", "))
}

/// The columns `calls::save` writes, as an upsert's conflict action.
const CALL_UPDATE: &str = "DO UPDATE SET status = excluded.status, \
     strategy = excluded.strategy, route_targets = excluded.route_targets, route_index = excluded.route_index, \
     gather_attempts = excluded.gather_attempts, forwarded_to = excluded.forwarded_to, \
     call_reason = excluded.call_reason, notes = excluded.notes, recording_url = excluded.recording_url, \
     voicemail = excluded.voicemail, missed = excluded.missed, answered_at = excluded.answered_at, \
     end_time = excluded.end_time, duration_seconds = excluded.duration_seconds, updated_at = excluded.updated_at";

/// Inserts `calls`; `on_conflict` says what a CallSid that exists gets.
fn call_rows(calls: &[&Call], on_conflict: &str) -> Option<Write> {
    let mut vals = Vec::with_capacity(calls.len() * 24);
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
        ]);
    }
    rows(
        format!("INSERT INTO calls ({}) VALUES ", super::calls::COLUMNS),
        plain,
        format!(" ON CONFLICT (call_sid, tenant_id) {on_conflict}"),
        24,
        vals,
    )
}

/// A [`Write::Rows`], or nothing when there are no rows.
fn rows(
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

fn message_rows(messages: &[MessageRow]) -> Option<Write> {
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
            super::messages::COLUMNS
        ),
        plain,
        " ON CONFLICT (message_sid, tenant_id) DO NOTHING".into(),
        16,
        vals,
    )
}

fn event_rows(events: &[Event]) -> Option<Write> {
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

fn delivery_rows(deliveries: &[Delivery]) -> Option<Write> {
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
            super::events::DELIVERY_COLUMNS
        ),
        plain,
        String::new(),
        11,
        vals,
    )
}

/// Same shape as `jobs::store::enqueue`: pending, no attempts, no lease yet.
fn job_tuple(p: &[String]) -> String {
    format!(
        "({}, {}, {}, {}, 'pending', 0, {}, {}, NULL, NULL, NULL, {}, {}, {}, NULL)",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    )
}

fn job_rows(jobs: &[PendingJob]) -> Option<Write> {
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
