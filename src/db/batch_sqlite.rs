//! The group-commit writer's own SQLite connection: loads and writes a [`Batch`] synchronously on
//! the writer's thread, with prepared statements kept for the connection's life.
//!
//! Why not the pool: sqlx runs each SQLite connection on a thread of its own and hands every
//! statement to it and its answer back (two thread switches per statement), and a multi-row
//! statement whose row count changes from batch to batch is parsed and planned anew each time.
//! Here the writer's thread owns the connection: a batch is `BEGIN`, one prepared single-row
//! statement per row read or written, `COMMIT`, with no hand-offs at all. The writer still queues
//! on the process's write gate, so it and the pool's writers take SQLite's write lock in turn.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, ToSql};

use super::batch::{Batch, Keys, Loaded, Val, Write};
use super::calls::Call;
use super::events::Endpoint;
use super::notifications::Notification;
use super::writer::BatchIo;
use crate::config::DbKind;
use crate::db::StoreError;
use crate::domain::states::MessageStatus;

/// Prepared statements kept per connection: every statement a batch uses (about fifteen), with room.
const STATEMENT_CACHE: usize = 64;

/// Page cache of this connection, KiB: the indexes' hot pages stay in memory across batches.
const CACHE_KIB: u32 = 8 * 1024;

/// A write connection to a SQLite file, for one writer thread.
pub struct SqliteBatchConn {
    conn: Connection,
    gate: Arc<tokio::sync::Mutex<()>>,
    /// The process's write gate, held from `begin` to `commit` or `rollback`.
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl SqliteBatchConn {
    /// Opens `path` as the pool does (WAL, `synchronous = NORMAL`, foreign keys, 5 s busy timeout),
    /// with a larger page cache. It never checkpoints inside its own commits: a checkpoint syncs
    /// the WAL and the database file, and every webhook of the batch would wait for the disk. The
    /// pool's checkpointer (`db::checkpoint_loop`) copies the WAL beside it and restarts it.
    /// Its WAL writes go through [`wal_gather`](super::wal_gather): a commit's frames in a few
    /// large system calls instead of two per frame.
    pub fn open(path: &Path, gate: Arc<tokio::sync::Mutex<()>>) -> Result<Self, StoreError> {
        let conn = match super::wal_gather::register() {
            Ok(()) => Connection::open_with_flags_and_vfs(
                path,
                rusqlite::OpenFlags::default(),
                super::wal_gather::NAME,
            ),
            Err(rc) => {
                // The same connection on the default VFS: slower, otherwise the same.
                tracing::warn!(
                    rc,
                    "the WAL-gathering VFS did not register; writing frame by frame"
                );
                Connection::open(path)
            }
        }
        .map_err(sqlite)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -{CACHE_KIB};"
        ))
        .map_err(sqlite)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(SqliteBatchConn {
            conn,
            gate,
            turn: None,
        })
    }

    fn run(&self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(sqlite)
    }

    /// Ends the transaction with `sql` and lets the next writer of the process in.
    fn end(&mut self, sql: &str) -> Result<(), StoreError> {
        let done = self.run(sql);
        if done.is_err() && !self.conn.is_autocommit() {
            // A failed COMMIT can leave the transaction open: never keep the lock past this batch.
            let _ = self.run("ROLLBACK");
        }
        self.turn = None;
        done
    }

    /// Loads what `keys` name (the write lock is held, so nothing changes them until the commit).
    fn load_now(&self, keys: &Keys) -> Result<Loaded, StoreError> {
        let mut loaded = Loaded::default();
        let c = &self.conn;
        let mut calls = c
            .prepare_cached(&format!(
                "SELECT {} FROM calls WHERE call_sid = ?1",
                super::calls::COLUMNS
            ))
            .map_err(sqlite)?;
        for sid in &keys.call_sids {
            if loaded.calls.contains_key(sid.as_str()) {
                continue;
            }
            if let Some(call) = calls
                .query_row([sid.as_str()], call_row)
                .optional()
                .map_err(sqlite)?
            {
                loaded.calls.insert(sid.to_string(), call);
            }
        }
        let mut messages = c
            .prepare_cached(
                "SELECT tenant_id, status, error_code FROM messages WHERE message_sid = ?1",
            )
            .map_err(sqlite)?;
        for sid in &keys.message_sids {
            if let Some((tenant, status, code)) = messages
                .query_row([sid.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, MessageStatus>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                })
                .optional()
                .map_err(sqlite)?
            {
                if let Some(code) = code {
                    loaded.message_codes.insert(sid.to_string(), code);
                }
                loaded.message_tenants.insert(sid.to_string(), tenant);
                loaded.message_statuses.insert(sid.to_string(), status);
            }
        }
        let mut notifications = c
            .prepare_cached(&format!(
                "SELECT {} FROM notifications WHERE twilio_sid = ?1",
                super::notifications::COLUMNS
            ))
            .map_err(sqlite)?;
        for sid in &keys.notification_sids {
            if let Some(n) = notifications
                .query_row([sid.as_str()], notification_row)
                .optional()
                .map_err(sqlite)?
            {
                loaded.notifications.insert(sid.to_string(), n);
            }
        }
        let mut by_id = c
            .prepare_cached(&format!(
                "SELECT {} FROM notifications WHERE id = ?1",
                super::notifications::COLUMNS
            ))
            .map_err(sqlite)?;
        for id in &keys.notification_ids {
            if let Some(n) = by_id
                .query_row([id], notification_row)
                .optional()
                .map_err(sqlite)?
            {
                loaded.notifications_by_id.insert(id.clone(), n);
            }
        }
        let mut leases = c
            .prepare_cached(
                "SELECT lease_token FROM jobs WHERE id = ?1 AND status = 'running' AND lease_token IS NOT NULL",
            )
            .map_err(sqlite)?;
        for id in &keys.jobs {
            if let Some(token) = leases
                .query_row([id], |r| r.get::<_, String>(0))
                .optional()
                .map_err(sqlite)?
            {
                loaded.job_leases.insert(id.clone(), token);
            }
        }
        let mut opt_outs = c
            .prepare_cached("SELECT 1 FROM opt_outs WHERE tenant_id = ?1 AND phone = ?2")
            .map_err(sqlite)?;
        for (tenant, phone) in loaded.opt_outs_to_load(keys) {
            if opt_outs.exists([&tenant, &phone]).map_err(sqlite)? {
                loaded.opt_outs.insert((tenant, phone));
            }
        }
        let endpoint_sql = |filter: &str| {
            format!(
                "SELECT {} FROM relay_endpoints WHERE enabled = TRUE AND {filter}",
                super::events::ENDPOINT_COLUMNS
            )
        };
        let mut global = c
            .prepare_cached(&endpoint_sql("tenant_id IS NULL"))
            .map_err(sqlite)?;
        loaded.endpoints = global
            .query_map([], endpoint_row)
            .map_err(sqlite)?
            .collect::<Result<_, _>>()
            .map_err(sqlite)?;
        let mut own = c
            .prepare_cached(&endpoint_sql("tenant_id = ?1"))
            .map_err(sqlite)?;
        let mut tenants = loaded.endpoint_tenants(keys);
        tenants.sort_unstable();
        let mut found = Vec::new();
        for tenant in tenants {
            for e in own.query_map([tenant], endpoint_row).map_err(sqlite)? {
                found.push(e.map_err(sqlite)?);
            }
        }
        loaded.endpoints.extend(found);
        let mut cursors = c
            .prepare_cached("SELECT round_robin_cursor FROM tenants WHERE id = ?1")
            .map_err(sqlite)?;
        for id in &keys.cursors {
            if let Some(cursor) = cursors
                .query_row([id], |r| r.get::<_, i64>(0))
                .optional()
                .map_err(sqlite)?
            {
                loaded.cursors.insert(id.clone(), cursor);
            }
        }
        // The units' owners that exist (the write lock keeps them until the commit).
        let mut owner = c
            .prepare_cached("SELECT 1 FROM tenants WHERE id = ?1")
            .map_err(sqlite)?;
        for id in &keys.owners {
            if !loaded.owners.contains(id) && owner.exists([id]).map_err(sqlite)? {
                loaded.owners.insert(id.clone());
            }
        }
        Ok(loaded)
    }

    /// Writes what the batch's units changed, one prepared statement per table run once per row.
    fn flush_now(&self, batch: &Batch<'_>) -> Result<(), StoreError> {
        for write in batch.writes(DbKind::Sqlite) {
            match write {
                Write::One(sql, vals) => {
                    self.conn
                        .prepare_cached(&sql)
                        .and_then(|mut s| s.execute(rusqlite::params_from_iter(vals.iter())))
                        .map_err(sqlite)?;
                }
                Write::Rows {
                    head,
                    tuple,
                    tail,
                    width,
                    vals,
                } => {
                    let sql = Write::rows_sql(DbKind::Sqlite, &head, tuple, &tail, width, 1);
                    let mut stmt = self.conn.prepare_cached(&sql).map_err(sqlite)?;
                    for row in vals.chunks(width) {
                        stmt.execute(rusqlite::params_from_iter(row.iter()))
                            .map_err(sqlite)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Runs on the writer's own thread: each call completes before it returns (the futures are ready
/// at once), except `begin`, which may wait for the write gate.
impl BatchIo for SqliteBatchConn {
    async fn begin(&mut self) -> Result<(), StoreError> {
        self.turn = Some(self.gate.clone().lock_owned().await);
        let begun = self.run("BEGIN IMMEDIATE");
        if begun.is_err() {
            self.turn = None;
        }
        begun
    }
    async fn load(&mut self, keys: &Keys) -> Result<Loaded, StoreError> {
        self.load_now(keys)
    }
    async fn flush(&mut self, batch: &Batch<'_>) -> Result<(), StoreError> {
        self.flush_now(batch)
    }
    async fn exec(&mut self, sql: &'static str) -> Result<(), StoreError> {
        self.run(sql)
    }
    async fn commit(&mut self) -> Result<(), StoreError> {
        self.end("COMMIT")
    }
    async fn rollback(&mut self) -> Result<(), StoreError> {
        self.end("ROLLBACK")
    }
}

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        // As sqlx stores them: booleans as 0/1, absent values as NULL.
        Ok(ToSqlOutput::Borrowed(match self {
            Val::Text(s) | Val::OptText(Some(s)) => ValueRef::Text(s.as_bytes()),
            Val::Int(i) | Val::OptInt(Some(i)) => ValueRef::Integer(*i),
            Val::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Val::OptText(None) | Val::OptInt(None) => ValueRef::Null,
        }))
    }
}

fn sqlite(e: rusqlite::Error) -> StoreError {
    StoreError::from_sqlite(e)
}

/// A row of `SELECT calls::COLUMNS`, in that order.
fn call_row(r: &Row<'_>) -> rusqlite::Result<Call> {
    Ok(Call {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        call_sid: r.get(2)?,
        direction: r.get(3)?,
        from_number: r.get(4)?,
        to_number: r.get(5)?,
        status: r.get(6)?,
        strategy: r.get(7)?,
        after_hours: r.get(8)?,
        route_targets: r.get(9)?,
        route_index: r.get(10)?,
        gather_attempts: r.get(11)?,
        forwarded_to: r.get(12)?,
        call_reason: r.get(13)?,
        notes: r.get(14)?,
        recording_url: r.get(15)?,
        voicemail: r.get(16)?,
        missed: r.get(17)?,
        start_time: r.get(18)?,
        answered_at: r.get(19)?,
        end_time: r.get(20)?,
        duration_seconds: r.get(21)?,
        created_at: r.get(22)?,
        updated_at: r.get(23)?,
    })
}

/// A row of `SELECT notifications::COLUMNS`, in that order.
fn notification_row(r: &Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        r#type: r.get(2)?,
        recipient: r.get(3)?,
        message: r.get(4)?,
        status: r.get(5)?,
        kind: r.get(6)?,
        related_appointment_id: r.get(7)?,
        related_call_sid: r.get(8)?,
        staff_id: r.get(9)?,
        idempotency_key: r.get(10)?,
        twilio_sid: r.get(11)?,
        error_code: r.get(12)?,
        failure_reason: r.get(13)?,
        segments: r.get(14)?,
        attempts: r.get(15)?,
        sending_started_at: r.get(16)?,
        sent_at: r.get(17)?,
        delivered_at: r.get(18)?,
        scheduled_for: r.get(19)?,
        metadata: r.get(20)?,
        created_at: r.get(21)?,
        updated_at: r.get(22)?,
    })
}

/// A row of `SELECT events::ENDPOINT_COLUMNS`, in that order.
fn endpoint_row(r: &Row<'_>) -> rusqlite::Result<Endpoint> {
    Ok(Endpoint {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        kind: r.get(2)?,
        url: r.get(3)?,
        secret: r.get(4)?,
        event_types: r.get(5)?,
        enabled: r.get(6)?,
        disabled_reason: r.get(7)?,
        description: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}
