//! Every tenant's health, for the operator: its number's provisioning state, its dead jobs and its
//! failing relay endpoints, listed by name with keyset paging, searchable, and filterable to the
//! unhealthy ones; plus the totals above that list.
//!
//! Health is read in one query per page whatever the number of tenants: the dead jobs and failing
//! endpoints are grouped counts joined to the tenants, not a query per tenant per metric. What
//! "failing" and "unhealthy" mean is written once, in [`FAILING_ENDPOINT`] and [`UNHEALTHY`], and
//! both the page and the totals use them.

use std::collections::HashMap;

use crate::db::{Db, StoreError};
use crate::failure::Failure;
use crate::numbers::ProvisioningState;
use crate::state::AppState;
use crate::with_db;

/// How far back a failed delivery makes its endpoint "failing".
pub const FAILING_WINDOW_MS: i64 = 24 * 3_600_000;

/// A relay endpoint (`e`) is failing when it is disabled (by an operator, or by a 410 answer), or
/// a delivery to it made since `$1` died or is being retried after a failed attempt. Served by
/// `deliveries_by_endpoint (endpoint_id, status, created_at)`.
const FAILING_ENDPOINT: &str = "(NOT e.enabled OR EXISTS (SELECT 1 FROM deliveries d \
    WHERE d.endpoint_id = e.id AND d.created_at >= $1 \
      AND (d.status = 'dead' OR (d.status = 'pending' AND d.attempts > 0))))";

/// The tenants with their provisioning row (`np`), dead-job count (`dj.n`) and failing-endpoint
/// count (`fe.n`). Global endpoints (no tenant) are counted apart, in [`summary`].
fn tenants_with_health() -> String {
    format!(
        "FROM tenants t \
         LEFT JOIN number_provisioning np ON np.tenant_id = t.id \
         LEFT JOIN (SELECT tenant_id, COUNT(*) AS n FROM jobs \
                    WHERE status = 'dead' AND tenant_id IS NOT NULL GROUP BY tenant_id) dj \
                ON dj.tenant_id = t.id \
         LEFT JOIN (SELECT e.tenant_id, COUNT(*) AS n FROM relay_endpoints e \
                    WHERE e.tenant_id IS NOT NULL AND {FAILING_ENDPOINT} GROUP BY e.tenant_id) fe \
                ON fe.tenant_id = t.id"
    )
}

/// A tenant is unhealthy when its provisioning failed, it has dead jobs, or an endpoint of its
/// own is failing.
const UNHEALTHY: &str = "(np.state = 'failed' OR dj.n IS NOT NULL OR fe.n IS NOT NULL)";

/// One tenant and its health.
#[derive(Debug, Clone)]
pub struct TenantHealth {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub time_zone: String,
    pub phone_number: Option<String>,
    /// As stored: `ACTIVE`, `TRIALING`, `CANCELED`, …
    pub subscription_status: String,
    pub provisioning: ProvisioningState,
    /// Why the last provisioning run failed.
    pub provisioning_reason: Option<String>,
    pub twilio_code: Option<i64>,
    pub dead_jobs: i64,
    pub failing_endpoints: i64,
}

impl TenantHealth {
    pub fn healthy(&self) -> bool {
        self.provisioning != ProvisioningState::Failed
            && self.dead_jobs == 0
            && self.failing_endpoints == 0
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    slug: String,
    time_zone: String,
    twilio_number: Option<String>,
    subscription_status: String,
    provisioning_state: Option<String>,
    provisioning_reason: Option<String>,
    twilio_code: Option<i64>,
    dead_jobs: i64,
    failing_endpoints: i64,
}

impl From<Row> for TenantHealth {
    fn from(r: Row) -> Self {
        TenantHealth {
            provisioning: r
                .provisioning_state
                .as_deref()
                .and_then(ProvisioningState::parse)
                .unwrap_or(ProvisioningState::None),
            id: r.id,
            name: r.name,
            slug: r.slug,
            time_zone: r.time_zone,
            phone_number: r.twilio_number,
            subscription_status: r.subscription_status,
            provisioning_reason: r.provisioning_reason,
            twilio_code: r.twilio_code,
            dead_jobs: r.dead_jobs,
            failing_endpoints: r.failing_endpoints,
        }
    }
}

/// Which tenants [`page`] lists.
#[derive(Debug, Clone, Default)]
pub struct HealthQuery<'a> {
    /// Part of the name, slug or phone number (any case).
    pub search: Option<&'a str>,
    pub unhealthy_only: bool,
    /// The `next` cursor of the page before (a tenant id).
    pub after: Option<&'a str>,
    pub limit: i64,
}

/// A page of tenants by name.
#[derive(Debug, Clone)]
pub struct HealthPage {
    pub tenants: Vec<TenantHealth>,
    pub next: Option<String>,
}

/// Up to `q.limit` tenants by name (then id) with their health, after the tenant `q.after`.
pub async fn page(state: &AppState, q: HealthQuery<'_>) -> Result<HealthPage, Failure> {
    let search = q.search.map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > 100) {
        return Err(Failure::invalid("q", "must be at most 100 characters"));
    }
    let limit = q.limit.clamp(1, 500);
    let mut tenants = query(state, None, search, q.unhealthy_only, q.after, limit + 1).await?;
    let next = if tenants.len() as i64 > limit {
        tenants.truncate(limit as usize);
        tenants.last().map(|t| t.id.clone())
    } else {
        None
    };
    Ok(HealthPage { tenants, next })
}

