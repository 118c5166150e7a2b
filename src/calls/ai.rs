//! AI voice-agent hand-off (routing strategy `ai_assistant`, PRODUCT.md §4.8): the first step of
//! such a call hands it to the agent through the tenant's connector.
//!
//! * `stream`: `<Connect><Stream url="wss://…">` with `<Parameter>`s `tenantId`, `callId`
//!   (Switchboard's call id), `callSid`, `caller` (Twilio's `From`), `businessName`, then the
//!   configured ones.
//! * `dial`: `<Dial>` the agent's `<Number>` or `<Sip>` with the configured caller id (default: the
//!   tenant's number). The dial reports to the ordinary dial action with the call's `route_index` set
//!   to -1 ("the agent, before the first target"), so an agent that does not answer is followed by
//!   the plan's targets exactly as a staff member who does not answer is.
//! * `provider_twiml`: POST JSON to the provider (modelled on Vapi's phone-call-provider bypass) and
//!   answer the TwiML it returns, verbatim, once it is checked to be XML with a `<Response>` root.
//!   Request body:
//!   (see below for what it may contain)
//!   `{"assistantId"?, "type": "inboundPhoneCall", "phoneCallProviderBypassEnabled": true,
//!     "customer": {"number": From}, "phoneNumber": {"twilioPhoneNumber": tenant number},
//!     "metadata": {…configured metadata, "tenantId", "callId", "callSid", "caller", "businessName"}}`
//!   (Switchboard's metadata keys win over configured ones of the same name, so the agent can trust
//!   them; Twilio credentials are never sent), with `Authorization: Bearer <apiKey>` when configured.
//!   The answer is taken by its body, not its `Content-Type` (providers mislabel it): a body starting
//!   with `<` is the TwiML itself; otherwise it must be JSON with the TwiML as a string in `twiml`
//!   or, as Vapi answers, `phoneCallProviderDetails.twiml`.
//!
//! The provider's document runs on the Twilio account every tenant shares, and the provider is the
//! tenant's choice, so it is not answered verbatim: it passes the media-stream allow-list of
//! `switchboard_twilio::twiml::untrusted` (`Say`, `Play`, `Pause`, `Hangup`,
//! `<Connect><Stream url="wss://…">` with `<Parameter>`s) and is answered as rewritten by the
//! builder. For the same reason the `dial` connector's `callerId` is used only when it is the
//! tenant's own number or the caller's; anything else is replaced by the tenant's number (and noted).
//!
//! A non-2xx answer (redirects are not followed), a timeout (`timeoutMs`, default 3 s), a
//! connection error, a URL that leads to a private, loopback or link-local address, localhost or
//! this deployment (`domain::destination`, checked again here and by the client's resolver, since a
//! name can be re-pointed after the policy was saved), an answer over 256 kB, TwiML that is not
//! well-formed XML with a single `<Response>` root, or TwiML the allow-list refuses makes the call
//! fall back to the tenant's normal route (see `flow::after_failed_hand_off`). Every hand-off and
//! its outcome is appended to the call's `notes` (e.g. `AI hand-off (provider_twiml): fell back:
//! timeout after 3000 ms`) and logged.
//!
//! Twilio retries the voice webhook when it gets no answer in time; a retry re-renders from the
//! stored call, so the provider is asked again (its answer may differ) — acceptable, since a retry
//! means the first answer never reached Twilio. A note identical to one already on the call is not
//! repeated.

use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::{IntoResponse, Response};
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value, json};
use switchboard_twilio::twiml::untrusted::{self, Allowed};
use switchboard_twilio::twiml::{
    CONTENT_TYPE, Connect, Dial, HttpMethod, Number, Sip, Stream, VoiceResponse,
};

use super::render;
use crate::db::StoreError;
use crate::db::{self, calls::Call, tenants::Tenant};
use crate::domain::CallSid;
use crate::domain::routing::{AiAssistant, AiConnector};
use crate::state::AppState;
use crate::with_tx;

