//! Forgiving field deserialisers for Twilio's JSON.
//!
//! Twilio sends several numbers as strings (`"num_segments": "1"`, `"duration": "15"`, `"price":
//! "-0.00750"`), the OpenAPI description and real responses disagree on some (`latitude` is a number
//! in the schema and a string in the examples), and any field can be `null`. A response we cannot
//! read after Twilio acted on a request is expensive (the caller no longer knows the SID), so these
//! accept every reasonable spelling and map the unreadable to `None` instead of failing the decode.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string, number or boolean kept as its text; `null` and other shapes become `None`.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// An unsigned integer sent as a number or a numeric string.
pub(crate) fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A boolean sent as `true`/`false` or as the strings `"true"`/`"false"`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// Like [`opt_bool`], with an absent or unreadable value meaning `false` (capability flags: a
/// capability Twilio does not advertise is one we must not rely on).
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_bool(d)?.unwrap_or(false))
}

/// A JSON object or `null` (treated as the type's default).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
