//! TwiML for each step of an inbound call, built from the tenant's policy and templates.
//! Action URLs are relative (Twilio resolves them against the document URL), so they work behind
//! whatever public URL the deployment has.

use switchboard_twilio::twiml::{
    Dial, DialRecord, Gather, GatherInput, HttpMethod, Number, Record, RecordingEvent, Say,
    SpeechTimeout, VoiceResponse,
};

use crate::db::tenants::Tenant;
use crate::recordings::RecordingHooks;

use super::reason::DEFAULT_MENU;

/// Where Twilio posts `DialCallStatus` (seed 004's path; `/api/webhooks/twilio/call/status/…` is an alias).
pub fn dial_action(call_sid: &str) -> String {
    format!("/webhooks/twilio/call/status/{call_sid}")
}
pub fn gather_action(call_sid: &str) -> String {
    format!("/api/webhooks/twilio/voice/gather/{call_sid}")
}
pub const VOICEMAIL_ACTION: &str = "/api/webhooks/twilio/voice/voicemail";

pub const NOT_IN_SERVICE: &str =
    "Sorry, this number is not currently in service. Please check the number and try again.";

/// `text` with `{name}` replaced by the business name.
pub fn fill(text: &str, tenant: &Tenant) -> String {
    crate::domain::template::fill_business_name(text, &tenant.name)
}

/// A `<Say>` in the tenant's voice and language.
pub fn say(tenant: &Tenant, text: impl Into<String>) -> Say {
    let mut s = Say::new(text);
    if let Some(v) = &tenant.routing_policy.voice {
        s = s.voice(v.clone());
    }
    if let Some(l) = &tenant.routing_policy.language {
        s = s.language(l.clone());
    }
    s
}

/// The greeting: the tenant's own, the after-hours one when closed, or the seed-000 salon default.
pub fn greeting(tenant: &Tenant, after_hours: bool, continues_with: &str) -> String {
    let policy = &tenant.routing_policy;
    let base = match (
        &policy.greeting,
        after_hours,
        &tenant.templates.after_hours_greeting,
    ) {
        (_, true, Some(t)) => fill(t, tenant),
        (_, true, None) => format!(
            "Thank you for calling {}. We are closed right now.",
            tenant.name
        ),
        (Some(g), false, _) => fill(g, tenant),
        (None, false, _) => format!(
            "Hello and thank you for calling {}. {continues_with}",
            tenant.name
        ),
    };
    if policy.record_calls && !after_hours {
        format!("{base} This call may be recorded.")
    } else {
        base
    }
}

/// Rings `target` for the policy's timeout, showing the business number, reporting to the dial action;
/// with `recordCalls`, records the conversation and reports the recording to `hooks`.
pub fn dial(tenant: &Tenant, call_sid: &str, target: &str, hooks: &RecordingHooks) -> Dial {
    let policy = &tenant.routing_policy;
    let mut d = Dial::new()
        .timeout(policy.dial_timeout_secs)
        .action(dial_action(call_sid))
        .method(HttpMethod::Post)
        .number(Number::new(target));
    if let Some(n) = &tenant.twilio_number {
        d = d.caller_id(n.to_string());
    }
    if policy.record_calls {
        d = d
            .record(DialRecord::RecordFromAnswerDual)
            .recording_status_callback(hooks.status_callback.clone())
            .recording_status_callback_event(vec![
                RecordingEvent::Completed,
                RecordingEvent::Absent,
            ])
            .recording_status_callback_method(HttpMethod::Post);
    }
    d
}

/// The voicemail prompt and `<Record>`, reporting the recording (and, with Twilio as the
/// transcription provider, its transcription) to `hooks`.
pub fn voicemail(tenant: &Tenant, resp: VoiceResponse, hooks: &RecordingHooks) -> VoiceResponse {
    let prompt = tenant
        .templates
        .voicemail_prompt
        .as_deref()
        .map(|t| fill(t, tenant))
        .unwrap_or_else(|| "Please leave a message after the beep, and we will get back to you as soon as possible.".into());
    let mut record = Record::new()
        .action(VOICEMAIL_ACTION)
        .method(HttpMethod::Post)
        .max_length(tenant.routing_policy.voicemail_max_length_secs)
        .play_beep(true)
        .timeout(5u32)
        .finish_on_key("#")
        .recording_status_callback(hooks.status_callback.clone())
        .recording_status_callback_event(vec![RecordingEvent::Completed, RecordingEvent::Absent])
        .recording_status_callback_method(HttpMethod::Post);
    if let Some(cb) = &hooks.transcribe_callback {
        record = record.transcribe(true).transcribe_callback(cb.clone());
    }
    resp.say(say(tenant, prompt)).record(record)
}

/// The reason menu: speech or one key, posting to the gather action even when nothing was said, so
/// the flow (not Twilio's fall-through) decides what silence means.
pub fn gather(tenant: &Tenant, call_sid: &str, resp: VoiceResponse) -> VoiceResponse {
    let menu = tenant
        .routing_policy
        .gather_prompt
        .as_deref()
        .map(|p| fill(p, tenant))
        .unwrap_or_else(|| DEFAULT_MENU.to_string());
    let mut g = Gather::new()
        .input(GatherInput::DtmfSpeech)
        .action(gather_action(call_sid))
        .method(HttpMethod::Post)
        .timeout(5u32)
        .speech_timeout(SpeechTimeout::Auto)
        .num_digits(1u32)
        .action_on_empty_result(true)
        .say(say(tenant, menu));
    if let Some(l) = &tenant.routing_policy.language {
        g = g.language(l.clone());
    }
    resp.gather(g)
}

/// A polite goodbye and hang-up.
pub fn goodbye(tenant: &Tenant, resp: VoiceResponse) -> VoiceResponse {
    resp.say(say(
        tenant,
        format!("Thank you for calling {}. Goodbye.", tenant.name),
    ))
    .hangup()
}

/// For numbers no tenant owns (HTTP 200: Twilio must not treat it as an application error).
pub fn not_in_service() -> VoiceResponse {
    VoiceResponse::new().say(Say::new(NOT_IN_SERVICE)).hangup()
}
