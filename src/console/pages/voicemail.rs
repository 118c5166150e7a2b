//! A business's voicemail inbox: new and handled voicemails (tabs), newest first in keyset pages,
//! each with its caller, time in the tenant's zone, length, player, transcript and summary; Mark
//! handled / Mark new (the recordings feature's `voicemail::set_handled`, as
//! `PATCH /api/telephony/voicemails/{id}`) and Call back (`calls::outbound::call_back`, which places
//! the call through `make-call`'s use case). Also the recording audio every console player loads,
//! served by `recordings::media` exactly as the API serves it, scoped to the tenant.
//!
//! Without JavaScript every button is a form: POST, then 303 back to the tab. With htmx, Mark
//! handled swaps the voicemail in place (the answer is just its `<li>`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::calls::outbound::call_back::{call_back, staff_for_call_back};
use crate::domain::E164;
use crate::domain::routing::CallReason;
use crate::recordings::{media, voicemail};
use crate::state::AppState;

use crate::console::auth::{Form, TenantView};
use crate::console::format;
use crate::console::render::{
    Chrome, ConsoleError, ConsoleResult, FormError, page, page_with_status,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/t/{tenant}/voicemail", get(inbox))
        .route(
            "/console/t/{tenant}/voicemail/{recording_id}/handled",
            post(mark_handled),
        )
        .route(
            "/console/t/{tenant}/voicemail/{recording_id}/call-back",
            post(call_back_caller),
        )
        .route(
            "/console/t/{tenant}/recordings/{recording_id}/media",
            get(recording_media),
        )
}

/// Which tab: new (default) or handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    New,
    Handled,
}

