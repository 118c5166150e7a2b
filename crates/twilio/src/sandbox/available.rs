//! `AvailablePhoneNumbers/{CountryCode}/{Local,TollFree,Mobile}.json`: deterministic fake
//! inventory for number searches.
//!
//! Inventory (US and CA; any other country has none):
//! - Local: `+1{area}5550100` … `+1{area}5550199` (the fictional 555-01XX block); `AreaCode`
//!   picks the area, else the configured default (416 for CA).
//! - Mobile: the same area, `555-0200` … `555-0299`.
//! - TollFree: `+1{prefix}5550100` … `0199`, prefix `AreaCode` when it is a toll-free one
//!   (800, 833, 844, 855, 866, 877, 888), else 800.
//!
//! Every number has voice; local numbers of the 555-01XX block ending in 9 are voice-only, so
//! `SmsEnabled`/`MmsEnabled` filters have something to filter. Numbers the account owns are
//! never offered.
//!
//! `Contains`: digits, `*` for any one digit, and letters read as phone-keypad digits
//! (ABC→2 … WXYZ→9), matched anywhere in the number's digits. When the block has fewer matches
//! than the page wants and the pattern is at most 7 characters, the sandbox makes up more numbers
//! in the area that end with the pattern (wildcards counted up from 0), as a real inventory would
//! have.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::Uri;
use serde_json::{Value, json};

use super::Inner;
use super::auth::Params;
use super::error::ApiError;
use super::paging::{self, PageRequest};
use super::state::{Capabilities, first, friendly_format};

const TOLL_FREE_PREFIXES: [&str; 7] = ["800", "833", "844", "855", "866", "877", "888"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Local,
    TollFree,
    Mobile,
}

/// Where an area code is, for `locality`, `region`, `postal_code` and coordinates.
struct Place {
    area: &'static str,
    locality: &'static str,
    region: &'static str,
    postal_code: &'static str,
    latitude: f64,
    longitude: f64,
}

const PLACES: [Place; 11] = [
    place("415", "San Francisco", "CA", "94105", 37.79, -122.40),
    place("212", "New York", "NY", "10001", 40.75, -73.99),
    place("312", "Chicago", "IL", "60601", 41.88, -87.62),
    place("206", "Seattle", "WA", "98101", 47.61, -122.33),
    place("617", "Boston", "MA", "02108", 42.36, -71.06),
    place("512", "Austin", "TX", "78701", 30.27, -97.74),
    place("305", "Miami", "FL", "33131", 25.77, -80.19),
    place("808", "Honolulu", "HI", "96813", 21.31, -157.86),
    place("416", "Toronto", "ON", "M5H 2N2", 43.65, -79.38),
    place("604", "Vancouver", "BC", "V6B 1A1", 49.28, -123.12),
    place("514", "Montreal", "QC", "H2Y 1C6", 45.50, -73.56),
];

const fn place(
    area: &'static str,
    locality: &'static str,
    region: &'static str,
    postal_code: &'static str,
    latitude: f64,
    longitude: f64,
) -> Place {
    Place {
        area,
        locality,
        region,
        postal_code,
        latitude,
        longitude,
    }
}

/// `local`, `toll-free` or `mobile`, as the sandbox's inventory assigns them.
pub(crate) fn number_type(phone: &str) -> &'static str {
    let national = phone.strip_prefix("+1").unwrap_or("");
    if national.len() == 10 && TOLL_FREE_PREFIXES.contains(&&national[..3]) {
        "toll-free"
    } else if national.len() == 10 && national[3..].starts_with("55502") {
        "mobile"
    } else {
        "local"
    }
}

/// Capabilities of any number: voice, SMS and MMS, except the voice-only local numbers
/// (555-01X9) described in the module docs. Fax is never offered.
pub(crate) fn capabilities_of(phone: &str) -> Capabilities {
    let national = phone.strip_prefix("+1").unwrap_or("");
    let voice_only = number_type(phone) == "local"
        && national.len() == 10
        && national[3..].starts_with("55501")
        && national.ends_with('9');
    Capabilities {
        voice: true,
        sms: !voice_only,
        mms: !voice_only,
        fax: false,
    }
}