/// Largest provider answer read (a JSON call object carries more than the TwiML).
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// Twilio refuses TwiML documents over 64 kB.
const MAX_TWIML_BYTES: usize = 64 * 1024;

fn connector_name(c: AiConnector) -> &'static str {
    match c {
        AiConnector::Stream => "stream",
        AiConnector::Dial => "dial",
        AiConnector::ProviderTwiml => "provider_twiml",
    }
}

/// Hands the call to the tenant's AI agent: `Some(TwiML)` to answer Twilio with, or `None` when
/// the hand-off failed and the caller gets the tenant's normal route. The outcome is on the call's
/// notes either way.
pub(super) async fn hand_off(state: &AppState, tenant: &Tenant, call: &Call) -> Option<Response> {
    let Some(ai) = &tenant.routing_policy.ai_assistant else {
        // The policy changed since the call was planned: nothing to hand to.
        let note = "AI hand-off: fell back: no aiAssistant configuration";
        tracing::warn!(call_sid = %call.call_sid, tenant = %tenant.id, "{note}");
        record(state, call, note, false).await.ok();
        return None;
    };
    let connector = connector_name(ai.connector);
    let started = Instant::now();
    let outcome = match ai.connector {
        AiConnector::Stream => stream(tenant, call, ai),
        AiConnector::Dial => dial(tenant, call, ai),
        AiConnector::ProviderTwiml => provider_twiml(state, tenant, call, ai).await,
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let (note, twiml) = match outcome {
        Ok((twiml, what)) => (format!("AI hand-off ({connector}): {what}"), Some(twiml)),
        Err(why) => (format!("AI hand-off ({connector}): fell back: {why}"), None),
    };
    let result = if twiml.is_some() {
        "handed_off"
    } else {
        "fell_back"
    };
    metrics::counter!("switchboard_ai_handoffs_total", "connector" => connector, "outcome" => result)
        .increment(1);
    tracing::info!(call_sid = %call.call_sid, tenant = %tenant.id, connector, outcome = result, elapsed_ms, "{note}");
    let agent_dialled = twiml.is_some() && ai.connector == AiConnector::Dial;
    if let Err(e) = record(state, call, &note, agent_dialled).await {
        tracing::error!(call_sid = %call.call_sid, error = %e, "could not note the AI hand-off");
        if agent_dialled {
            // Without `route_index = -1` the dial action would skip the first fallback target.
            return None;
        }
    }
    twiml.map(|xml| ([(header::CONTENT_TYPE, CONTENT_TYPE)], xml).into_response())
}

/// Appends `note` to the call's notes in one statement (so a concurrent status callback's write is
/// not overwritten), unless a retry already noted the same; for an agent dial, also marks that the
/// agent comes before the plan's first target.
async fn record(
    state: &AppState,
    call: &Call,
    note: &str,
    agent_dialled: bool,
) -> Result<(), StoreError> {
    let mut tx = state.db.begin().await?;
    let Some(current) =
        db::calls::get_by_sid(&mut tx, &CallSid::stored(call.call_sid.clone())).await?
    else {
        return Ok(());
    };
    let already = current
        .notes
        .as_deref()
        .is_some_and(|n| n.lines().any(|l| l == note));
    if !already {
        let now = state.clock.now_ms();
        let step = super::steps::Step::Ai {
            note: note.to_string(),
        };
        super::steps::record(&mut tx, &current, now, step).await?;
        let appended = format!("\n{note}");
        with_tx!(&mut tx, |c| {
            sqlx::query(
                "UPDATE calls SET notes = CASE WHEN notes IS NULL OR notes = '' THEN $2 ELSE notes || $3 END, \
                 updated_at = $4 WHERE call_sid = $1 AND tenant_id = $5",
            )
            .bind(&call.call_sid)
            .bind(note)
            .bind(&appended)
            .bind(now)
            .bind(&call.tenant_id)
            .execute(c)
            .await
            .map(|_| ())
        })?;
    }
    if agent_dialled {
        with_tx!(&mut tx, |c| {
            sqlx::query("UPDATE calls SET route_index = -1 WHERE call_sid = $1 AND tenant_id = $2 AND route_index = 0")
                .bind(&call.call_sid)
                .bind(&call.tenant_id)
                .execute(c)
                .await
                .map(|_| ())
        })?;
    }
    tx.commit().await?;
    Ok(())
}

/// `scheme://host[:port]/path` of a URL, for notes and logs: a query may carry a token.
fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}{}",
                u.scheme(),
                u.host_str().unwrap_or(""),
                u.path()
            )
        }
        Err(_) => "(invalid URL)".into(),
    }
}

