//! Message rows: every SMS/MMS in or out, one per Twilio MessageSid, threaded by tenant + customer
//! number. A status callback that arrives before the sender recorded its message creates nothing;
//! it is kept on the message row once that exists (see `record_status`).

use crate::error::StoreError;
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
    pub status: String,
    pub segments: i64,
    pub error_code: Option<i64>,
    pub notification_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const COLUMNS: &str = "id, tenant_id, message_sid, direction, customer, from_number, to_number, body, num_media, \
    media_urls, status, segments, error_code, notification_id, created_at, updated_at";

/// Progress rank of a Twilio message status (terminal statuses share the top rank).
pub fn rank(status: &str) -> u8 {
    match status {
        "accepted" | "scheduled" | "queued" => 0,
        "sending" => 1,
        "sent" => 2,
        _ => 3,
    }
}

/// Inserts `m` unless its MessageSid is already stored. Returns true when this insert created it.
pub async fn insert_if_new(tx: &mut Tx, m: &MessageRow) -> Result<bool, StoreError> {
    let sql = format!(
        "INSERT INTO messages ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (message_sid) DO NOTHING"
    );
    let n = with_tx!(tx, |c| {
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(&m.id)
            .bind(&m.tenant_id)
            .bind(&m.message_sid)
            .bind(&m.direction)
            .bind(&m.customer)
            .bind(&m.from_number)
            .bind(&m.to_number)
            .bind(&m.body)
            .bind(m.num_media)
            .bind(&m.media_urls)
            .bind(&m.status)
            .bind(m.segments)
            .bind(m.error_code)
            .bind(&m.notification_id)
            .bind(m.created_at)
            .bind(m.updated_at)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

pub async fn get_by_sid(db: &Db, sid: &str) -> Result<Option<MessageRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE message_sid = $1");
    Ok(with_db!(db, |p| sqlx::query_as::<_, MessageRow>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(sid)
    .fetch_optional(p)
    .await)?)
}

/// Moves a stored message's status forward (never back, never from one terminal status to another).
/// Returns false when there is no such message or the status would not move forward.
pub async fn record_status(
    db: &Db,
    sid: &str,
    status: &str,
    error_code: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(m) = get_by_sid(db, sid).await? else {
        return Ok(false);
    };
    if rank(status) <= rank(&m.status) {
        return Ok(false);
    }
    let n = with_db!(db, |p| {
        sqlx::query("UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), updated_at = $4 WHERE message_sid = $1 AND status = $5")
            .bind(sid)
            .bind(status)
            .bind(error_code)
            .bind(now)
            .bind(&m.status)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}
