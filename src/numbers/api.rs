//! Phone-number endpoints: the tenant's own number (seed 000: `GET /api/telephony/phone-number`,
//! `POST /api/telephony/provision-phone`), seed 002's number search, purchase and configuration
//! check under `/api/twilio`, and the operator's view of provisioning under `/api/admin`.
//! The work is in [`crate::numbers`]; this module validates and shapes answers.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::config::TwilioMode;
use crate::db;
use crate::domain::E164;
use crate::failure::Failure;
use crate::numbers::ops::{self, RepairReport};
use crate::numbers::search::SearchQuery;
use crate::numbers::{self, NumberError, Provisioned, ProvisioningState, ProvisioningView};
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::auth::AdminAuth;
use crate::web::doc::{AdminAuthErrors, JsonBodyErrors, SubscriptionInactive, TenantAuthErrors};
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::{ValidJson, ValidQuery};

#[derive(OpenApi)]
#[openapi(tags(
    (name = "twilio", description = "Seed 002's Twilio application API (Bearer JWT or tenant API key)"),
))]
struct NumbersDoc;

/// The tenant's number (seed 000), with how its provisioning stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumberData {
    /// E.164, or null while the tenant has none.
    pub phone_number: Option<String>,
    /// Provisioning state: none, provisioning, active, releasing, released or failed.
    pub status: ProvisioningState,
    /// Why provisioning last failed, when it did (it is retried automatically).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The authenticated tenant's phone number.
#[utoipa::path(get, path = "/api/telephony/phone-number", tag = "telephony", security(("tenant" = [])),
    responses((status = 200, description = "Success", body = Envelope<PhoneNumberData>), TenantAuthErrors))]
async fn phone_number(
    auth: TenantAuth,
    State(state): State<AppState>,
) -> Result<Json<Envelope<PhoneNumberData>>, ApiError> {
    let v = numbers::view(&state, &auth.tenant).await?;
    Ok(ok(PhoneNumberData {
        phone_number: v.phone_number,
        status: v.state,
        reason: v.reason,
    }))
}

/// `{"phoneNumber": …}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedNumber {
    pub phone_number: String,
}

/// Provision a phone number for the tenant, if it has none: adopts or buys one now, with this
/// deployment's webhooks. 400 when the tenant already has a number. When Twilio fails, the answer
/// says why and provisioning is retried in the background.
#[utoipa::path(post, path = "/api/telephony/provision-phone", tag = "telephony", security(("tenant" = [])),
    responses((status = 200, description = "Success", body = Envelope<ProvisionedNumber>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with the current state; `error.code` says how", body = ErrorEnvelope),
        (status = 502, description = "Twilio failed or could not be reached", body = ErrorEnvelope),
        TenantAuthErrors, SubscriptionInactive))]
async fn provision_phone(
    auth: TenantAuth,
    State(state): State<AppState>,
) -> Result<Json<Envelope<ProvisionedNumber>>, ApiError> {
    let id = &auth.tenant.id;
    if auth.tenant.twilio_number.is_some() {
        return Err(NumberError::AlreadyProvisioned.into());
    }
    // Before the safety-net job is queued: an inactive tenant gets a 402 and leaves nothing behind.
    if !auth.tenant.subscription_status.is_live() {
        return Err(NumberError::SubscriptionInactive(auth.tenant.subscription_status).into());
    }
    // The job is only the safety net for this request dying mid-way: due once our lease would
    // have expired, so it does not race the run below for it.
    numbers::request_number(&state, id, false, ops::LEASE_MS).await?;
    let number = match ops::provision(&state, id, None, None).await {
        Ok(Provisioned::Acquired { phone_number, .. })
        | Ok(Provisioned::Existing(phone_number)) => phone_number,
        // Another run finished first: its number is the tenant's.
        Ok(Provisioned::Skipped) => db::tenants::get(&state.db, id)
            .await?
            .and_then(|t| t.twilio_number)
            .map(|n| n.to_string())
            .ok_or(NumberError::Busy { retry_in_ms: 1000 })?,
        Err(e @ NumberError::Twilio(_)) | Err(e @ NumberError::NoneAvailable(_)) => {
            let mut err = ApiError::from(e);
            err.message = format!(
                "{} Provisioning is retried automatically; GET /api/telephony/phone-number shows its progress.",
                err.message
            );
            return Err(err);
        }
        Err(e) => return Err(e.into()),
    };
    Ok(ok(ProvisionedNumber {
        phone_number: number,
    }))
}

