//! Call step rows: what happened during a call, one row per step (`calls::steps` says which steps
//! there are and what their `detail` JSON holds), read back as the call's timeline. Also the other
//! rows that timeline reads by call: its recordings and the notifications about it (the missed-call
//! text-back, staff alerts), each through an index that starts with the call.

use crate::db::StoreError;
use crate::db::notifications::{self, Notification};
use crate::db::recordings::{self, Recording};
use crate::{with_db, with_tx};

use super::{Db, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CallStep {
    pub id: String,
    pub tenant_id: String,
    pub call_id: String,
    /// Epoch ms.
    pub at: i64,
    /// `incoming`, `dial`, `gather`, `voicemail`, `status`, `outbound`, `connect`, `ai`.
    pub kind: String,
    /// JSON, shaped by `kind`.
    pub detail: String,
}

crate::stored_row! {
    $ bind_step, COLUMNS, WIDTH for s: CallStep {
        id: &s.id,
        tenant_id: &s.tenant_id,
        call_id: &s.call_id,
        at: s.at,
        kind: &s.kind,
        detail: &s.detail,
    }
}

/// Stores a step inside the transaction of the change it describes.
pub async fn insert(tx: &mut Tx, s: &CallStep) -> Result<(), StoreError> {
    let sql = super::row::insert_sql("call_steps", COLUMNS, WIDTH, "");
    with_tx!(tx, |c| {
        bind_step!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), s)
            .execute(c)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// The steps of one of the tenant's calls, oldest first (ids are time-ordered UUIDs, so steps of
/// the same millisecond keep the order they were written in).
pub async fn for_call(
    db: &Db,
    tenant_id: &str,
    call_id: &str,
) -> Result<Vec<CallStep>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM call_steps WHERE tenant_id = $1 AND call_id = $2 ORDER BY at, id LIMIT 500"
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, CallStep>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(call_id)
            .fetch_all(p)
            .await
    })?)
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
