//! `Messages.json`: send, fetch and list messages, then play each one out asynchronously.
//!
//! A sent message walks Twilio's outbound path (TWILIO_FACTS B3), one `callback_delay` per step:
//! `accepted` (only with a MessagingServiceSid and no From) → `queued` → `sending` → `sent` →
//! `delivered` | `undelivered`, or `sending` → `failed`. Its StatusCallback receives `sent` and the
//! final status, the ones Twilio posts for a message sent from a number (`queued` and `sending`
//! are not posted). The outcome is scripted by the To number (see `magic`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, Uri};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Inner;
use super::auth::Params;
use super::callbacks::{self, pause};
use super::error::ApiError;
use super::magic::{self, Delivery};
use super::paging::{self, PageRequest};

use super::state::{SandboxMessage, all, first, is_e164, is_http_url, new_sid, non_empty, rfc2822};

/// Twilio's body limit for one message.
const MAX_BODY_CHARS: usize = 1600;
/// A price per segment, for the `price` Twilio fills in once a message is sent.
const PRICE_PER_SEGMENT: f64 = 0.0079;

pub(crate) async fn create(
    State(inner): State<Arc<Inner>>,
    Extension(params): Extension<Params>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let form = &params.form;
    let to = non_empty(form, "To")
        .ok_or_else(|| ApiError::bad_request(21604, "A 'To' phone number is required."))?;
    let from = non_empty(form, "From");
    let service = non_empty(form, "MessagingServiceSid");
    if from.is_none() && service.is_none() {
        return Err(ApiError::bad_request(
            21603,
            "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
        ));
    }
    let body = first(form, "Body").unwrap_or("");
    let media_urls: Vec<String> = all(form, "MediaUrl")
        .into_iter()
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    if body.is_empty() && media_urls.is_empty() && non_empty(form, "ContentSid").is_none() {
        return Err(ApiError::bad_request(21602, "Message body is required."));
    }
    if let Some(from) = from {
        if let Some(err) = magic::message_from_error(from) {
            return Err(err);
        }
        if !is_e164(from) && !is_alphanumeric_sender_id(from) {
            return Err(ApiError::bad_request(
                21212,
                format!(
                    "The 'From' number {from} is not a valid phone number, shortcode, or alphanumeric sender ID."
                ),
            ));
        }
    }
    if let Some(err) = magic::message_to_error(to) {
        return Err(err);
    }
    if !is_e164(to) {
        return Err(ApiError::bad_request(
            21211,
            format!("The 'To' number {to} is not a valid phone number."),
        ));
    }
    if let Some(service) = service
        && !is_sid(service, "MG")
    {
        return Err(ApiError::bad_request(
            21701,
            format!("The Messaging Service Sid {service} is invalid."),
        ));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(ApiError::bad_request(
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        ));
    }
    let status_callback = non_empty(form, "StatusCallback");
    if let Some(cb) = status_callback
        && !is_http_url(cb)
    {
        return Err(ApiError::bad_request(21609, "Invalid 'StatusCallback'"));
    }
    if media_urls.iter().any(|u| !is_http_url(u)) {
        return Err(ApiError::bad_request(21620, "Invalid media URL(s)"));
    }

    let now = Timestamp::now();
    // Twilio gives MMS an `MM` SID and SMS an `SM` one.
    let prefix = if media_urls.is_empty() { "SM" } else { "MM" };
    let message = SandboxMessage {
        sid: new_sid(prefix),
        to: to.to_owned(),
        from: from.map(str::to_owned),
        messaging_service_sid: service.map(str::to_owned),
        body: body.to_owned(),
        media_urls,
        // Without a From, a Messaging Service first "accepts" the message and picks a sender.
        status: if from.is_none() { "accepted" } else { "queued" }.to_owned(),
        error_code: None,
        error_message: None,
        num_segments: crate::segments::count(body),
        price: None,
        status_callback: status_callback.map(str::to_owned),
        validity_period: first(form, "ValidityPeriod").and_then(|v| v.parse().ok()),
        date_created: now,
        date_updated: now,
        date_sent: None,
    };
    let json = to_json(&inner, &message);
    let sid = message.sid.clone();
    inner.store.lock().add_message(message);
    let task_inner = inner.clone();
    inner.tasks.spawn(play_out(task_inner, sid));
    Ok((StatusCode::CREATED, Json(json)))
}

pub(crate) async fn fetch(
    State(inner): State<Arc<Inner>>,
    Path((_account, file)): Path<(String, String)>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let sid = file
        .strip_suffix(".json")
        .ok_or_else(|| ApiError::not_found(uri.path()))?;
    let store = inner.store.lock();
    let message = store
        .message(sid)
        .ok_or_else(|| ApiError::not_found(uri.path()))?;
    Ok(Json(to_json(&inner, message)))
}

/// Newest first, as Twilio lists; filters `To`, `From`, `DateSent`, `DateSent<`, `DateSent>`
/// (dates `YYYY-MM-DD` in UTC, compared with the date the message was sent; an unreadable date
/// filters nothing).
pub(crate) async fn list(
    State(inner): State<Arc<Inner>>,
    Extension(params): Extension<Params>,
    uri: Uri,
) -> Json<Value> {
    let q = &params.query;
    let to = first(q, "To");
    let from = first(q, "From");
    let date = |key: &str| first(q, key).and_then(parse_date);
    let (on, before, after) = (date("DateSent"), date("DateSent<"), date("DateSent>"));
    let records: Vec<Value> = {
        let store = inner.store.lock();
        store
            .messages
            .iter()
            .rev()
            .filter(|m| to.is_none_or(|to| m.to == to))
            .filter(|m| from.is_none_or(|from| m.from.as_deref() == Some(from)))
            .filter(|m| {
                let sent = m
                    .date_sent
                    .map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).date());
                let keep =
                    |bound: Option<jiff::civil::Date>,
                     ok: fn(jiff::civil::Date, jiff::civil::Date) -> bool| {
                        bound.is_none_or(|b| sent.is_some_and(|s| ok(s, b)))
                    };
                keep(on, |s, b| s == b) && keep(before, |s, b| s <= b) && keep(after, |s, b| s >= b)
            })
            .map(|m| to_json(&inner, m))
            .collect()
    };
    let filters: Vec<(&str, &str)> = ["To", "From", "DateSent", "DateSent<", "DateSent>"]
        .into_iter()
        .filter_map(|k| first(q, k).map(|v| (k, v)))
        .collect();
    Json(paging::envelope(
        "messages",
        records,
        uri.path(),
        &filters,
        PageRequest::from_query(q),
    ))
}

