//! `Calls.json`: place, fetch and list outbound calls, then play each one out asynchronously.
//!
//! A placed call walks `queued` → `ringing` → `in-progress` → `completed` (or ends `busy`,
//! `no-answer`, `failed` by its To number; see `magic`), one `callback_delay` per step. Its
//! StatusCallback receives the progress events asked for with repeated `StatusCallbackEvent`
//! parameters, `completed` only when none were (TWILIO_FACTS B3). The events carry Twilio's
//! callback statuses, which are not all resource statuses: `initiated`, `ringing`, `in-progress`
//! (for the `answered` event), then the final status on the `completed` event.
//!
//! `POST Calls/{Sid}.json` modifies a live call as Twilio does ([`modify`]): `Status=canceled` hangs
//! up a queued or ringing call (a call in progress is left alone), `Status=completed` hangs up any
//! live call, and `Url` or `Twiml` redirects a call in progress (21220 otherwise). The play-out task
//! sees the change at its next step and sends the `completed` callback with the call's final status,
//! so callbacks keep one sequence. A completed call's `duration` is exactly its end time minus its
//! start time, in whole seconds.
//!
//! On answer the sandbox fetches `Url` once, signed, with the call's parameters, and keeps the
//! TwiML it got; it does not execute it (the simulator plays calls through TwiML). A failed fetch
//! is logged in the webhook log and the call still completes. `Record=true` records the whole
//! call and posts `RecordingStatusCallback` when the recording completes.

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
use super::magic::{self, CallOutcome};
use super::messages::is_sid;
use super::paging::{self, PageRequest};
use super::recordings;
use super::state::{
    SandboxCall, all, first, friendly_format, is_e164, is_http_url, new_sid, non_empty, rfc2822,
};

/// The progress events Twilio accepts in `StatusCallbackEvent`.
const CALL_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];
/// Twilio's default and maximum ring time, seconds.
const DEFAULT_TIMEOUT: u32 = 60;
const MAX_TIMEOUT: u32 = 600;

pub(crate) async fn create(
    State(inner): State<Arc<Inner>>,
    Extension(params): Extension<Params>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let form = &params.form;
    let to = non_empty(form, "To")
        .ok_or_else(|| ApiError::bad_request(21201, "No 'To' number is specified"))?;
    let from = non_empty(form, "From")
        .ok_or_else(|| ApiError::bad_request(21213, "No 'From' number is specified"))?;
    if let Some(err) = magic::call_error(from, to) {
        return Err(err);
    }
    if !is_callable(to) {
        return Err(ApiError::bad_request(
            21211,
            format!("Invalid 'To' Phone Number: {to}"),
        ));
    }
    if !is_callable(from) {
        return Err(ApiError::bad_request(
            21212,
            format!("Invalid 'From' Phone Number: {from}"),
        ));
    }
    // The OAI: "If both `twiml` and `url` are provided then `twiml` parameter will be ignored."
    let url = non_empty(form, "Url");
    let twiml = if url.is_some() {
        None
    } else {
        non_empty(form, "Twiml")
    };
    let application_sid = non_empty(form, "ApplicationSid");
    match (url, twiml, application_sid) {
        (None, None, None) => {
            return Err(ApiError::bad_request(
                21205,
                "Url parameter is required. For more information, see http://www.twilio.com/docs/api/twiml",
            ));
        }
        (Some(u), _, _) if !is_http_url(u) => {
            return Err(ApiError::bad_request(
                21205,
                format!("Url is not a valid URL: {u}"),
            ));
        }
        (_, _, Some(app)) if !is_sid(app, "AP") => {
            return Err(ApiError::bad_request(21218, "Invalid ApplicationSid"));
        }
        _ => {}
    }
    let status_callback = non_empty(form, "StatusCallback");
    let recording_status_callback = non_empty(form, "RecordingStatusCallback");
    for cb in [status_callback, recording_status_callback]
        .into_iter()
        .flatten()
    {
        if !is_http_url(cb) {
            return Err(ApiError::bad_request(
                21205,
                format!("Url is not a valid URL: {cb}"),
            ));
        }
    }
    let events: Vec<String> = all(form, "StatusCallbackEvent")
        .into_iter()
        .map(str::to_owned)
        .collect();
    // A space-joined list ("initiated ringing") is one unknown event to Twilio: 21626
    // (TWILIO_FACTS B3).
    if let Some(bad) = events.iter().find(|e| !CALL_EVENTS.contains(&e.as_str())) {
        return Err(ApiError::bad_request(
            21626,
            format!("Invalid StatusCallbackEvents: {bad}"),
        ));
    }
    // Unlike StatusCallbackEvent, the OAI says recording events are space-separated; accept both.
    let recording_events: Vec<String> = {
        let given: Vec<String> = all(form, "RecordingStatusCallbackEvent")
            .into_iter()
            .flat_map(|v| v.split_whitespace())
            .map(str::to_owned)
            .collect();
        if given.is_empty() {
            vec!["completed".to_owned()]
        } else {
            given
        }
    };
    let now = Timestamp::now();
    let phone_number_sid = inner
        .store
        .lock()
        .number_by_phone(from)
        .map(|n| n.sid.clone());
    let call = SandboxCall {
        sid: new_sid("CA"),
        to: to.to_owned(),
        from: from.to_owned(),
        status: "queued".to_owned(),
        url: url.map(str::to_owned),
        method: method_or_post(first(form, "Method")),
        twiml: twiml.map(str::to_owned),
        application_sid: application_sid.map(str::to_owned),
        fetched_twiml: None,
        status_callback: status_callback.map(str::to_owned),
        status_callback_method: method_or_post(first(form, "StatusCallbackMethod")),
        status_callback_events: events,
        record: first(form, "Record").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        recording_channels: if first(form, "RecordingChannels") == Some("dual") {
            2
        } else {
            1
        },
        recording_status_callback: recording_status_callback.map(str::to_owned),
        recording_status_callback_method: method_or_post(first(
            form,
            "RecordingStatusCallbackMethod",
        )),
        recording_status_callback_events: recording_events,
        recording_sid: None,
        timeout: first(form, "Timeout")
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_TIMEOUT)
            .min(MAX_TIMEOUT),
        duration: None,
        phone_number_sid,
        start_time: None,
        end_time: None,
        date_created: now,
        date_updated: now,
    };
    let json = to_json(&inner, &call);
    let sid = call.sid.clone();
    inner.store.lock().calls.push(call);
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
    let call = store
        .calls
        .iter()
        .find(|c| c.sid == sid)
        .ok_or_else(|| ApiError::not_found(uri.path()))?;
    Ok(Json(to_json(&inner, call)))
}