/// `GET /api/twilio/available-numbers` query. Other parameters are ignored (a seed route).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AvailableNumbersQuery {
    /// Three-digit area code (US and Canada), e.g. 415.
    #[param(pattern = r"^[2-9][0-9]{2}$")]
    pub area_code: Option<String>,
    /// ISO country code; default US.
    pub country: Option<String>,
    /// Digits or letters the number must contain (`*` matches any digit).
    pub contains: Option<String>,
    /// local (default), toll-free or mobile.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Only numbers that can send and receive SMS.
    pub sms_enabled: Option<bool>,
    /// Only numbers that can take calls.
    pub voice_enabled: Option<bool>,
    /// How many numbers (1-100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

impl AvailableNumbersQuery {
    /// Validated, each failure naming its parameter.
    pub fn to_search(&self) -> Result<SearchQuery, ApiError> {
        let mut q = SearchQuery::default();
        if let Some(a) = &self.area_code {
            q.area_code = Some(crate::numbers::search::parse_area_code("areaCode", a)?);
        }
        if let Some(c) = &self.country {
            q.country = crate::numbers::search::parse_country("country", c)?;
        }
        if let Some(c) = &self.contains {
            q.contains = Some(crate::numbers::search::parse_contains("contains", c)?);
        }
        if let Some(k) = &self.kind {
            q.kind = crate::numbers::search::parse_kind("type", k)?;
        }
        q.sms_enabled = self.sms_enabled;
        q.voice_enabled = self.voice_enabled;
        if let Some(l) = self.limit {
            if !(1..=100).contains(&l) {
                return Err(ApiError::validation("limit", "must be between 1 and 100"));
            }
            q.limit = l;
        }
        Ok(q)
    }
}

/// A number Twilio offers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailableNumber {
    pub phone_number: String,
    pub friendly_name: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub iso_country: Option<String>,
    pub capabilities: NumberCapabilities,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NumberCapabilities {
    pub voice: bool,
    pub sms: bool,
    pub mms: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailableNumberList {
    pub numbers: Vec<AvailableNumber>,
    pub count: usize,
}

/// Numbers available to buy (seed 002).
#[utoipa::path(get, path = "/api/twilio/available-numbers", tag = "twilio", security(("tenant" = [])),
    params(AvailableNumbersQuery),
    responses((status = 200, description = "Success", body = Envelope<AvailableNumberList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 502, description = "Twilio failed or could not be reached", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn available_numbers(
    _auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<AvailableNumbersQuery>,
) -> Result<Json<Envelope<AvailableNumberList>>, ApiError> {
    let q = q.to_search()?;
    let found = crate::numbers::search::available(&state, &q).await?;
    let numbers: Vec<AvailableNumber> = found
        .into_iter()
        .filter_map(|n| {
            Some(AvailableNumber {
                phone_number: n.phone_number?,
                friendly_name: n.friendly_name,
                locality: n.locality,
                region: n.region,
                postal_code: n.postal_code,
                iso_country: n.iso_country,
                capabilities: NumberCapabilities {
                    voice: n.capabilities.voice,
                    sms: n.capabilities.sms,
                    mms: n.capabilities.mms,
                },
            })
        })
        .collect();
    Ok(ok(AvailableNumberList {
        count: numbers.len(),
        numbers,
    }))
}

/// Seed 002's purchase. Other fields (its `clientId`) are accepted and ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseNumber {
    /// E.164 number from `available-numbers`.
    #[schema(value_type = String, example = "+14155550100")]
    pub phone_number: E164,
}

/// A bought number and the webhooks it was configured with.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchasedNumber {
    pub phone_number: String,
    pub phone_number_sid: String,
    pub voice_url: String,
    pub sms_url: String,
    pub status_callback: String,
}

/// Buy a number for the tenant (seed 002) and point its webhooks at this deployment. 400 when the
/// tenant already has a number or Twilio refuses (e.g. the number is not available, code 21422).
#[utoipa::path(post, path = "/api/twilio/purchase-number", tag = "twilio", security(("tenant" = [])),
    request_body = PurchaseNumber,
    responses((status = 201, description = "Created", body = Envelope<PurchasedNumber>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with the current state; `error.code` says how", body = ErrorEnvelope),
        (status = 502, description = "Twilio failed or could not be reached", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors, SubscriptionInactive))]
async fn purchase_number(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidJson(req): ValidJson<PurchaseNumber>,
) -> Result<(StatusCode, Json<Envelope<PurchasedNumber>>), ApiError> {
    let (phone_number, sid) = ops::purchase(&state, &auth.tenant.id, &req.phone_number).await?;
    let want = crate::numbers::setup::desired_config(&state, &auth.tenant);
    Ok((
        StatusCode::CREATED,
        ok(PurchasedNumber {
            phone_number,
            phone_number_sid: sid,
            voice_url: want.voice_url.unwrap_or_default(),
            sms_url: want.sms_url.unwrap_or_default(),
            status_callback: want.status_callback.unwrap_or_default(),
        }),
    ))
}

/// Whether Twilio is set up for the tenant (seed 002's configuration check).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwilioStatus {
    /// Calls and texts can flow: Twilio is reachable (live or sandbox) and the tenant has a number.
    pub configured: bool,
    /// `live` (real Twilio) or `sandbox` (the built-in stand-in).
    pub mode: String,
    /// The Account SID, masked (`AC12…cdef`).
    pub account_sid: String,
    /// The tenant's number, the from-number of its calls and texts.
    pub phone_number: Option<String>,
    /// Provisioning state of that number.
    pub provisioning: ProvisioningState,
    /// Where Twilio must send the number's calls, texts and call statuses.
    pub voice_url: String,
    pub sms_url: String,
    pub status_callback: String,
}

