//! The `number_provisioning` rows and the tenant number columns they drive.
//!
//! Lock order, everywhere: the tenant row first, then its provisioning row. The subscription change
//! takes the tenant row by updating it, so a job finishing concurrently must take the same order or
//! the two transactions could deadlock on PostgreSQL. SQLite's `BEGIN IMMEDIATE` serialises writers.

use super::ProvisioningState;
use crate::db::StoreError;
use crate::db::{Db, Tx};
use crate::jobs::Job;
use crate::{with_db, with_tx};

/// A tenant's provisioning state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioning {
    pub tenant_id: String,
    pub state: ProvisioningState,
    pub generation: i64,
    pub phone_number: Option<String>,
    pub phone_number_sid: Option<String>,
    /// ISO 3166 alpha-2 country to buy in.
    pub country: String,
    /// Preferred area code (US and Canada).
    pub area_code: Option<String>,
    /// An exact number to buy instead of searching.
    pub requested_number: Option<String>,
    /// Why the last run failed (or what it is waiting for).
    pub reason: Option<String>,
    pub twilio_code: Option<i64>,
    /// Runs in the current generation.
    pub attempts: i64,
    pub last_attempt_at: Option<i64>,
    pub release_after: Option<i64>,
    pub released_at: Option<i64>,
    pub lease_until: Option<i64>,
    pub stripe_event_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    tenant_id: String,
    state: String,
    generation: i64,
    phone_number: Option<String>,
    phone_number_sid: Option<String>,
    country: String,
    area_code: Option<String>,
    requested_number: Option<String>,
    reason: Option<String>,
    twilio_code: Option<i64>,
    attempts: i64,
    last_attempt_at: Option<i64>,
    release_after: Option<i64>,
    released_at: Option<i64>,
    lease_until: Option<i64>,
    stripe_event_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "tenant_id, state, generation, phone_number, phone_number_sid, country, area_code, \
    requested_number, reason, twilio_code, attempts, last_attempt_at, release_after, released_at, \
    lease_until, stripe_event_at, created_at, updated_at";