/// Newest first; filters `To`, `From`, `Status`.
pub(crate) async fn list(
    State(inner): State<Arc<Inner>>,
    Extension(params): Extension<Params>,
    uri: Uri,
) -> Json<Value> {
    let q = &params.query;
    let (to, from, status) = (first(q, "To"), first(q, "From"), first(q, "Status"));
    let records: Vec<Value> = {
        let store = inner.store.lock();
        store
            .calls
            .iter()
            .rev()
            .filter(|c| to.is_none_or(|v| c.to == v))
            .filter(|c| from.is_none_or(|v| c.from == v))
            .filter(|c| status.is_none_or(|v| c.status == v))
            .map(|c| to_json(&inner, c))
            .collect()
    };
    let filters: Vec<(&str, &str)> = ["To", "From", "Status"]
        .into_iter()
        .filter_map(|k| first(q, k).map(|v| (k, v)))
        .collect();
    Json(paging::envelope(
        "calls",
        records,
        uri.path(),
        &filters,
        PageRequest::from_query(q),
    ))
}

/// The OAI `api.v2010.account.call` representation.
pub(crate) fn to_json(inner: &Inner, c: &SandboxCall) -> Value {
    let acct = inner.config.account_path();
    let sub = |name: &str| format!("{acct}/Calls/{}/{name}.json", c.sid);
    json!({
        "account_sid": inner.config.account_sid,
        "answered_by": null,
        "api_version": "2010-04-01",
        "caller_name": null,
        "date_created": rfc2822(c.date_created),
        "date_updated": rfc2822(c.date_updated),
        "direction": "outbound-api",
        "duration": c.duration.map(|d| d.to_string()),
        "end_time": c.end_time.map(rfc2822),
        "forwarded_from": null,
        "from": c.from,
        "from_formatted": friendly_format(&c.from),
        "group_sid": null,
        "parent_call_sid": null,
        "phone_number_sid": c.phone_number_sid,
        "price": null,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": c.sid,
        "start_time": c.start_time.map(rfc2822),
        "status": c.status,
        "subresource_uris": {
            "notifications": sub("Notifications"),
            "recordings": sub("Recordings"),
            "payments": sub("Payments"),
            "events": sub("Events"),
            "siprec": sub("Siprec"),
            "streams": sub("Streams"),
            "transcriptions": sub("Transcriptions"),
            "user_defined_message_subscriptions": sub("UserDefinedMessageSubscriptions"),
            "user_defined_messages": sub("UserDefinedMessages"),
        },
        "to": c.to,
        "to_formatted": friendly_format(&c.to),
        "trunk_sid": null,
        "uri": format!("{acct}/Calls/{}.json", c.sid),
    })
}