/// The inventory block for `kind` in `area`, in order.
fn block(kind: Kind, area: &str) -> Vec<String> {
    let range = match kind {
        Kind::Local | Kind::TollFree => 100..200,
        Kind::Mobile => 200..300,
    };
    range.map(|n| format!("+1{area}555{n:04}")).collect()
}

/// A `Contains` pattern as digits, `None` standing for `*`; `None` overall when it has a
/// character Twilio would not accept.
fn parse_contains(pattern: &str) -> Option<Vec<Option<u8>>> {
    pattern
        .chars()
        .map(|c| match c.to_ascii_uppercase() {
            '0'..='9' => Some(Some(c as u8 - b'0')),
            '*' => Some(None),
            'A'..='C' => Some(Some(2)),
            'D'..='F' => Some(Some(3)),
            'G'..='I' => Some(Some(4)),
            'J'..='L' => Some(Some(5)),
            'M'..='O' => Some(Some(6)),
            'P'..='S' => Some(Some(7)),
            'T'..='V' => Some(Some(8)),
            'W'..='Z' => Some(Some(9)),
            _ => None,
        })
        .collect()
}

fn matches(phone: &str, pattern: &[Option<u8>]) -> bool {
    let digits: Vec<u8> = phone
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    pattern.is_empty()
        || digits.windows(pattern.len()).any(|w| {
            w.iter()
                .zip(pattern)
                .all(|(d, p)| p.is_none_or(|p| p == *d))
        })
}

/// Numbers in `area` whose last digits are `pattern`, wildcards counted up from 0.
fn synthesize(area: &str, pattern: &[Option<u8>], want: usize) -> Vec<String> {
    if pattern.is_empty() || pattern.len() > 7 {
        return Vec::new();
    }
    let wildcards = pattern.iter().filter(|p| p.is_none()).count() as u32;
    let variants = 10usize.saturating_pow(wildcards).min(want.max(1));
    let stem = &"5550000"[..7 - pattern.len()];
    (0..variants)
        .map(|i| {
            // Fill wildcards from the right with the digits of `i`.
            let mut fill = i;
            let mut tail: Vec<u8> = pattern
                .iter()
                .rev()
                .map(|p| {
                    p.unwrap_or_else(|| {
                        let d = (fill % 10) as u8;
                        fill /= 10;
                        d
                    })
                })
                .collect();
            tail.reverse();
            let tail: String = tail.iter().map(|d| char::from(b'0' + d)).collect();
            format!("+1{area}{stem}{tail}")
        })
        .collect()
}

