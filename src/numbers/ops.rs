//! Number operations through Twilio's REST API: search, acquire (adopt or buy) with this
//! deployment's webhooks, repair drifted webhooks, release. The provisioning and release runs here
//! are what the jobs, the tenant endpoints and the CLI all call.
//!
//! A run holds the tenant's lease on its provisioning row for its whole Twilio conversation, so two
//! instances (or a job and a synchronous `provision-phone`) never buy for the same tenant at once.
//! The lease is longer than the REST client's timeouts allow a run to take; should it still expire
//! mid-run, the next run's FriendlyName reconciliation finds what the first one bought.

use std::collections::BTreeSet;

use switchboard_twilio::rest::{
    AvailableNumberSearch, AvailablePhoneNumber, BuyNumber, IncomingPhoneNumber, NumberConfig,
    NumberKind, NumberToBuy, TwilioError, WebhookMethod,
};

use super::{ProvisioningState, start_provisioning, store};
use crate::db::StoreError;
use crate::db::{self, tenants::Tenant};
use crate::domain::E164;
use crate::failure::Failure;
use crate::state::AppState;

/// How long a run may hold a tenant's lease: several Twilio calls of at most 15 s each, with room.
pub const LEASE_MS: i64 = 120_000;
/// Incoming SMS webhook (seed 000's path).
pub const SMS_PATH: &str = "/api/webhooks/twilio/sms";
/// Marks a FriendlyName as Switchboard's: `sb:<tenant id> <tenant name>`.
const NAME_TAG: &str = "sb:";
/// Twilio's limit on FriendlyName.
const FRIENDLY_NAME_MAX: usize = 64;
/// Candidates tried when buying "any number in the country" loses races for the first ones.
const BUY_CANDIDATES: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum NumberError {
    #[error("{}", .0.human_reason())]
    Twilio(TwilioError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another run holds the tenant's lease.
    #[error("another run holds the tenant's provisioning lease")]
    Busy { retry_in_ms: i64 },
    #[error("Phone number already provisioned for this tenant")]
    AlreadyProvisioned,
    #[error("the tenant's number is being released")]
    Releasing,
    #[error("the tenant has no phone number")]
    NoNumber,
    /// Only ACTIVE and TRIALING tenants get numbers.
    #[error("the tenant's subscription is {}", .0.as_str())]
    SubscriptionInactive(crate::domain::SubscriptionStatus),
    #[error("the Twilio account does not own {0}")]
    NotOwned(String),
    #[error("{0}")]
    NoneAvailable(String),
    #[error("{0} already belongs to another tenant")]
    Clash(String),
    #[error("the tenant no longer exists")]
    TenantGone,
}

impl From<TwilioError> for NumberError {
    fn from(e: TwilioError) -> Self {
        NumberError::Twilio(e)
    }
}

impl NumberError {
    /// Twilio's error code, when Twilio refused.
    pub fn twilio_code(&self) -> Option<u32> {
        match self {
            NumberError::Twilio(t) => t.twilio_code(),
            _ => None,
        }
    }
}

/// `APP_URL` + `path`: the URL Twilio must call.
pub fn webhook_url(state: &AppState, path: &str) -> String {
    format!(
        "{}{path}",
        state.config.server.app_url.as_str().trim_end_matches('/')
    )
}

/// The FriendlyName of a tenant's number: `sb:<tenant id> <name>`, at most 64 characters. The id
/// part is what reconciliation matches, so renaming the tenant does not orphan its number.
pub fn friendly_name(tenant_id: &str, name: &str) -> String {
    format!("{NAME_TAG}{tenant_id} {name}")
        .chars()
        .take(FRIENDLY_NAME_MAX)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Whether a number's FriendlyName says it was bought for `tenant_id`.
pub fn names_tenant(friendly: Option<&str>, tenant_id: &str) -> bool {
    let Some(rest) = friendly.and_then(|f| f.strip_prefix(NAME_TAG)) else {
        return false;
    };
    rest.strip_prefix(tenant_id)
        .is_some_and(|tail| tail.is_empty() || tail.starts_with(' '))
}

/// What a tenant's number must be configured with: this deployment's voice, SMS and call-status
/// webhooks (POST) and a FriendlyName naming the tenant. (Twilio numbers have no SMS status
/// callback: the SMS sender sets `StatusCallback` on every message it sends.)
pub fn desired_config(state: &AppState, tenant: &Tenant) -> NumberConfig {
    NumberConfig {
        friendly_name: Some(friendly_name(&tenant.id, &tenant.name)),
        voice_url: Some(webhook_url(state, crate::calls::VOICE_PATHS[0])),
        voice_method: Some(WebhookMethod::Post),
        sms_url: Some(webhook_url(state, SMS_PATH)),
        sms_method: Some(WebhookMethod::Post),
        status_callback: Some(webhook_url(state, crate::calls::STATUS_PATHS[0])),
        status_callback_method: Some(WebhookMethod::Post),
        ..Default::default()
    }
}

/// The settings of `have` that differ from `want` (Twilio's parameter names). A TwiML App SID on
/// the number is drift too: Twilio would use the App's URLs instead of ours.
pub fn drift(
    have: &IncomingPhoneNumber,
    want: &NumberConfig,
    tenant_id: &str,
) -> Vec<&'static str> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    // Twilio's default method is POST; an absent one reads as that.
    let method = |v: &Option<String>| {
        v.as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or("POST")
            .to_ascii_uppercase()
    };
    let want_method = |m: Option<WebhookMethod>| m.unwrap_or(WebhookMethod::Post).as_str();
    let mut out = Vec::new();
    if text(&have.voice_url) != text(&want.voice_url) {
        out.push("VoiceUrl");
    }
    if method(&have.voice_method) != want_method(want.voice_method) {
        out.push("VoiceMethod");
    }
    if text(&have.sms_url) != text(&want.sms_url) {
        out.push("SmsUrl");
    }
    if method(&have.sms_method) != want_method(want.sms_method) {
        out.push("SmsMethod");
    }
    if text(&have.status_callback) != text(&want.status_callback) {
        out.push("StatusCallback");
    }
    if method(&have.status_callback_method) != want_method(want.status_callback_method) {
        out.push("StatusCallbackMethod");
    }
    if !text(&have.voice_application_sid).is_empty() {
        out.push("VoiceApplicationSid");
    }
    if !text(&have.sms_application_sid).is_empty() {
        out.push("SmsApplicationSid");
    }
    if !names_tenant(have.friendly_name.as_deref(), tenant_id) {
        out.push("FriendlyName");
    }
    out
}

/// The update that repairs `drifted` settings: our configuration, plus clearing any TwiML App.
fn repair_config(want: &NumberConfig, drifted: &[&str]) -> NumberConfig {
    let mut c = want.clone();
    if drifted.contains(&"VoiceApplicationSid") {
        c.voice_application_sid = Some(String::new());
    }
    if drifted.contains(&"SmsApplicationSid") {
        c.sms_application_sid = Some(String::new());
    }
    c
}

/// A number search (the API's and the CLI's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// ISO 3166 alpha-2, upper case.
    pub country: String,
    pub kind: NumberKind,
    /// Three digits (US and Canada).
    pub area_code: Option<String>,
    /// Digits (or letters, `*` for any digit) the number must contain.
    pub contains: Option<String>,
    pub sms_enabled: Option<bool>,
    pub voice_enabled: Option<bool>,
    pub limit: u32,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            country: "US".into(),
            kind: NumberKind::Local,
            area_code: None,
            contains: None,
            sms_enabled: None,
            voice_enabled: None,
            limit: 20,
        }
    }
}