/// Walks one call to its scripted end.
async fn play_out(inner: Arc<Inner>, sid: String) {
    let Some(call) = snapshot(&inner, &sid) else {
        return;
    };
    let mut progress = Progress {
        inner: &inner,
        sequence: 0,
    };
    let outcome = magic::call_outcome(&call.to);

    pause(&inner).await;
    if let Some(ended) = ended(&inner, &sid) {
        return progress.finished(&ended).await;
    }
    progress.event(&call, "initiated", "initiated", &[]).await;

    if outcome != CallOutcome::Failed {
        pause(&inner).await;
        let Some(call) = update_live(&inner, &sid, |c| c.status = "ringing".into()) else {
            return progress.finished_now(&inner, &sid).await;
        };
        progress.event(&call, "ringing", "ringing", &[]).await;
    }

    let CallOutcome::Answered { duration_secs } = outcome else {
        pause(&inner).await;
        let Some(call) = update_live(&inner, &sid, |c| {
            c.status = outcome.final_status().into();
            c.end_time = Some(Timestamp::now());
        }) else {
            return progress.finished_now(&inner, &sid).await;
        };
        let extra = [("CallDuration".to_owned(), "0".to_owned())];
        progress
            .event(&call, "completed", outcome.final_status(), &extra)
            .await;
        return;
    };

    pause(&inner).await;
    let recording_sid = call
        .record
        .then(|| recordings::begin(&inner, &sid, call.recording_channels, "OutboundAPI"));
    let Some(call) = update_live(&inner, &sid, |c| {
        c.status = "in-progress".into();
        c.start_time = Some(Timestamp::now());
        c.recording_sid = recording_sid.clone();
    }) else {
        return progress.finished_now(&inner, &sid).await;
    };
    progress.event(&call, "answered", "in-progress", &[]).await;
    if let Some(rec) = &recording_sid
        && wants(&call.recording_status_callback_events, "in-progress")
    {
        recording_callback(&inner, &call, rec, "in-progress", None).await;
    }
    if let Some(url) = &call.url {
        let params = voice_params(&inner, &call, "in-progress");
        let fetched = callbacks::send(&inner, "call-url", url, &call.method, params).await;
        if let Some((_, body)) = fetched {
            update(&inner, &sid, |c| c.fetched_twiml = Some(body));
        }
    }

    pause(&inner).await;
    // Hung up through the API meanwhile: that call's length, not the scripted one.
    let call = match update_live(&inner, &sid, |c| {
        c.status = "completed".into();
        c.duration = Some(duration_secs);
        c.end_time = c
            .start_time
            .map(|s| s + jiff::SignedDuration::from_secs(duration_secs.into()));
    }) {
        Some(call) => call,
        None => snapshot(&inner, &sid).expect("sandbox calls are never removed"),
    };
    let duration_secs = call.duration.unwrap_or(duration_secs);
    if let Some(rec) = &recording_sid {
        recordings::finish(&inner, rec, duration_secs);
    }
    let mut extra = vec![("CallDuration".to_owned(), duration_secs.to_string())];
    if let Some(rec) = &recording_sid {
        // The OAI on `Record`: "The `recording_url` is sent to the `status_callback` URL."
        extra.push((
            "RecordingUrl".to_owned(),
            recordings::media_url(&inner.config, rec),
        ));
        extra.push(("RecordingSid".to_owned(), rec.clone()));
        extra.push(("RecordingDuration".to_owned(), duration_secs.to_string()));
    }
    progress
        .event(&call, "completed", "completed", &extra)
        .await;

    if let Some(rec) = &recording_sid
        && wants(&call.recording_status_callback_events, "completed")
    {
        pause(&inner).await;
        recording_callback(&inner, &call, rec, "completed", Some(duration_secs)).await;
    }
}

/// Posts call progress events, numbering them as Twilio's `SequenceNumber` does (from 0, per
/// call, counting only the callbacks actually sent).
struct Progress<'a> {
    inner: &'a Inner,
    sequence: u32,
}

