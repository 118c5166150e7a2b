//! What a batch's units read, loaded at its start for all of them, the rows they may change locked:
//! on PostgreSQL in one statement (`pg_load`); on SQLite in memory with one query per table here
//! (the writer thread of a SQLite file loads through its own connection, `db::batch_sqlite`).

use std::collections::{HashMap, HashSet};

use crate::db::StoreError;
use crate::db::Tx;
use crate::db::calls::Call;
use crate::db::events::Endpoint;
use crate::db::notifications::Notification;
use crate::domain::states::MessageStatus;

use super::*;

/// The rows loaded for a batch, before any unit ran.
#[derive(Debug, Default)]
pub struct Loaded {
    pub(in crate::db) calls: HashMap<String, Call>,
    /// Stored messages' statuses, by MessageSid.
    pub(in crate::db) message_statuses: HashMap<String, MessageStatus>,
    /// Stored messages' tenants, by MessageSid (a status move names the tenant of the row it moves).
    pub(in crate::db) message_tenants: HashMap<String, String>,
    /// Stored messages' error codes, by MessageSid (those that have one).
    pub(in crate::db) message_codes: HashMap<String, i64>,
    /// Notifications by their Twilio SID.
    pub(in crate::db) notifications: HashMap<String, Notification>,
    /// Notifications by id.
    pub(in crate::db) notifications_by_id: HashMap<String, Notification>,
    /// Running jobs' lease tokens, by job id.
    pub(in crate::db) job_leases: HashMap<String, String>,
    pub(in crate::db) opt_outs: HashSet<(String, String)>,
    pub(in crate::db) endpoints: Vec<Endpoint>,
    pub(in crate::db) cursors: HashMap<String, i64>,
    /// The tenants of [`Keys::owners`] that exist, held until the batch commits (PostgreSQL locks
    /// their rows; SQLite holds its write lock).
    pub(in crate::db) owners: HashSet<String>,
}

impl Loaded {
    /// The (tenant, phone) pairs whose opt-out state to load once the rows are: those `keys`
    /// name, and the recipients of the notifications loaded by id. (Both loaders use this one.)
    pub(in crate::db) fn opt_outs_to_load(&self, keys: &Keys) -> Vec<(String, String)> {
        let mut pairs = keys.opt_outs.clone();
        pairs.extend(
            self.notifications_by_id
                .values()
                .map(|n| (n.tenant_id.clone(), n.recipient.clone())),
        );
        pairs
    }

    /// The tenants whose relay endpoints to load, once each: those `keys` name and those of the
    /// loaded calls and notifications. (Both loaders use this one.)
    pub(in crate::db) fn endpoint_tenants<'s>(&'s self, keys: &'s Keys) -> Vec<&'s str> {
        let tenants = keys
            .tenants
            .iter()
            .map(String::as_str)
            .chain(self.calls.values().map(|c| c.tenant_id.as_str()))
            .chain(self.notifications.values().map(|n| n.tenant_id.as_str()))
            .chain(
                self.notifications_by_id
                    .values()
                    .map(|n| n.tenant_id.as_str()),
            );
        distinct_iter(tenants)
    }