/// A North American area code: three digits, the first not 0 or 1.
pub fn parse_area_code(field: &str, s: &str) -> Result<String, Failure> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() == 3 && b.iter().all(u8::is_ascii_digit) && b[0] >= b'2' {
        Ok(s.to_string())
    } else {
        Err(Failure::invalid(
            field,
            "must be a 3-digit area code such as 415 (first digit 2-9)",
        ))
    }
}

/// An ISO 3166 alpha-2 country code, upper-cased.
pub fn parse_country(field: &str, s: &str) -> Result<String, Failure> {
    let s = s.trim();
    if s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(s.to_ascii_uppercase())
    } else {
        Err(Failure::invalid(
            field,
            "must be a two-letter ISO country code such as US",
        ))
    }
}

/// `local`, `toll-free` (or `tollfree`, `toll_free`) or `mobile`.
pub fn parse_kind(field: &str, s: &str) -> Result<NumberKind, Failure> {
    match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "local" => Ok(NumberKind::Local),
        "toll-free" | "tollfree" => Ok(NumberKind::TollFree),
        "mobile" => Ok(NumberKind::Mobile),
        _ => Err(Failure::invalid(
            field,
            "must be local, toll-free or mobile",
        )),
    }
}

/// `Contains`: 1-16 digits, letters or `*`.
pub fn parse_contains(field: &str, s: &str) -> Result<String, Failure> {
    let s = s.trim();
    if (1..=16).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '*') {
        Ok(s.to_string())
    } else {
        Err(Failure::invalid(
            field,
            "must be 1-16 digits or letters (* matches any digit)",
        ))
    }
}

