//! Appointment rows: what the host app told Switchboard about a booking. Every tenant-facing query
//! takes the tenant id; the reminder job reads by Switchboard id inside its own transaction.
//!
//! `version` counts the changes that invalidate scheduled reminders (a new start time, a status
//! change). Reminder jobs carry the version they were scheduled for and do nothing when it moved on,
//! so rescheduling never has to find and delete the old jobs.

use crate::db::StoreError;
use crate::{with_db, with_tx};

use super::{Db, Tx};

/// Status of a booked appointment: reminders go out.
pub const BOOKED: &str = "BOOKED";
/// Status of a cancelled appointment: nothing goes out.
pub const CANCELED: &str = "CANCELED";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Appointment {
    /// Switchboard's id (UUID v7).
    pub id: String,
    pub tenant_id: String,
    /// The host app's id, unique per tenant.
    pub external_id: String,
    pub customer_name: String,
    /// E.164, validated on the way in.
    pub customer_phone: String,
    pub staff_id: Option<String>,
    pub staff_name: Option<String>,
    pub service: Option<String>,
    /// Epoch milliseconds.
    pub starts_at: i64,
    /// [`BOOKED`] or [`CANCELED`].
    pub status: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

crate::stored_row! {
    $ bind_appointment, COLUMNS, WIDTH for a: Appointment {
        id: &a.id,
        tenant_id: &a.tenant_id,
        external_id: &a.external_id,
        customer_name: &a.customer_name,
        customer_phone: &a.customer_phone,
        staff_id: &a.staff_id,
        staff_name: &a.staff_name,
        service: &a.service,
        starts_at: a.starts_at,
        status: &a.status,
        version: a.version,
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

/// Inserts `a` unless the tenant already has an appointment with its external id (a concurrent
/// create won). Returns true when this insert created it.
pub async fn insert(tx: &mut Tx, a: &Appointment) -> Result<bool, StoreError> {
    let sql = super::row::insert_sql(
        "appointments",
        COLUMNS,
        WIDTH,
        "ON CONFLICT (tenant_id, external_id) DO NOTHING",
    );
    let n = with_tx!(tx, |c| {
        bind_appointment!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), a)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
    .map_err(StoreError::from_sqlx)?;
    Ok(n > 0)
}

/// Writes every mutable column of `a` (by tenant and id). NotFound when it is gone.
pub async fn update(tx: &mut Tx, a: &Appointment) -> Result<(), StoreError> {
    let n = with_tx!(tx, |c| {
        sqlx::query(
            "UPDATE appointments SET customer_name = $3, customer_phone = $4, staff_id = $5, staff_name = $6, \
             service = $7, starts_at = $8, status = $9, version = $10, updated_at = $11 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&a.tenant_id)
        .bind(&a.id)
        .bind(&a.customer_name)
        .bind(&a.customer_phone)
        .bind(&a.staff_id)
        .bind(&a.staff_name)
        .bind(&a.service)
        .bind(a.starts_at)
        .bind(&a.status)
        .bind(a.version)
        .bind(a.updated_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })
    .map_err(StoreError::from_sqlx)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// The tenant's appointment with `external_id`, locked for the rest of `tx` on PostgreSQL so two
/// concurrent upserts of one appointment cannot both compute the next version (SQLite's
/// `BEGIN IMMEDIATE` already serialises writers).
pub async fn get_by_external_for_update(
    tx: &mut Tx,
    tenant_id: &str,
    external_id: &str,
) -> Result<Option<Appointment>, StoreError> {
    let lock = tx.row_lock();
    let sql = format!(
        "SELECT {COLUMNS} FROM appointments WHERE tenant_id = $1 AND external_id = $2 {lock}"
    );
    Ok(with_tx!(tx, |c| {
        sqlx::query_as::<_, Appointment>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(external_id)
            .fetch_optional(c)
            .await
    })?)
}

/// An appointment by Switchboard id (the reminder job's first look; not tenant-scoped because the
/// job row names the appointment, not a caller).
pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<Appointment>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM appointments WHERE id = $1");
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, Appointment>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id)
            .fetch_optional(p)
            .await
    })?)
}

/// An appointment by Switchboard id inside `tx`, locked on PostgreSQL until `tx` ends so an upsert
/// of the same appointment waits for a reminder being queued (and vice versa).
pub async fn get_by_id_tx(tx: &mut Tx, id: &str) -> Result<Option<Appointment>, StoreError> {
    let lock = tx.row_lock();
    let sql = format!("SELECT {COLUMNS} FROM appointments WHERE id = $1 {lock}");
    Ok(with_tx!(tx, |c| {
        sqlx::query_as::<_, Appointment>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// The tenant's appointment whose external id, or else Switchboard id, is `key`. The host app's id
/// wins if (absurdly) one appointment's external id equals another's Switchboard id.
pub async fn find(db: &Db, tenant_id: &str, key: &str) -> Result<Option<Appointment>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM appointments WHERE tenant_id = $1 AND (external_id = $2 OR id = $2) \
         ORDER BY CASE WHEN external_id = $2 THEN 0 ELSE 1 END LIMIT 1"
    );
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, Appointment>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(key)
            .fetch_optional(p)
            .await
    })?)
}

/// Filters for a tenant's appointment listing.
#[derive(Debug, Clone, Default)]
pub struct AppointmentFilter {
    /// Starting at or after this instant (epoch ms).
    pub from_ms: Option<i64>,
    /// Starting before this instant (exclusive).
    pub to_ms: Option<i64>,
    pub status: Option<String>,
}

/// A page of the tenant's appointments in start order, and the total matching.
pub async fn list(
    db: &Db,
    tenant_id: &str,
    f: &AppointmentFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Appointment>, i64), StoreError> {
    let filter = "tenant_id = $1 AND ($2 IS NULL OR starts_at >= $2) AND ($3 IS NULL OR starts_at < $3) \
        AND ($4 IS NULL OR status = $4)";
    let sql = format!(
        "SELECT {COLUMNS} FROM appointments WHERE {filter} ORDER BY starts_at, id LIMIT $5 OFFSET $6"
    );
    let count_sql = format!("SELECT COUNT(*) FROM appointments WHERE {filter}");
    let rows = with_db!(db, |p| {
        sqlx::query_as::<_, Appointment>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant_id)
            .bind(f.from_ms)
            .bind(f.to_ms)
            .bind(&f.status)
            .bind(limit)
            .bind(offset)
            .fetch_all(p)
            .await
    })?;
    let total: (i64,) = with_db!(db, |p| {
        sqlx::query_as(sqlx::AssertSqlSafe(count_sql.as_str()))
            .bind(tenant_id)
            .bind(f.from_ms)
            .bind(f.to_ms)
            .bind(&f.status)
            .fetch_one(p)
            .await
    })?;
    Ok((rows, total.0))
}
