//! E.164 phone numbers.
//!
//! Accepted input: a leading `+`, then digits; spaces, dashes, dots and parentheses are ignored so that
//! "+1 (415) 555-0100" normalises to "+14155550100". The country calling code must exist (checked with
//! the `phonenumber` crate's metadata) and North American numbers must follow NANP's NXX-NXX shape.
//! We deliberately do not require libphonenumber's "valid number" verdict: Twilio's test numbers
//! (+1500555…) and fictional 555 numbers are legitimate inputs here.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::ValidationError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    /// A number from a query string: an unencoded `+` arrives there as a space
    /// (`?phoneNumber=+1415…`), and a leading space can mean nothing else, so it is read as `+`.
    pub fn from_query(field: &str, raw: &str) -> Result<Self, ValidationError> {
        match raw.strip_prefix(' ') {
            Some(rest) => Self::parse(field, &format!("+{rest}")),
            None => Self::parse(field, raw),
        }
    }

    pub fn parse(field: &str, input: &str) -> Result<Self, ValidationError> {
        let err = |why: &str| {
            ValidationError::new(
                field,
                format!("must be a phone number in E.164 format like +14155550100 ({why})"),
            )
        };
        let trimmed = input.trim();
        let Some(rest) = trimmed.strip_prefix('+') else {
            return Err(err("missing leading +"));
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(err("only digits may follow the +")),
            }
        }
        if digits.len() < 8 || digits.len() > 15 {
            return Err(err("E.164 numbers have 8 to 15 digits"));
        }
        if digits.starts_with('0') {
            return Err(err("country codes never start with 0"));
        }
        if !known_country_code(&digits) {
            return Err(err("unknown country code"));
        }
        let normalised = format!("+{digits}");
        if let Some(national) = digits.strip_prefix('1') {
            let b = national.as_bytes();
            if b.len() != 10 || b[0] < b'2' || b[3] < b'2' {
                return Err(err(
                    "North American numbers are +1 and ten digits, area code and exchange not starting with 0 or 1",
                ));
            }
        }
        Ok(E164(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `digits` (8 to 15 of them, not starting with 0) begin with a country calling code in
/// the `phonenumber` crate's metadata. This is the one check of `phonenumber::parse` that such input
/// can fail, without the parse's regular-expression matching, which cost a webhook more than
/// everything else it does in memory.
fn known_country_code(digits: &str) -> bool {
    (1..=3).any(|len| {
        digits
            .get(..len)
            .and_then(|cc| cc.parse::<u16>().ok())
            .is_some_and(|cc| phonenumber::metadata::DATABASE.by_code(&cc).is_some())
    })
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for E164 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // The field name is attached by serde_path_to_error; the message must stand alone.
        E164::parse("", &s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

impl utoipa::PartialSchema for E164 {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^\+[1-9][0-9]{7,14}$"))
            .examples([serde_json::json!("+14155550100")])
            .into()
    }
}
impl utoipa::ToSchema for E164 {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_country_code_check_agrees_with_a_full_parse() {
        // Every 1-, 2- and 3-digit prefix, followed by digits to 8, 11 and 15 in all.
        for prefix in 1..1000u32 {
            for len in [8, 11, 15] {
                let mut digits = prefix.to_string();
                while digits.len() < len {
                    digits.push(char::from(b'0' + (digits.len() % 10) as u8));
                }
                assert_eq!(
                    known_country_code(&digits),
                    phonenumber::parse(None, format!("+{digits}")).is_ok(),
                    "+{digits}"
                );
            }
        }
    }

    #[test]
    fn normalises_formatting() {
        assert_eq!(
            E164::parse("p", "+1 (415) 555-0100").unwrap().as_str(),
            "+14155550100"
        );
        assert_eq!(
            E164::parse("p", "+447700900123").unwrap().as_str(),
            "+447700900123"
        );
        assert_eq!(
            E164::parse("p", "+15005550006").unwrap().as_str(),
            "+15005550006"
        );
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "4155550100",
            "+",
            "+1415555010",
            "+14155550100123456",
            "+0123456789",
            "+1 415 abc 0100",
            "+11155550100",
            "+14150550100",
            "'; DROP TABLE tenants;--",
            "+999123456789",
        ] {
            let e = E164::parse("phone", bad).unwrap_err();
            assert_eq!(e.field, "phone", "{bad}");
        }
    }
}
