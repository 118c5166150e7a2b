//! Number operations through Twilio's REST API: search, acquire (adopt or buy) with this
//! deployment's webhooks, repair drifted webhooks, release. The provisioning and release runs here
//! are what the jobs, the tenant endpoints and the CLI all call.
//!
//! A run holds the tenant's lease on its provisioning row for its whole Twilio conversation, so two
//! instances (or a job and a synchronous `provision-phone`) never buy for the same tenant at once.
//! The lease is longer than the REST client's timeouts allow a run to take; should it still expire
//! mid-run, the next run's FriendlyName reconciliation finds what the first one bought.

use std::collections::BTreeSet;

use switchboard_twilio::rest::{BuyNumber, IncomingPhoneNumber, NumberToBuy, TwilioError};

use super::search::{SearchQuery, search};
use super::setup::{desired_config, drift, names_tenant, repair_config};
use super::{NumberError, ProvisioningState, start_provisioning, store};
use crate::db::StoreError;
use crate::db::{self, tenants::Tenant};
use crate::domain::E164;
use crate::state::AppState;

/// How long a run may hold a tenant's lease: several Twilio calls of at most 15 s each, with room.
pub const LEASE_MS: i64 = 120_000;
/// Candidates tried when buying "any number in the country" loses races for the first ones.
const BUY_CANDIDATES: u32 = 5;

/// The outcome of a provisioning run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioned {
    /// Nothing to do: the job is stale, or no number is wanted any more.
    Skipped,
    /// The tenant already had this number (assigned meanwhile); nothing was bought.
    Existing(String),
    /// The tenant now has this number; `adopted` when an earlier run had bought it already.
    Acquired {
        phone_number: String,
        sid: String,
        adopted: bool,
    },
}

/// Gets the tenant a number. `generation` is the job's (a stale job does nothing); `None` for the
/// synchronous callers. `exact` buys that number (seed 002's purchase); otherwise the run adopts a
/// number already named for the tenant, or buys the requested number, one in the preferred area
/// code, or any local number with voice and SMS in the tenant's country.
pub async fn provision(
    state: &AppState,
    tenant_id: &str,
    generation: Option<i64>,
    exact: Option<&E164>,
) -> Result<Provisioned, NumberError> {
    let lease = lease(state, tenant_id).await?;
    let out = provision_leased(state, tenant_id, generation, exact).await;
    give_back(state, tenant_id, &lease).await;
    out
}

/// Buys exactly `number` for a tenant that has none (seed 002's purchase, and the console's):
/// the number and its SID. Twilio refusing it (not available, code 21422) names `phoneNumber`.
pub async fn purchase(
    state: &AppState,
    tenant_id: &str,
    number: &E164,
) -> Result<(String, String), crate::failure::Failure> {
    let out = provision(state, tenant_id, None, Some(number))
        .await
        .map_err(|e| {
            let f = crate::failure::Failure::from(e);
            if f.code() == "TWILIO_REJECTED" {
                f.with_field("phoneNumber")
            } else {
                f
            }
        })?;
    match out {
        Provisioned::Acquired {
            phone_number, sid, ..
        } => Ok((phone_number, sid)),
        Provisioned::Existing(_) | Provisioned::Skipped => {
            Err(NumberError::AlreadyProvisioned.into())
        }
    }
}

/// Takes the tenant's lease (creating its row if needed), or says how long until it is free.
async fn lease(state: &AppState, tenant_id: &str) -> Result<String, NumberError> {
    let now = state.clock.now_ms();
    // The row references the tenant: check it exists first, or the insert breaks the foreign key.
    if db::tenants::get(&state.db, tenant_id).await?.is_none() {
        return Err(NumberError::TenantGone);
    }
    store::ensure(&state.db, tenant_id, now).await?;
    match store::acquire_lease(&state.db, tenant_id, now, LEASE_MS).await? {
        Some(token) => Ok(token),
        None => {
            let until = store::get(&state.db, tenant_id)
                .await?
                .and_then(|p| p.lease_until)
                .unwrap_or(now + LEASE_MS);
            Err(NumberError::Busy {
                retry_in_ms: (until - now).max(1000),
            })
        }
    }
}

/// Returns the lease even after a failure, so the next attempt need not wait for it to expire.
async fn give_back(state: &AppState, tenant_id: &str, token: &str) {
    if let Err(e) = store::release_lease(&state.db, tenant_id, token).await {
        tracing::warn!(tenant = %tenant_id, error = %e, "could not give back the provisioning lease; it expires on its own");
    }
}