/// `AC12…cdef`: enough to recognise the account, not enough to use it.
pub fn mask_sid(sid: &str) -> String {
    let chars: Vec<char> = sid.chars().collect();
    if chars.len() <= 8 {
        return "…".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Twilio configuration for the tenant (seed 002).
#[utoipa::path(get, path = "/api/twilio/status", tag = "twilio", security(("tenant" = [])),
    responses((status = 200, description = "Success", body = Envelope<TwilioStatus>), TenantAuthErrors))]
async fn twilio_status(
    auth: TenantAuth,
    State(state): State<AppState>,
) -> Result<Json<Envelope<TwilioStatus>>, ApiError> {
    let v = numbers::view(&state, &auth.tenant).await?;
    let want = crate::numbers::setup::desired_config(&state, &auth.tenant);
    Ok(ok(TwilioStatus {
        configured: v.phone_number.is_some(),
        mode: match state.twilio.mode {
            TwilioMode::Live => "live".into(),
            TwilioMode::Sandbox => "sandbox".into(),
        },
        account_sid: mask_sid(&state.twilio.account_sid),
        phone_number: v.phone_number,
        provisioning: v.state,
        voice_url: want.voice_url.unwrap_or_default(),
        sms_url: want.sms_url.unwrap_or_default(),
        status_callback: want.status_callback.unwrap_or_default(),
    }))
}

