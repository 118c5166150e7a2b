//! How a tenant's Twilio number must be set up: its FriendlyName (which names the tenant, so a
//! crashed run's purchase is found again), this deployment's webhooks, and what has drifted.

use switchboard_twilio::rest::{IncomingPhoneNumber, NumberConfig, WebhookMethod};

use crate::db::tenants::Tenant;
use crate::state::AppState;

/// Incoming SMS webhook (seed 000's path).
pub const SMS_PATH: &str = "/api/webhooks/twilio/sms";
/// Marks a FriendlyName as Switchboard's: `sb:<tenant id> <tenant name>`.
const NAME_TAG: &str = "sb:";
/// Twilio's limit on FriendlyName.
const FRIENDLY_NAME_MAX: usize = 64;

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
pub(super) fn repair_config(want: &NumberConfig, drifted: &[&str]) -> NumberConfig {
    let mut c = want.clone();
    if drifted.contains(&"VoiceApplicationSid") {
        c.voice_application_sid = Some(String::new());
    }
    if drifted.contains(&"SmsApplicationSid") {
        c.sms_application_sid = Some(String::new());
    }
    c
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