type Outcome = Result<(String, String), String>;

fn stream(tenant: &Tenant, call: &Call, ai: &AiAssistant) -> Outcome {
    let url = ai.url.as_deref().ok_or("no url configured")?;
    let mut s = Stream::new(url)
        .parameter("tenantId", &tenant.id)
        .parameter("callId", &call.id)
        .parameter("callSid", &call.call_sid)
        .parameter("caller", &call.from_number)
        .parameter("businessName", &tenant.name);
    for (name, value) in &ai.parameters {
        s = s.parameter(name, value);
    }
    let twiml = VoiceResponse::new().connect(Connect::stream(s)).to_xml();
    Ok((twiml, format!("streaming to {}", shown(url))))
}

fn dial(tenant: &Tenant, call: &Call, ai: &AiAssistant) -> Outcome {
    let mut d = Dial::new()
        .timeout(tenant.routing_policy.dial_timeout_secs)
        .action(render::dial_action(&call.call_sid))
        .method(HttpMethod::Post);
    let own = tenant.twilio_number.as_ref().map(|n| n.to_string());
    let mut caller_id_note = String::new();
    let caller_id = match &ai.caller_id {
        Some(c) if Some(c.to_string()) == own || c.as_str() == call.from_number => {
            Some(c.to_string())
        }
        Some(c) => {
            tracing::warn!(tenant = %tenant.id, caller_id = %c, "AI dial callerId is neither the business's number nor the caller's; using the business's number");
            caller_id_note = format!(" (callerId {c} ignored: not this business's number)");
            own
        }
        None => own,
    };
    if let Some(id) = caller_id {
        d = d.caller_id(id);
    }
    let (d, target) = match (&ai.number, &ai.sip) {
        (Some(n), _) => (d.number(Number::new(n.as_str())), n.to_string()),
        (None, Some(sip)) => (d.sip(Sip::new(sip.as_str())), sip.clone()),
        (None, None) => return Err("no number or sip configured".into()),
    };
    let twiml = VoiceResponse::new().dial(d).to_xml();
    Ok((twiml, format!("dialling {target}{caller_id_note}")))
}

/// The documented request body (see the module header).
fn provider_request(tenant: &Tenant, call: &Call, ai: &AiAssistant) -> Value {
    let mut metadata: Map<String, Value> = ai
        .metadata
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in [
        ("tenantId", &tenant.id),
        ("callId", &call.id),
        ("callSid", &call.call_sid),
        ("caller", &call.from_number),
        ("businessName", &tenant.name),
    ] {
        metadata.insert(k.into(), json!(v));
    }
    let number = tenant
        .twilio_number
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_else(|| call.to_number.clone());
    let mut body = json!({
        "type": "inboundPhoneCall",
        "phoneCallProviderBypassEnabled": true,
        "customer": {"number": call.from_number},
        "phoneNumber": {"twilioPhoneNumber": number},
        "metadata": metadata,
    });
    if let Some(a) = &ai.assistant_id {
        body["assistantId"] = json!(a);
    }
    body
}

