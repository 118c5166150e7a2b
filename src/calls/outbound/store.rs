//! The `outbound_calls` rows: what each outbound call was asked for.

use std::collections::HashMap;

use super::*;

#[derive(sqlx::FromRow)]
struct Row {
    call_id: String,
    message: Option<String>,
    record: bool,
    user_id: Option<String>,
    client_id: Option<String>,
    assistant_id: Option<String>,
    metadata: Option<String>,
}

pub async fn insert(
    tx: &mut Tx,
    call: &Call,
    r: &CallRequestView,
    now: i64,
) -> Result<(), StoreError> {
    with_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO outbound_calls (call_id, tenant_id, message, record, user_id, client_id, assistant_id, \
             metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (call_id, tenant_id) DO NOTHING",
        )
        .bind(&call.id)
        .bind(&call.tenant_id)
        .bind(&r.message)
        .bind(r.record)
        .bind(&r.user_id)
        .bind(&r.client_id)
        .bind(&r.assistant_id)
        .bind(r.metadata.as_ref().map(Value::to_string))
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// The requests of the tenant's calls among `call_ids`, by call id.
pub async fn for_calls(
    db: &crate::db::Db,
    tenant_id: &str,
    call_ids: &[String],
) -> Result<HashMap<String, CallRequestView>, StoreError> {
    if call_ids.is_empty() {
        return Ok(HashMap::new());
    }
    // Only numbered placeholders are spliced into the SQL.
    let sql = format!(
        "SELECT call_id, message, record, user_id, client_id, assistant_id, metadata FROM outbound_calls \
         WHERE tenant_id = $1 AND call_id IN ({})",
        crate::db::row::placeholders(2, call_ids.len())
    );
    let rows: Vec<Row> = with_db!(db, |p| {
        let mut q = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str())).bind(tenant_id);
        for id in call_ids {
            q = q.bind(id);
        }
        q.fetch_all(p).await
    })?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let view = CallRequestView {
                message: r.message,
                record: r.record,
                user_id: r.user_id,
                client_id: r.client_id,
                assistant_id: r.assistant_id,
                metadata: r.metadata.and_then(|m| serde_json::from_str(&m).ok()),
            };
            (r.call_id, view)
        })
        .collect())
}
