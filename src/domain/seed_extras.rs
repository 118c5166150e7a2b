//! The seeds' own clients send fields Switchboard has no use for (seed 002's `clientId` on
//! `send-sms`, for instance), and the servers they were written against ignored them. So on the seed
//! routes (`/api/twilio/*`, the seed-000 sends under `/api/telephony/*`) such fields are accepted and
//! kept in the request's metadata where it has some, instead of refused. Switchboard's own routes keep
//! refusing unknown fields, which catches typos.
//!
//! A request struct collects them with `#[serde(flatten)] extras: Extras`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Fields a seed route received and does not use, by name.
pub type Extras = BTreeMap<String, Value>;

/// Most extra fields kept, and their largest total size: the metadata must stay small.
const MAX_EXTRAS: usize = 32;
const MAX_EXTRAS_BYTES: usize = 4_096;

/// `metadata` with the extra fields added (a field of the same name already in `metadata` wins).
/// A non-object `metadata` is kept under `"metadata"`. Extras beyond the limits are dropped whole.
pub fn with_extras(metadata: Option<Value>, extras: Extras) -> Option<Value> {
    let kept: Extras = extras.into_iter().take(MAX_EXTRAS).collect();
    let kept = if Value::from(Map::from_iter(kept.clone())).to_string().len() > MAX_EXTRAS_BYTES {
        Extras::new()
    } else {
        kept
    };
    if kept.is_empty() {
        return metadata;
    }
    let mut out = match metadata {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(other) => Map::from_iter([("metadata".to_string(), other)]),
    };
    for (k, v) in kept {
        out.entry(k).or_insert(v);
    }
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extras_join_the_metadata_without_overriding_it() {
        let extras = Extras::from([
            ("clientId".to_string(), json!("client-uuid")),
            ("campaign".to_string(), json!("ignored: metadata has one")),
        ]);
        assert_eq!(
            with_extras(Some(json!({"campaign": "spring"})), extras.clone()),
            Some(json!({"campaign": "spring", "clientId": "client-uuid"}))
        );
        assert_eq!(
            with_extras(None, Extras::from([("clientId".to_string(), json!("c"))])),
            Some(json!({"clientId": "c"}))
        );
        assert_eq!(
            with_extras(
                Some(json!([1])),
                Extras::from([("a".to_string(), json!(1))])
            ),
            Some(json!({"metadata": [1], "a": 1}))
        );
        assert_eq!(
            with_extras(Some(json!({"x": 1})), Extras::new()),
            Some(json!({"x": 1}))
        );
    }

    #[test]
    fn oversized_extras_are_dropped() {
        let big = Extras::from([("blob".to_string(), json!("x".repeat(5_000)))]);
        assert_eq!(with_extras(None, big), None);
    }
}
