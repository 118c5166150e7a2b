//! What a webhook needs to route a call or a text, served from memory: the tenant that owns a
//! number (or that no tenant does), and a tenant's staff; and tenants by id, which the sender reads
//! for every message. They change rarely and are read on every call or text, so reading them from
//! the database each time is the hot path's largest avoidable cost.
//!
//! Staying correct:
//! - Every change to `tenants` (except its round-robin cursor) or `staff` moves the `routing_version`
//!   counter through a database trigger, in the change's own transaction, whoever makes it: this
//!   process, another instance on the same PostgreSQL, the CLI. A lookup re-reads the counter when
//!   the last read is older than the recheck interval (`ROUTING_CACHE_RECHECK_MS`) and drops
//!   everything when it moved. So a change made elsewhere takes effect within that interval.
//! - This process's own changes (service layer) also call [`RoutingCache::invalidate`] once committed,
//!   so they take effect for the very next call here.
//! - A lookup that read the database just before a change must not put the old row back afterwards:
//!   each drop bumps a generation, and a loaded value is kept only if the generation it started
//!   under is still current.
//! - Bounded: past [`MAX_ENTRIES`] entries the map starts over.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::staff::Staff;
use super::tenants::Tenant;
use super::{Db, StoreError};
use crate::domain::E164;
use crate::with_db;

/// Most numbers (known or not) and staff lists held before the cache starts over.
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
struct Inner {
    /// Last `routing_version` read, and when (ms).
    version: Option<i64>,
    checked_at: i64,
    /// Bumped by every drop; a load started under an older generation is not kept.
    generation: u64,
    by_number: HashMap<String, Option<Arc<Tenant>>>,
    by_id: HashMap<String, Option<Arc<Tenant>>>,
    staff: HashMap<String, Arc<Vec<Staff>>>,
}

impl Inner {
    fn drop_all(&mut self) {
        self.generation += 1;
        self.by_number.clear();
        self.by_id.clear();
        self.staff.clear();
    }

    /// Overflow is not staleness: the maps start over, the generation stays.
    fn make_room(&mut self) {
        if self.by_number.len() + self.by_id.len() + self.staff.len() >= MAX_ENTRIES {
            self.by_number.clear();
            self.by_id.clear();
            self.staff.clear();
        }
    }
}

pub struct RoutingCache {
    inner: Mutex<Inner>,
    recheck_ms: i64,
}

impl std::fmt::Debug for RoutingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.inner.lock();
        f.debug_struct("RoutingCache")
            .field("numbers", &i.by_number.len())
            .field("tenants", &i.by_id.len())
            .field("staff_lists", &i.staff.len())
            .field("version", &i.version)
            .finish()
    }
}

impl RoutingCache {
    /// A cache that re-reads the shared version at most every `recheck_ms`; 0 re-reads it on every
    /// lookup (no staleness across processes at all, at one small query per lookup).
    pub fn new(recheck_ms: i64) -> Self {
        RoutingCache {
            inner: Mutex::new(Inner::default()),
            recheck_ms,
        }
    }

    /// Forgets everything: for this process's own changes, once committed.
    pub fn invalidate(&self) {
        self.inner.lock().drop_all();
    }

    /// The generation under which a lookup may load, after re-reading the shared version if due.
    async fn current(&self, db: &Db, now_ms: i64) -> Result<u64, StoreError> {
        let due = {
            let mut i = self.inner.lock();
            let due = i.version.is_none() || now_ms - i.checked_at >= self.recheck_ms;
            if due {
                // Claimed before the query, so concurrent lookups do not all ask.
                i.checked_at = now_ms;
            }
            due.then_some(i.generation)
        };
        if let Some(started) = due {
            let version = read_version(db).await?;
            let mut i = self.inner.lock();
            if i.version != Some(version) {
                if i.generation == started {
                    i.drop_all();
                }
                i.version = Some(version);
            }
        }
        Ok(self.inner.lock().generation)
    }

    /// The tenant that owns the number spelled `raw` exactly as cached (canonical E.164), when this
    /// number has been looked up before: `Some(None)` means no tenant owns it, `None` that it is not
    /// cached. Lets a webhook skip parsing and validating a number it has already seen.
    pub async fn cached_tenant(
        &self,
        db: &Db,
        now_ms: i64,
        raw: &str,
    ) -> Result<Option<Option<Arc<Tenant>>>, StoreError> {
        self.current(db, now_ms).await?;
        Ok(self.inner.lock().by_number.get(raw).cloned())
    }

    /// The tenant that owns `number`, or `None` when no tenant does.
    pub async fn tenant_by_number(
        &self,
        db: &Db,
        now_ms: i64,
        number: &E164,
    ) -> Result<Option<Arc<Tenant>>, StoreError> {
        let generation = self.current(db, now_ms).await?;
        if let Some(hit) = self.inner.lock().by_number.get(number.as_str()) {
            return Ok(hit.clone());
        }
        let loaded = super::tenants::get_by_number(db, number)
            .await?
            .map(Arc::new);
        let mut i = self.inner.lock();
        if i.generation == generation {
            i.make_room();
            i.by_number
                .insert(number.as_str().to_string(), loaded.clone());
        }
        Ok(loaded)
    }

    /// The tenant with this id, or `None` when there is none (the sender reads it per message).
    pub async fn tenant(
        &self,
        db: &Db,
        now_ms: i64,
        id: &str,
    ) -> Result<Option<Arc<Tenant>>, StoreError> {
        let generation = self.current(db, now_ms).await?;
        if let Some(hit) = self.inner.lock().by_id.get(id) {
            return Ok(hit.clone());
        }
        let loaded = super::tenants::get(db, id).await?.map(Arc::new);
        let mut i = self.inner.lock();
        if i.generation == generation {
            i.make_room();
            i.by_id.insert(id.to_string(), loaded.clone());
        }
        Ok(loaded)
    }

    /// The tenant's staff, in the order `db::staff::list` gives.
    pub async fn staff(
        &self,
        db: &Db,
        now_ms: i64,
        tenant_id: &str,
    ) -> Result<Arc<Vec<Staff>>, StoreError> {
        let generation = self.current(db, now_ms).await?;
        if let Some(hit) = self.inner.lock().staff.get(tenant_id) {
            return Ok(hit.clone());
        }
        let loaded = Arc::new(super::staff::list(db, tenant_id).await?);
        let mut i = self.inner.lock();
        if i.generation == generation {
            i.make_room();
            i.staff.insert(tenant_id.to_string(), loaded.clone());
        }
        Ok(loaded)
    }
}

async fn read_version(db: &Db) -> Result<i64, StoreError> {
    let row: (i64,) = with_db!(db, |p| sqlx::query_as(
        "SELECT version FROM routing_version WHERE id = 1"
    )
    .fetch_one(p)
    .await)?;
    Ok(row.0)
}
