//! One group-commit batch of webhook writes, held in memory: what the batch's units read, loaded
//! for all of them at once (one statement on PostgreSQL, one query per table on SQLite), and what
//! they write, sent with one multi-row statement per table when the batch ends.
//!
//! Why: a statement costs a round trip (to SQLite's connection thread or to PostgreSQL) that is far
//! dearer than the work it does. A webhook used to make four to six of them; in a batch it makes
//! none of its own, and a batch of hundreds makes about ten.
//!
//! How a unit sees the data: [`Batch`] answers from the rows loaded at the start of the batch
//! overlaid with what earlier units of the same batch wrote, so a unit sees its predecessors exactly
//! as it would in the next transaction (a retried webhook finds its original's call). The loaded
//! rows are locked (PostgreSQL `FOR NO KEY UPDATE`; SQLite holds its write lock for the whole batch), so
//! nothing else changes them between the load and the commit.

mod load;
mod pg_load;
pub use pg_load::statement as pg_load_statement;
mod pg_rows;
mod rows;

pub use load::Loaded;
use rows::*;
pub(super) use rows::{Val, Write};

use std::collections::{HashMap, HashSet};

use super::Tx;
use super::call_steps::CallStep;
use super::calls::Call;
use super::events::{Delivery, Endpoint, Event};
use super::messages::MessageRow;
use super::notifications::Notification;
use crate::config::DbKind;
use crate::db::StoreError;
use crate::domain::states::MessageStatus;
use crate::domain::{CallSid, MessageSid};

/// Rows per multi-row statement: well inside SQLite's 32,766 and PostgreSQL's 65,535 bind limits
/// for the widest table (calls, 25 columns with its steps).
const CHUNK: usize = 500;

/// What a unit will read, declared before the batch loads.
#[derive(Debug, Default)]
pub struct Keys {
    pub call_sids: Vec<CallSid>,
    pub message_sids: Vec<MessageSid>,
    /// Twilio SIDs of the notifications the unit reads.
    pub notification_sids: Vec<MessageSid>,
    /// Ids of the notifications the unit reads (see [`Batch::notification`]).
    pub notification_ids: Vec<String>,
    /// Ids of running jobs the unit may complete (see [`Batch::complete_job`]).
    pub jobs: Vec<String>,
    /// (tenant, phone) pairs whose opt-out state the unit reads (those of the recipients of the
    /// notifications in `notification_ids` are loaded without being named).
    pub opt_outs: Vec<(String, String)>,
    /// Tenants whose relay endpoints the unit may emit to (the tenants of loaded calls are added).
    pub tenants: Vec<String>,
    /// Tenants whose round-robin cursor the unit advances.
    pub cursors: Vec<String>,
    /// Tenants the unit may store new calls or messages for. The batch's load finds them and holds
    /// them until the commit (PostgreSQL locks their rows `FOR KEY SHARE`, the lock each row's
    /// foreign-key check took before migration 0016; SQLite holds its write lock), and a unit that
    /// stores a call or message for a tenant not held (deleted since its request found it, or not
    /// named here) fails alone, on either backend.
    pub owners: Vec<String>,
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

/// Opt-out changes: add (with its source) or remove.
#[derive(Debug, Clone)]
enum OptOutChange {
    Add { source: String, at: i64 },
    Remove,
}

/// A stored message row to fill in with its notification's id and text.
#[derive(Debug, Clone)]
struct Attachment {
    message_sid: String,
    tenant_id: String,
    notification_id: String,
    body: String,
    segments: i64,
    at: i64,
}

/// The batch as its units see and change it.
pub struct Batch<'a> {
    loaded: &'a Loaded,
    /// Calls created or changed by this batch, in their latest state.
    calls: HashMap<String, Call>,
    /// In the order first written, so the statements are deterministic.
    call_order: Vec<String>,
    /// Step lines to append to each call, by CallSid (see `db::call_steps`).
    call_steps: HashMap<String, String>,
    messages: Vec<MessageRow>,
    message_sids: HashSet<String>,
    /// Status moves of stored messages: SID → (status, error code, time, status it moves from).
    message_moves: HashMap<String, (MessageStatus, Option<i64>, i64, MessageStatus)>,
    message_move_order: Vec<String>,
    /// Stored messages given their notification (see [`Batch::attach_message`]).
    attachments: Vec<Attachment>,
    /// Notifications changed by this batch, by id, in their latest state.
    notifications: HashMap<String, Notification>,
    notification_order: Vec<String>,
    /// Twilio SIDs of the notifications changed by this batch → their ids.
    notification_sids: HashMap<String, String>,
    opt_outs: HashMap<(String, String), OptOutChange>,
    opt_out_order: Vec<(String, String)>,
    events: Vec<Event>,
    deliveries: Vec<Delivery>,
    jobs: Vec<PendingJob>,
    /// Jobs completed by this batch: id → finish time, in order.
    completed_jobs: Vec<(String, i64)>,
    cursors: HashMap<String, i64>,
    /// The owners the running unit named (see [`Keys::owners`]).
    owners: &'a [String],
    /// The first tenant the running unit stored a new call or message for that is not among its
    /// owners held by the batch; the writer fails that unit.
    unowned: Option<String>,
}

