//! One customer's thread: `GET /console/t/{tenant}/messages/{phone}` (E.164, `+` as `%2B`), the
//! messages in and out (`messaging::history::thread`, as `GET /api/telephony/conversations/{phone}`)
//! oldest to newest, each with its status, time and Twilio's error text when it failed, followed by
//! the texts queued to the customer that have not reached Twilio yet; the opt-out banner; and the
//! reply box, `POST` to the same path, which queues the text through `messaging::outgoing::send` (the
//! use case of `POST /api/telephony/sms`): refused for opted-out customers, ended subscriptions,
//! blank or over-long texts with the API's words next to the box.
//!
//! `…/thread` answers just the thread, which the page polls every 5 s (htmx) so a reply's status
//! moves from queued to sent and delivered without a reload. Without JavaScript the page reads the
//! same and the reply form posts and redirects back (303).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Pill, Tabs, message_pill, notification_pill, phone_segment, twilio_error_text};
use crate::console::auth::{Form, TenantView};
use crate::console::format;
use crate::console::render::{Chrome, ConsoleResult, FormError, page, page_with_status};
use crate::domain::E164;
use crate::domain::states::NotificationStatus;
use crate::messaging::history;
use crate::messaging::notifications::{NewSms, NotificationKind};
use crate::messaging::outgoing;
use crate::state::AppState;

const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    offset: Option<i64>,
    /// After a reply: the queued notification's id.
    sent: Option<String>,
}

/// One bubble.
#[derive(Debug, Clone)]
struct Bubble {
    /// `in` or `out`.
    dir: &'static str,
    body: String,
    pill: Pill,
    when: String,
    when_iso: String,
    /// Twilio's error (or why it was not sent), for failed ones.
    error: Option<String>,
    /// `message-{id}` or `notification-{id}`.
    key: String,
}

#[derive(Debug, Clone)]
struct ThreadView {
    /// Where the thread polls itself, `None` when showing older pages (they do not change).
    poll: Option<String>,
    bubbles: Vec<Bubble>,
}

#[derive(Template)]
#[template(path = "console/messages/thread.html")]
struct ThreadPage {
    chrome: Chrome,
    tabs: Tabs,
    phone: String,
    action: String,
    opted_out: bool,
    thread: ThreadView,
    total: i64,
    zone: String,
    older_href: Option<String>,
    newer_href: Option<String>,
    /// The reply form: what was typed, its error, a notice after a queued reply, and a fresh key.
    body: String,
    body_error: Option<String>,
    other_error: Option<String>,
    notice: Option<String>,
    key: String,
}

#[derive(Template)]
#[template(path = "console/messages/thread_fragment.html")]
struct ThreadFragment {
    thread: ThreadView,
}

/// The thread's messages and unsent texts, oldest first.
async fn thread_view(
    state: &AppState,
    view: &TenantView,
    raw: &str,
    offset: Option<i64>,
) -> ConsoleResult<(history::Thread, ThreadView)> {
    let t = history::thread(state, &view.tenant.id, "phone", raw, Some(PAGE), offset).await?;
    let tz = format::zone(view.tenant.time_zone.as_str());
    // Oldest first; a stable sort keeps the store's order between messages of the same instant.
    let mut timed: Vec<(i64, Bubble)> = t
        .messages
        .iter()
        .rev()
        .map(|m| {
            let failed = matches!(m.status.as_str(), "failed" | "undelivered");
            (
                m.created_at,
                Bubble {
                    dir: if m.direction == "inbound" {
                        "in"
                    } else {
                        "out"
                    },
                    body: if m.body.is_empty() {
                        format!("({} media)", m.num_media)
                    } else {
                        m.body.clone()
                    },
                    // A TwiML auto-reply: Twilio never reports its SID, so its status stays put.
                    pill: if m.direction == "outbound" && m.message_sid.is_none() {
                        Pill {
                            class: "",
                            text: "auto-reply".into(),
                        }
                    } else {
                        message_pill(m.status)
                    },
                    when: format::date_time(m.created_at, &tz),
                    when_iso: crate::clock::rfc3339(m.created_at),
                    error: m
                        .error_code
                        .filter(|_| failed)
                        .map(twilio_error_text)
                        .or_else(|| failed.then(|| "Not delivered.".to_string())),
                    key: format!("message-{}", m.id),
                },
            )
        })
        .collect();
    let newest = t.offset == 0;
    if newest {
        for n in history::unsent_to(state, &view.tenant.id, &t.phone).await? {
            let failed = n.status == NotificationStatus::Failed;
            timed.push((
                n.created_at,
                Bubble {
                    dir: "out",
                    body: n.message.clone(),
                    pill: notification_pill(n.status),
                    when: format::date_time(n.created_at, &tz),
                    when_iso: crate::clock::rfc3339(n.created_at),
                    error: failed.then(|| {
                        n.failure_reason
                            .clone()
                            .or_else(|| n.error_code.map(twilio_error_text))
                            .unwrap_or_else(|| "Not sent.".into())
                    }),
                    key: format!("notification-{}", n.id),
                },
            ));
        }
    }
    timed.sort_by_key(|(at, _)| *at);
    let poll = newest.then(|| {
        format!(
            "{}/messages/{}/thread",
            view.base(),
            phone_segment(&t.phone)
        )
    });
    Ok((
        t,
        ThreadView {
            poll,
            bubbles: timed.into_iter().map(|(_, b)| b).collect(),
        },
    ))
}