fn parse_bool(v: Option<&str>) -> Option<bool> {
    match v?.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

pub(crate) async fn search(
    State(inner): State<Arc<Inner>>,
    Path((_account, country, file)): Path<(String, String, String)>,
    Extension(params): Extension<Params>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let kind = match file.as_str() {
        "Local.json" => Kind::Local,
        "TollFree.json" => Kind::TollFree,
        "Mobile.json" => Kind::Mobile,
        _ => return Err(ApiError::not_found(uri.path())),
    };
    let q = &params.query;
    let page = PageRequest::from_query(q);
    let area_param = first(q, "AreaCode").filter(|a| !a.is_empty());
    let country = country.to_ascii_uppercase();
    let area = match kind {
        Kind::TollFree => area_param
            .filter(|a| TOLL_FREE_PREFIXES.contains(a))
            .unwrap_or("800")
            .to_owned(),
        _ => match (area_param, country.as_str()) {
            (Some(a), _) => a.to_owned(),
            (None, "CA") => "416".to_owned(),
            (None, _) => inner.config.area_code_default.clone(),
        },
    };
    let area_ok = area.len() == 3 && area.bytes().all(|b| b.is_ascii_digit());
    let contains = first(q, "Contains").filter(|c| !c.is_empty());
    let pattern = match contains {
        Some(c) => parse_contains(c),
        None => Some(Vec::new()),
    };
    let (sms, mms, voice) = (
        parse_bool(first(q, "SmsEnabled")),
        parse_bool(first(q, "MmsEnabled")),
        parse_bool(first(q, "VoiceEnabled")),
    );

    let mut found: Vec<String> = Vec::new();
    if matches!(country.as_str(), "US" | "CA")
        && area_ok
        && let Some(pattern) = &pattern
    {
        let owned: Vec<String> = inner
            .store
            .lock()
            .numbers
            .iter()
            .map(|n| n.phone_number.clone())
            .collect();
        let want = page.page_size.saturating_mul(page.page + 1);
        let mut candidates: Vec<String> = block(kind, &area)
            .into_iter()
            .filter(|n| matches(n, pattern))
            .collect();
        if candidates.len() < want {
            for n in synthesize(&area, pattern, want) {
                if !candidates.contains(&n) {
                    candidates.push(n);
                }
            }
        }
        found = candidates
            .into_iter()
            .filter(|n| !owned.contains(n))
            .filter(|n| {
                let caps = capabilities_of(n);
                sms.is_none_or(|s| caps.sms == s)
                    && mms.is_none_or(|m| caps.mms == m)
                    && voice.is_none_or(|v| caps.voice == v)
            })
            .collect();
    }

    let records: Vec<Value> = found.iter().map(|n| to_json(n, &country, kind)).collect();
    let filters: Vec<(&str, &str)> = [
        "AreaCode",
        "Contains",
        "SmsEnabled",
        "MmsEnabled",
        "VoiceEnabled",
    ]
    .into_iter()
    .filter_map(|k| first(q, k).map(|v| (k, v)))
    .collect();
    Ok(Json(paging::envelope(
        "available_phone_numbers",
        records,
        uri.path(),
        &filters,
        page,
    )))
}

/// The OAI `available_phone_number_local` (same shape for toll-free and mobile).
fn to_json(phone: &str, country: &str, kind: Kind) -> Value {
    let area = phone.get(2..5).unwrap_or("");
    // Toll-free numbers have no place, as in Twilio's own examples.
    let place = (kind != Kind::TollFree)
        .then(|| PLACES.iter().find(|p| p.area == area))
        .flatten();
    let caps = capabilities_of(phone);
    json!({
        "friendly_name": friendly_format(phone),
        "phone_number": phone,
        "lata": null,
        "locality": place.map(|p| p.locality),
        "rate_center": place.map(|p| p.locality.to_ascii_uppercase()),
        "latitude": place.map(|p| p.latitude),
        "longitude": place.map(|p| p.longitude),
        "region": place.map(|p| p.region),
        "postal_code": place.map(|p| p.postal_code),
        "iso_country": country,
        "address_requirements": "none",
        "beta": false,
        "capabilities": caps,
    })
}

/// The first local number in `area` that nobody owns: what buying by `AreaCode` provisions.
pub(crate) fn first_free_local(area: &str, owned: &[String]) -> Option<String> {
    block(Kind::Local, area)
        .into_iter()
        .find(|n| !owned.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_reads_letters_as_keypad_digits_and_star_as_any() {
        assert!(
            parse_contains("5*5-").is_none(),
            "'-' is not a pattern character"
        );
        let storm = parse_contains("STORM").unwrap();
        assert!(!matches("+14155550100", &storm));
        assert!(matches("+14155578676", &storm), "STORM = 78676");
        let wild = parse_contains("55501*9").unwrap();
        assert!(matches("+14155550129", &wild));
        assert!(!matches("+14155550128", &wild));
    }

    #[test]
    fn synthesized_numbers_end_with_the_pattern() {
        let p = parse_contains("12*").unwrap();
        let made = synthesize("415", &p, 3);
        assert_eq!(made, ["+14155550120", "+14155550121", "+14155550122"]);
        assert!(made.iter().all(|n| matches(n, &p)));
    }

    #[test]
    fn voice_only_numbers_are_the_555_01x9_block() {
        assert!(!capabilities_of("+14155550109").sms);
        assert!(capabilities_of("+14155550108").sms);
        assert!(capabilities_of("+15005550006").sms);
        assert!(capabilities_of("+18005550109").sms, "toll-free keeps SMS");
        assert_eq!(number_type("+18005550100"), "toll-free");
        assert_eq!(number_type("+14155550200"), "mobile");
        assert_eq!(number_type("+14155550100"), "local");
    }
}
