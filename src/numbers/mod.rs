//! Phone numbers: search, buy, configure, repair and release a tenant's Twilio number, and the
//! durable provisioning state machine that gives every live tenant exactly one number.
//!
//! # The state machine (one `number_provisioning` row per tenant)
//!
//! ```text
//!             ACTIVE/TRIALING                 run ok
//!   none ────────────────────▶ provisioning ─────────▶ active ──CANCELED──▶ releasing ──after grace──▶ released
//!   released ────────────────▶     ▲  │ run fails        ▲                    │  ▲                        │
//!                                  │  ▼                  └──ACTIVE/TRIALING───┘  │ CANCELED               │
//!                                 failed (reason, Twilio code; the job retries)  └── provisioning/failed  │
//!                                  ▲                                                                      │
//!                                  └──────────────────────────── ACTIVE/TRIALING ◀────────────────────────┘
//! ```
//!
//! - A subscription change ([`subscription_changed`]) only writes the row and enqueues a job, in the
//!   same transaction as the change itself: Twilio is never called there, so provisioning cannot fail
//!   the subscription change. The jobs ([`jobs`]) call Twilio, with retries.
//! - Every transition that starts a job bumps `generation`; a job carries its generation (and has it
//!   in its dedupe key), so the same event twice enqueues one job, and a job made stale by a later
//!   transition (cancelled before it ran, reactivated within the grace period) does nothing.
//! - Exactly one number: runs take a per-tenant lease on the row (mutual exclusion across instances)
//!   and, because Twilio has no idempotency key for buying, look first for a number whose
//!   FriendlyName names the tenant ([`ops::friendly_name`]) and adopt it instead of buying again. A
//!   run that crashed after buying is therefore repaired by the next run, not duplicated.
//! - Other subscription statuses (PAST_DUE, UNPAID, PAUSED, INCOMPLETE…) leave the number alone.

pub mod api;
pub mod error;
pub mod jobs;
pub mod ops;
pub mod search;
pub mod setup;
pub mod store;

pub use api::routes;

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::db::StoreError;
use crate::db::Tx;
use crate::domain::SubscriptionStatus;
use crate::jobs::JobKind;
use crate::state::AppState;

pub use error::NumberError;
pub use ops::Provisioned;
pub use store::Provisioning;

pub use jobs::{PROVISION_JOB, RELEASE_JOB};

/// Registers the provisioning and release job handlers.
pub fn register(registry: &mut crate::state::Jobs) {
    registry.register(std::sync::Arc::new(jobs::ProvisionJob));
    registry.register(std::sync::Arc::new(jobs::ReleaseJob));
}

/// Where a tenant's number is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProvisioningState {
    /// Nothing has happened yet.
    None,
    /// A job is acquiring a number.
    Provisioning,
    /// The tenant has its number.
    Active,
    /// The subscription was canceled; the number goes back to Twilio at `releaseAfter`.
    Releasing,
    /// The number was given back to Twilio.
    Released,
    /// The last run failed (`reason`, `twilioCode`); the job retries with backoff.
    Failed,
}

impl ProvisioningState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Releasing => "releasing",
            Self::Released => "released",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "provisioning" => Self::Provisioning,
            "active" => Self::Active,
            "releasing" => Self::Releasing,
            "released" => Self::Released,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// A provisioning run is wanted (scheduled or retrying).
    pub fn wants_number(self) -> bool {
        matches!(self, Self::Provisioning | Self::Failed)
    }
}

/// The dedupe key of the provisioning job of `generation`: one job per tenant and generation.
pub fn provision_key(tenant_id: &str, generation: i64) -> String {
    format!("{PROVISION_JOB}:{tenant_id}:{generation}")
}

/// The dedupe key of the release job of `generation`.
pub fn release_key(tenant_id: &str, generation: i64) -> String {
    format!("{RELEASE_JOB}:{tenant_id}:{generation}")
}

/// Moves `p` to `provisioning` in a new generation and enqueues its job in `tx`, due in `delay_ms`.
async fn start_provisioning(
    state: &AppState,
    tx: &mut Tx,
    p: &mut Provisioning,
    now: i64,
    delay_ms: i64,
) -> Result<(), StoreError> {
    p.generation += 1;
    p.state = ProvisioningState::Provisioning;
    p.phone_number = None;
    p.phone_number_sid = None;
    p.reason = None;
    p.twilio_code = None;
    p.attempts = 0;
    p.release_after = None;
    let job = jobs::ProvisionJob::new_job(&payload(&p.tenant_id, p.generation))
        .tenant(&p.tenant_id)
        .at(now + delay_ms)
        .dedupe(provision_key(&p.tenant_id, p.generation));
    state.enqueue(tx, job).await?;
    store::save(tx, p, now).await
}

