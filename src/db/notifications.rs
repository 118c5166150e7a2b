//! Notification rows: every SMS or e-mail Switchboard must deliver, with its delivery state.
//! Status only moves forward: QUEUED → SENDING → SENT → DELIVERED | UNDELIVERED, or FAILED.

use crate::db::StoreError;
use crate::domain::MessageSid;
use crate::domain::states::NotificationStatus;
use crate::{with_db, with_tx};

use super::{Db, Tx};

/// `Deserialize` reads a row as PostgreSQL's `json_agg` writes it (`db::batch::pg_load`).
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct Notification {
    pub id: String,
    pub tenant_id: String,
    /// `SMS` or `EMAIL`.
    pub r#type: String,
    pub recipient: String,
    pub message: String,
    pub status: NotificationStatus,
    /// What produced it: `api`, `staff`, `appointment_confirmation`, `appointment_reminder`, `missed_call_text_back`, …
    pub kind: String,
    pub related_appointment_id: Option<String>,
    pub related_call_sid: Option<String>,
    pub staff_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub twilio_sid: Option<String>,
    pub error_code: Option<i64>,
    pub failure_reason: Option<String>,
    pub segments: i64,
    pub attempts: i64,
    /// When a send began; a row left SENDING is reconciled against Twilio before any resend.
    pub sending_started_at: Option<i64>,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub scheduled_for: Option<i64>,
    /// JSON given by the caller (seed 003's `metadata`, `userId`).
    pub metadata: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

crate::stored_row! {
    $ bind_notification, COLUMNS, WIDTH for n: Notification {
        id: &n.id,
        tenant_id: &n.tenant_id,
        type: &n.r#type,
        recipient: &n.recipient,
        message: &n.message,
        status: n.status,
        kind: &n.kind,
        related_appointment_id: &n.related_appointment_id,
        related_call_sid: &n.related_call_sid,
        staff_id: &n.staff_id,
        idempotency_key: &n.idempotency_key,
        twilio_sid: &n.twilio_sid,
        error_code: n.error_code,
        failure_reason: &n.failure_reason,
        segments: n.segments,
        attempts: n.attempts,
        sending_started_at: n.sending_started_at,
        sent_at: n.sent_at,
        delivered_at: n.delivered_at,
        scheduled_for: n.scheduled_for,
        metadata: &n.metadata,
        created_at: n.created_at,
        updated_at: n.updated_at,
    }
}

/// Inserts `n` unless the tenant already has a notification with its idempotency key.
/// Returns true when this insert created it.
pub async fn insert(tx: &mut Tx, n: &Notification) -> Result<bool, StoreError> {
    let sql = super::row::insert_sql(
        "notifications",
        COLUMNS,
        WIDTH,
        "ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
    );
    let rows = with_tx!(tx, |c| {
        bind_notification!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), n)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
    .map_err(StoreError::from_sqlx)?;
    Ok(rows > 0)
}

/// The delivery state `save_tx` (and a group-commit batch, `db::batch`) writes: `UPDATE` of these
/// columns by tenant and id, with parameter `param(1)` the id, `param(2)`… the columns in this
/// order: status, twilio_sid, error_code, failure_reason, segments, attempts, sending_started_at,
/// sent_at, delivered_at, updated_at; and `param(12)` the tenant.
pub fn save_sql(param: impl Fn(usize) -> String) -> String {
    const SAVED: [&str; 10] = [
        "status",
        "twilio_sid",
        "error_code",
        "failure_reason",
        "segments",
        "attempts",
        "sending_started_at",
        "sent_at",
        "delivered_at",
        "updated_at",
    ];
    let set: Vec<String> = SAVED
        .iter()
        .enumerate()
        .map(|(k, col)| format!("{col} = {}", param(k + 2)))
        .collect();
    format!(
        "UPDATE notifications SET {} WHERE id = {} AND tenant_id = {}",
        set.join(", "),
        param(1),
        param(SAVED.len() + 2)
    )
}

/// Writes the delivery state of `n` (by id) inside the caller's transaction.
pub async fn save(tx: &mut Tx, n: &Notification) -> Result<(), StoreError> {
    let sql = save_sql(|i| format!("${i}"));
    with_tx!(tx, |c| {
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(&n.id)
            .bind(n.status)
            .bind(&n.twilio_sid)
            .bind(n.error_code)
            .bind(&n.failure_reason)
            .bind(n.segments)
            .bind(n.attempts)
            .bind(n.sending_started_at)
            .bind(n.sent_at)
            .bind(n.delivered_at)
            .bind(n.updated_at)
            .bind(&n.tenant_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// [`save`] in a write transaction of its own (on SQLite that queues on this process's write gate
/// instead of meeting the busy timeout).
pub async fn save_alone(db: &Db, n: &Notification) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    save(&mut tx, n).await?;
    tx.commit().await
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Notification>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM notifications WHERE id = $1");
    Ok(with_db!(db, |p| sqlx::query_as::<_, Notification>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// One of the tenant's notifications by id (another tenant's is as unknown as a made-up one).
pub async fn get_for_tenant(
    db: &Db,
    tenant_id: &str,
    id: &str,
) -> Result<Option<Notification>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM notifications WHERE tenant_id = $1 AND id = $2");
    Ok(with_db!(db, |p| sqlx::query_as::<_, Notification>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// The tenant's SMS to `recipient` that have no Twilio SID (queued, being sent, or failed before
/// Twilio accepted them), newest first, at most `limit`.
pub async fn unsent_to(
    db: &Db,
    tenant_id: &str,
    recipient: &str,
    limit: i64,
) -> Result<Vec<Notification>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE tenant_id = $1 AND recipient = $2 AND type = 'SMS' \
         AND twilio_sid IS NULL ORDER BY created_at DESC, id DESC LIMIT $3"
    );
    Ok(with_db!(db, |p| sqlx::query_as::<_, Notification>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(tenant_id)
    .bind(recipient)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// The tenant's notification with `idempotency_key`, inside `tx`.
pub async fn get_by_key(
    tx: &mut Tx,
    tenant_id: &str,
    key: &str,
) -> Result<Option<Notification>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE tenant_id = $1 AND idempotency_key = $2"
    );
    Ok(with_tx!(tx, |c| {
        sqlx::query_as::<_, Notification>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(key)
            .fetch_optional(c)
            .await
    })?)
}

pub async fn get_by_twilio_sid(
    db: &Db,
    sid: &MessageSid,
) -> Result<Option<Notification>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM notifications WHERE twilio_sid = $1");
    Ok(with_db!(db, |p| sqlx::query_as::<_, Notification>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(sid.as_str())
    .fetch_optional(p)
    .await)?)
}

/// Filters for a tenant's notification history.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    /// `SMS` or `EMAIL`.
    pub r#type: Option<String>,
    pub status: Option<NotificationStatus>,
    pub recipient: Option<String>,
}

/// A page of a tenant's notifications, newest first, and the total matching.
pub async fn list(
    db: &Db,
    tenant_id: &str,
    f: &NotificationFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Notification>, i64), StoreError> {
    let filter = "tenant_id = $1 AND ($2 IS NULL OR type = $2) AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR recipient = $4)";
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
    );
    let count_sql = format!("SELECT COUNT(*) FROM notifications WHERE {filter}");
    let rows = with_db!(db, |p| {
        sqlx::query_as::<_, Notification>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(&f.r#type)
            .bind(f.status)
            .bind(&f.recipient)
            .bind(limit)
            .bind(offset)
            .fetch_all(p)
            .await
    })?;
    let total: (i64,) = with_db!(db, |p| {
        sqlx::query_as(sqlx::AssertSqlSafe(count_sql.as_str()))
            .bind(tenant_id)
            .bind(&f.r#type)
            .bind(f.status)
            .bind(&f.recipient)
            .fetch_one(p)
            .await
    })?;
    Ok((rows, total.0))
}