impl<'a> Batch<'a> {
    pub fn new(loaded: &'a Loaded) -> Self {
        Batch {
            loaded,
            calls: HashMap::new(),
            call_order: Vec::new(),
            call_steps: HashMap::new(),
            messages: Vec::new(),
            message_sids: HashSet::new(),
            message_moves: HashMap::new(),
            message_move_order: Vec::new(),
            attachments: Vec::new(),
            notifications: HashMap::new(),
            notification_order: Vec::new(),
            notification_sids: HashMap::new(),
            opt_outs: HashMap::new(),
            opt_out_order: Vec::new(),
            events: Vec::new(),
            deliveries: Vec::new(),
            jobs: Vec::new(),
            completed_jobs: Vec::new(),
            cursors: HashMap::new(),
            owners: &[],
            unowned: None,
        }
    }

    /// The owners the next unit named (the writer sets them before each unit runs).
    pub(in crate::db) fn set_owners(&mut self, owners: &'a [String]) {
        self.owners = owners;
        self.unowned = None;
    }

    /// Notes `tenant_id` if the running unit may not store a new call or message for it: it must be
    /// one of the unit's owners and the load must have found it. (On PostgreSQL no foreign key
    /// checks these rows since migration 0016; on SQLite the keys would, at the end of the batch.)
    /// Checked per unit, so a unit that forgot to name its tenant fails every time, not only when
    /// no batch-mate happened to name it.
    fn check_owner(&mut self, tenant_id: &str) {
        let held =
            self.owners.iter().any(|o| o == tenant_id) && self.loaded.owners.contains(tenant_id);
        if !held && self.unowned.is_none() {
            self.unowned = Some(tenant_id.to_string());
        }
    }

    /// The tenant the running unit stored a new call or message for although it may not (see
    /// [`check_owner`](Self::check_owner)), if it did; clears it.
    pub(in crate::db) fn take_unowned(&mut self) -> Option<String> {
        self.unowned.take()
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
        let first = !self.calls.contains_key(&call.call_sid);
        // A new row: the unit creating it must hold its tenant. (A later unit of the batch that
        // changes it, a status callback say, changes a row as a loaded one.)
        if first && !self.loaded.calls.contains_key(&call.call_sid) {
            self.check_owner(&call.tenant_id);
        }
        if first {
            self.call_order.push(call.call_sid.clone());
        }
        self.calls.insert(call.call_sid.clone(), call);
    }