async fn provider_twiml(
    state: &AppState,
    tenant: &Tenant,
    call: &Call,
    ai: &AiAssistant,
) -> Outcome {
    let url = ai.url.as_deref().ok_or("no url configured")?;
    // The provider is the tenant's choice: the client resolves only to public addresses, and an
    // IP-literal host (which it never resolves) is checked here, as is a policy saved before
    // destinations were checked.
    let parsed = url::Url::parse(url).map_err(|_| "the url does not parse")?;
    state.config.destinations().check_request(&parsed)?;
    let timeout_ms = ai.timeout_ms();
    let failed = |e: reqwest::Error| {
        if let Some(refused) = crate::http_clients::refused_destination(&e) {
            refused
        } else if e.is_timeout() {
            format!("timeout after {timeout_ms} ms")
        } else if e.is_connect() {
            format!("could not connect to {}", shown(url))
        } else {
            format!("request failed: {e}")
        }
    };
    let mut req = state
        .clients
        .ai
        .post(url)
        .timeout(Duration::from_millis(timeout_ms.into()))
        .header(
            header::ACCEPT,
            "application/xml, text/xml, application/json",
        )
        .json(&provider_request(tenant, call, ai));
    if let Some(key) = &ai.api_key {
        req = req.bearer_auth(key);
    }
    let mut res = req.send().await.map_err(failed)?;
    let status = res.status();
    if !status.is_success() {
        return Err(format!("provider answered HTTP {}", status.as_u16()));
    }
    let mut body = Vec::new();
    // The request timeout also bounds reading the body.
    while let Some(chunk) = res.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "provider answer larger than {} kB",
                MAX_ANSWER_BYTES / 1024
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let ours = state.config.server.public_hosts();
    let hosts: Vec<&str> = ours.iter().map(String::as_str).collect();
    let twiml = twiml_of(&body, &hosts)?;
    Ok((
        twiml,
        format!("provider TwiML answered (HTTP {})", status.as_u16()),
    ))
}

/// The TwiML in a provider's answer: the body itself when it is XML, else the `twiml` (or
/// `phoneCallProviderDetails.twiml`) string of a JSON body; checked by [`check_twiml`], then
/// rewritten from the media-stream allow-list (URLs may not name `forbidden_hosts`).
pub(crate) fn twiml_of(body: &[u8], forbidden_hosts: &[&str]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|_| "provider answer is not UTF-8")?;
    let text = text.trim_start_matches('\u{feff}').trim();
    let twiml = if text.starts_with('<') {
        text.to_string()
    } else {
        let v: Value = serde_json::from_str(text)
            .map_err(|_| "malformed TwiML: the answer is neither XML nor JSON")?;
        v.get("twiml")
            .or_else(|| v.pointer("/phoneCallProviderDetails/twiml"))
            .and_then(Value::as_str)
            .ok_or("malformed TwiML: the JSON answer has no twiml string")?
            .trim()
            .to_string()
    };
    check_twiml(&twiml)?;
    untrusted::sanitize(&twiml, Allowed::MediaStream, forbidden_hosts)
        .map_err(|e| format!("refused TwiML: {e}"))
}

