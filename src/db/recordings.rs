//! Recording and transcription rows. A recording is stored once per Twilio RecordingSid, whichever
//! callback names it first (recording status or transcription); its `processing` column is the
//! state of the processing job. Tenant-facing reads take the tenant id, so another tenant's
//! recording is as unknown as a made-up one.

use crate::db::StoreError;
use crate::{with_db, with_tx};

use super::{Db, Tx};

/// `processing` values.
pub const WAITING: &str = "waiting";
pub const PENDING: &str = "pending";
pub const DONE: &str = "done";
pub const SKIPPED: &str = "skipped";
pub const FAILED: &str = "failed";

/// `kind` values.
pub const VOICEMAIL: &str = "voicemail";
pub const CALL: &str = "call";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recording {
    pub id: String,
    pub tenant_id: String,
    pub call_id: String,
    pub call_sid: String,
    pub recording_sid: String,
    /// [`VOICEMAIL`] or [`CALL`].
    pub kind: String,
    /// Twilio's `RecordingSource` (`RecordVerb`, `DialVerb`, `OutboundAPI`, …).
    pub source: Option<String>,
    /// Twilio's `RecordingStatus`.
    pub status: String,
    pub twilio_url: Option<String>,
    pub duration_seconds: Option<i64>,
    pub channels: Option<i64>,
    pub error_code: Option<i64>,
    /// [`WAITING`], [`PENDING`], [`DONE`], [`SKIPPED`] or [`FAILED`].
    pub processing: String,
    pub processing_error: Option<String>,
    pub storage_key: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub twilio_transcript: Option<String>,
    /// `completed` or `failed`, once Twilio's transcription callback came.
    pub twilio_transcript_status: Option<String>,
    /// When Twilio reported the recording completed (epoch ms).
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When someone at the business marked the voicemail handled (epoch ms); `None`: new.
    pub handled_at: Option<i64>,
}

crate::stored_row! {
    $ bind_recording, COLUMNS, WIDTH for r: Recording {
        id: &r.id,
        tenant_id: &r.tenant_id,
        call_id: &r.call_id,
        call_sid: &r.call_sid,
        recording_sid: &r.recording_sid,
        kind: &r.kind,
        source: &r.source,
        status: &r.status,
        twilio_url: &r.twilio_url,
        duration_seconds: r.duration_seconds,
        channels: r.channels,
        error_code: r.error_code,
        processing: &r.processing,
        processing_error: &r.processing_error,
        storage_key: &r.storage_key,
        content_type: &r.content_type,
        size_bytes: r.size_bytes,
        twilio_transcript: &r.twilio_transcript,
        twilio_transcript_status: &r.twilio_transcript_status,
        completed_at: r.completed_at,
        created_at: r.created_at,
        updated_at: r.updated_at,
        handled_at: r.handled_at,
    }
}

