//! `IncomingPhoneNumbers`: buy, list, fetch, update and release the account's numbers.
//!
//! Buying takes `PhoneNumber` (any E.164 number the account does not own, except Twilio's
//! unavailable test number) or `AreaCode` (the first free number of the sandbox's local
//! inventory there). The configuration parameters are stored and echoed as given; the sandbox
//! does not validate URLs or methods beyond that.
//!
//! Unset URLs are spelled as Twilio spells them in the OAI's own examples: `voice_url` and
//! `voice_fallback_url` null, `sms_url`, `sms_fallback_url` and `status_callback` empty strings.
//! Clients must cope with both, as they must against Twilio.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, Uri};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Inner;
use super::auth::Params;
use super::available;
use super::error::ApiError;
use super::magic;
use super::paging::{self, PageRequest};
use super::state::{SandboxNumber, first, is_e164, rfc2822};

pub(crate) async fn create(
    State(inner): State<Arc<Inner>>,
    Extension(params): Extension<Params>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let form = &params.form;
    let mut store = inner.store.lock();
    let owned: Vec<String> = store
        .numbers
        .iter()
        .map(|n| n.phone_number.clone())
        .collect();
    let phone = match (
        first(form, "PhoneNumber").filter(|p| !p.is_empty()),
        first(form, "AreaCode").filter(|a| !a.is_empty()),
    ) {
        (Some(p), _) => {
            if !is_e164(p) {
                return Err(ApiError::bad_request(21421, "PhoneNumber is invalid"));
            }
            // Twilio's test number for "unavailable", and a number someone (here: the account
            // itself) already has, both fail the same way.
            if p == magic::UNAVAILABLE_NUMBER || owned.iter().any(|o| o == p) {
                return Err(ApiError::bad_request(
                    21422,
                    format!("PhoneNumber {p} is not available"),
                ));
            }
            p.to_owned()
        }
        (None, Some(area)) => {
            if area.len() != 3 || !area.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::bad_request(21451, "Invalid area code"));
            }
            available::first_free_local(area, &owned).ok_or_else(|| {
                ApiError::bad_request(21452, "No phone numbers found in area code")
            })?
        }
        (None, None) => {
            // Twilio's docs: "You must provide an area_code or a phone_number"; the code of that
            // refusal is not documented, 21421 (invalid PhoneNumber) is the closest.
            return Err(ApiError::bad_request(
                21421,
                "A PhoneNumber or AreaCode is required",
            ));
        }
    };
    let mut number = SandboxNumber::new(&phone);
    apply(&mut number, form);
    let json = to_json(&inner, &number);
    store.numbers.push(number);
    Ok((StatusCode::CREATED, Json(json)))
}

/// In purchase order; filters `PhoneNumber` (digits anywhere in the number, `*` for any digit,
/// as Twilio allows) and `FriendlyName` (exact).
pub(crate) async fn list(
    State(inner): State<Arc<Inner>>,
    Extension(params): Extension<Params>,
    uri: Uri,
) -> Json<Value> {
    let q = &params.query;
    let phone = first(q, "PhoneNumber");
    let name = first(q, "FriendlyName");
    let records: Vec<Value> = {
        let store = inner.store.lock();
        store
            .numbers
            .iter()
            .filter(|n| phone.is_none_or(|p| phone_matches(&n.phone_number, p)))
            .filter(|n| name.is_none_or(|f| n.friendly_name == f))
            .map(|n| to_json(&inner, n))
            .collect()
    };
    let filters: Vec<(&str, &str)> = ["PhoneNumber", "FriendlyName"]
        .into_iter()
        .filter_map(|k| first(q, k).map(|v| (k, v)))
        .collect();
    Json(paging::envelope(
        "incoming_phone_numbers",
        records,
        uri.path(),
        &filters,
        PageRequest::from_query(q),
    ))
}

pub(crate) async fn fetch(
    State(inner): State<Arc<Inner>>,
    Path((_account, file)): Path<(String, String)>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let sid = sid_of(&file, &uri)?;
    let store = inner.store.lock();
    let number = store
        .numbers
        .iter()
        .find(|n| n.sid == sid)
        .ok_or_else(|| ApiError::not_found(uri.path()))?;
    Ok(Json(to_json(&inner, number)))
}

pub(crate) async fn update(
    State(inner): State<Arc<Inner>>,
    Path((_account, file)): Path<(String, String)>,
    Extension(params): Extension<Params>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let sid = sid_of(&file, &uri)?;
    let mut store = inner.store.lock();
    let number = store
        .numbers
        .iter_mut()
        .find(|n| n.sid == sid)
        .ok_or_else(|| ApiError::not_found(uri.path()))?;
    apply(number, &params.form);
    number.date_updated = Timestamp::now();
    Ok(Json(to_json(&inner, number)))
}

/// Releases the number: 204, and it can be bought again.
pub(crate) async fn release(
    State(inner): State<Arc<Inner>>,
    Path((_account, file)): Path<(String, String)>,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    let sid = sid_of(&file, &uri)?;
    let mut store = inner.store.lock();
    let before = store.numbers.len();
    store.numbers.retain(|n| n.sid != sid);
    if store.numbers.len() == before {
        return Err(ApiError::not_found(uri.path()));
    }
    Ok(StatusCode::NO_CONTENT)
}