/// Well-formed XML whose single root element is `<Response>`, within Twilio's size limit. A
/// DOCTYPE is refused: TwiML never needs one, and Twilio would reject what it declares.
pub(crate) fn check_twiml(xml: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("malformed TwiML: {why}"));
    if xml.len() > MAX_TWIML_BYTES {
        return bad("larger than 64 kB");
    }
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => return bad(&format!("not well-formed XML ({e})")),
        };
        match event {
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => {
                if let Some(err) = e.attributes().find_map(Result::err) {
                    return bad(&format!("bad attribute ({err})"));
                }
                if depth == 0 {
                    roots += 1;
                    if roots > 1 {
                        return bad("more than one root element");
                    }
                    let qname = e.name();
                    let name: &str = qname.as_ref();
                    if name != "Response" {
                        return bad(&format!("the root is <{name}>, not <Response>"));
                    }
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(ref t) if depth == 0 => {
                let text: &str = t.as_ref();
                if !text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) {
                    return bad("text outside the <Response> root");
                }
            }
            Event::CData(_) | Event::GeneralRef(_) if depth == 0 => {
                return bad("text outside the <Response> root");
            }
            Event::DocType(_) => return bad("a DOCTYPE is not allowed"),
            _ => {}
        }
    }
    if depth != 0 {
        return bad("an element is not closed");
    }
    if roots == 0 {
        return bad("no <Response> element");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twiml_of(body: &[u8]) -> Result<String, String> {
        super::twiml_of(body, &["switchboard.example"])
    }

    #[test]
    fn accepts_a_response_document_raw_or_in_json() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://a/b"/></Connect></Response>"#;
        assert_eq!(twiml_of(xml.as_bytes()).unwrap(), xml);
        assert_eq!(
            twiml_of(format!("\u{feff}  {xml}\n").as_bytes()).unwrap(),
            xml
        );
        let wrapped = json!({"twiml": xml}).to_string();
        assert_eq!(twiml_of(wrapped.as_bytes()).unwrap(), xml);
        let vapi = json!({"id": "c1", "phoneCallProviderDetails": {"twiml": xml}}).to_string();
        assert_eq!(twiml_of(vapi.as_bytes()).unwrap(), xml);
        assert_eq!(
            twiml_of(b"<!-- hi --><Response><Say>a &amp; b</Say></Response>").unwrap(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>a &amp; b</Say></Response>"#,
            "rewritten by the builder: the comment is gone"
        );
    }

    #[test]
    fn provider_documents_cannot_act_on_the_shared_account() {
        for (body, why) in [
            (
                r#"<Response><Dial callerId="+14155550100">+14155550199</Dial></Response>"#,
                "refused TwiML: <Dial> is not allowed",
            ),
            (
                "<Response><Redirect>https://switchboard.example/api/webhooks/twilio/sms</Redirect></Response>",
                "refused TwiML: <Redirect> is not allowed",
            ),
            (
                r#"<Response><Connect action="https://x.example/a"><Stream url="wss://a/b"/></Connect></Response>"#,
                "refused TwiML: <Connect> may not have the attribute action",
            ),
            ("<Response/>", "refused TwiML: the <Response> has no verbs"),
        ] {
            let err = twiml_of(body.as_bytes()).unwrap_err();
            assert!(err.starts_with(why), "{body}: {err}");
        }
    }

    #[test]
    fn refuses_anything_else() {
        for (body, why) in [
            ("hello", "neither XML nor JSON"),
            (r#"{"call": "x"}"#, "no twiml string"),
            (r#"{"twiml": 5}"#, "no twiml string"),
            ("<html><body>oops</body></html>", "root is <html>"),
            ("<Response><Say>x</Say>", "not closed"),
            ("<Response><Say>x</Response>", "not well-formed"),
            ("<Response/><Response/>", "more than one root"),
            ("<Response/>trailing", "text outside"),
            ("<Response><Say a=1/></Response>", "attribute"),
            (
                "<!DOCTYPE r [<!ENTITY x \"y\">]><Response/>",
                "DOCTYPE is not allowed",
            ),
            ("", "neither XML nor JSON"),
        ] {
            let err = twiml_of(body.as_bytes()).unwrap_err();
            assert!(err.contains(why), "{body:?}: {err}");
            assert!(err.starts_with("malformed TwiML"), "{body:?}: {err}");
        }
        let huge = format!("<Response><Say>{}</Say></Response>", "a".repeat(65 * 1024));
        assert!(twiml_of(huge.as_bytes()).unwrap_err().contains("64 kB"));
        assert!(twiml_of(&[0xff, 0xfe]).unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn shown_urls_drop_queries_and_credentials() {
        assert_eq!(
            shown("wss://u:p@agent.example:8443/media?token=secret"),
            "wss://agent.example:8443/media"
        );
    }
}
