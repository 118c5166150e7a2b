//! Creating, changing and presenting tenants.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::db::StoreError;
use crate::db::Tx;
use crate::db::{self, tenants::Tenant};
use crate::domain::routing::AiConnector;
use crate::domain::{
    self, BusinessHours, E164, MessagingSettings, RoutingPolicy, Slug, SubscriptionStatus,
    Templates, TimeZoneName, text,
};
use crate::failure::Failure;
use crate::state::AppState;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTenant {
    /// Business name, 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// URL-safe handle; derived from the name when absent.
    #[schema(value_type = Option<String>, example = "bella-salon")]
    pub slug: Option<Slug>,
    /// IANA time zone; `DEFAULT_TIME_ZONE` when absent.
    #[schema(value_type = Option<String>, example = "America/New_York")]
    pub time_zone: Option<TimeZoneName>,
    /// The tenant's Twilio number (E.164), unique across tenants.
    pub phone_number: Option<E164>,
    /// The number's Twilio SID (PN…).
    pub phone_number_sid: Option<String>,
    pub subscription_status: Option<SubscriptionStatus>,
    pub stripe_customer_id: Option<String>,
    pub business_hours: Option<BusinessHours>,
    pub routing_policy: Option<RoutingPolicy>,
    pub templates: Option<Templates>,
    pub messaging: Option<MessagingSettings>,
}

/// A partial update: absent fields stay, `null` clears the optional ones.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTenant {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub slug: Option<Slug>,
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<TimeZoneName>,
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    #[schema(value_type = Option<String>)]
    pub phone_number: Option<Option<E164>>,
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    #[schema(value_type = Option<String>)]
    pub phone_number_sid: Option<Option<String>>,
    pub subscription_status: Option<SubscriptionStatus>,
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    #[schema(value_type = Option<String>)]
    pub stripe_customer_id: Option<Option<String>>,
    pub business_hours: Option<BusinessHours>,
    pub routing_policy: Option<RoutingPolicy>,
    pub templates: Option<Templates>,
    pub messaging: Option<MessagingSettings>,
}

/// A tenant as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub time_zone: String,
    pub phone_number: Option<String>,
    pub phone_number_sid: Option<String>,
    pub subscription_status: SubscriptionStatus,
    pub stripe_customer_id: Option<String>,
    pub business_hours: BusinessHours,
    pub routing_policy: RoutingPolicy,
    pub templates: Templates,
    pub messaging: MessagingSettings,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// 402 `SUBSCRIPTION_ENDED` for a tenant whose subscription is over: texts and calls it asks for
/// would run on the Twilio account every tenant shares. Its number keeps answering inbound calls
/// and texts until it is released.
pub fn ensure_may_send(tenant: &Tenant) -> Result<(), Failure> {
    if tenant.subscription_status.has_ended() {
        return Err(Failure::refused(
            axum::http::StatusCode::PAYMENT_REQUIRED,
            "SUBSCRIPTION_ENDED",
            format!(
                "This business's subscription is {}: it cannot send texts or place calls until it is reactivated.",
                tenant.subscription_status.as_str()
            ),
        ));
    }
    Ok(())
}

/// What `apiKey` reads as once a key is stored: the key itself is write-only.
pub const API_KEY_SET: &str = "set";

/// The policy as answered: the AI provider's key is replaced by [`API_KEY_SET`].
fn shown_policy(p: &RoutingPolicy) -> RoutingPolicy {
    let mut p = p.clone();
    if let Some(ai) = &mut p.ai_assistant
        && ai.api_key.is_some()
    {
        ai.api_key = Some(API_KEY_SET.into());
    }
    p
}

