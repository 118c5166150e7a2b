//! Opt-outs: a (tenant, phone) pair that texted STOP (or that Twilio reported as opted out).
//! Nothing is sent there until the person texts START.

use crate::db::StoreError;
use crate::{with_db, with_tx};

use super::{Db, Tx};

/// Records an opt-out; a repeat keeps the first one.
pub async fn add(
    tx: &mut Tx,
    tenant_id: &str,
    phone: &str,
    source: &str,
    now: i64,
) -> Result<(), StoreError> {
    with_tx!(tx, |c| {
        sqlx::query("INSERT INTO opt_outs (tenant_id, phone, source, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, phone) DO NOTHING")
            .bind(tenant_id)
            .bind(phone)
            .bind(source)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Clears an opt-out (START, YES, UNSTOP).
pub async fn remove(tx: &mut Tx, tenant_id: &str, phone: &str) -> Result<(), StoreError> {
    with_tx!(tx, |c| {
        sqlx::query("DELETE FROM opt_outs WHERE tenant_id = $1 AND phone = $2")
            .bind(tenant_id)
            .bind(phone)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn is_opted_out(db: &Db, tenant_id: &str, phone: &str) -> Result<bool, StoreError> {
    let row: Option<(String,)> = with_db!(db, |p| {
        sqlx::query_as("SELECT source FROM opt_outs WHERE tenant_id = $1 AND phone = $2")
            .bind(tenant_id)
            .bind(phone)
            .fetch_optional(p)
            .await
    })?;
    Ok(row.is_some())
}

/// How many opt-outs a tenant has (analytics).
pub async fn count(db: &Db, tenant_id: &str) -> Result<i64, StoreError> {
    let row: (i64,) = with_db!(db, |p| sqlx::query_as(
        "SELECT COUNT(*) FROM opt_outs WHERE tenant_id = $1"
    )
    .bind(tenant_id)
    .fetch_one(p)
    .await)?;
    Ok(row.0)
}

/// Which of `phones` have opted out of the tenant's texts.
pub async fn among(
    db: &Db,
    tenant_id: &str,
    phones: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    if phones.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT phone FROM opt_outs WHERE tenant_id = $1 AND phone IN ({})",
        super::row::placeholders(2, phones.len())
    );
    let rows: Vec<(String,)> = with_db!(db, |p| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(tenant_id);
        for phone in phones {
            q = q.bind(phone);
        }
        q.fetch_all(p).await
    })?;
    Ok(rows.into_iter().map(|(p,)| p).collect())
}