    /// Records a step of `call` (as the batch has it so far), appended to its row when the batch
    /// writes it; a call the batch did not change yet is written back with the step.
    pub fn add_call_step(&mut self, call: &Call, step: CallStep) {
        if !self.calls.contains_key(&call.call_sid) {
            self.put_call(call.clone());
        }
        self.call_steps
            .entry(call.call_sid.clone())
            .or_default()
            .push_str(&step.line());
    }

    /// Whether a message with this SID is stored (or stored earlier in this batch).
    pub fn message_stored(&self, message_sid: &MessageSid) -> bool {
        let message_sid = message_sid.as_str();
        self.message_sids.contains(message_sid)
            || self.loaded.message_statuses.contains_key(message_sid)
    }

    /// The latest row with this SID that this batch stores itself.
    fn new_message(&self, message_sid: &str) -> Option<&MessageRow> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.message_sid.as_deref() == Some(message_sid))
    }

    fn new_message_mut(&mut self, message_sid: &str) -> Option<&mut MessageRow> {
        self.messages
            .iter_mut()
            .rev()
            .find(|m| m.message_sid.as_deref() == Some(message_sid))
    }

    /// A stored message's status as the batch has it so far (only SIDs declared in [`Keys`]).
    pub fn message_status(&self, message_sid: &MessageSid) -> Option<MessageStatus> {
        let message_sid = message_sid.as_str();
        if let Some(m) = self.new_message(message_sid) {
            return Some(m.status);
        }
        if let Some((status, ..)) = self.message_moves.get(message_sid) {
            return Some(*status);
        }
        self.loaded.message_statuses.get(message_sid).copied()
    }

    /// A stored message's error code as the batch has it so far (only SIDs declared in [`Keys`]).
    pub fn message_error_code(&self, message_sid: &MessageSid) -> Option<i64> {
        let message_sid = message_sid.as_str();
        if let Some(m) = self.new_message(message_sid) {
            return m.error_code;
        }
        if let Some((_, Some(code), ..)) = self.message_moves.get(message_sid) {
            return Some(*code);
        }
        self.loaded.message_codes.get(message_sid).copied()
    }

    /// Fills in an outbound message row that a status callback stored before the sender recorded
    /// the send (it could not know the text or the notification). Only a row of the
    /// notification's own tenant is touched; returns whether there was one.
    pub fn attach_message(&mut self, message_sid: &MessageSid, n: &Notification, now: i64) -> bool {
        let sid = message_sid.as_str();
        if let Some(m) = self.new_message_mut(sid) {
            if m.tenant_id != n.tenant_id {
                return false;
            }
            m.notification_id = Some(n.id.clone());
            m.body = n.message.clone();
            m.segments = n.segments;
            m.updated_at = now;
            return true;
        }
        if self.loaded.message_tenants.get(sid) != Some(&n.tenant_id) {
            return false;
        }
        self.attachments.push(Attachment {
            message_sid: sid.to_string(),
            tenant_id: n.tenant_id.clone(),
            notification_id: n.id.clone(),
            body: n.message.clone(),
            segments: n.segments,
            at: now,
        });
        true
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
        if let Some(m) = self.new_message_mut(message_sid) {
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
    /// A notification that an earlier unit of this batch gave this SID (the sender recording a
    /// send) is found too, as a later transaction would find it.
    pub fn notification_by_sid(&self, twilio_sid: &MessageSid) -> Option<Notification> {
        let id = self
            .notification_sids
            .get(twilio_sid.as_str())
            .or_else(|| {
                self.loaded
                    .notifications
                    .get(twilio_sid.as_str())
                    .map(|n| &n.id)
            })?;
        self.notification(id)
    }

    /// The notification with this id as the batch has it so far (only ids declared in
    /// [`Keys::notification_ids`] were loaded).
    pub fn notification(&self, id: &str) -> Option<Notification> {
        self.notifications
            .get(id)
            .or_else(|| self.loaded.notifications_by_id.get(id))
            .or_else(|| self.loaded.notifications.values().find(|n| n.id == id))
            .cloned()
    }

    /// Saves the notification's state (by its id).
    pub fn put_notification(&mut self, n: Notification) {
        if !self.notifications.contains_key(&n.id) {
            self.notification_order.push(n.id.clone());
        }
        if let Some(sid) = &n.twilio_sid {
            self.notification_sids.insert(sid.clone(), n.id.clone());
        }
        self.notifications.insert(n.id.clone(), n);
    }

    pub fn add_message(&mut self, row: MessageRow) {
        self.check_owner(&row.tenant_id);
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

    /// Marks a running job done, if `lease_token` still holds its lease (the job must be in
    /// [`Keys::jobs`]). False when the lease was lost: another worker owns the job now, or it was
    /// completed already.
    pub fn complete_job(&mut self, id: &str, lease_token: &str, now: i64) -> bool {
        let holds = self.loaded.job_leases.get(id).map(String::as_str) == Some(lease_token);
        if !holds || self.completed_jobs.iter().any(|(done, _)| done == id) {
            return false;
        }
        self.completed_jobs.push((id.to_string(), now));
        true
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
        self.flush_then(tx, None).await.map(|_| ())
    }

    /// [`flush`](Self::flush), and on PostgreSQL `COMMIT` and the next writer transaction's
    /// `BEGIN` in the same round trip as the last writes: returns true when those ran (the batch is
    /// committed and `tx` is a new, empty transaction), false when only the writes did (the caller
    /// commits).
    pub async fn flush_commit_begin(&self, tx: &mut Tx) -> Result<bool, StoreError> {
        let tail = format!("COMMIT;\n{}", super::PG_WRITER_BEGIN);
        self.flush_then(tx, Some(&tail)).await
    }

    /// On PostgreSQL the rows go first, as one prepared statement (`pg_rows`); then the single
    /// statements and `tail` as one script. This stores what the order of
    /// [`writes`](Self::writes) would: the single statements that change a table the rows go to
    /// (message moves, completed jobs) came after those rows there too, and no foreign key runs
    /// from a row to what a single statement writes (round-robin cursors, notifications,
    /// opt-outs).
    async fn flush_then(&self, tx: &mut Tx, tail: Option<&str>) -> Result<bool, StoreError> {
        let kind = tx.kind();
        let mut writes = self.writes(kind);
        if kind == DbKind::Postgres
            && let Some(rows) = pg_rows::take_rows(&mut writes)
        {
            rows.execute(tx).await?;
        }
        Statements::multi_row(writes, kind)
            .execute_then(tx, tail)
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
        out.extend(call_rows(&created, "DO NOTHING", &self.call_steps));
        out.extend(call_rows(&changed, &CALL_UPDATE, &self.call_steps));
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
        for a in &self.attachments {
            out.push(Write::One(
                format!(
                    "UPDATE messages SET notification_id = {}, body = {}, segments = {}, updated_at = {} \
                     WHERE message_sid = {} AND tenant_id = {}",
                    numbered(kind, 1),
                    numbered(kind, 2),
                    numbered(kind, 3),
                    numbered(kind, 4),
                    numbered(kind, 5),
                    numbered(kind, 6)
                ),
                vec![
                    Val::Text(a.notification_id.clone()),
                    Val::Text(a.body.clone()),
                    Val::Int(a.segments),
                    Val::Int(a.at),
                    Val::Text(a.message_sid.clone()),
                    Val::Text(a.tenant_id.clone()),
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
        for (id, at) in &self.completed_jobs {
            // What `jobs::store::complete` writes; the lease was checked on the locked row.
            out.push(Write::One(
                format!(
                    "UPDATE jobs SET status = 'done', locked_until = NULL, finished_at = {at}, updated_at = {at}, last_error = NULL \
                     WHERE id = {id} AND status = 'running'",
                    at = numbered(kind, 1),
                    id = numbered(kind, 2),
                ),
                vec![Val::Int(*at), Val::Text(id.clone())],
            ));
        }
        out
    }
}
