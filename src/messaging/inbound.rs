//! The inbound SMS/MMS webhook (`/api/webhooks/twilio/sms` and the seed aliases): store the text once
//! per MessageSid, honour STOP/START/HELP, and answer with the tenant's auto-reply in TwiML.
//!
//! The answer is a pure function of the tenant, the message and whether the sender had opted out
//! before it, so Twilio's redelivery of the same MessageSid stores nothing new and gets the same TwiML.
//! Replies go out as TwiML `<Message>` (not through the notification sender): Twilio sends them from
//! the number texted, inside its own handling of this webhook, with no extra REST call or job.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use switchboard_twilio::twiml::MessagingResponse;

use super::keywords::{self, Keyword};
use crate::calls::render::fill;
use crate::db::StoreError;
use crate::db::batch::{Batch, Keys};
use crate::db::writer::BatchUnit;
use crate::db::{messages::MessageRow, tenants::Tenant};
use crate::domain::{E164, MessageSid, new_id};
use crate::state::AppState;
use crate::web::error::ApiError;
use crate::web::twilio_webhook::TwilioRequest;

/// The answer to a text sent to a number no tenant owns (PRODUCT 3).
pub const NOT_IN_SERVICE: &str = "Sorry, this number is not currently in service.";
/// The seed-000 auto-reply, used when the tenant has no `smsAutoReply` template.
pub const DEFAULT_AUTO_REPLY: &str = "Thank you for your message! We will get back to you soon.";
pub const OPT_OUT_CONFIRMATION: &str =
    "You have been unsubscribed from {name} messages. Reply START to resubscribe.";
pub const OPT_IN_CONFIRMATION: &str =
    "You have been resubscribed to {name} messages. Reply STOP to unsubscribe.";
/// The HELP answer when the tenant has no `helpReply` template: who is texting and how to stop.
pub const DEFAULT_HELP_REPLY: &str =
    "{name}: for help, call us at this number. Reply STOP to unsubscribe, START to resubscribe.";

/// Twilio attaches at most 10 media to one MMS.
const MAX_MEDIA: usize = 10;
/// Twilio's longest body is 1600 characters; anything beyond is not a real message.
const MAX_BODY_CHARS: usize = 1600;
/// Senders are E.164, short codes or alphanumeric IDs; the bound only keeps junk out of the table.
const MAX_ADDRESS_CHARS: usize = 128;
const MAX_URL_CHARS: usize = 2048;

/// What the webhook decided: the reply (if any) and what to record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decision {
    keyword: Option<Keyword>,
    /// Twilio's Advanced Opt-Out has already answered the keyword.
    twilio_replied: bool,
    reply: Option<String>,
}

/// The reply to one inbound text, from the tenant's settings and the sender's opt-out state before it.
fn decide(tenant: &Tenant, body: &str, opt_out_type: Option<&str>, opted_out: bool) -> Decision {
    let advanced = opt_out_type.and_then(keywords::from_opt_out_type);
    let keyword = advanced.or_else(|| keywords::detect(body));
    let twilio_replied = advanced.is_some();
    let templates = &tenant.templates;
    let reply = match keyword {
        _ if twilio_replied => None,
        Some(Keyword::OptOut) => Some(fill(OPT_OUT_CONFIRMATION, tenant)),
        Some(Keyword::OptIn) => Some(fill(OPT_IN_CONFIRMATION, tenant)),
        // Carriers require HELP to be answered even for opted-out numbers.
        Some(Keyword::Help) => Some(fill(
            templates
                .help_reply
                .as_deref()
                .unwrap_or(DEFAULT_HELP_REPLY),
            tenant,
        )),
        None if tenant.messaging.auto_reply && !opted_out => Some(fill(
            templates
                .sms_auto_reply
                .as_deref()
                .unwrap_or(DEFAULT_AUTO_REPLY),
            tenant,
        )),
        None => None,
    };
    Decision {
        keyword,
        twilio_replied,
        reply,
    }
}

fn twiml(decision: &Decision) -> Response {
    let mut resp = MessagingResponse::new();
    if let Some(text) = &decision.reply {
        resp = resp.message(text.as_str());
    }
    resp.into_response()
}

