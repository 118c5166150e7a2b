//! Message rows: every SMS/MMS in or out, one per Twilio MessageSid, threaded by tenant + customer
//! number. A status callback that arrives before the sender recorded its message creates nothing;
//! it is kept on the message row once that exists (see `record_status`).

use crate::db::StoreError;
use crate::domain::MessageSid;
use crate::domain::states::MessageStatus;
use crate::{with_db, with_tx};

use super::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub tenant_id: String,
    pub message_sid: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The other party (the customer's number, as Twilio gave it): the thread key.
    pub customer: String,
    pub from_number: String,
    pub to_number: String,
    pub body: String,
    pub num_media: i64,
    /// JSON array of media URLs.
    pub media_urls: String,
    /// Twilio's message status (`received`, `queued`, `sent`, `delivered`, …).
    pub status: MessageStatus,
    pub segments: i64,
    pub error_code: Option<i64>,
    pub notification_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

crate::stored_row! {
    $ bind_message, COLUMNS, WIDTH for m: MessageRow {
        id: &m.id,
        tenant_id: &m.tenant_id,
        message_sid: &m.message_sid,
        direction: &m.direction,
        customer: &m.customer,
        from_number: &m.from_number,
        to_number: &m.to_number,
        body: &m.body,
        num_media: m.num_media,
        media_urls: &m.media_urls,
        status: m.status,
        segments: m.segments,
        error_code: m.error_code,
        notification_id: &m.notification_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Inserts `m` unless its MessageSid is already stored. Returns true when this insert created it.
pub async fn insert_if_new(tx: &mut Tx, m: &MessageRow) -> Result<bool, StoreError> {
    let sql = super::row::insert_sql(
        "messages",
        COLUMNS,
        WIDTH,
        "ON CONFLICT (message_sid, tenant_id) DO NOTHING",
    );
    let n = with_tx!(tx, |c| {
        bind_message!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), m)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

pub async fn get_by_sid(db: &Db, sid: &MessageSid) -> Result<Option<MessageRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE message_sid = $1");
    Ok(with_db!(db, |p| sqlx::query_as::<_, MessageRow>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(sid.as_str())
    .fetch_optional(p)
    .await)?)
}

/// Moves a stored message's status forward (never back, never from one terminal status to another).
/// Returns false when there is no such message or the status would not move forward.
pub async fn record_status(
    db: &Db,
    sid: &MessageSid,
    status: MessageStatus,
    error_code: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(m) = get_by_sid(db, sid).await? else {
        return Ok(false);
    };
    if !m.status.can_move_to(status) {
        return Ok(false);
    }
    let n = with_db!(db, |p| {
        sqlx::query("UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), updated_at = $4 WHERE message_sid = $1 AND tenant_id = $6 AND status = $5")
            .bind(sid.as_str())
            .bind(status)
            .bind(error_code)
            .bind(now)
            .bind(m.status)
            .bind(&m.tenant_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

/// A page of the tenant's messages sent from or to `number` (any number when `None`), newest first.
/// Seed 003 asks with its business number, which matches every message; a customer's number matches
/// that customer's thread.
pub async fn list_for_number(
    db: &Db,
    tenant_id: &str,
    number: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND ($2 IS NULL OR from_number = $2 OR to_number = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(number)
            .bind(limit)
            .bind(offset)
            .fetch_all(p)
            .await
    })?)
}

/// A page of the tenant's thread with `customer`, newest first, and the thread's length.
pub async fn thread(
    db: &Db,
    tenant_id: &str,
    customer: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<MessageRow>, i64), StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND customer = $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    );
    let rows = with_db!(db, |p| {
        sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(customer)
            .bind(limit)
            .bind(offset)
            .fetch_all(p)
            .await
    })?;
    let total: (i64,) = with_db!(db, |p| {
        sqlx::query_as("SELECT COUNT(*) FROM messages WHERE tenant_id = $1 AND customer = $2")
            .bind(tenant_id)
            .bind(customer)
            .fetch_one(p)
            .await
    })?;
    Ok((rows, total.0))
}

/// One conversation: the last message with a customer and how many went each way.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    #[sqlx(flatten)]
    pub last: MessageRow,
    pub inbound_count: i64,
    pub total_count: i64,
}

/// A page of the tenant's conversations (one per customer), most recent activity first, and how many
/// conversations there are.
pub async fn conversations(
    db: &Db,
    tenant_id: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ConversationRow>, i64), StoreError> {
    // Each customer's last message (the same order as `thread`, so ties resolve alike), joined to the
    // customer's counts; the thread index serves both the subquery and the grouping.
    let sql = "SELECT m.*, c.inbound_count, c.total_count FROM messages m \
         JOIN (SELECT tenant_id, customer, SUM(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END) AS inbound_count, \
               COUNT(*) AS total_count FROM messages WHERE tenant_id = $1 GROUP BY tenant_id, customer) c \
           ON c.tenant_id = m.tenant_id AND c.customer = m.customer \
         WHERE m.tenant_id = $1 AND m.id = (SELECT l.id FROM messages l WHERE l.tenant_id = $1 AND l.customer = m.customer \
               ORDER BY l.created_at DESC, l.id DESC LIMIT 1) \
         ORDER BY m.created_at DESC, m.id DESC LIMIT $2 OFFSET $3";
    let rows = with_db!(db, |p| {
        sqlx::query_as::<_, ConversationRow>(sql)
            .bind(tenant_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(p)
            .await
    })?;
    let total: (i64,) = with_db!(db, |p| {
        sqlx::query_as("SELECT COUNT(DISTINCT customer) FROM messages WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(p)
            .await
    })?;
    Ok((rows, total.0))
}