impl Tab {
    fn parse(raw: Option<&str>) -> Result<Tab, ConsoleError> {
        match raw.map(str::trim).unwrap_or("") {
            "" | "new" => Ok(Tab::New),
            "handled" => Ok(Tab::Handled),
            _ => Err(ConsoleError::from(crate::failure::Failure::invalid(
                "state",
                "must be new or handled",
            ))),
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Tab::New => "new",
            Tab::Handled => "handled",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct InboxParams {
    state: Option<String>,
    before: Option<String>,
    /// After a call-back: which voicemail, and the call's SID.
    called: Option<String>,
    sid: Option<String>,
}

/// A call-back's outcome, shown next to its button.
#[derive(Debug, Clone)]
struct CallBackNote {
    ok: bool,
    text: String,
}

/// One voicemail as the page shows it.
#[derive(Debug, Clone)]
struct Item {
    id: String,
    caller: String,
    received: String,
    /// `2026-11-23T15:00:00Z`-style instant for `<time datetime>`.
    received_iso: String,
    duration: String,
    /// The console's audio URL, once the recording is downloaded.
    media: Option<String>,
    transcript: Option<String>,
    /// Why there is no transcript (still processing, or the transcription's error).
    transcript_note: Option<String>,
    summary: Option<String>,
    reason: Option<&'static str>,
    handled: bool,
    handled_when: Option<String>,
    call_href: String,
    callback: Option<CallBackNote>,
}

/// What every voicemail's forms need besides the item.
#[derive(Debug, Clone)]
struct Ctx {
    csrf: String,
    base: String,
    tab: &'static str,
    before: String,
    /// Who a call-back connects the caller to (the first on-duty staff member), if anyone.
    callee: Option<String>,
}

#[derive(Template)]
#[template(path = "console/voicemail/inbox.html")]
struct InboxPage {
    chrome: Chrome,
    ctx: Ctx,
    items: Vec<Item>,
    total: i64,
    zone: String,
    newer_href: Option<String>,
    older_href: Option<String>,
}

#[derive(Template)]
#[template(path = "console/voicemail/item_fragment.html")]
struct ItemFragment {
    ctx: Ctx,
    item: Item,
}

fn reason_label(code: &str) -> Option<&'static str> {
    Some(match CallReason::parse(code)? {
        CallReason::SetupAppointment => "Book an appointment",
        CallReason::CancelAppointment => "Cancel an appointment",
        CallReason::ModifyAppointment => "Change an appointment",
        CallReason::GetHours => "Opening hours",
        CallReason::GetPricing => "Prices",
        CallReason::Other => "Other",
    })
}

fn item(view: &TenantView, d: &voicemail::Detailed) -> Item {
    let tz = format::zone(view.tenant.time_zone.as_str());
    let r = &d.recording;
    let t = d.transcription.as_ref();
    let transcript = t
        .map(|t| t.text.trim().to_string())
        .filter(|s| !s.is_empty());
    let transcript_note = if transcript.is_some() {
        None
    } else if let Some(e) = t.and_then(|t| t.transcript_error.clone()) {
        Some(format!("No transcript: {e}"))
    } else if t.is_none() && r.processing != crate::db::recordings::DONE {
        Some("Transcribing… the text appears here when it is ready.".into())
    } else {
        Some("No transcript.".into())
    };
    Item {
        id: r.id.clone(),
        caller: d.caller().unwrap_or("Unknown caller").to_string(),
        received: format::date_time(r.created_at, &tz),
        received_iso: crate::clock::rfc3339(r.created_at),
        duration: r
            .duration_seconds
            .map(format::duration)
            .unwrap_or_else(|| "—".into()),
        media: r
            .storage_key
            .as_ref()
            .map(|_| format!("{}/recordings/{}/media", view.base(), r.id)),
        transcript,
        transcript_note,
        summary: t
            .map(|t| t.summary.trim().to_string())
            .filter(|s| !s.is_empty()),
        reason: t.and_then(|t| reason_label(&t.call_reason)),
        handled: r.handled_at.is_some(),
        handled_when: r.handled_at.map(|ms| format::date_time(ms, &tz)),
        call_href: format!("{}/calls/{}", view.base(), r.call_id),
        callback: None,
    }
}

async fn ctx(
    state: &AppState,
    view: &TenantView,
    tab: Tab,
    before: Option<&str>,
) -> ConsoleResult<Ctx> {
    let callee = staff_for_call_back(state, &view.tenant.id)
        .await?
        .map(|s| s.name);
    Ok(Ctx {
        csrf: view.viewer.session.csrf_token.clone(),
        base: view.base(),
        tab: tab.as_str(),
        before: before.unwrap_or("").to_string(),
        callee,
    })
}

/// The inbox page for `tab` (and keyset page `before`), with `note` shown next to voicemail `noted`.
async fn render_inbox(
    state: &AppState,
    view: &TenantView,
    tab: Tab,
    before: Option<&str>,
    noted: Option<(&str, CallBackNote)>,
) -> ConsoleResult<InboxPage> {
    let cursor = before
        .filter(|b| !b.trim().is_empty())
        .map(|b| voicemail::Cursor::parse("before", b))
        .transpose()?;
    let q = voicemail::InboxQuery {
        handled: Some(tab == Tab::Handled),
        limit: Some(25),
        offset: None,
        before: cursor.clone(),
    };
    let inbox = voicemail::inbox(state, &view.tenant.id, &q).await?;
    let mut items: Vec<Item> = inbox.voicemails.iter().map(|d| item(view, d)).collect();
    if let Some((id, note)) = noted
        && let Some(it) = items.iter_mut().find(|i| i.id == id)
    {
        it.callback = Some(note);
    }
    let tab_href = format!("{}/voicemail?state={}", view.base(), tab.as_str());
    Ok(InboxPage {
        chrome: view.chrome("Voicemail", "voicemail"),
        ctx: ctx(state, view, tab, before).await?,
        items,
        total: inbox.total,
        zone: view.tenant.time_zone.to_string(),
        newer_href: cursor.map(|_| tab_href.clone()),
        older_href: inbox
            .next
            .map(|c| format!("{tab_href}&before={}", c.encode())),
    })
}

/// A Twilio CallSid as the redirect after a call-back carries it (anything else is not shown).
fn call_sid_shape(s: &str) -> bool {
    s.len() == 34 && s.starts_with("CA") && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `GET /console/t/{tenant}/voicemail?state=new|handled&before=`.
async fn inbox(
    view: TenantView,
    State(state): State<AppState>,
    Query(p): Query<InboxParams>,
) -> ConsoleResult {
    let tab = Tab::parse(p.state.as_deref())?;
    let noted = match (&p.called, &p.sid) {
        (Some(id), Some(sid)) if call_sid_shape(sid) => Some((
            id.as_str(),
            CallBackNote {
                ok: true,
                text: format!(
                    "Calling back: call {sid} placed. The caller's phone rings first; when they answer they are connected to your staff."
                ),
            },
        )),
        _ => None,
    };
    let page_ = render_inbox(&state, &view, tab, p.before.as_deref(), noted).await?;
    Ok(page(&page_))
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers
        .get("hx-request")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "true")
}

/// Where a form sends the browser back to: the tab (and page) it was posted from.
fn back_to(view: &TenantView, form: &Form) -> Result<String, ConsoleError> {
    let tab = Tab::parse(form.get("state"))?;
    let mut to = format!("{}/voicemail?state={}", view.base(), tab.as_str());
    if let Some(b) = form.text("before") {
        let c = voicemail::Cursor::parse("before", b)?;
        to.push_str(&format!("&before={}", c.encode()));
    }
    Ok(to)
}

/// `POST /console/t/{tenant}/voicemail/{recording_id}/handled` with `handled=true|false`.
async fn mark_handled(
    view: TenantView,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    form: Form,
) -> ConsoleResult {
    let handled = match form.get("handled") {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return Err(
                crate::failure::Failure::invalid("handled", "must be true or false").into(),
            );
        }
    };
    let back = back_to(&view, &form)?;
    let d = voicemail::set_handled(&state, &view.tenant.id, &id, handled).await?;
    if is_htmx(&headers) {
        let tab = Tab::parse(form.get("state"))?;
        let fragment = ItemFragment {
            ctx: ctx(&state, &view, tab, form.text("before")).await?,
            item: item(&view, &d),
        };
        return Ok(page(&fragment));
    }
    Ok(Redirect::to(&format!("{back}#vm-{}", d.recording.id)).into_response())
}

/// `POST /console/t/{tenant}/voicemail/{recording_id}/call-back`: calls the voicemail's caller back
/// and connects them to the first staff member on duty.
async fn call_back_caller(
    view: TenantView,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    form: Form,
) -> ConsoleResult {
    let back = back_to(&view, &form)?;
    let tab = Tab::parse(form.get("state"))?;
    let vm = voicemail::get(&state, &view.tenant.id, &id).await?;
    let placed = match E164::parse("to", vm.caller().unwrap_or("")) {
        Ok(caller) => call_back(&state, &view.tenant, &caller, &vm.recording.id).await,
        Err(e) => Err(e.into()),
    };
    match placed {
        Ok(done) => Ok(Redirect::to(&format!(
            "{back}&called={}&sid={}#vm-{}",
            vm.recording.id, done.answer.call_sid, vm.recording.id
        ))
        .into_response()),
        Err(f) => {
            let e = FormError::from_failure(f);
            let note = CallBackNote {
                ok: false,
                text: format!("Could not call back: {}", e.message),
            };
            let page_ = render_inbox(
                &state,
                &view,
                tab,
                form.text("before"),
                Some((vm.recording.id.as_str(), note)),
            )
            .await?;
            Ok(page_with_status(e.http_status(), &page_))
        }
    }
}

/// `GET /console/t/{tenant}/recordings/{recording_id}/media`: the audio, with `Range` support.
async fn recording_media(
    view: TenantView,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ConsoleResult {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    Ok(media::stream(&state, &view.tenant.id, &id, range).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_and_call_sids() {
        assert_eq!(Tab::parse(None).unwrap(), Tab::New);
        assert_eq!(Tab::parse(Some("handled")).unwrap(), Tab::Handled);
        assert!(Tab::parse(Some("spam")).is_err());
        assert!(call_sid_shape("CA0123456789abcdef0123456789abcdef"));
        assert!(!call_sid_shape("CA<script>"));
        assert_eq!(reason_label("get_hours"), Some("Opening hours"));
        assert_eq!(reason_label("nonsense"), None);
    }
}