/// The OAI `api.v2010.account.message` representation.
pub(crate) fn to_json(inner: &Inner, m: &SandboxMessage) -> Value {
    let acct = inner.config.account_path();
    json!({
        "account_sid": inner.config.account_sid,
        "api_version": "2010-04-01",
        "body": m.body,
        "date_created": rfc2822(m.date_created),
        "date_sent": m.date_sent.map(rfc2822),
        "date_updated": rfc2822(m.date_updated),
        "direction": "outbound-api",
        "error_code": m.error_code,
        "error_message": m.error_message,
        "from": m.from,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": m.media_urls.len().to_string(),
        "num_segments": m.num_segments.to_string(),
        "price": m.price,
        "price_unit": "USD",
        "sid": m.sid,
        "status": m.status,
        "subresource_uris": {
            "media": format!("{acct}/Messages/{}/Media.json", m.sid),
        },
        "to": m.to,
        "uri": format!("{acct}/Messages/{}.json", m.sid),
    })
}

/// Walks one message to its scripted end, posting the callbacks Twilio would.
async fn play_out(inner: Arc<Inner>, sid: String) {
    let Some((to, accepted)) = snapshot(&inner, &sid).map(|m| (m.to, m.status == "accepted"))
    else {
        return;
    };
    let script = magic::message_delivery(&to);
    if accepted {
        pause(&inner).await;
        update(&inner, &sid, |m, store_first_number| {
            m.status = "queued".into();
            // The service "picks a sender": the account's first number, if it has one.
            m.from = store_first_number;
        });
    }
    pause(&inner).await;
    update(&inner, &sid, |m, _| m.status = "sending".into());
    pause(&inner).await;
    if let Delivery::Failed(code) = script {
        let m = update(&inner, &sid, |m, _| fail(m, "failed", code));
        notify(&inner, m).await;
        return;
    }
    let m = update(&inner, &sid, |m, _| {
        m.status = "sent".into();
        m.date_sent = Some(Timestamp::now());
        m.price = Some(format!(
            "-{:.5}",
            PRICE_PER_SEGMENT * f64::from(m.num_segments)
        ));
    });
    notify(&inner, m).await;
    pause(&inner).await;
    let m = update(&inner, &sid, |m, _| match script {
        Delivery::Undelivered(code) => fail(m, "undelivered", code),
        _ => m.status = "delivered".into(),
    });
    notify(&inner, m).await;
}

fn fail(m: &mut SandboxMessage, status: &str, code: u32) {
    m.status = status.into();
    m.error_code = Some(code);
    m.error_message = Some(magic::delivery_error_message(code).to_owned());
}

fn snapshot(inner: &Inner, sid: &str) -> Option<SandboxMessage> {
    inner.store.lock().message(sid).cloned()
}

/// Applies `change` (which also gets the account's first number, for sender selection) and
/// returns the message as it now is.
fn update(
    inner: &Inner,
    sid: &str,
    change: impl FnOnce(&mut SandboxMessage, Option<String>),
) -> Option<SandboxMessage> {
    let mut store = inner.store.lock();
    let first_number = store.numbers.first().map(|n| n.phone_number.clone());
    let m = store.message_mut(sid)?;
    change(m, first_number);
    m.date_updated = Timestamp::now();
    Some(m.clone())
}

async fn notify(inner: &Inner, m: Option<SandboxMessage>) {
    let Some(m) = m else { return };
    let Some(url) = m.status_callback.clone() else {
        return;
    };
    let mut params = vec![
        ("MessageSid".to_owned(), m.sid.clone()),
        ("SmsSid".to_owned(), m.sid.clone()),
        ("MessageStatus".to_owned(), m.status.clone()),
        ("SmsStatus".to_owned(), m.status.clone()),
        ("AccountSid".to_owned(), inner.config.account_sid.clone()),
        ("From".to_owned(), m.from.clone().unwrap_or_default()),
        ("To".to_owned(), m.to.clone()),
        ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
    ];
    if let Some(service) = &m.messaging_service_sid {
        params.push(("MessagingServiceSid".to_owned(), service.clone()));
    }
    if let Some(code) = m.error_code {
        params.push(("ErrorCode".to_owned(), code.to_string()));
    }
    callbacks::send(inner, "message-status", &url, "POST", params).await;
}

/// 1 to 11 characters, letters, digits and spaces, at least one letter: Twilio's rule for an
/// alphanumeric sender ID.
fn is_alphanumeric_sender_id(s: &str) -> bool {
    (1..=11).contains(&s.chars().count())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
        && s.chars().any(|c| c.is_ascii_alphabetic())
}

pub(crate) fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_date(s: &str) -> Option<jiff::civil::Date> {
    // Twilio accepts a bare date or a full timestamp; either way the date part is compared.
    s.get(..10)?.parse().ok()
}
