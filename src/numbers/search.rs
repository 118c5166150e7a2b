//! Searching Twilio for numbers to buy: the query, read the same way from the API, the CLI and
//! the console.

use switchboard_twilio::rest::{
    AvailableNumberSearch, AvailablePhoneNumber, NumberKind, TwilioError,
};

use crate::failure::Failure;
use crate::state::AppState;

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

/// [`search`] for a caller: Twilio refusing the query is the caller's 400, Twilio failing a 502
/// (the API's `available-numbers` and the console's number search).
pub async fn available(
    state: &AppState,
    q: &SearchQuery,
) -> Result<Vec<AvailablePhoneNumber>, Failure> {
    search(state, q)
        .await
        .map_err(|e| super::error::twilio_api_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_codes_are_three_digits_not_starting_with_0_or_1() {
        assert_eq!(parse_area_code("areaCode", " 415 ").unwrap(), "415");
        for bad in ["41", "4155", "abc", "015", "115", ""] {
            let e = parse_area_code("areaCode", bad).unwrap_err();
            assert_eq!(e.field(), Some("areaCode"), "{bad}");
        }
    }
}