fn payload(tenant_id: &str, generation: i64) -> jobs::NumberPayload {
    jobs::NumberPayload {
        tenant_id: tenant_id.to_string(),
        generation,
    }
}

/// Applies a subscription change to the tenant's number, inside `tx`, the transaction that writes
/// the change (so both commit or neither does). Returns the provisioning state after it, `None` when
/// the tenant does not exist. Never calls Twilio.
///
/// - ACTIVE or TRIALING: a tenant without a number starts provisioning (unless a run is already
///   scheduled); a tenant within its release grace period keeps its number; a tenant that already
///   has a number is recorded as active.
/// - CANCELED: the number (or whatever a run in flight buys) is released after
///   `NUMBER_RELEASE_GRACE_HOURS`.
/// - Anything else: no change.
pub async fn subscription_changed(
    state: &AppState,
    tx: &mut Tx,
    tenant_id: &str,
    status: SubscriptionStatus,
) -> Result<Option<ProvisioningState>, StoreError> {
    use ProvisioningState as S;
    let now = state.clock.now_ms();
    let Some((tenant, mut p)) = store::lock(tx, tenant_id, now).await? else {
        return Ok(None);
    };
    let before = p.clone();
    if status.is_live() {
        match (p.state, &tenant.twilio_number) {
            // A run is scheduled or retrying: the same event twice must not start a second one.
            (S::Provisioning | S::Failed, _) => {}
            (S::Active, Some(_)) => {}
            // Reactivated within the grace period: keep the number; the new generation makes the
            // scheduled release job a no-op.
            (S::Releasing, Some(number)) => {
                p.generation += 1;
                p.state = S::Active;
                p.release_after = None;
                p.reason = None;
                p.twilio_code = None;
                p.phone_number = Some(number.clone());
                p.phone_number_sid = tenant.twilio_number_sid.clone();
            }
            // The tenant already has a number (assigned by an operator): adopt it.
            (_, Some(number)) => {
                p.state = S::Active;
                p.phone_number = Some(number.clone());
                p.phone_number_sid = tenant.twilio_number_sid.clone();
                p.reason = None;
                p.twilio_code = None;
            }
            (_, None) => {
                start_provisioning(state, tx, &mut p, now, 0).await?;
                return Ok(Some(p.state));
            }
        }
    } else if status == SubscriptionStatus::Canceled {
        let has_number = tenant.twilio_number.is_some();
        // Single-business mode's TWILIO_PHONE_NUMBER is the operator's own, configured number: a
        // subscription change must not give it away.
        let configured = state
            .config
            .tenants
            .phone_number
            .as_ref()
            .map(|n| n.as_str());
        if configured.is_some() && tenant.twilio_number.as_deref() == configured {
            return Ok(Some(p.state));
        }
        let release = match p.state {
            S::Releasing | S::Released => false,
            // Cancelled while a run is scheduled: release whatever it may still buy.
            S::Provisioning | S::Failed => true,
            S::Active | S::None => has_number,
        };
        if release {
            let grace = state.config.tenants.number_release_grace.as_millis() as i64;
            p.generation += 1;
            p.state = S::Releasing;
            p.release_after = Some(now + grace);
            p.attempts = 0;
            p.reason = None;
            p.twilio_code = None;
            if has_number {
                p.phone_number = tenant.twilio_number.clone();
                p.phone_number_sid = tenant.twilio_number_sid.clone();
            }
            let job = jobs::ReleaseJob::new_job(&payload(&p.tenant_id, p.generation))
                .tenant(&p.tenant_id)
                .at(now + grace)
                .dedupe(release_key(&p.tenant_id, p.generation));
            state.enqueue(tx, job).await?;
        }
    }
    if p != before {
        store::save(tx, &p, now).await?;
    }
    Ok(Some(p.state))
}

