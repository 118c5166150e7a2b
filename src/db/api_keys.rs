//! Tenant API keys. Only a SHA-256 hash of the secret is stored; the key is found by its public
//! prefix and the hash compared in constant time (see `auth::api_key`).

use crate::db::StoreError;
use crate::with_db;

use super::Db;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

crate::stored_row! {
    $ bind_key, COLUMNS, WIDTH for k: ApiKey {
        id: &k.id,
        tenant_id: &k.tenant_id,
        name: &k.name,
        prefix: &k.prefix,
        key_hash: &k.key_hash,
        created_at: k.created_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
    }
}

pub async fn insert(db: &Db, k: &ApiKey) -> Result<(), StoreError> {
    let sql = super::row::insert_sql("api_keys", COLUMNS, WIDTH, "");
    with_db!(db, |p| {
        bind_key!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), k)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

pub async fn get_by_prefix(db: &Db, prefix: &str) -> Result<Option<ApiKey>, StoreError> {
    // The prefix's tenant from the `api_key_prefixes` directory (prefixes are unique across
    // tenants there, see migration 0010), then the key within that tenant.
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys WHERE prefix = $1 \
         AND tenant_id = (SELECT tenant_id FROM api_key_prefixes WHERE prefix = $1)"
    );
    Ok(with_db!(db, |p| sqlx::query_as::<_, ApiKey>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(prefix)
    .fetch_optional(p)
    .await)?)
}

pub async fn list(db: &Db, tenant_id: &str) -> Result<Vec<ApiKey>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id");
    Ok(with_db!(db, |p| sqlx::query_as::<_, ApiKey>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(tenant_id)
    .fetch_all(p)
    .await)?)
}

/// Marks a key revoked; revoking twice keeps the first revocation time. NotFound for another
/// tenant's key.
pub async fn revoke(db: &Db, tenant_id: &str, id: &str, now: i64) -> Result<(), StoreError> {
    let n = with_db!(db, |p| {
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Records use, at most once a minute per key to keep hot keys from writing on every request.
pub async fn touch(db: &Db, tenant_id: &str, id: &str, now: i64) -> Result<(), StoreError> {
    with_db!(db, |p| {
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND tenant_id = $4 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(id)
            .bind(now)
            .bind(now - 60_000)
            .bind(tenant_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}