impl Progress<'_> {
    /// The `completed` callback of a call that an API update ended.
    async fn finished(&mut self, call: &SandboxCall) {
        let extra = [(
            "CallDuration".to_owned(),
            call.duration.unwrap_or(0).to_string(),
        )];
        let status = call.status.clone();
        self.event(call, "completed", &status, &extra).await;
    }

    async fn finished_now(&mut self, inner: &Inner, sid: &str) {
        if let Some(call) = snapshot(inner, sid) {
            self.finished(&call).await;
        }
    }

    async fn event(
        &mut self,
        call: &SandboxCall,
        event: &str,
        call_status: &str,
        extra: &[(String, String)],
    ) {
        let Some(url) = &call.status_callback else {
            return;
        };
        let requested = if call.status_callback_events.is_empty() {
            event == "completed"
        } else {
            wants(&call.status_callback_events, event)
        };
        if !requested {
            return;
        }
        let mut params = voice_params(self.inner, call, call_status);
        params.push(("Timestamp".to_owned(), rfc2822(Timestamp::now())));
        params.push(("SequenceNumber".to_owned(), self.sequence.to_string()));
        params.push((
            "CallbackSource".to_owned(),
            "call-progress-events".to_owned(),
        ));
        params.extend_from_slice(extra);
        self.sequence += 1;
        callbacks::send(
            self.inner,
            "call-status",
            url,
            &call.status_callback_method,
            params,
        )
        .await;
    }
}

/// The parameters Twilio sends with every voice request about a call.
fn voice_params(inner: &Inner, call: &SandboxCall, call_status: &str) -> Vec<(String, String)> {
    vec![
        ("CallSid".to_owned(), call.sid.clone()),
        ("AccountSid".to_owned(), inner.config.account_sid.clone()),
        ("From".to_owned(), call.from.clone()),
        ("To".to_owned(), call.to.clone()),
        ("Caller".to_owned(), call.from.clone()),
        ("Called".to_owned(), call.to.clone()),
        ("CallStatus".to_owned(), call_status.to_owned()),
        ("Direction".to_owned(), "outbound-api".to_owned()),
        ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
    ]
}

async fn recording_callback(
    inner: &Inner,
    call: &SandboxCall,
    recording_sid: &str,
    status: &str,
    duration: Option<u32>,
) {
    let Some(url) = &call.recording_status_callback else {
        return;
    };
    let started = inner
        .store
        .lock()
        .recordings
        .iter()
        .find(|r| r.sid == recording_sid)
        .map(|r| r.start_time)
        .unwrap_or_else(Timestamp::now);
    let mut params = vec![
        ("AccountSid".to_owned(), inner.config.account_sid.clone()),
        ("CallSid".to_owned(), call.sid.clone()),
        ("RecordingSid".to_owned(), recording_sid.to_owned()),
        (
            "RecordingUrl".to_owned(),
            recordings::media_url(&inner.config, recording_sid),
        ),
        ("RecordingStatus".to_owned(), status.to_owned()),
        (
            "RecordingChannels".to_owned(),
            call.recording_channels.to_string(),
        ),
        ("RecordingStartTime".to_owned(), rfc2822(started)),
        ("RecordingSource".to_owned(), "OutboundAPI".to_owned()),
        ("RecordingTrack".to_owned(), "both".to_owned()),
    ];
    if let Some(d) = duration {
        params.push(("RecordingDuration".to_owned(), d.to_string()));
        params.push(("ErrorCode".to_owned(), "0".to_owned()));
    }
    callbacks::send(
        inner,
        "recording-status",
        url,
        &call.recording_status_callback_method,
        params,
    )
    .await;
}

fn wants(events: &[String], event: &str) -> bool {
    events.iter().any(|e| e == event)
}

/// `GET` when asked for, `POST` otherwise (Twilio's default for every callback method).
fn method_or_post(method: Option<&str>) -> String {
    match method {
        Some(m) if m.eq_ignore_ascii_case("GET") => "GET".to_owned(),
        _ => "POST".to_owned(),
    }
}

/// A phone number, or a Client/SIP address, which Twilio also dials.
fn is_callable(address: &str) -> bool {
    is_e164(address) || address.starts_with("client:") || address.starts_with("sip:")
}

fn snapshot(inner: &Inner, sid: &str) -> Option<SandboxCall> {
    inner
        .store
        .lock()
        .calls
        .iter()
        .find(|c| c.sid == sid)
        .cloned()
}

/// The final state of a call that has ended (by an API update), `None` while it is live.
fn ended(inner: &Inner, sid: &str) -> Option<SandboxCall> {
    snapshot(inner, sid).filter(|c| is_final(&c.status))
}