/// Starts provisioning for a tenant without a number: the operator's retry after a failure (job
/// due now), and the first half of `POST /api/telephony/provision-phone`, which runs provisioning
/// itself and leaves the job as a safety net due in `delay_ms` (should the request die mid-way).
/// A run already scheduled is kept (`restart` false) or replaced by a fresh generation with fresh
/// attempts (`restart` true).
pub async fn request_number(
    state: &AppState,
    tenant_id: &str,
    restart: bool,
    delay_ms: i64,
) -> Result<Provisioning, NumberError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let (tenant, mut p) = store::lock(&mut tx, tenant_id, now)
        .await?
        .ok_or(NumberError::TenantGone)?;
    if tenant.twilio_number.is_some() {
        return Err(NumberError::AlreadyProvisioned);
    }
    if p.state == ProvisioningState::Releasing {
        return Err(NumberError::Releasing);
    }
    if restart || !p.state.wants_number() {
        start_provisioning(state, &mut tx, &mut p, now, delay_ms).await?;
    }
    tx.commit().await?;
    state.job_wakeup.notify_waiters();
    Ok(p)
}

/// Changes a tenant's provisioning preferences (validated by the caller). `None` leaves a field.
pub async fn set_preferences(
    state: &AppState,
    tenant_id: &str,
    country: Option<String>,
    area_code: Option<Option<String>>,
    requested_number: Option<Option<String>>,
) -> Result<Provisioning, NumberError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let (_, mut p) = store::lock(&mut tx, tenant_id, now)
        .await?
        .ok_or(NumberError::TenantGone)?;
    if let Some(c) = country {
        p.country = c;
    }
    if let Some(a) = area_code {
        p.area_code = a;
    }
    if let Some(n) = requested_number {
        p.requested_number = n;
    }
    store::save(&mut tx, &p, now).await?;
    tx.commit().await?;
    Ok(p)
}

/// The job currently working on the tenant's provisioning or release, for the API.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningJobView {
    pub id: String,
    pub kind: String,
    /// pending, running, done or dead.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    /// When it runs (next), RFC 3339.
    pub run_at: String,
    pub last_error: Option<String>,
}

/// A tenant's number and its provisioning, as the admin API and the CLI show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningView {
    pub tenant_id: String,
    pub state: ProvisioningState,
    /// The number calls and texts are routed by (the tenant's), if any.
    pub phone_number: Option<String>,
    pub phone_number_sid: Option<String>,
    pub subscription_status: SubscriptionStatus,
    /// Where new numbers are bought (ISO 3166 alpha-2).
    pub country: String,
    /// Preferred area code, if any.
    pub area_code: Option<String>,
    /// An exact number to buy instead of searching, if any.
    pub requested_number: Option<String>,
    /// Why the last run failed, in words.
    pub reason: Option<String>,
    /// Twilio's error code of the last failure (e.g. 21422).
    pub twilio_code: Option<i64>,
    /// Runs since provisioning (or release) last started.
    pub attempts: i64,
    pub last_attempt_at: Option<String>,
    /// When a canceled tenant's number is released.
    pub release_after: Option<String>,
    pub released_at: Option<String>,
    pub updated_at: String,
    /// The provisioning or release job of the current generation.
    pub job: Option<ProvisioningJobView>,
}

/// Builds the view of `tenant`'s provisioning (a row in state `none` when nothing happened yet).
pub async fn view(
    state: &AppState,
    tenant: &crate::db::tenants::Tenant,
) -> Result<ProvisioningView, StoreError> {
    let p = store::get(&state.db, &tenant.id)
        .await?
        .unwrap_or_else(|| Provisioning::fresh(&tenant.id, tenant.created_at));
    let key = match p.state {
        ProvisioningState::Releasing | ProvisioningState::Released => {
            release_key(&p.tenant_id, p.generation)
        }
        _ => provision_key(&p.tenant_id, p.generation),
    };
    let job = match p.generation {
        0 => None,
        _ => store::job_by_key(&state.db, &key).await?,
    };
    Ok(ProvisioningView {
        tenant_id: tenant.id.clone(),
        state: p.state,
        phone_number: tenant.twilio_number.as_ref().map(|n| n.to_string()),
        phone_number_sid: tenant.twilio_number_sid.clone(),
        subscription_status: tenant.subscription_status,
        country: p.country,
        area_code: p.area_code,
        requested_number: p.requested_number,
        reason: p.reason,
        twilio_code: p.twilio_code,
        attempts: p.attempts,
        last_attempt_at: p.last_attempt_at.map(rfc3339),
        release_after: p.release_after.map(rfc3339),
        released_at: p.released_at.map(rfc3339),
        updated_at: rfc3339(p.updated_at),
        job: job.map(|j| ProvisioningJobView {
            id: j.id,
            kind: j.kind,
            status: j.status,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: rfc3339(j.run_at),
            last_error: j.last_error,
        }),
    })
}