async fn admin_tenant(state: &AppState, id: &str) -> Result<db::tenants::Tenant, ApiError> {
    db::tenants::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

/// A tenant's number provisioning: state, failure reason and Twilio code, attempts, its job.
#[utoipa::path(get, path = "/api/admin/tenants/{id}/provisioning", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<ProvisioningView>),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors))]
async fn show_provisioning(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<ProvisioningView>>, ApiError> {
    let t = admin_tenant(&state, &id).await?;
    Ok(ok(numbers::view(&state, &t).await?))
}

/// Where a tenant's next number comes from. Absent fields stay; `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisioningPreferences {
    /// ISO country code to buy in (default US).
    #[schema(example = "US")]
    pub country: Option<String>,
    /// Preferred area code (US and Canada); any number in the country when none is left there.
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    #[schema(value_type = Option<String>, example = "415")]
    pub area_code: Option<Option<String>>,
    /// An exact number to buy.
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    #[schema(value_type = Option<String>, example = "+14155550100")]
    pub phone_number: Option<Option<E164>>,
}

/// Applies validated preferences to the tenant's provisioning row (admin API and CLI).
pub async fn apply_preferences(
    state: &AppState,
    tenant: &db::tenants::Tenant,
    req: ProvisioningPreferences,
) -> Result<ProvisioningView, ApiError> {
    let country = req
        .country
        .as_deref()
        .map(|c| crate::numbers::search::parse_country("country", c))
        .transpose()?;
    let area_code = match req.area_code {
        Some(Some(a)) => Some(Some(crate::numbers::search::parse_area_code(
            "areaCode", &a,
        )?)),
        other => other,
    };
    if let Some(Some(_)) = &area_code {
        let current = numbers::store::get(&state.db, &tenant.id)
            .await?
            .map(|p| p.country);
        let effective = country.clone().or(current).unwrap_or_else(|| "US".into());
        if effective != "US" && effective != "CA" {
            return Err(ApiError::validation(
                "areaCode",
                "area codes exist only for US and CA numbers",
            ));
        }
    }
    let requested = req.phone_number.map(|n| n.map(|n| n.to_string()));
    numbers::set_preferences(state, &tenant.id, country, area_code, requested).await?;
    Ok(numbers::view(state, tenant).await?)
}

/// Change where the tenant's next number comes from (country, area code, exact number).
#[utoipa::path(patch, path = "/api/admin/tenants/{id}/provisioning", tag = "admin", security(("admin" = [])),
    request_body = ProvisioningPreferences,
    responses((status = 200, description = "Success", body = Envelope<ProvisioningView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope), AdminAuthErrors,
        JsonBodyErrors))]
async fn set_preferences(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidJson(req): ValidJson<ProvisioningPreferences>,
) -> Result<Json<Envelope<ProvisioningView>>, ApiError> {
    let t = admin_tenant(&state, &id).await?;
    Ok(ok(apply_preferences(&state, &t, req).await?))
}

/// Start provisioning again now, with fresh attempts (after a failure, or for a tenant without a
/// number). 400 when the tenant has a number, 409 while it is being released.
#[utoipa::path(post, path = "/api/admin/tenants/{id}/provisioning/retry", tag = "admin", security(("admin" = [])),
    responses((status = 202, description = "Accepted", body = Envelope<ProvisioningView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with the current state; `error.code` says how", body = ErrorEnvelope),
        AdminAuthErrors))]
async fn retry_provisioning(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Envelope<ProvisioningView>>), ApiError> {
    let t = admin_tenant(&state, &id).await?;
    numbers::request_number(&state, &t.id, true, 0).await?;
    Ok((StatusCode::ACCEPTED, ok(numbers::view(&state, &t).await?)))
}

/// Re-point the tenant's number at this deployment if its Twilio webhooks drifted.
#[utoipa::path(post, path = "/api/admin/tenants/{id}/number/repair", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<RepairReport>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such tenant", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with the current state; `error.code` says how", body = ErrorEnvelope),
        (status = 502, description = "Twilio failed or could not be reached", body = ErrorEnvelope),
        AdminAuthErrors))]
async fn repair_number(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<RepairReport>>, ApiError> {
    let t = admin_tenant(&state, &id).await?;
    Ok(ok(ops::repair(&state, &t).await?))
}

/// Tenant (seed 000 and 002) and admin number routes. All are rate limited by the caller.
/// A provisioning refusal answered as the use case's [`Failure`] says.
impl From<NumberError> for ApiError {
    fn from(e: NumberError) -> Self {
        Failure::from(e).into()
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(NumbersDoc::openapi())
        .routes(routes!(phone_number))
        .routes(routes!(provision_phone))
        .routes(routes!(available_numbers))
        .routes(routes!(purchase_number))
        .routes(routes!(twilio_status))
        .routes(routes!(show_provisioning, set_preferences))
        .routes(routes!(retry_provisioning))
        .routes(routes!(repair_number))
}

#[cfg(test)]
mod tests {
    use super::mask_sid;

    #[test]
    fn account_sid_is_masked_to_its_ends() {
        assert_eq!(mask_sid("AC12345678901234567890123456cdef"), "AC12…cdef");
        assert_eq!(mask_sid("short"), "…");
    }
}