impl TryFrom<Row> for Provisioning {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        let state = ProvisioningState::parse(&r.state).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "number_provisioning {}: state {:?}",
                r.tenant_id, r.state
            ))
        })?;
        Ok(Provisioning {
            tenant_id: r.tenant_id,
            state,
            generation: r.generation,
            phone_number: r.phone_number,
            phone_number_sid: r.phone_number_sid,
            country: r.country,
            area_code: r.area_code,
            requested_number: r.requested_number,
            reason: r.reason,
            twilio_code: r.twilio_code,
            attempts: r.attempts,
            last_attempt_at: r.last_attempt_at,
            release_after: r.release_after,
            released_at: r.released_at,
            lease_until: r.lease_until,
            stripe_event_at: r.stripe_event_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl Provisioning {
    /// The row a tenant has before anything happened to its number.
    pub fn fresh(tenant_id: &str, now: i64) -> Provisioning {
        Provisioning {
            tenant_id: tenant_id.to_string(),
            state: ProvisioningState::None,
            generation: 0,
            phone_number: None,
            phone_number_sid: None,
            country: "US".into(),
            area_code: None,
            requested_number: None,
            reason: None,
            twilio_code: None,
            attempts: 0,
            last_attempt_at: None,
            release_after: None,
            released_at: None,
            lease_until: None,
            stripe_event_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The tenant's number as the tenants table has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct TenantNumber {
    pub twilio_number: Option<String>,
    pub twilio_number_sid: Option<String>,
}

pub async fn get(db: &Db, tenant_id: &str) -> Result<Option<Provisioning>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM number_provisioning WHERE tenant_id = $1");
    let row: Option<Row> = with_db!(db, |p| sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(tenant_id)
    .fetch_optional(p)
    .await)?;
    row.map(Provisioning::try_from).transpose()
}

const ENSURE: &str = "INSERT INTO number_provisioning (tenant_id, state, generation, country, attempts, created_at, updated_at) \
     VALUES ($1, 'none', 0, 'US', 0, $2, $2) ON CONFLICT (tenant_id) DO NOTHING";

/// Creates the tenant's row in state `none` unless it exists.
pub async fn ensure(db: &Db, tenant_id: &str, now: i64) -> Result<(), StoreError> {
    with_db!(db, |p| sqlx::query(ENSURE)
        .bind(tenant_id)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))
    .map_err(StoreError::from_sqlx)
}

/// [`ensure`] inside `tx`.
async fn ensure_tx(tx: &mut Tx, tenant_id: &str, now: i64) -> Result<(), StoreError> {
    with_tx!(tx, |c| sqlx::query(ENSURE)
        .bind(tenant_id)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))
    .map_err(StoreError::from_sqlx)
}

/// Locks the tenant row, then its provisioning row (created if missing), in `tx`. `None` when the
/// tenant does not exist.
pub async fn lock(
    tx: &mut Tx,
    tenant_id: &str,
    now: i64,
) -> Result<Option<(TenantNumber, Provisioning)>, StoreError> {
    let lock = tx.row_lock();
    let tenant_sql =
        format!("SELECT twilio_number, twilio_number_sid FROM tenants WHERE id = $1 {lock}");
    let tenant: Option<TenantNumber> = with_tx!(tx, |c| sqlx::query_as::<_, TenantNumber>(
        sqlx::AssertSqlSafe(tenant_sql.as_str())
    )
    .bind(tenant_id)
    .fetch_optional(c)
    .await)?;
    let Some(tenant) = tenant else {
        return Ok(None);
    };
    ensure_tx(tx, tenant_id, now).await?;
    let sql = format!("SELECT {COLUMNS} FROM number_provisioning WHERE tenant_id = $1 {lock}");
    let row: Row = with_tx!(tx, |c| sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(tenant_id)
    .fetch_one(c)
    .await)?;
    Ok(Some((tenant, Provisioning::try_from(row)?)))
}

/// Writes the state-machine columns of `p` (not the lease, not the Stripe marker, which have their
/// own conditional updates).
pub async fn save(tx: &mut Tx, p: &Provisioning, now: i64) -> Result<(), StoreError> {
    with_tx!(tx, |c| {
        sqlx::query(
            "UPDATE number_provisioning SET state = $2, generation = $3, phone_number = $4, phone_number_sid = $5, \
             country = $6, area_code = $7, requested_number = $8, reason = $9, twilio_code = $10, attempts = $11, \
             last_attempt_at = $12, release_after = $13, released_at = $14, updated_at = $15 WHERE tenant_id = $1",
        )
        .bind(&p.tenant_id)
        .bind(p.state.as_str())
        .bind(p.generation)
        .bind(&p.phone_number)
        .bind(&p.phone_number_sid)
        .bind(&p.country)
        .bind(&p.area_code)
        .bind(&p.requested_number)
        .bind(&p.reason)
        .bind(p.twilio_code)
        .bind(p.attempts)
        .bind(p.last_attempt_at)
        .bind(p.release_after)
        .bind(p.released_at)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// Sets (or clears) the tenant's number and SID. A number another tenant already has is
/// [`StoreError::Conflict`].
pub async fn set_tenant_number(
    tx: &mut Tx,
    tenant_id: &str,
    number: Option<&str>,
    sid: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE tenants SET twilio_number = $2, twilio_number_sid = $3, updated_at = $4 WHERE id = $1"
    )
    .bind(tenant_id)
    .bind(number)
    .bind(sid)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
    .map_err(StoreError::from_sqlx)
}

/// Takes the tenant's run lease for `ms` unless another run holds an unexpired one. Returns the
/// token to give it back with.
pub async fn acquire_lease(
    db: &Db,
    tenant_id: &str,
    now: i64,
    ms: i64,
) -> Result<Option<String>, StoreError> {
    let token = uuid::Uuid::new_v4().to_string();
    let n = with_db!(db, |p| sqlx::query(
        "UPDATE number_provisioning SET lease_token = $2, lease_until = $3 \
         WHERE tenant_id = $1 AND (lease_until IS NULL OR lease_until <= $4)"
    )
    .bind(tenant_id)
    .bind(&token)
    .bind(now + ms)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok((n > 0).then_some(token))
}

/// Gives the lease back, if it is still ours.
pub async fn release_lease(db: &Db, tenant_id: &str, token: &str) -> Result<(), StoreError> {
    with_db!(db, |p| sqlx::query(
        "UPDATE number_provisioning SET lease_token = NULL, lease_until = NULL \
         WHERE tenant_id = $1 AND lease_token = $2"
    )
    .bind(tenant_id)
    .bind(token)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Records that a Stripe event created at `created` (epoch seconds) is being applied, unless a newer
/// one already was. False: the event is older than the last applied one (Stripe does not guarantee
/// delivery order) and must be ignored.
pub async fn advance_stripe_marker(
    tx: &mut Tx,
    tenant_id: &str,
    created: i64,
    now: i64,
) -> Result<bool, StoreError> {
    ensure_tx(tx, tenant_id, now).await?;
    let n = with_tx!(tx, |c| sqlx::query(
        "UPDATE number_provisioning SET stripe_event_at = $2 \
         WHERE tenant_id = $1 AND (stripe_event_at IS NULL OR stripe_event_at <= $2)"
    )
    .bind(tenant_id)
    .bind(created)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// The tenant whose stored Stripe customer id is `customer`.
pub async fn tenant_by_stripe_customer(
    db: &Db,
    customer: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = with_db!(db, |p| sqlx::query_as(
        "SELECT tenant_id FROM tenant_keys WHERE stripe_customer_id = $1"
    )
    .bind(customer)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(|r| r.0))
}

/// The tenant (id, subscription status) that owns `number`.
pub async fn owner_of(db: &Db, number: &str) -> Result<Option<(String, String)>, StoreError> {
    Ok(with_db!(db, |p| sqlx::query_as(
        "SELECT id, subscription_status FROM tenants \
         WHERE id = (SELECT tenant_id FROM tenant_keys WHERE twilio_number = $1)"
    )
    .bind(number)
    .fetch_optional(p)
    .await)?)
}

/// The job enqueued under `dedupe_key`, if any.
pub async fn job_by_key(db: &Db, dedupe_key: &str) -> Result<Option<Job>, StoreError> {
    let id: Option<(String,)> = with_db!(db, |p| sqlx::query_as(
        "SELECT id FROM jobs WHERE dedupe_key = $1"
    )
    .bind(dedupe_key)
    .fetch_optional(p)
    .await)?;
    match id {
        Some((id,)) => crate::jobs::store::get(db, &id).await,
        None => Ok(None),
    }
}