/// Inserts `r` unless a recording with its RecordingSid exists. True when this insert created it.
pub async fn insert_if_new(tx: &mut Tx, r: &Recording) -> Result<bool, StoreError> {
    let sql = super::row::insert_sql(
        "recordings",
        COLUMNS,
        WIDTH,
        "ON CONFLICT (recording_sid, tenant_id) DO NOTHING",
    );
    let n = with_tx!(tx, |c| {
        bind_recording!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), r)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

const SAVE_SQL: &str = "UPDATE recordings SET kind = $2, source = $3, status = $4, twilio_url = $5, \
    duration_seconds = $6, channels = $7, error_code = $8, processing = $9, processing_error = $10, storage_key = $11, \
    content_type = $12, size_bytes = $13, twilio_transcript = $14, twilio_transcript_status = $15, completed_at = $16, \
    updated_at = $17 WHERE id = $1 AND tenant_id = $18";

macro_rules! bind_save {
    ($q:expr, $r:expr) => {
        $q.bind(&$r.id)
            .bind(&$r.kind)
            .bind(&$r.source)
            .bind(&$r.status)
            .bind(&$r.twilio_url)
            .bind($r.duration_seconds)
            .bind($r.channels)
            .bind($r.error_code)
            .bind(&$r.processing)
            .bind(&$r.processing_error)
            .bind(&$r.storage_key)
            .bind(&$r.content_type)
            .bind($r.size_bytes)
            .bind(&$r.twilio_transcript)
            .bind(&$r.twilio_transcript_status)
            .bind($r.completed_at)
            .bind($r.updated_at)
            .bind(&$r.tenant_id)
    };
}

/// Writes the mutable columns of `r` (by tenant and id), on the pool or inside the caller's transaction.
pub async fn save<'a>(conn: impl Into<super::Conn<'a>>, r: &Recording) -> Result<(), StoreError> {
    crate::with_conn!(conn.into(), |c| bind_save!(sqlx::query(SAVE_SQL), r)
        .execute(c)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The recording with `recording_sid`, on the pool or inside the caller's transaction.
pub async fn get_by_sid<'a>(
    conn: impl Into<super::Conn<'a>>,
    recording_sid: &str,
) -> Result<Option<Recording>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM recordings WHERE recording_sid = $1");
    Ok(crate::with_conn!(conn.into(), |c| sqlx::query_as::<
        _,
        Recording,
    >(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(recording_sid)
    .fetch_optional(c)
    .await)?)
}

/// Any tenant's recording by id: for the processing job, which carries only the id.
pub async fn get(db: &Db, id: &str) -> Result<Option<Recording>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM recordings WHERE id = $1");
    Ok(with_db!(db, |p| sqlx::query_as::<_, Recording>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// One of the tenant's recordings by id or by RecordingSid.
pub async fn find(
    db: &Db,
    tenant_id: &str,
    id_or_sid: &str,
) -> Result<Option<Recording>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM recordings WHERE tenant_id = $1 AND (id = $2 OR recording_sid = $2)"
    );
    Ok(with_db!(db, |p| sqlx::query_as::<_, Recording>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(tenant_id)
    .bind(id_or_sid)
    .fetch_optional(p)
    .await)?)
}

/// Filters of a recording listing.
#[derive(Debug, Clone, Default)]
pub struct RecordingFilter {
    /// [`VOICEMAIL`] or [`CALL`].
    pub kind: Option<String>,
    pub call_sid: Option<String>,
    /// Only recordings Twilio completed (not absent, failed or in progress).
    pub completed_only: bool,
    /// Only handled (`Some(true)`) or only new (`Some(false)`) recordings.
    pub handled: Option<bool>,
    /// Keyset paging: only recordings listed after this one (`created_at`, `id`) in newest-first
    /// order. Used with offset 0.
    pub before: Option<(i64, String)>,
}

const LIST_FILTER: &str = "tenant_id = $1 AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR call_sid = $3) \
    AND ($4 = FALSE OR status = 'completed') \
    AND ($5 IS NULL OR ($5 = TRUE AND handled_at IS NOT NULL) OR ($5 = FALSE AND handled_at IS NULL))";

/// A page of the tenant's recordings, newest first, and the total matching (the total ignores
/// `before`: it counts every page).
pub async fn list(
    db: &Db,
    tenant_id: &str,
    f: &RecordingFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Recording>, i64), StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM recordings WHERE {LIST_FILTER} \
         AND ($6 IS NULL OR created_at < $6 OR (created_at = $6 AND id < $7)) \
         ORDER BY created_at DESC, id DESC LIMIT $8 OFFSET $9"
    );
    let count_sql = format!("SELECT COUNT(*) FROM recordings WHERE {LIST_FILTER}");
    let (before_at, before_id) = match &f.before {
        Some((at, id)) => (Some(*at), Some(id.as_str())),
        None => (None, None),
    };
    let rows = with_db!(db, |p| {
        sqlx::query_as::<_, Recording>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(&f.kind)
            .bind(&f.call_sid)
            .bind(f.completed_only)
            .bind(f.handled)
            .bind(before_at)
            .bind(before_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(p)
            .await
    })?;
    let total: (i64,) = with_db!(db, |p| {
        sqlx::query_as(sqlx::AssertSqlSafe(count_sql.as_str()))
            .bind(tenant_id)
            .bind(&f.kind)
            .bind(&f.call_sid)
            .bind(f.completed_only)
            .bind(f.handled)
            .fetch_one(p)
            .await
    })?;
    Ok((rows, total.0))
}