/// A policy sent back as it was read (`"apiKey": "set"`) keeps the stored key.
fn keep_stored_api_key(
    mut new: RoutingPolicy,
    old: &RoutingPolicy,
) -> Result<RoutingPolicy, Failure> {
    if let Some(ai) = &mut new.ai_assistant
        && ai.api_key.as_deref() == Some(API_KEY_SET)
    {
        let stored = old.ai_assistant.as_ref().and_then(|a| a.api_key.clone());
        if stored.is_none() {
            return Err(Failure::invalid(
                "routingPolicy.aiAssistant.apiKey",
                "\"set\" stands for a stored key, and none is stored: send the key itself",
            ));
        }
        ai.api_key = stored;
    }
    Ok(new)
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        TenantView {
            id: t.id.clone(),
            name: t.name.clone(),
            slug: t.slug.as_str().to_string(),
            time_zone: t.time_zone.to_string(),
            phone_number: t.twilio_number.as_ref().map(|n| n.to_string()),
            phone_number_sid: t.twilio_number_sid.clone(),
            subscription_status: t.subscription_status,
            stripe_customer_id: t.stripe_customer_id.clone(),
            business_hours: t.business_hours.clone(),
            routing_policy: shown_policy(&t.routing_policy),
            templates: t.templates.clone(),
            messaging: t.messaging.clone(),
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

fn sid(field: &str, v: &str, prefix: &str) -> Result<String, Failure> {
    let v = v.trim();
    let ok =
        v.len() == 34 && v.starts_with(prefix) && v[2..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(v.to_string())
    } else {
        Err(Failure::invalid(
            field,
            format!("must be {prefix} followed by 32 hexadecimal characters"),
        ))
    }
}

fn stripe_id(v: &str) -> Result<String, Failure> {
    let v = v.trim();
    if v.starts_with("cus_")
        && v.len() <= 255
        && v[4..].chars().all(|c| c.is_ascii_alphanumeric())
        && v.len() > 4
    {
        Ok(v.to_string())
    } else {
        Err(Failure::invalid(
            "stripeCustomerId",
            "must look like cus_ followed by letters and digits",
        ))
    }
}

/// Rules that span fields or that serde cannot express.
fn check(t: &Tenant) -> Result<(), Failure> {
    t.business_hours.validate("businessHours")?;
    t.routing_policy.validate("routingPolicy")?;
    t.templates.validate("templates")?;
    t.messaging.validate("messaging")?;
    Ok(())
}

/// The AI provider's URL is the tenant's choice and Switchboard itself posts to it, so it must lead
/// to a destination the deployment allows (`domain::destination`: public `https://`, unless
/// `ALLOW_PRIVATE_DESTINATIONS`). Checked when a policy is saved, not on every change to the
/// tenant, so a billing event or new hours never fail over a policy saved before the check; the
/// hand-off checks again before each request anyway.
fn check_destinations(state: &AppState, p: &RoutingPolicy) -> Result<(), Failure> {
    const FIELD: &str = "routingPolicy.aiAssistant.url";
    if let Some(ai) = &p.ai_assistant
        && ai.connector == AiConnector::ProviderTwiml
        && let Some(raw) = &ai.url
    {
        let url =
            url::Url::parse(raw).map_err(|_| Failure::invalid(FIELD, "must be an absolute URL"))?;
        state.config.destinations().check(FIELD, &url)?;
    }
    Ok(())
}

fn conflict(e: StoreError) -> Failure {
    match e {
        StoreError::Conflict(col) => {
            let field = match col.as_str() {
                "twilio_number" => "phoneNumber",
                "stripe_customer_id" => "stripeCustomerId",
                other => other,
            };
            Failure::conflict(field, format!("{field} is already used by another tenant"))
        }
        other => other.into(),
    }
}

pub async fn create(state: &AppState, req: CreateTenant) -> Result<Tenant, Failure> {
    let name = text::required("name", &req.name, 200)?;
    let now = state.clock.now_ms();
    let tenant = Tenant {
        id: domain::new_id(),
        slug: req.slug.unwrap_or_else(|| Slug::from_name(&name)),
        name,
        time_zone: req
            .time_zone
            .unwrap_or_else(|| state.config.tenants.default_time_zone.clone()),
        twilio_number: req.phone_number,
        twilio_number_sid: req
            .phone_number_sid
            .as_deref()
            .map(|s| sid("phoneNumberSid", s, "PN"))
            .transpose()?,
        subscription_status: req.subscription_status.unwrap_or(SubscriptionStatus::None),
        stripe_customer_id: req
            .stripe_customer_id
            .as_deref()
            .map(stripe_id)
            .transpose()?,
        business_hours: req.business_hours.unwrap_or_default(),
        routing_policy: req.routing_policy.unwrap_or_default(),
        templates: req.templates.unwrap_or_default(),
        messaging: req.messaging.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    check(&tenant)?;
    check_destinations(state, &tenant.routing_policy)?;
    db::tenants::insert(&state.db, &tenant)
        .await
        .map_err(conflict)?;
    state.routing.invalidate();
    tracing::info!(tenant = %tenant.id, slug = tenant.slug.as_str(), "tenant created");
    Ok(tenant)
}

/// Applies `req` to the stored tenant `id`.
pub async fn update(state: &AppState, id: &str, req: UpdateTenant) -> Result<Tenant, Failure> {
    let mut tx = state.db.begin().await?;
    let t = update_in(state, &mut tx, id, req).await?;
    tx.commit().await?;
    state.routing.invalidate();
    state.job_wakeup.notify_waiters();
    Ok(t)
}

/// A subscription status from a billing event created at `event_at` (ms): applied in one
/// transaction with the tenant row locked and the tenant's event-ordering marker advanced, so two
/// events racing each other cannot apply out of order. `None` when an event at least as new was
/// applied already (Stripe does not promise order).
pub async fn apply_billing_event(
    state: &AppState,
    id: &str,
    status: SubscriptionStatus,
    event_at: i64,
) -> Result<Option<Tenant>, Failure> {
    let mut tx = state.db.begin().await?;
    if db::tenants::get_for_update(&mut tx, id).await?.is_none() {
        return Err(Failure::not_found("tenant"));
    }
    let now = state.clock.now_ms();
    if !crate::numbers::store::advance_stripe_marker(&mut tx, id, event_at, now).await? {
        return Ok(None);
    }
    let req = UpdateTenant {
        subscription_status: Some(status),
        ..Default::default()
    };
    let t = update_in(state, &mut tx, id, req).await?;
    tx.commit().await?;
    state.routing.invalidate();
    state.job_wakeup.notify_waiters();
    Ok(Some(t))
}

/// [`update`] inside `tx`: the tenant is read with its row locked, and the change and the jobs it
/// causes (a subscription change's provisioning or release) commit together or not at all.
async fn update_in(
    state: &AppState,
    tx: &mut Tx,
    id: &str,
    req: UpdateTenant,
) -> Result<Tenant, Failure> {
    let mut t = db::tenants::get_for_update(tx, id)
        .await?
        .ok_or_else(|| Failure::not_found("tenant"))?;
    let policy_given = req.routing_policy.is_some();
    if let Some(name) = req.name {
        t.name = text::required("name", &name, 200)?;
    }
    if let Some(slug) = req.slug {
        t.slug = slug;
    }
    if let Some(tz) = req.time_zone {
        t.time_zone = tz;
    }
    if let Some(n) = req.phone_number {
        t.twilio_number = n;
    }
    if let Some(s) = req.phone_number_sid {
        t.twilio_number_sid = s
            .as_deref()
            .map(|s| sid("phoneNumberSid", s, "PN"))
            .transpose()?;
    }
    if let Some(s) = req.subscription_status {
        t.subscription_status = s;
    }
    if let Some(c) = req.stripe_customer_id {
        t.stripe_customer_id = c.as_deref().map(stripe_id).transpose()?;
    }
    if let Some(h) = req.business_hours {
        t.business_hours = h;
    }
    if let Some(p) = req.routing_policy {
        t.routing_policy = keep_stored_api_key(p, &t.routing_policy)?;
    }
    if let Some(tpl) = req.templates {
        t.templates = tpl;
    }
    if let Some(m) = req.messaging {
        t.messaging = m;
    }
    check(&t)?;
    if policy_given {
        check_destinations(state, &t.routing_policy)?;
    }
    t.updated_at = state.clock.now_ms();
    // The subscription change and the number provisioning (or release) job it causes commit in one
    // transaction: never a change without its job, never a job for a change that rolled back.
    db::tenants::update(&mut *tx, &t)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => Failure::not_found("tenant"),
            other => conflict(other),
        })?;
    if let Some(status) = req.subscription_status {
        crate::numbers::subscription_changed(state, tx, &t.id, status).await?;
    }
    Ok(t)
}

/// Single-business mode: makes sure a default tenant owns `TWILIO_PHONE_NUMBER`, and that its calls
/// forward to `USER_PHONE_NUMBER` when that is set. Safe to run on every start and on many instances.
pub async fn ensure_single_business_tenant(state: &AppState) -> Result<Option<Tenant>, Failure> {
    let Some(number) = state.config.tenants.phone_number.clone() else {
        return Ok(None);
    };
    let existing = db::tenants::get_by_number(&state.db, &number).await?;
    let mut tenant = match existing {
        Some(t) => t,
        None => {
            let slug = match db::tenants::get_by_slug(&state.db, "default").await? {
                None => Slug::parse("slug", "default")?,
                Some(_) => Slug::from_name(&format!("default {}", &number.as_str()[1..])),
            };
            let req = CreateTenant {
                name: "Default business".into(),
                slug: Some(slug),
                phone_number: Some(number.clone()),
                phone_number_sid: state.config.tenants.phone_number_sid.clone(),
                subscription_status: Some(SubscriptionStatus::Active),
                // A single-number deployment forwards whatever the hour unless told otherwise.
                business_hours: Some(
                    state
                        .config
                        .tenants
                        .business_hours
                        .clone()
                        .unwrap_or_else(BusinessHours::always_open),
                ),
                ..Default::default()
            };
            match create(state, req).await {
                Ok(t) => t,
                // Another instance created it first.
                Err(e) if e.code() == "CONFLICT" => db::tenants::get_by_number(&state.db, &number)
                    .await?
                    .ok_or_else(|| Failure::internal("single-business tenant vanished"))?,
                Err(e) => return Err(e),
            }
        }
    };
    // Configured hours are the configuration's to keep: they win on every start.
    if let Some(hours) = &state.config.tenants.business_hours
        && &tenant.business_hours != hours
    {
        tenant = update(
            state,
            &tenant.id,
            UpdateTenant {
                business_hours: Some(hours.clone()),
                ..Default::default()
            },
        )
        .await?;
    }
    if let Some(user) = &state.config.tenants.user_phone_number {
        let policy = &tenant.routing_policy;
        let wanted = policy.strategy == domain::routing::Strategy::ForwardExternal
            && policy.external_number.as_ref() == Some(user);
        if !wanted {
            let mut policy = policy.clone();
            policy.strategy = domain::routing::Strategy::ForwardExternal;
            policy.external_number = Some(user.clone());
            tenant = update(
                state,
                &tenant.id,
                UpdateTenant {
                    routing_policy: Some(policy),
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    Ok(Some(tenant))
}
