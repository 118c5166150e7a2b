//! Seed 004's tenant resolution: a number this deployment does not know is looked up at the
//! provisioning service (`GET {PNS_PROVISIONING_SERVICE_URL}{PNS_LOOKUP_PATH}/{phone}` with
//! `X-Service-Key`). Both answer shapes are accepted — `{"tenantId": …}` as the seed's code reads it,
//! and `{"success": true, "data": {"tenantId": …}}` as Switchboard's own lookup answers. Answers (also
//! "unknown") are cached for a minute so a burst of calls costs one lookup; a failing lookup (timeout,
//! error, garbage) is not cached and makes the caller hear the polite not-in-service message.

use serde_json::Value;

use crate::domain::E164;
use crate::state::AppState;

/// How long an answer (also "unknown") is reused, on the app clock.
const CACHE_FOR_MS: i64 = 60_000;

/// The tenant id in either answer shape.
pub fn tenant_id_of(answer: &Value) -> Option<String> {
    answer["tenantId"]
        .as_str()
        .or(answer["data"]["tenantId"].as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The tenant id the provisioning service gives for `number`; `None` when it is not configured,
/// does not know the number, or cannot be asked right now.
pub async fn tenant_id(state: &AppState, number: &E164) -> Option<String> {
    let base = state
        .config
        .services
        .pns_provisioning_service_url
        .as_ref()?;
    let key = format!("{}|{}", base, number);
    let cache = &state.clients.lookup_answers;
    if let Some(answer) = cache.get(&key, state.clock.now_ms(), CACHE_FOR_MS) {
        return answer;
    }
    let url = format!(
        "{}{}/{}",
        base.as_str().trim_end_matches('/'),
        state.config.services.pns_lookup_path,
        url::form_urlencoded::byte_serialize(number.as_str().as_bytes()).collect::<String>()
    );
    let mut req = state.clients.lookup.get(&url);
    if let Some(k) = &state.config.auth.internal_service_key {
        req = req.header("X-Service-Key", k.expose());
    }
    let answer = match req.send().await {
        Ok(res) if res.status() == reqwest::StatusCode::NOT_FOUND => None,
        Ok(res) if res.status().is_success() => match res.json::<Value>().await {
            Ok(v) => tenant_id_of(&v),
            Err(e) => {
                tracing::warn!(%url, error = %e, "provisioning-service lookup answered garbage");
                return None;
            }
        },
        Ok(res) => {
            tracing::warn!(%url, status = %res.status(), "provisioning-service lookup failed");
            return None;
        }
        Err(e) => {
            tracing::warn!(%url, error = %e, "provisioning-service lookup failed");
            return None;
        }
    };
    cache.put(key, state.clock.now_ms(), CACHE_FOR_MS, answer.clone());
    answer
}

#[cfg(test)]
mod tests {
    use super::tenant_id_of;
    use serde_json::json;

    #[test]
    fn both_answer_shapes() {
        assert_eq!(
            tenant_id_of(&json!({"tenantId": "t1"})).as_deref(),
            Some("t1")
        );
        assert_eq!(
            tenant_id_of(&json!({"success": true, "data": {"tenantId": "t2"}})).as_deref(),
            Some("t2")
        );
        assert_eq!(tenant_id_of(&json!({"success": false})), None);
        assert_eq!(tenant_id_of(&json!({"tenantId": ""})), None);
    }
}
