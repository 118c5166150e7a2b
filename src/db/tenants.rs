//! Tenant rows: a business with its number, time zone, hours, routing policy and templates.

use crate::db::StoreError;
use crate::domain::{
    BusinessHours, E164, MessagingSettings, RoutingPolicy, Slug, SubscriptionStatus, Templates,
    TimeZoneName,
};
use crate::with_db;

use super::Db;

/// A tenant as the rest of the program sees it: every field already parsed.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub slug: Slug,
    pub time_zone: TimeZoneName,
    pub twilio_number: Option<E164>,
    pub twilio_number_sid: Option<String>,
    pub subscription_status: SubscriptionStatus,
    pub stripe_customer_id: Option<String>,
    pub business_hours: BusinessHours,
    pub routing_policy: RoutingPolicy,
    pub templates: Templates,
    pub messaging: MessagingSettings,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
impl Tenant {
    /// "Bella Salon" (id `t1`, slug `bella`) in `time_zone`, active, with no number and every
    /// setting at its default: the unit tests' tenant, changed field by field where they need it.
    pub(crate) fn example(time_zone: &str) -> Tenant {
        Tenant {
            id: "t1".into(),
            name: "Bella Salon".into(),
            slug: Slug::parse("s", "bella").unwrap(),
            time_zone: TimeZoneName::parse("tz", time_zone).unwrap(),
            twilio_number: None,
            twilio_number_sid: None,
            subscription_status: SubscriptionStatus::Active,
            stripe_customer_id: None,
            business_hours: BusinessHours::default(),
            routing_policy: RoutingPolicy::default(),
            templates: Templates::default(),
            messaging: MessagingSettings::default(),
            created_at: 0,
            updated_at: 0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: String,
    name: String,
    slug: String,
    time_zone: String,
    twilio_number: Option<String>,
    twilio_number_sid: Option<String>,
    subscription_status: String,
    stripe_customer_id: Option<String>,
    business_hours: String,
    routing_policy: String,
    templates: String,
    messaging: String,
    created_at: i64,
    updated_at: i64,
}

crate::stored_row! {
    $ bind_tenant, COLUMNS, WIDTH for t: Tenant {
        id: &t.id,
        name: &t.name,
        slug: t.slug.as_str(),
        time_zone: t.time_zone.as_str(),
        twilio_number: t.twilio_number.as_ref().map(E164::as_str),
        twilio_number_sid: &t.twilio_number_sid,
        subscription_status: t.subscription_status.as_str(),
        stripe_customer_id: &t.stripe_customer_id,
        business_hours: json(&t.business_hours),
        routing_policy: json(&t.routing_policy),
        templates: json(&t.templates),
        messaging: json(&t.messaging),
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(r: TenantRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("tenant {}: {what}: {e}", r.id))
        };
        Ok(Tenant {
            slug: Slug::parse("slug", &r.slug).map_err(|e| corrupt("slug", &e))?,
            time_zone: TimeZoneName::parse("time_zone", &r.time_zone)
                .map_err(|e| corrupt("time_zone", &e))?,
            twilio_number: match &r.twilio_number {
                Some(n) => Some(
                    E164::parse("twilio_number", n).map_err(|e| corrupt("twilio_number", &e))?,
                ),
                None => None,
            },
            subscription_status: SubscriptionStatus::parse(
                "subscription_status",
                &r.subscription_status,
            )
            .map_err(|e| corrupt("subscription_status", &e))?,
            business_hours: serde_json::from_str(&r.business_hours)
                .map_err(|e| corrupt("business_hours", &e))?,
            routing_policy: serde_json::from_str(&r.routing_policy)
                .map_err(|e| corrupt("routing_policy", &e))?,
            templates: serde_json::from_str(&r.templates).map_err(|e| corrupt("templates", &e))?,
            messaging: serde_json::from_str(&r.messaging).map_err(|e| corrupt("messaging", &e))?,
            id: r.id,
            name: r.name,
            twilio_number_sid: r.twilio_number_sid,
            stripe_customer_id: r.stripe_customer_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain types serialise")
}

pub async fn insert(db: &Db, t: &Tenant) -> Result<(), StoreError> {
    let sql = super::row::insert_sql("tenants", COLUMNS, WIDTH, "");
    with_db!(db, |p| {
        bind_tenant!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), t)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Writes every mutable column of `t` (by id). NotFound when the tenant is gone.
pub async fn update<'a>(conn: impl Into<super::Conn<'a>>, t: &Tenant) -> Result<(), StoreError> {
    let res = crate::with_conn!(conn.into(), |p| {
        sqlx::query(
            "UPDATE tenants SET name = $2, slug = $3, time_zone = $4, twilio_number = $5, twilio_number_sid = $6, \
             subscription_status = $7, stripe_customer_id = $8, business_hours = $9, routing_policy = $10, \
             templates = $11, messaging = $12, updated_at = $13 WHERE id = $1",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.slug.as_str())
        .bind(t.time_zone.as_str())
        .bind(t.twilio_number.as_ref().map(E164::as_str))
        .bind(&t.twilio_number_sid)
        .bind(t.subscription_status.as_str())
        .bind(&t.stripe_customer_id)
        .bind(json(&t.business_hours))
        .bind(json(&t.routing_policy))
        .bind(json(&t.templates))
        .bind(json(&t.messaging))
        .bind(t.updated_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
    })
    .map_err(StoreError::from_sqlx)?;
    if res == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// The tenant whose `predicate` (on `$1`) holds.
async fn fetch_one_where(
    db: &Db,
    predicate: &str,
    value: &str,
) -> Result<Option<Tenant>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE {predicate}");
    let row: Option<TenantRow> = with_db!(db, |p| sqlx::query_as::<_, TenantRow>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(value)
    .fetch_optional(p)
    .await)?;
    row.map(Tenant::try_from).transpose()
}

/// The tenant `id`, read inside `tx` with its row locked (PostgreSQL; a SQLite write transaction
/// already excludes other writers), so a read-modify-write cannot lose a concurrent change.
pub async fn get_for_update(tx: &mut super::Tx, id: &str) -> Result<Option<Tenant>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tenants WHERE id = $1 {}",
        tx.row_lock()
    );
    let row: Option<TenantRow> = crate::with_tx!(tx, |c| sqlx::query_as::<_, TenantRow>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    row.map(Tenant::try_from).transpose()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Tenant>, StoreError> {
    fetch_one_where(db, "id = $1", id).await
}

/// A tenant by a global key: through the `tenant_keys` directory, which keeps slugs, numbers and
/// Stripe customers unique across tenants (see migration 0010), then by the tenant's id.
const BY_SLUG: &str = "id = (SELECT tenant_id FROM tenant_keys WHERE slug = $1)";
const BY_NUMBER: &str = "id = (SELECT tenant_id FROM tenant_keys WHERE twilio_number = $1)";

pub async fn get_by_slug(db: &Db, slug: &str) -> Result<Option<Tenant>, StoreError> {
    fetch_one_where(db, BY_SLUG, slug).await
}

pub async fn get_by_number(db: &Db, number: &E164) -> Result<Option<Tenant>, StoreError> {
    fetch_one_where(db, BY_NUMBER, number.as_str()).await
}

/// Finds a tenant by id or, failing that, by slug (the CLI accepts either).
pub async fn find(db: &Db, id_or_slug: &str) -> Result<Option<Tenant>, StoreError> {
    match get(db, id_or_slug).await? {
        Some(t) => Ok(Some(t)),
        None => get_by_slug(db, id_or_slug).await,
    }
}

/// A page of tenants, oldest first, and the total count.
pub async fn list(db: &Db, limit: i64, offset: i64) -> Result<(Vec<Tenant>, i64), StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM tenants ORDER BY created_at, id LIMIT $1 OFFSET $2");
    let rows: Vec<TenantRow> = with_db!(db, |p| sqlx::query_as::<_, TenantRow>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(p)
    .await)?;
    let total: (i64,) = with_db!(db, |p| sqlx::query_as("SELECT COUNT(*) FROM tenants")
        .fetch_one(p)
        .await)?;
    Ok((
        rows.into_iter()
            .map(Tenant::try_from)
            .collect::<Result<_, _>>()?,
        total.0,
    ))
}

pub async fn delete(db: &Db, id: &str) -> Result<(), StoreError> {
    let n = with_db!(db, |p| {
        sqlx::query("DELETE FROM tenants WHERE id = $1")
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