/// The health of the tenant `id` (404 when there is none).
pub async fn of(state: &AppState, id: &str) -> Result<TenantHealth, Failure> {
    query(state, Some(id), None, false, None, 1)
        .await?
        .pop()
        .ok_or_else(|| Failure::not_found("tenant"))
}

async fn query(
    state: &AppState,
    id: Option<&str>,
    search: Option<&str>,
    unhealthy_only: bool,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<TenantHealth>, StoreError> {
    let sql = format!(
        "SELECT t.id, t.name, t.slug, t.time_zone, t.twilio_number, t.subscription_status, \
            np.state AS provisioning_state, np.reason AS provisioning_reason, np.twilio_code, \
            COALESCE(dj.n, 0) AS dead_jobs, COALESCE(fe.n, 0) AS failing_endpoints \
         {from} \
         WHERE ($2 IS NULL OR t.id = $2) \
           AND ($3 IS NULL OR LOWER(t.name) LIKE $3 ESCAPE '\\' OR LOWER(t.slug) LIKE $3 ESCAPE '\\' \
                OR t.twilio_number LIKE $3 ESCAPE '\\') \
           AND ($4 = 0 OR {UNHEALTHY}) \
           AND ($5 IS NULL OR t.name > (SELECT a.name FROM tenants a WHERE a.id = $5) \
                OR (t.name = (SELECT a.name FROM tenants a WHERE a.id = $5) AND t.id > $5)) \
         ORDER BY t.name, t.id LIMIT $6",
        from = tenants_with_health()
    );
    let pattern = search.map(like_pattern);
    let since = state.clock.now_ms() - FAILING_WINDOW_MS;
    let rows: Vec<Row> = with_db!(&state.db, |p| {
        sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(since)
            .bind(id)
            .bind(pattern.as_deref())
            .bind(i64::from(unhealthy_only))
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await
    })?;
    Ok(rows.into_iter().map(TenantHealth::from).collect())
}

/// `%text%` in lower case, with `%`, `_` and `\` taken literally.
fn like_pattern(s: &str) -> String {
    let mut out = String::from("%");
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The totals above the tenant list.
#[derive(Debug, Clone, Default)]
pub struct HealthSummary {
    pub tenants: i64,
    pub unhealthy: i64,
    /// Failing endpoints that receive every tenant's events.
    pub failing_global_endpoints: i64,
    pub dead_jobs: i64,
    pub pending_jobs: i64,
}

/// Counts of tenants, unhealthy tenants, failing global endpoints, and dead and pending jobs.
pub async fn summary(state: &AppState) -> Result<HealthSummary, Failure> {
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN {UNHEALTHY} THEN 1 ELSE 0 END), 0), \
            (SELECT COUNT(*) FROM relay_endpoints e WHERE e.tenant_id IS NULL AND {FAILING_ENDPOINT}) \
         {from}",
        from = tenants_with_health()
    );
    let since = state.clock.now_ms() - FAILING_WINDOW_MS;
    let (tenants, unhealthy, failing_global_endpoints) = counts(&state.db, &sql, since).await?;
    let by_status = crate::jobs::store::counts(&state.db).await?;
    let of = |s: &str| {
        by_status
            .iter()
            .find(|(k, _)| k == s)
            .map_or(0, |(_, n)| *n)
    };
    Ok(HealthSummary {
        tenants,
        unhealthy,
        failing_global_endpoints,
        dead_jobs: of("dead"),
        pending_jobs: of("pending"),
    })
}

async fn counts(db: &Db, sql: &str, since: i64) -> Result<(i64, i64, i64), StoreError> {
    Ok(with_db!(db, |p| {
        sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql))
            .bind(since)
            .fetch_one(p)
            .await
    })?)
}

/// One of a tenant's own relay endpoints and whether it is failing (see [`FAILING_ENDPOINT`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointHealth {
    pub id: String,
    pub url: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing: bool,
}

/// The relay endpoints of the tenant `tenant_id`, oldest first, each with its health.
pub async fn endpoints(state: &AppState, tenant_id: &str) -> Result<Vec<EndpointHealth>, Failure> {
    let sql = format!(
        "SELECT e.id, e.url, e.enabled, e.disabled_reason, {FAILING_ENDPOINT} AS failing \
         FROM relay_endpoints e WHERE e.tenant_id = $2 ORDER BY e.created_at, e.id"
    );
    let since = state.clock.now_ms() - FAILING_WINDOW_MS;
    Ok(with_db!(&state.db, |p| {
        sqlx::query_as::<_, EndpointHealth>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(since)
            .bind(tenant_id)
            .fetch_all(p)
            .await
    })?)
}

/// The names of the tenants `ids` (one query), for lists that show whose a row is.
pub async fn names(state: &AppState, ids: &[&str]) -> Result<HashMap<String, String>, Failure> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, name FROM tenants WHERE id IN ({})",
        crate::db::row::placeholders(1, ids.len())
    );
    let rows: Vec<(String, String)> = with_db!(&state.db, |p| {
        let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql.as_str()));
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(p).await
    })?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn searches_take_like_wildcards_literally() {
        assert_eq!(super::like_pattern("Bella"), "%bella%");
        assert_eq!(super::like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
