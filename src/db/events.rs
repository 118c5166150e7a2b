//! Event, relay endpoint, delivery and delivery-attempt rows.

use crate::db::StoreError;
use crate::{with_db, with_tx};

use super::batch::Val;
use super::filter::{Where, bind_vals};
use super::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: String,
    pub tenant_id: Option<String>,
    pub r#type: String,
    pub ordering_key: Option<String>,
    pub payload: String,
    pub created_at: i64,
}

/// `Deserialize` reads a row as PostgreSQL's `json_agg` writes it (`db::batch::pg_load`).
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub url: String,
    pub secret: String,
    pub event_types: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub description: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Endpoint {
    pub fn types(&self) -> Vec<String> {
        serde_json::from_str(&self.event_types).unwrap_or_default()
    }
    pub fn wants(&self, event_type: &str) -> bool {
        let t = self.types();
        t.is_empty() || t.iter().any(|x| x == event_type)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub ordering_key: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    pub id: String,
    pub delivery_id: String,
    pub at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

crate::stored_row! {
    $ bind_endpoint, ENDPOINT_COLUMNS, ENDPOINT_WIDTH for e: Endpoint {
        id: &e.id,
        tenant_id: &e.tenant_id,
        kind: &e.kind,
        url: &e.url,
        secret: &e.secret,
        event_types: &e.event_types,
        enabled: e.enabled,
        disabled_reason: &e.disabled_reason,
        description: &e.description,
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

crate::stored_row! {
    $ bind_delivery, DELIVERY_COLUMNS, DELIVERY_WIDTH for d: Delivery {
        id: &d.id,
        event_id: &d.event_id,
        endpoint_id: &d.endpoint_id,
        ordering_key: &d.ordering_key,
        status: &d.status,
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        last_error: &d.last_error,
        created_at: d.created_at,
        updated_at: d.updated_at,
        delivered_at: d.delivered_at,
    }
}

pub async fn insert_event(tx: &mut Tx, e: &Event) -> Result<(), StoreError> {
    with_tx!(tx, |c| {
        sqlx::query("INSERT INTO events (id, tenant_id, type, ordering_key, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&e.id)
            .bind(&e.tenant_id)
            .bind(&e.r#type)
            .bind(&e.ordering_key)
            .bind(&e.payload)
            .bind(e.created_at)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Enabled endpoints that receive `tenant_id`'s events: its own and the global ones.
pub async fn endpoints_for(
    tx: &mut Tx,
    tenant_id: Option<&str>,
) -> Result<Vec<Endpoint>, StoreError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM relay_endpoints WHERE enabled = TRUE AND (tenant_id IS NULL OR tenant_id = $1)"
    );
    Ok(with_tx!(tx, |c| sqlx::query_as::<_, Endpoint>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(tenant_id)
    .fetch_all(c)
    .await)?)
}

pub async fn insert_delivery(tx: &mut Tx, d: &Delivery) -> Result<(), StoreError> {
    let sql = super::row::insert_sql("deliveries", DELIVERY_COLUMNS, DELIVERY_WIDTH, "");
    with_tx!(tx, |c| {
        bind_delivery!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), d)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn get_event(db: &Db, id: &str) -> Result<Option<Event>, StoreError> {
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, Event>("SELECT id, tenant_id, type, ordering_key, payload, created_at FROM events WHERE id = $1").bind(id).fetch_optional(p).await
    })?)
}

/// Events, newest first, optionally for one tenant and/or type.
pub async fn list_events(
    db: &Db,
    tenant_id: Option<&str>,
    event_type: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Event>, i64), StoreError> {
    let (w, sql, count) = list_events_query(tenant_id, event_type);
    let rows = with_db!(db, |p| {
        bind_vals!(
            sqlx::query_as::<_, Event>(sqlx::AssertSqlSafe(sql.as_str())),
            &w.vals
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await
    })?;
    let total: (i64,) = with_db!(db, |p| {
        bind_vals!(sqlx::query_as(sqlx::AssertSqlSafe(count.as_str())), &w.vals)
            .fetch_one(p)
            .await
    })?;
    Ok((rows, total.0))
}

/// [`list_events`]' page query and its count, filtering by the tenant (`$1`) and then the type
/// when asked, with the page's limit and offset last. The filter holds only the conditions given
/// (see `db::filter`), so each backend plans for what is asked: on SQLite newest first along
/// `events_by_time`, stopping once the page is full; on PostgreSQL a tenant's events along
/// `events_by_tenant` (migration 0015).
pub fn list_events_sql(by_tenant: bool, by_type: bool) -> (String, String) {
    let (_, sql, count) = list_events_query(by_tenant.then_some(""), by_type.then_some(""));
    (sql, count)
}

/// The filter with its values, the page query and the count query.
fn list_events_query(tenant_id: Option<&str>, event_type: Option<&str>) -> (Where, String, String) {
    let mut w = Where::new();
    if let Some(t) = tenant_id {
        w.and("tenant_id = ?", [Val::Text(t.to_string())]);
    }
    if let Some(t) = event_type {
        w.and("type = ?", [Val::Text(t.to_string())]);
    }
    let sql = format!(
        "SELECT id, tenant_id, type, ordering_key, payload, created_at FROM events{} \
         ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
        w.clause(),
        w.next(1),
        w.next(2)
    );
    let count = format!("SELECT COUNT(*) FROM events{}", w.clause());
    (w, sql, count)
}

pub async fn get_endpoint(db: &Db, id: &str) -> Result<Option<Endpoint>, StoreError> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM relay_endpoints WHERE id = $1");
    Ok(with_db!(db, |p| sqlx::query_as::<_, Endpoint>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// Endpoint `id` when it is `tenant_id`'s own (a global endpoint is no tenant's).
pub async fn get_tenant_endpoint(
    db: &Db,
    tenant_id: &str,
    id: &str,
) -> Result<Option<Endpoint>, StoreError> {
    let sql =
        format!("SELECT {ENDPOINT_COLUMNS} FROM relay_endpoints WHERE tenant_id = $1 AND id = $2");
    Ok(with_db!(db, |p| sqlx::query_as::<_, Endpoint>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// All endpoints, or one tenant's (global ones have no tenant).
pub async fn list_endpoints(db: &Db, tenant_id: Option<&str>) -> Result<Vec<Endpoint>, StoreError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM relay_endpoints WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY created_at, id"
    );
    Ok(with_db!(db, |p| sqlx::query_as::<_, Endpoint>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(tenant_id)
    .fetch_all(p)
    .await)?)
}

pub async fn insert_endpoint(db: &Db, e: &Endpoint) -> Result<(), StoreError> {
    let sql = super::row::insert_sql("relay_endpoints", ENDPOINT_COLUMNS, ENDPOINT_WIDTH, "");
    with_db!(db, |p| {
        bind_endpoint!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), e)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

pub async fn save_endpoint(db: &Db, e: &Endpoint) -> Result<(), StoreError> {
    let n = with_db!(db, |p| {
        sqlx::query(
            "UPDATE relay_endpoints SET url = $2, secret = $3, event_types = $4, enabled = $5, disabled_reason = $6, \
             description = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(&e.id)
        .bind(&e.url)
        .bind(&e.secret)
        .bind(&e.event_types)
        .bind(e.enabled)
        .bind(&e.disabled_reason)
        .bind(&e.description)
        .bind(e.updated_at)
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

pub async fn delete_endpoint(db: &Db, id: &str) -> Result<(), StoreError> {
    let n = with_db!(db, |p| sqlx::query(
        "DELETE FROM relay_endpoints WHERE id = $1"
    )
    .bind(id)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub async fn get_delivery(db: &Db, id: &str) -> Result<Option<Delivery>, StoreError> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1");
    Ok(with_db!(db, |p| sqlx::query_as::<_, Delivery>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// Delivery `id` when it goes to one of `tenant_id`'s own endpoints.
pub async fn get_tenant_delivery(
    db: &Db,
    tenant_id: &str,
    id: &str,
) -> Result<Option<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1 \
         AND endpoint_id IN (SELECT id FROM relay_endpoints WHERE tenant_id = $2)"
    );
    Ok(with_db!(db, |p| sqlx::query_as::<_, Delivery>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(id)
    .bind(tenant_id)
    .fetch_optional(p)
    .await)?)
}

pub async fn save_delivery(db: &Db, d: &Delivery) -> Result<(), StoreError> {
    with_db!(db, |p| {
        sqlx::query(
            "UPDATE deliveries SET status = $2, attempts = $3, last_status_code = $4, last_error = $5, updated_at = $6, delivered_at = $7 WHERE id = $1",
        )
        .bind(&d.id)
        .bind(&d.status)
        .bind(d.attempts)
        .bind(d.last_status_code)
        .bind(&d.last_error)
        .bind(d.updated_at)
        .bind(d.delivered_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Whether an earlier delivery of the same ordering key to the same endpoint is still pending.
pub async fn earlier_pending(db: &Db, d: &Delivery) -> Result<bool, StoreError> {
    let Some(key) = &d.ordering_key else {
        return Ok(false);
    };
    let row: Option<(String,)> = with_db!(db, |p| {
        sqlx::query_as(
            "SELECT id FROM deliveries WHERE endpoint_id = $1 AND ordering_key = $2 AND status = 'pending' \
             AND (created_at < $3 OR (created_at = $3 AND id < $4)) LIMIT 1",
        )
        .bind(&d.endpoint_id)
        .bind(key)
        .bind(d.created_at)
        .bind(&d.id)
        .fetch_optional(p)
        .await
    })?;
    Ok(row.is_some())
}

/// Deliveries to one endpoint, newest first, optionally by status.
pub async fn list_deliveries(
    db: &Db,
    endpoint_id: &str,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE endpoint_id = $1 AND ($2 IS NULL OR status = $2) ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, Delivery>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(endpoint_id)
            .bind(status)
            .bind(limit)
            .bind(offset)
            .fetch_all(p)
            .await
    })?)
}

pub async fn insert_attempt(db: &Db, a: &Attempt) -> Result<(), StoreError> {
    with_db!(db, |p| {
        sqlx::query("INSERT INTO delivery_attempts (id, delivery_id, at, status_code, latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&a.id)
            .bind(&a.delivery_id)
            .bind(a.at)
            .bind(a.status_code)
            .bind(a.latency_ms)
            .bind(&a.error)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn list_attempts(db: &Db, delivery_id: &str) -> Result<Vec<Attempt>, StoreError> {
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, Attempt>("SELECT id, delivery_id, at, status_code, latency_ms, error FROM delivery_attempts WHERE delivery_id = $1 ORDER BY at, id")
            .bind(delivery_id)
            .fetch_all(p)
            .await
    })?)
}

/// The attempts of the deliveries `delivery_ids`, oldest first.
pub async fn attempts_for(db: &Db, delivery_ids: &[String]) -> Result<Vec<Attempt>, StoreError> {
    if delivery_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, delivery_id, at, status_code, latency_ms, error FROM delivery_attempts \
         WHERE delivery_id IN ({}) ORDER BY at, id",
        super::row::placeholders(1, delivery_ids.len())
    );
    Ok(with_db!(db, |p| {
        let mut q = sqlx::query_as::<_, Attempt>(sqlx::AssertSqlSafe(sql.as_str()));
        for id in delivery_ids {
            q = q.bind(id);
        }
        q.fetch_all(p).await
    })?)
}