async fn provision_leased(
    state: &AppState,
    tenant_id: &str,
    generation: Option<i64>,
    exact: Option<&E164>,
) -> Result<Provisioned, NumberError> {
    let tenant = db::tenants::get(&state.db, tenant_id)
        .await?
        .ok_or(NumberError::TenantGone)?;
    let p = store::get(&state.db, tenant_id)
        .await?
        .ok_or(NumberError::TenantGone)?;
    // Checked on every path, the exact purchase included, and again here by a job that was queued
    // while the subscription was live: a canceled tenant's released number is not bought back.
    if !tenant.subscription_status.is_live() {
        if generation.is_some() {
            return Ok(Provisioned::Skipped);
        }
        return Err(NumberError::SubscriptionInactive(
            tenant.subscription_status,
        ));
    }
    if exact.is_none() && (!p.state.wants_number() || generation.is_some_and(|g| g != p.generation))
    {
        return Ok(Provisioned::Skipped);
    }
    if let Some(number) = &tenant.twilio_number {
        if exact.is_some() {
            return Err(NumberError::AlreadyProvisioned);
        }
        // An operator gave the tenant a number meanwhile: that one is its number.
        mark_active(state, tenant_id).await?;
        return Ok(Provisioned::Existing(number.to_string()));
    }
    match acquire(state, &tenant, &p, exact).await {
        Ok((number, adopted)) => record_success(state, tenant_id, number, adopted).await,
        Err(e) => {
            if exact.is_none() {
                record_failure(state, tenant_id, &e).await?;
            }
            tracing::warn!(tenant = %tenant_id, error = %e, code = ?e.twilio_code(), "number provisioning failed");
            Err(e)
        }
    }
}

