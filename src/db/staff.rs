//! Staff rows: a tenant's employees, targets for forwarding and staff notifications.
//! Every query takes the tenant id, so one tenant can never see or touch another's staff.

use crate::db::StoreError;
use crate::domain::E164;
use crate::with_db;

use super::Db;

#[derive(Debug, Clone)]
pub struct Staff {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub phone: E164,
    pub email: Option<String>,
    pub role: String,
    pub priority: i64,
    pub on_duty: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: String,
    tenant_id: String,
    name: String,
    phone: String,
    email: Option<String>,
    role: String,
    priority: i64,
    on_duty: bool,
    created_at: i64,
    updated_at: i64,
}

crate::stored_row! {
    $ bind_staff, COLUMNS, WIDTH for s: Staff {
        id: &s.id,
        tenant_id: &s.tenant_id,
        name: &s.name,
        phone: s.phone.as_str(),
        email: &s.email,
        role: &s.role,
        priority: s.priority,
        on_duty: s.on_duty,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

impl TryFrom<StaffRow> for Staff {
    type Error = StoreError;
    fn try_from(r: StaffRow) -> Result<Self, StoreError> {
        Ok(Staff {
            phone: E164::parse("phone", &r.phone)
                .map_err(|e| StoreError::Corrupt(format!("staff {}: {e}", r.id)))?,
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            email: r.email,
            role: r.role,
            priority: r.priority,
            on_duty: r.on_duty,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub async fn insert(db: &Db, s: &Staff) -> Result<(), StoreError> {
    let sql = super::row::insert_sql("staff", COLUMNS, WIDTH, "");
    with_db!(db, |p| {
        bind_staff!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), s)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

pub async fn update(db: &Db, s: &Staff) -> Result<(), StoreError> {
    let n = with_db!(db, |p| {
        sqlx::query(
            "UPDATE staff SET name = $3, phone = $4, email = $5, role = $6, priority = $7, on_duty = $8, updated_at = $9 \
             WHERE id = $1 AND tenant_id = $2",
        )
        .bind(&s.id)
        .bind(&s.tenant_id)
        .bind(&s.name)
        .bind(s.phone.as_str())
        .bind(&s.email)
        .bind(&s.role)
        .bind(s.priority)
        .bind(s.on_duty)
        .bind(s.updated_at)
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

pub async fn get(db: &Db, tenant_id: &str, id: &str) -> Result<Option<Staff>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM staff WHERE tenant_id = $1 AND id = $2");
    let row: Option<StaffRow> = with_db!(db, |p| sqlx::query_as::<_, StaffRow>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(p)
    .await)?;
    row.map(Staff::try_from).transpose()
}

/// A tenant's staff in dialling order: priority ascending, then oldest first.
pub async fn list(db: &Db, tenant_id: &str) -> Result<Vec<Staff>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM staff WHERE tenant_id = $1 ORDER BY priority, created_at, id"
    );
    let rows: Vec<StaffRow> = with_db!(db, |p| sqlx::query_as::<_, StaffRow>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(tenant_id)
    .fetch_all(p)
    .await)?;
    rows.into_iter().map(Staff::try_from).collect()
}

pub async fn delete(db: &Db, tenant_id: &str, id: &str) -> Result<(), StoreError> {
    let n = with_db!(db, |p| {
        sqlx::query("DELETE FROM staff WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
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