fn sid_of<'a>(file: &'a str, uri: &Uri) -> Result<&'a str, ApiError> {
    file.strip_suffix(".json")
        .ok_or_else(|| ApiError::not_found(uri.path()))
}

/// Applies the configuration parameters present in `form`. An empty URL or SID clears it, as
/// on Twilio.
fn apply(n: &mut SandboxNumber, form: &[(String, String)]) {
    let opt = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    let method = |v: &str| v.to_ascii_uppercase();
    for (key, v) in form {
        match key.as_str() {
            "FriendlyName" if !v.is_empty() => n.friendly_name = v.clone(),
            "VoiceUrl" => n.voice_url = opt(v),
            "VoiceMethod" => n.voice_method = method(v),
            "VoiceFallbackUrl" => n.voice_fallback_url = opt(v),
            "VoiceFallbackMethod" => n.voice_fallback_method = method(v),
            "VoiceCallerIdLookup" => n.voice_caller_id_lookup = v.eq_ignore_ascii_case("true"),
            "VoiceApplicationSid" => n.voice_application_sid = opt(v),
            "VoiceReceiveMode" => n.voice_receive_mode = v.clone(),
            "SmsUrl" => n.sms_url = opt(v),
            "SmsMethod" => n.sms_method = method(v),
            "SmsFallbackUrl" => n.sms_fallback_url = opt(v),
            "SmsFallbackMethod" => n.sms_fallback_method = method(v),
            "SmsApplicationSid" => n.sms_application_sid = opt(v),
            "StatusCallback" => n.status_callback = opt(v),
            "StatusCallbackMethod" => n.status_callback_method = method(v),
            "TrunkSid" => n.trunk_sid = opt(v),
            "AddressSid" => n.address_sid = opt(v),
            "IdentitySid" => n.identity_sid = opt(v),
            "BundleSid" => n.bundle_sid = opt(v),
            "EmergencyStatus" => n.emergency_status = v.clone(),
            "EmergencyAddressSid" => n.emergency_address_sid = opt(v),
            _ => {}
        }
    }
}

/// `pattern`'s digits (and `*` wildcards) appear in order, contiguously, in `phone`'s digits.
fn phone_matches(phone: &str, pattern: &str) -> bool {
    let digits: Vec<u8> = phone.bytes().filter(u8::is_ascii_digit).collect();
    let pat: Vec<u8> = pattern
        .bytes()
        .filter(|b| b.is_ascii_digit() || *b == b'*')
        .collect();
    pat.is_empty()
        || digits
            .windows(pat.len())
            .any(|w| w.iter().zip(&pat).all(|(d, p)| *p == b'*' || p == d))
}

/// The OAI `api.v2010.account.incoming_phone_number` representation.
pub(crate) fn to_json(inner: &Inner, n: &SandboxNumber) -> Value {
    json!({
        "account_sid": inner.config.account_sid,
        "address_sid": n.address_sid,
        "address_requirements": "none",
        "api_version": "2010-04-01",
        "beta": false,
        "capabilities": n.capabilities,
        "date_created": rfc2822(n.date_created),
        "date_updated": rfc2822(n.date_updated),
        "emergency_status": n.emergency_status,
        "emergency_address_sid": n.emergency_address_sid,
        "emergency_address_status": "unregistered",
        "friendly_name": n.friendly_name,
        "identity_sid": n.identity_sid,
        "origin": "twilio",
        "phone_number": n.phone_number,
        "sid": n.sid,
        "sms_application_sid": n.sms_application_sid,
        "sms_fallback_method": n.sms_fallback_method,
        "sms_fallback_url": n.sms_fallback_url,
        "sms_method": n.sms_method,
        "sms_url": n.sms_url,
        "status_callback": n.status_callback,
        "status_callback_method": n.status_callback_method,
        "trunk_sid": n.trunk_sid,
        "uri": format!("{}/IncomingPhoneNumbers/{}.json", inner.config.account_path(), n.sid),
        "voice_application_sid": n.voice_application_sid,
        "voice_caller_id_lookup": n.voice_caller_id_lookup,
        "voice_fallback_method": n.voice_fallback_method,
        "voice_fallback_url": n.voice_fallback_url,
        "voice_method": n.voice_method,
        "voice_receive_mode": n.voice_receive_mode,
        "voice_url": n.voice_url,
        "bundle_sid": n.bundle_sid,
        "status": "in-use",
        "type": n.number_type,
    })
}

#[cfg(test)]
mod tests {
    use super::phone_matches;

    #[test]
    fn phone_filter_matches_partial_digits_and_wildcards() {
        assert!(phone_matches("+14155550100", "+14155550100"));
        assert!(phone_matches("+14155550100", "5550100"));
        assert!(phone_matches("+14155550100", "415***0100"));
        assert!(!phone_matches("+14155550100", "5550101"));
    }
}