/// Adopts a number already named for the tenant, else buys one.
async fn acquire(
    state: &AppState,
    tenant: &Tenant,
    p: &store::Provisioning,
    exact: Option<&E164>,
) -> Result<(IncomingPhoneNumber, bool), NumberError> {
    let client = &state.twilio.client;
    let want = desired_config(state, tenant);
    let buy = |number: NumberToBuy| {
        let req = BuyNumber {
            number,
            config: want.clone(),
        };
        async move { client.buy_number(&req).await }
    };
    if let Some(n) = exact {
        return Ok((buy(NumberToBuy::PhoneNumber(n.to_string())).await?, false));
    }
    // Twilio has no idempotency key: a run that bought a number and then crashed (or lost its
    // answer) left it on the account under the tenant's name. Adopt it rather than buy a second.
    let owned = client.list_incoming_numbers(None).await?;
    if let Some(n) = owned
        .into_iter()
        .find(|n| names_tenant(n.friendly_name.as_deref(), &tenant.id))
    {
        let drifted = drift(&n, &want, &tenant.id);
        let n = match (drifted.is_empty(), n.sid.as_deref()) {
            (false, Some(sid)) => {
                client
                    .update_number(sid, &repair_config(&want, &drifted))
                    .await?
            }
            _ => n,
        };
        tracing::info!(tenant = %tenant.id, number = ?n.phone_number, "adopted a number an earlier run had bought");
        return Ok((n, true));
    }
    if let Some(requested) = &p.requested_number {
        return Ok((
            buy(NumberToBuy::PhoneNumber(requested.clone())).await?,
            false,
        ));
    }
    if let Some(area) = &p.area_code {
        match buy(NumberToBuy::AreaCode(area.clone())).await {
            Ok(n) => return Ok((n, false)),
            // The area code is a preference: none left there (or none sold there) falls back to any
            // number in the country; outages and credential errors do not.
            Err(e) if matches!(e.http_status(), Some(400 | 404)) => {
                tracing::info!(tenant = %tenant.id, area, error = %e, "no number in the preferred area code; buying any in the country")
            }
            Err(e) => return Err(e.into()),
        }
    }
    let q = SearchQuery {
        country: p.country.clone(),
        sms_enabled: Some(true),
        voice_enabled: Some(true),
        limit: BUY_CANDIDATES,
        ..Default::default()
    };
    let mut last = None;
    for candidate in search(state, &q).await? {
        let Some(number) = candidate.phone_number else {
            continue;
        };
        match buy(NumberToBuy::PhoneNumber(number)).await {
            Ok(n) => return Ok((n, false)),
            // Someone bought it between our search and our purchase: try the next one.
            Err(e) if e.twilio_code() == Some(21422) => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(match last {
        Some(e) => e.into(),
        None => NumberError::NoneAvailable(format!(
            "Twilio offers no local numbers with voice and SMS in {}",
            p.country
        )),
    })
}

/// Records a number a run acquired: on the tenant (what calls are routed by) and on the row.
async fn record_success(
    state: &AppState,
    tenant_id: &str,
    n: IncomingPhoneNumber,
    adopted: bool,
) -> Result<Provisioned, NumberError> {
    let (Some(number), Some(sid)) = (n.phone_number.clone(), n.sid.clone()) else {
        return Err(NumberError::Twilio(TwilioError::Decode {
            status: 200,
            body_excerpt: "the number has no phone_number or sid".into(),
        }));
    };
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let (tenant, mut p) = store::lock(&mut tx, tenant_id, now)
        .await?
        .ok_or(NumberError::TenantGone)?;
    if let Some(existing) = tenant.twilio_number {
        // Assigned by an operator while we were buying. Ours keeps its FriendlyName, so it is
        // released with the tenant's numbers on cancellation.
        tracing::warn!(tenant = %tenant_id, existing = %existing, bought = %number, "the tenant got a number while one was being bought");
        return Ok(Provisioned::Existing(existing));
    }
    store::set_tenant_number(&mut tx, tenant_id, Some(&number), Some(&sid), now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => NumberError::Clash(number.clone()),
            other => other.into(),
        })?;
    p.attempts += 1;
    p.last_attempt_at = Some(now);
    p.phone_number = Some(number.clone());
    p.phone_number_sid = Some(sid.clone());
    p.reason = None;
    p.twilio_code = None;
    // Cancelled while we were buying: the number stays recorded and goes back at release time.
    if p.state != ProvisioningState::Releasing {
        p.state = ProvisioningState::Active;
        p.release_after = None;
    }
    store::save(&mut tx, &p, now).await?;
    tx.commit().await?;
    state.routing.invalidate();
    tracing::info!(tenant = %tenant_id, number = %number, sid = %sid, adopted, "tenant number provisioned");
    Ok(Provisioned::Acquired {
        phone_number: number,
        sid,
        adopted,
    })
}

/// Records a failed run as `failed`, with Twilio's reason and code, if a number is still wanted.
async fn record_failure(
    state: &AppState,
    tenant_id: &str,
    e: &NumberError,
) -> Result<(), NumberError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let Some((_, mut p)) = store::lock(&mut tx, tenant_id, now).await? else {
        return Ok(());
    };
    if p.state.wants_number() {
        p.state = ProvisioningState::Failed;
        p.reason = Some(e.to_string());
        p.twilio_code = e.twilio_code().map(i64::from);
        p.attempts += 1;
        p.last_attempt_at = Some(now);
        store::save(&mut tx, &p, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The tenant has a number (given to it outside provisioning): record the row as active.
async fn mark_active(state: &AppState, tenant_id: &str) -> Result<(), NumberError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    if let Some((tenant, mut p)) = store::lock(&mut tx, tenant_id, now).await?
        && p.state.wants_number()
    {
        p.state = ProvisioningState::Active;
        p.phone_number = tenant.twilio_number;
        p.phone_number_sid = tenant.twilio_number_sid;
        p.reason = None;
        p.twilio_code = None;
        store::save(&mut tx, &p, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The outcome of a release run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// Nothing to do: the job is stale (the tenant was reactivated, or released already).
    Skipped,
    /// The grace period is not over: run again in this many milliseconds.
    NotYet(i64),
    /// These numbers went back to Twilio (possibly none, when nothing was left to release).
    Released(Vec<String>),
    /// Released, but the tenant was reactivated meanwhile: provisioning started over.
    Reprovisioning(Vec<String>),
}

/// Gives a canceled tenant's numbers back to Twilio: its number, a number a run bought while it was
/// being cancelled, and any other number named for it. `generation` is the job's; `None` is the
/// operator's immediate release, which skips the grace period.
pub async fn release(
    state: &AppState,
    tenant_id: &str,
    generation: Option<i64>,
) -> Result<Released, NumberError> {
    let lease = lease(state, tenant_id).await?;
    let out = release_leased(state, tenant_id, generation).await;
    give_back(state, tenant_id, &lease).await;
    out
}

/// A tenant's own release from the console, now (no grace period): refused when it has no number.
pub async fn release_own(state: &AppState, tenant: &Tenant) -> Result<Released, NumberError> {
    if tenant.twilio_number.is_none() {
        return Err(NumberError::NoNumber);
    }
    release(state, &tenant.id, None).await
}

async fn release_leased(
    state: &AppState,
    tenant_id: &str,
    generation: Option<i64>,
) -> Result<Released, NumberError> {
    let now = state.clock.now_ms();
    let tenant = db::tenants::get(&state.db, tenant_id)
        .await?
        .ok_or(NumberError::TenantGone)?;
    let p = store::get(&state.db, tenant_id)
        .await?
        .ok_or(NumberError::TenantGone)?;
    if let Some(g) = generation {
        if p.state != ProvisioningState::Releasing || p.generation != g {
            return Ok(Released::Skipped);
        }
        if let Some(at) = p.release_after.filter(|at| *at > now) {
            return Ok(Released::NotYet(at - now));
        }
    }
    let mut ours: BTreeSet<String> = BTreeSet::new();
    ours.extend(tenant.twilio_number.as_ref().map(|n| n.to_string()));
    ours.extend(p.phone_number.clone());
    let result = release_numbers(state, tenant_id, &ours).await;
    let released = match result {
        Ok(r) => r,
        Err(e) => {
            note_release_failure(state, tenant_id, &e).await?;
            return Err(e);
        }
    };
    let mut tx = state.db.begin().await?;
    let Some((tn, mut p)) = store::lock(&mut tx, tenant_id, now).await? else {
        return Ok(Released::Released(released));
    };
    if tn.twilio_number.as_ref().is_some_and(|n| ours.contains(n)) {
        store::set_tenant_number(&mut tx, tenant_id, None, None, now).await?;
    }
    let reactivated = generation.is_some() && p.state != ProvisioningState::Releasing;
    let out = if reactivated {
        // Reactivated while the release was under way: the number is gone, so get a new one.
        start_provisioning(state, &mut tx, &mut p, now, 0).await?;
        Released::Reprovisioning(released)
    } else {
        p.state = ProvisioningState::Released;
        p.released_at = Some(now);
        p.release_after = None;
        p.phone_number = None;
        p.phone_number_sid = None;
        p.reason = None;
        p.twilio_code = None;
        p.attempts += 1;
        p.last_attempt_at = Some(now);
        store::save(&mut tx, &p, now).await?;
        Released::Released(released)
    };
    tx.commit().await?;
    state.routing.invalidate();
    state.job_wakeup.notify_waiters();
    tracing::info!(tenant = %tenant_id, outcome = ?out, "tenant numbers released");
    Ok(out)
}

/// Releases every number on the account that is in `ours` or named for the tenant.
async fn release_numbers(
    state: &AppState,
    tenant_id: &str,
    ours: &BTreeSet<String>,
) -> Result<Vec<String>, NumberError> {
    let client = &state.twilio.client;
    let mut released = Vec::new();
    for n in client.list_incoming_numbers(None).await? {
        let number = n.phone_number.clone().unwrap_or_default();
        let mine = ours.contains(&number) || names_tenant(n.friendly_name.as_deref(), tenant_id);
        let Some(sid) = n.sid.as_deref().filter(|_| mine) else {
            continue;
        };
        match client.release_number(sid).await {
            Ok(()) => released.push(number),
            // Released by someone else meanwhile: the outcome we wanted.
            Err(e) if e.http_status() == Some(404) => released.push(number),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(released)
}

/// Keeps the reason of a failed release visible; the state stays `releasing` and the job retries.
async fn note_release_failure(
    state: &AppState,
    tenant_id: &str,
    e: &NumberError,
) -> Result<(), NumberError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    if let Some((_, mut p)) = store::lock(&mut tx, tenant_id, now).await? {
        p.reason = Some(e.to_string());
        p.twilio_code = e.twilio_code().map(i64::from);
        p.attempts += 1;
        p.last_attempt_at = Some(now);
        store::save(&mut tx, &p, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What `repair` found and did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepairReport {
    pub phone_number: String,
    pub phone_number_sid: String,
    /// Twilio settings that differed from what they should be (e.g. `VoiceUrl`).
    pub drift: Vec<String>,
    /// Whether the number was updated.
    pub repaired: bool,
}

/// Re-points a tenant's number at this deployment when its webhooks (or FriendlyName) drifted, and
/// corrects a stored SID that does not match Twilio's.
pub async fn repair(state: &AppState, tenant: &Tenant) -> Result<RepairReport, NumberError> {
    let number = tenant.twilio_number.as_ref().ok_or(NumberError::NoNumber)?;
    let client = &state.twilio.client;
    let have = client
        .list_incoming_numbers(Some(number.as_str()))
        .await?
        .into_iter()
        .find(|n| n.phone_number.as_deref() == Some(number.as_str()))
        .ok_or_else(|| NumberError::NotOwned(number.to_string()))?;
    let sid = have.sid.clone().unwrap_or_default();
    let want = desired_config(state, tenant);
    let drifted = drift(&have, &want, &tenant.id);
    if !drifted.is_empty() {
        client
            .update_number(&sid, &repair_config(&want, &drifted))
            .await?;
        tracing::info!(tenant = %tenant.id, number = %number, drift = ?drifted, "number webhooks repaired");
    }
    if tenant.twilio_number_sid.as_deref() != Some(sid.as_str()) {
        let now = state.clock.now_ms();
        let mut tx = state.db.begin().await?;
        store::set_tenant_number(&mut tx, &tenant.id, Some(number.as_str()), Some(&sid), now)
            .await?;
        tx.commit().await?;
        state.routing.invalidate();
    }
    Ok(RepairReport {
        phone_number: number.to_string(),
        phone_number_sid: sid,
        repaired: !drifted.is_empty(),
        drift: drifted.into_iter().map(str::to_string).collect(),
    })
}