fn bounded(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The message's media URLs in index order (`MediaUrl0`, `MediaUrl1`, …).
fn media_urls(req: &TwilioRequest) -> Vec<String> {
    (0..MAX_MEDIA)
        .filter_map(|i| req.non_empty(&format!("MediaUrl{i}")))
        .map(|u| bounded(u, MAX_URL_CHARS))
        .collect()
}

/// The inbound message webhook.
pub async fn incoming(State(state): State<AppState>, req: TwilioRequest) -> Response {
    let Some(sid) = req.message_sid() else {
        return ApiError::validation("MessageSid", "is required and must be a Twilio SID")
            .into_response();
    };
    let to = req.non_empty("To");
    let now = state.clock.now_ms();
    let cached = match to {
        Some(raw) => state.routing.cached_tenant(&state.db, now, raw).await,
        None => Ok(None),
    };
    // A number seen before is answered from the cache without parsing it again.
    let tenant = match cached {
        Err(e) => Err(e),
        Ok(Some(known)) => Ok(known),
        Ok(None) => match to.and_then(|t| E164::parse("To", t).ok()) {
            Some(number) => {
                state
                    .routing
                    .tenant_by_number(&state.db, now, &number)
                    .await
            }
            None => Ok(None),
        },
    };
    let tenant = match tenant {
        Ok(Some(t)) => t,
        Ok(None) => {
            tracing::warn!(
                to = to.unwrap_or(""),
                message_sid = %sid,
                "text to a number no tenant owns"
            );
            return MessagingResponse::new()
                .message(NOT_IN_SERVICE)
                .into_response();
        }
        Err(e) => return ApiError::internal(e).into_response(),
    };
    match receive(&state, &tenant, &req, &sid).await {
        Ok(decision) => twiml(&decision),
        // A 500 lets Twilio's fallback URL (or a retry) deliver it again; storage is idempotent.
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Stores the message and applies its keyword, all in one transaction, unless it is already stored.
async fn receive(
    state: &AppState,
    tenant: &Arc<Tenant>,
    req: &TwilioRequest,
    sid: &MessageSid,
) -> Result<Decision, StoreError> {
    let from = bounded(req.get("From").unwrap_or("").trim(), MAX_ADDRESS_CHARS);
    // Opt-outs are keyed by the E.164 form the sender checks recipients against.
    let phone = E164::parse("From", &from)
        .map(|n| n.to_string())
        .unwrap_or_else(|_| from.clone());
    let body = bounded(req.get("Body").unwrap_or(""), MAX_BODY_CHARS);
    let opt_out_type = req.non_empty("OptOutType").map(str::to_string);

    let media = media_urls(req);
    let num_media = req
        .non_empty("NumMedia")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| (0..=MAX_MEDIA as i64).contains(n))
        .unwrap_or(media.len() as i64);
    let segments = req
        .non_empty("NumSegments")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or_else(|| i64::from(switchboard_twilio::segments::count(&body)));
    let business = tenant
        .twilio_number
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let now = state.clock.now_ms();
    let row = MessageRow {
        id: new_id(),
        tenant_id: tenant.id.clone(),
        message_sid: Some(sid.to_string()),
        direction: "inbound".into(),
        customer: from.clone(),
        from_number: from.clone(),
        to_number: business,
        body,
        num_media,
        media_urls: serde_json::to_string(&media).unwrap_or_else(|_| "[]".into()),
        status: crate::domain::states::MessageStatus::Received,
        segments,
        error_code: None,
        notification_id: None,
        created_at: now,
        updated_at: now,
    };

    let unit = Receive {
        sid: sid.clone(),
        state: state.clone(),
        tenant: tenant.clone(),
        phone,
        row,
        opt_out_type,
    };
    // Keyed by tenant: a sender's STOP and their next text are ordered on one writer.
    let (decision, stored) = state.writer.apply(&tenant.id, unit).await?;
    if !stored {
        tracing::info!(message_sid = %sid, "duplicate inbound message");
        return Ok(decision);
    }
    metrics::counter!("switchboard_messages_total", "direction" => "inbound").increment(1);
    tracing::info!(
        message_sid = %sid,
        tenant = %tenant.id,
        keyword = ?decision.keyword,
        replied = decision.reply.is_some(),
        "inbound message"
    );
    Ok(decision)
}

/// An inbound text's writes: the message (once per MessageSid), its keyword's opt-out change, the
/// TwiML reply as an outbound message, and `sms.received`.
struct Receive {
    sid: MessageSid,
    state: AppState,
    tenant: Arc<Tenant>,
    /// The sender in the E.164 form opt-outs are keyed by.
    phone: String,
    row: MessageRow,
    opt_out_type: Option<String>,
}

impl BatchUnit for Receive {
    /// The reply, and whether this webhook stored the message (false: a redelivery).
    type Output = (Decision, bool);

    fn keys(&self, keys: &mut Keys) {
        keys.message_sids.push(self.sid.clone());
        keys.opt_outs
            .push((self.tenant.id.clone(), self.phone.clone()));
        keys.tenants.push(self.tenant.id.clone());
        keys.owners.push(self.tenant.id.clone());
    }

    fn apply(&self, batch: &mut Batch<'_>) -> Result<(Decision, bool), StoreError> {
        let (tenant, row, phone) = (&self.tenant, &self.row, self.phone.as_str());
        // Read inside the batch, so a STOP earlier in it already counts.
        let opted_out = batch.opted_out(&tenant.id, phone);
        let decision = decide(tenant, &row.body, self.opt_out_type.as_deref(), opted_out);
        if batch.message_stored(&self.sid) {
            // A redelivery: the first delivery already recorded everything; answer the same.
            return Ok((decision, false));
        }
        batch.add_message(row.clone());
        match decision.keyword {
            Some(Keyword::OptOut) => {
                batch.add_opt_out(&tenant.id, phone, "keyword", row.created_at)
            }
            Some(Keyword::OptIn) => batch.remove_opt_out(&tenant.id, phone),
            Some(Keyword::Help) | None => {}
        }
        if let Some(text) = &decision.reply {
            // The TwiML reply belongs in the thread too. Twilio sends it under a SID this webhook
            // never learns, so it is kept without one, as handed to Twilio (`queued`).
            batch.add_message(MessageRow {
                id: new_id(),
                message_sid: None,
                direction: "outbound".into(),
                from_number: row.to_number.clone(),
                to_number: row.from_number.clone(),
                body: text.clone(),
                num_media: 0,
                media_urls: "[]".into(),
                status: crate::domain::states::MessageStatus::Queued,
                segments: i64::from(switchboard_twilio::segments::count(text)),
                ..row.clone()
            });
        }
        let data = serde_json::json!({
            "messageId": row.id, "messageSid": row.message_sid, "from": row.from_number, "to": row.to_number, "body": row.body,
            "numMedia": row.num_media, "mediaUrls": serde_json::from_str::<serde_json::Value>(&row.media_urls).unwrap_or_default(),
            "keyword": decision.keyword.map(|k| format!("{k:?}").to_ascii_lowercase()),
        });
        crate::events::emit_in(
            &self.state,
            batch,
            Some(&tenant.id),
            "sms.received",
            None,
            data,
        );
        Ok((decision, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant::example("UTC")
    }

    #[test]
    fn keywords_answer_and_name_the_business() {
        let t = tenant();
        let d = decide(&t, " stop ", None, false);
        assert_eq!(d.keyword, Some(Keyword::OptOut));
        assert_eq!(
            d.reply.as_deref(),
            Some(
                "You have been unsubscribed from Bella Salon messages. Reply START to resubscribe."
            )
        );
        let d = decide(&t, "YES", None, true);
        assert_eq!(d.keyword, Some(Keyword::OptIn));
        assert!(d.reply.unwrap().contains("resubscribed to Bella Salon"));
        let d = decide(&t, "info", None, true);
        assert!(
            d.reply.unwrap().starts_with("Bella Salon:"),
            "HELP answers the opted-out too"
        );
    }

    #[test]
    fn advanced_opt_out_gets_no_reply_but_keeps_the_keyword() {
        let d = decide(&tenant(), "arret", Some("STOP"), false);
        assert_eq!(d.keyword, Some(Keyword::OptOut));
        assert!(d.twilio_replied);
        assert_eq!(d.reply, None);
    }

    #[test]
    fn auto_reply_respects_the_switch_the_template_and_opt_outs() {
        let mut t = tenant();
        assert_eq!(
            decide(&t, "hi", None, false).reply.as_deref(),
            Some(DEFAULT_AUTO_REPLY)
        );
        assert_eq!(decide(&t, "hi", None, true).reply, None);
        t.templates.sms_auto_reply = Some("Thanks for texting {name}!".into());
        assert_eq!(
            decide(&t, "hi", None, false).reply.as_deref(),
            Some("Thanks for texting Bella Salon!")
        );
        t.messaging.auto_reply = false;
        assert_eq!(decide(&t, "hi", None, false).reply, None);
        // Keywords are answered whatever the auto-reply switch says.
        assert!(decide(&t, "STOP", None, false).reply.is_some());
    }
}