    /// Loads everything `keys` name, in `tx`, locking the rows that units may change.
    pub async fn load(tx: &mut Tx, keys: &Keys) -> Result<Loaded, StoreError> {
        let c = match tx {
            Tx::Postgres(c) => return super::pg_load::load(c, keys).await,
            // SQLite holds its write lock for the whole batch: nothing to lock row by row.
            Tx::Sqlite(c, ..) => &mut **c,
        };
        let mut loaded = Loaded::default();
        for chunk in distinct(&keys.call_sids).chunks(CHUNK) {
            let rows: Vec<Call> = by_keys(c, chunk, |keys| {
                format!(
                    "SELECT {} FROM calls WHERE call_sid {keys}",
                    crate::db::calls::COLUMNS
                )
            })
            .await?;
            for call in rows {
                loaded.calls.insert(call.call_sid.clone(), call);
            }
        }
        for chunk in distinct(&keys.message_sids).chunks(CHUNK) {
            let rows: Vec<(String, String, MessageStatus, Option<i64>)> =
                by_keys(c, chunk, |keys| {
                    format!(
                        "SELECT message_sid, tenant_id, status, error_code FROM messages WHERE message_sid {keys}"
                    )
                })
                .await?;
            for (sid, tenant, status, code) in rows {
                if let Some(code) = code {
                    loaded.message_codes.insert(sid.clone(), code);
                }
                loaded.message_tenants.insert(sid.clone(), tenant);
                loaded.message_statuses.insert(sid, status);
            }
        }
        for chunk in distinct(&keys.notification_sids).chunks(CHUNK) {
            let rows: Vec<Notification> = by_keys(c, chunk, |keys| {
                format!(
                    "SELECT {} FROM notifications WHERE twilio_sid {keys}",
                    crate::db::notifications::COLUMNS
                )
            })
            .await?;
            for n in rows {
                if let Some(sid) = n.twilio_sid.clone() {
                    loaded.notifications.insert(sid, n);
                }
            }
        }
        for chunk in distinct(&keys.notification_ids).chunks(CHUNK) {
            let rows: Vec<Notification> = by_keys(c, chunk, |keys| {
                format!(
                    "SELECT {} FROM notifications WHERE id {keys}",
                    crate::db::notifications::COLUMNS
                )
            })
            .await?;
            for n in rows {
                loaded.notifications_by_id.insert(n.id.clone(), n);
            }
        }
        for chunk in distinct(&keys.jobs).chunks(CHUNK) {
            let rows: Vec<(String, String)> = by_keys(c, chunk, |keys| {
                format!(
                    "SELECT id, lease_token FROM jobs WHERE id {keys} AND status = 'running' AND lease_token IS NOT NULL"
                )
            })
            .await?;
            loaded.job_leases.extend(rows);
        }
        let opt_outs = loaded.opt_outs_to_load(keys);
        if !opt_outs.is_empty() {
            // By tenant and phone separately (the primary key's prefix serves it), exact pairs kept.
            let wanted: HashSet<(String, String)> = opt_outs.iter().cloned().collect();
            let tenants = distinct_iter(opt_outs.iter().map(|(t, _)| t.as_str()));
            let phones = distinct_iter(opt_outs.iter().map(|(_, p)| p.as_str()));
            for tenants in tenants.chunks(CHUNK) {
                for phones in phones.chunks(CHUNK) {
                    let sql = format!(
                        "SELECT tenant_id, phone FROM opt_outs WHERE tenant_id IN ({}) AND phone IN ({})",
                        placeholders(DbKind::Sqlite, 1, tenants.len()),
                        placeholders(DbKind::Sqlite, tenants.len() + 1, phones.len())
                    );
                    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
                    for t in tenants {
                        q = q.bind(*t);
                    }
                    for p in phones {
                        q = q.bind(*p);
                    }
                    let rows: Vec<(String, String)> = q.fetch_all(&mut *c).await?;
                    loaded
                        .opt_outs
                        .extend(rows.into_iter().filter(|r| wanted.contains(r)));
                }
            }
        }
        let tenants = loaded.endpoint_tenants(keys);
        loaded.endpoints = load_endpoints(c, &tenants).await?;
        for chunk in distinct(&keys.cursors).chunks(CHUNK) {
            let rows: Vec<(String, i64)> = by_keys(c, chunk, |keys| {
                format!("SELECT id, round_robin_cursor FROM tenants WHERE id {keys}")
            })
            .await?;
            loaded.cursors.extend(rows);
        }
        for chunk in distinct(&keys.owners).chunks(CHUNK) {
            let rows: Vec<(String,)> = by_keys(c, chunk, |keys| {
                format!("SELECT id FROM tenants WHERE id {keys}")
            })
            .await?;
            loaded.owners.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(loaded)
    }
}

/// Enabled endpoints that are global or belong to one of `tenants`, once each.
async fn load_endpoints(
    c: &mut sqlx::SqliteConnection,
    tenants: &[&str],
) -> Result<Vec<Endpoint>, StoreError> {
    let columns = crate::db::events::ENDPOINT_COLUMNS;
    let mut out: Vec<Endpoint> = Vec::new();
    let mut seen = HashSet::new();
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
            format!(
                " OR tenant_id IN ({})",
                placeholders(DbKind::Sqlite, 1, chunk.len())
            )
        };
        let sql = format!(
            "SELECT {columns} FROM relay_endpoints WHERE enabled = TRUE AND (tenant_id IS NULL{tenant_clause})"
        );
        let mut q =
            sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
        for t in chunk {
            q = q.bind(*t);
        }
        let rows = q.fetch_all(&mut *c).await?;
        out.extend(rows.into_iter().filter(|e| seen.insert(e.id.clone())));
    }
    Ok(out)
}

/// The rows of `select("IN (?, …)")` whose key is one of `keys`.
async fn by_keys<T>(
    c: &mut sqlx::SqliteConnection,
    keys: &[&str],
    select: impl Fn(&str) -> String,
) -> Result<Vec<T>, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    let sql = select(&format!(
        "IN ({})",
        placeholders(DbKind::Sqlite, 1, keys.len())
    ));
    let mut q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql)).persistent(false);
    for k in keys {
        q = q.bind(*k);
    }
    Ok(q.fetch_all(&mut *c).await?)
}