/// Marks the tenant's voicemail `id` handled at `handled_at`, or new again (`None`). False when the
/// tenant has no such voicemail.
pub async fn set_handled(
    db: &Db,
    tenant_id: &str,
    id: &str,
    handled_at: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    // A repeat keeps the first time it was marked handled.
    let n = with_tx!(&mut tx, |c| {
        sqlx::query(
            "UPDATE recordings SET handled_at = CASE WHEN $3 IS NULL THEN NULL ELSE COALESCE(handled_at, $3) END, \
             updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND kind = 'voicemail'",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(handled_at)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    tx.commit().await?;
    Ok(n > 0)
}

/// Brings the pending job with `dedupe_key` forward to `now`, when it is waiting for later: the
/// transcription it was waiting for has arrived.
pub async fn nudge_job(tx: &mut Tx, dedupe_key: &str, now: i64) -> Result<bool, StoreError> {
    let n = with_tx!(tx, |c| {
        sqlx::query(
            "UPDATE jobs SET run_at = $2, updated_at = $2 WHERE dedupe_key = $1 AND status = 'pending' AND run_at > $2",
        )
        .bind(dedupe_key)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Transcription {
    pub id: String,
    pub tenant_id: String,
    pub recording_id: String,
    pub call_id: String,
    /// `none`, `twilio` or `openai`.
    pub provider: String,
    pub text: String,
    pub transcript_error: Option<String>,
    pub summary: String,
    pub call_reason: String,
    pub sentiment: String,
    /// `rules`, `llm` or `llm+rules`.
    pub analysis_source: String,
    pub created_at: i64,
}

crate::stored_row! {
    $ bind_transcription, T_COLUMNS, T_WIDTH for t: Transcription {
        id: &t.id,
        tenant_id: &t.tenant_id,
        recording_id: &t.recording_id,
        call_id: &t.call_id,
        provider: &t.provider,
        text: &t.text,
        transcript_error: &t.transcript_error,
        summary: &t.summary,
        call_reason: &t.call_reason,
        sentiment: &t.sentiment,
        analysis_source: &t.analysis_source,
        created_at: t.created_at,
    }
}

/// Inserts `t` unless its recording already has a transcription. True when this insert created it.
pub async fn insert_transcription(tx: &mut Tx, t: &Transcription) -> Result<bool, StoreError> {
    let sql = super::row::insert_sql(
        "transcriptions",
        T_COLUMNS,
        T_WIDTH,
        "ON CONFLICT (recording_id, tenant_id) DO NOTHING",
    );
    let n = with_tx!(tx, |c| {
        bind_transcription!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), t)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

/// The transcriptions of the tenant's recordings among `recording_ids`.
pub async fn transcriptions_for(
    db: &Db,
    tenant_id: &str,
    recording_ids: &[String],
) -> Result<Vec<Transcription>, StoreError> {
    if recording_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {T_COLUMNS} FROM transcriptions WHERE tenant_id = $1 AND recording_id IN ({})",
        super::row::placeholders(2, recording_ids.len())
    );
    Ok(with_db!(db, |p| {
        let mut q =
            sqlx::query_as::<_, Transcription>(sqlx::AssertSqlSafe(sql.as_str())).bind(tenant_id);
        for id in recording_ids {
            q = q.bind(id);
        }
        q.fetch_all(p).await
    })?)
}

/// The parties of a recorded call, for listings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallParties {
    pub id: String,
    pub direction: String,
    pub from_number: String,
    pub to_number: String,
}

/// Direction and numbers of the tenant's calls among `call_ids`.
pub async fn parties_for(
    db: &Db,
    tenant_id: &str,
    call_ids: &[String],
) -> Result<Vec<CallParties>, StoreError> {
    if call_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, direction, from_number, to_number FROM calls WHERE tenant_id = $1 AND id IN ({})",
        super::row::placeholders(2, call_ids.len())
    );
    Ok(with_db!(db, |p| {
        let mut q =
            sqlx::query_as::<_, CallParties>(sqlx::AssertSqlSafe(sql.as_str())).bind(tenant_id);
        for id in call_ids {
            q = q.bind(id);
        }
        q.fetch_all(p).await
    })?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_from_the_first() {
        assert_eq!(super::super::row::placeholders(2, 3), "$2, $3, $4");
        assert_eq!(super::super::row::placeholders(1, 1), "$1");
    }
}