/// Numbers Twilio offers for `q`.
pub async fn search(
    state: &AppState,
    q: &SearchQuery,
) -> Result<Vec<AvailablePhoneNumber>, TwilioError> {
    let search = AvailableNumberSearch {
        area_code: q.area_code.as_deref().and_then(|a| a.parse().ok()),
        contains: q.contains.clone(),
        sms_enabled: q.sms_enabled,
        voice_enabled: q.voice_enabled,
        page_size: Some(q.limit.clamp(1, 1000)),
        ..Default::default()
    };
    state
        .twilio
        .client
        .search_available_numbers(&q.country, q.kind, &search)
        .await
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0192f0c4-8a5e-7c1d-9b2a-3f4e5d6c7b8a";

    #[test]
    fn friendly_name_names_the_tenant_within_twilios_limit() {
        let name = friendly_name(ID, &"Bella Salon ".repeat(10));
        assert!(name.chars().count() <= 64, "{name}");
        assert!(names_tenant(Some(&name), ID));
        assert!(names_tenant(Some(&format!("sb:{ID}")), ID));
        // Another tenant whose id starts with this one's, or a number someone else named.
        assert!(!names_tenant(Some(&format!("sb:{ID}0 X")), ID));
        assert!(!names_tenant(Some(&format!("{ID} Bella")), ID));
        assert!(!names_tenant(None, ID));
    }

    #[test]
    fn area_codes_are_three_digits_not_starting_with_0_or_1() {
        assert_eq!(parse_area_code("areaCode", " 415 ").unwrap(), "415");
        for bad in ["41", "4155", "abc", "015", "115", ""] {
            let e = parse_area_code("areaCode", bad).unwrap_err();
            assert_eq!(e.field(), Some("areaCode"), "{bad}");
        }
    }

    #[test]
    fn drift_lists_each_setting_that_differs() {
        let want = NumberConfig {
            friendly_name: Some(friendly_name(ID, "Bella")),
            voice_url: Some("https://sb.example/api/webhooks/twilio/voice".into()),
            voice_method: Some(WebhookMethod::Post),
            sms_url: Some("https://sb.example/api/webhooks/twilio/sms".into()),
            sms_method: Some(WebhookMethod::Post),
            status_callback: Some("https://sb.example/api/webhooks/twilio/voice/status".into()),
            status_callback_method: Some(WebhookMethod::Post),
            ..Default::default()
        };
        let good = IncomingPhoneNumber {
            friendly_name: want.friendly_name.clone(),
            voice_url: want.voice_url.clone(),
            voice_method: Some("post".into()),
            sms_url: want.sms_url.clone(),
            sms_method: None,
            status_callback: want.status_callback.clone(),
            status_callback_method: Some("POST".into()),
            voice_application_sid: Some(String::new()),
            ..Default::default()
        };
        assert!(drift(&good, &want, ID).is_empty());
        let bad = IncomingPhoneNumber {
            voice_url: Some("https://old.example/voice".into()),
            sms_method: Some("GET".into()),
            status_callback: Some(String::new()),
            voice_application_sid: Some("AP0123".into()),
            friendly_name: Some("(415) 555-0100".into()),
            ..good
        };
        assert_eq!(
            drift(&bad, &want, ID),
            vec![
                "VoiceUrl",
                "SmsMethod",
                "StatusCallback",
                "VoiceApplicationSid",
                "FriendlyName"
            ]
        );
        let fix = repair_config(&want, &drift(&bad, &want, ID));
        assert_eq!(fix.voice_application_sid.as_deref(), Some(""));
        assert_eq!(fix.sms_application_sid, None);
    }
}