/// The whole page, with the reply form's state.
async fn thread_page(
    state: &AppState,
    view: &TenantView,
    raw: &str,
    offset: Option<i64>,
    body: String,
    error: FormError,
    notice: Option<String>,
) -> ConsoleResult<ThreadPage> {
    let (t, thread) = thread_view(state, view, raw, offset).await?;
    let action = format!("{}/messages/{}", view.base(), phone_segment(&t.phone));
    let shown = t.offset + t.messages.len() as i64;
    let body_error = error.for_field("message").map(str::to_string);
    let other_error =
        (!error.message.is_empty() && body_error.is_none()).then(|| error.message.clone());
    Ok(ThreadPage {
        chrome: view.chrome(format!("Messages with {}", t.phone), "messages"),
        tabs: Tabs {
            base: view.base(),
            current: "conversations",
        },
        older_href: (shown < t.total).then(|| format!("{action}?offset={shown}")),
        newer_href: (t.offset > 0).then(|| {
            let o = (t.offset - t.limit).max(0);
            if o == 0 {
                action.clone()
            } else {
                format!("{action}?offset={o}")
            }
        }),
        phone: t.phone,
        action,
        opted_out: t.opted_out,
        thread,
        total: t.total,
        zone: view.tenant.time_zone.to_string(),
        body,
        body_error,
        other_error,
        notice,
        key: crate::domain::new_id(),
    })
}

pub async fn show(
    view: TenantView,
    State(state): State<AppState>,
    Path((_, phone)): Path<(String, String)>,
    Query(p): Query<Params>,
) -> ConsoleResult {
    let notice = p
        .sent
        .as_ref()
        .map(|_| "Your reply is queued; its status below moves to sent and delivered.".to_string());
    let page_ = thread_page(
        &state,
        &view,
        &phone,
        p.offset,
        String::new(),
        FormError::default(),
        notice,
    )
    .await?;
    Ok(page(&page_))
}

/// `GET …/messages/{phone}/thread`: just the thread (the page polls it).
pub async fn fragment(
    view: TenantView,
    State(state): State<AppState>,
    Path((_, phone)): Path<(String, String)>,
) -> ConsoleResult {
    let (_, thread) = thread_view(&state, &view, &phone, None).await?;
    Ok(page(&ThreadFragment { thread }))
}

/// A repeat-safe key from the form (one per rendered form), so a double submit queues once.
fn form_key(form: &Form) -> Option<String> {
    form.text("key")
        .filter(|k| k.len() <= 64 && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(|k| format!("console-reply:{k}"))
}

/// `POST …/messages/{phone}` with `message`: the reply.
pub async fn reply(
    view: TenantView,
    State(state): State<AppState>,
    Path((_, phone)): Path<(String, String)>,
    form: Form,
) -> ConsoleResult {
    let typed = form.get("message").unwrap_or("").to_string();
    let queued = async {
        // The thread must exist (a 404 otherwise, as for another tenant's customer).
        let t = history::thread(&state, &view.tenant.id, "phone", &phone, Some(1), None).await?;
        let to = E164::parse("phoneNumber", &t.phone)?;
        let text = outgoing::sms_text("message", &typed)?;
        let mut sms = NewSms::new(&view.tenant.id, NotificationKind::Api, to, text);
        sms.idempotency_key = form_key(&form);
        sms.metadata = Some(serde_json::json!({ "via": "console" }));
        outgoing::send(&state, sms, "phoneNumber")
            .await
            .map(|q| (t.phone, q))
    }
    .await;
    match queued {
        Ok((phone, q)) => Ok(Redirect::to(&format!(
            "{}/messages/{}?sent={}#reply-form",
            view.base(),
            phone_segment(&phone),
            q.notification.id
        ))
        .into_response()),
        Err(crate::failure::Failure::NotFound { what }) => {
            Err(crate::failure::Failure::NotFound { what }.into())
        }
        Err(f) => {
            let error = FormError::from_failure(f);
            let status = error.http_status();
            let page_ = thread_page(&state, &view, &phone, None, typed, error, None).await?;
            Ok(page_with_status(status, &page_))
        }
    }
}