fn is_final(status: &str) -> bool {
    matches!(
        status,
        "completed" | "canceled" | "busy" | "failed" | "no-answer"
    )
}

/// [`update`] only while the call is live, checked under the same lock: `None` when an API update
/// ended it first.
fn update_live(
    inner: &Inner,
    sid: &str,
    change: impl FnOnce(&mut SandboxCall),
) -> Option<SandboxCall> {
    let mut store = inner.store.lock();
    let call = store.call_mut(sid)?;
    if is_final(&call.status) {
        return None;
    }
    change(call);
    call.date_updated = Timestamp::now();
    Some(call.clone())
}

/// `POST Calls/{Sid}.json` (OAI `UpdateCall`): `Status`, `Url` (+ `Method`), `Twiml`.
pub(crate) async fn modify(
    State(inner): State<Arc<Inner>>,
    Path((_account, file)): Path<(String, String)>,
    Extension(params): Extension<Params>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let sid = file
        .strip_suffix(".json")
        .ok_or_else(|| ApiError::not_found(uri.path()))?
        .to_owned();
    let form = &params.form;
    let current = snapshot(&inner, &sid).ok_or_else(|| ApiError::not_found(uri.path()))?;
    let status = non_empty(form, "Status");
    if let Some(s) = status
        && s != "canceled"
        && s != "completed"
    {
        return Err(ApiError::bad_request(
            20001,
            format!("Invalid Status: {s}. Must be canceled or completed"),
        ));
    }
    let url = non_empty(form, "Url");
    let twiml = non_empty(form, "Twiml");
    if let Some(u) = url
        && !is_http_url(u)
    {
        return Err(ApiError::bad_request(
            21205,
            format!("Url is not a valid URL: {u}"),
        ));
    }
    if status.is_none() && url.is_none() && twiml.is_none() {
        // Nothing to change: Twilio answers the call as it is.
        return Ok(Json(to_json(&inner, &current)));
    }
    if status.is_none() && current.status != "in-progress" {
        return Err(ApiError::bad_request(
            21220,
            "Call is not in-progress. Cannot redirect.",
        ));
    }
    let now = Timestamp::now();
    let changed = {
        let mut store = inner.store.lock();
        let call = store
            .call_mut(&sid)
            .ok_or_else(|| ApiError::not_found(uri.path()))?;
        match (status, call.status.as_str()) {
            // Twilio: canceled hangs up queued or ringing calls, and leaves one in progress alone.
            (Some("canceled"), "queued" | "ringing")
            | (Some("completed"), "queued" | "ringing") => {
                call.status = "canceled".into();
                call.duration = Some(0);
                call.end_time = Some(now);
            }
            (Some("completed"), "in-progress") => {
                let start = call.start_time.unwrap_or(now);
                let secs = u32::try_from(now.duration_since(start).as_secs().max(0)).unwrap_or(0);
                call.status = "completed".into();
                call.duration = Some(secs);
                call.end_time = Some(start + jiff::SignedDuration::from_secs(secs.into()));
            }
            (Some(_), _) => {}
            (None, _) => {
                // A redirect: the new instructions replace the old.
                call.url = url.map(str::to_owned);
                call.twiml = twiml.map(str::to_owned);
                call.method = method_or_post(first(form, "Method"));
                call.fetched_twiml = None;
            }
        }
        call.date_updated = now;
        call.clone()
    };
    if status.is_none()
        && let Some(u) = url
    {
        // Twilio fetches the new URL at once, signed, as it does on answer.
        let task_inner = inner.clone();
        let (u, method) = (u.to_owned(), changed.method.clone());
        let call = changed.clone();
        inner.tasks.spawn(async move {
            let params = voice_params(&task_inner, &call, "in-progress");
            if let Some((_, body)) =
                callbacks::send(&task_inner, "call-url", &u, &method, params).await
            {
                update(&task_inner, &call.sid, |c| c.fetched_twiml = Some(body));
            }
        });
    }
    Ok(Json(to_json(&inner, &changed)))
}

/// Applies `change` and returns the call as it now is. Calls are never removed, so the SID a
/// task was started with is always there.
fn update(inner: &Inner, sid: &str, change: impl FnOnce(&mut SandboxCall)) -> SandboxCall {
    let mut store = inner.store.lock();
    let call = store
        .call_mut(sid)
        .expect("sandbox calls are never removed");
    change(call);
    call.date_updated = Timestamp::now();
    call.clone()
}
