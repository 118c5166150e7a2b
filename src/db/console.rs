//! The web console's sign-in rows (migration 0011): single-use login links and browser sessions,
//! both stored by the SHA-256 digest of their token (see `console::session`).

use crate::db::StoreError;
use crate::with_db;

use super::Db;

/// A signed-in browser.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsoleSession {
    pub token_hash: String,
    /// `None`: the operator, who sees every tenant.
    pub tenant_id: Option<String>,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn insert_link(
    db: &Db,
    token_hash: &str,
    tenant_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    with_db!(db, |p| {
        sqlx::query(
            "INSERT INTO console_links (token_hash, tenant_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(tenant_id)
        .bind(now)
        .bind(expires_at)
        .execute(p)
        .await
        .map(|_| ())
    })
    .map_err(StoreError::from_sqlx)
}

/// Uses the link up and answers its tenant, when it exists, is unused and has not expired. One
/// conditional UPDATE: of two redemptions racing, only one changes the row.
pub async fn redeem_link(
    db: &Db,
    token_hash: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    Ok(with_db!(db, |p| {
        sqlx::query_scalar::<_, String>(
            "UPDATE console_links SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING tenant_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(p)
        .await
    })?)
}

pub async fn insert_session(db: &Db, s: &ConsoleSession) -> Result<(), StoreError> {
    with_db!(db, |p| {
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, tenant_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.token_hash)
        .bind(&s.tenant_id)
        .bind(&s.csrf_token)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(p)
        .await
        .map(|_| ())
    })
    .map_err(StoreError::from_sqlx)
}

/// The session with this digest, unless it has expired.
pub async fn get_session(
    db: &Db,
    token_hash: &str,
    now: i64,
) -> Result<Option<ConsoleSession>, StoreError> {
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, ConsoleSession>(
            "SELECT token_hash, tenant_id, csrf_token, created_at, expires_at \
             FROM console_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(p)
        .await
    })?)
}

pub async fn delete_session(db: &Db, token_hash: &str) -> Result<(), StoreError> {
    with_db!(db, |p| {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(p)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Forgets expired links and sessions (run on each sign-in, so the tables stay small).
pub async fn purge_expired(db: &Db, now: i64) -> Result<(), StoreError> {
    with_db!(db, |p| {
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(p)
            .await
            .map(|_| ())
    })?;
    with_db!(db, |p| {
        sqlx::query("DELETE FROM console_links WHERE expires_at <= $1")
            .bind(now)
            .execute(p)
            .await
            .map(|_| ())
    })?;
    Ok(())
}
