//! The tenant's recordings and voicemails: listings with transcripts, one recording by id or
//! RecordingSid (seed 002's `GET /api/twilio/recordings/{sid}`) and the voicemail inbox; the audio
//! itself is served by `api_media`.
//!
//! Every query is scoped by the authenticated tenant: another tenant's recording (and its media) is a
//! 404, exactly like one that does not exist.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::clock::rfc3339;
use crate::db::recordings::{
    self as store, CallParties, Recording, RecordingFilter, Transcription,
};
use crate::recordings::media_url;
use crate::recordings::voicemail::{self, Detailed, InboxQuery};
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::doc::JsonBodyErrors;
use crate::web::doc::TenantAuthErrors;
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::{ValidJson, ValidQuery};

/// A recording's text and analysis.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptionView {
    pub id: String,
    /// `none`, `twilio` or `openai`.
    pub provider: String,
    /// Empty when there is no transcript (see `transcriptError`).
    pub text: String,
    pub transcript_error: Option<String>,
    pub summary: String,
    /// SETUP_APPOINTMENT, CANCEL_APPOINTMENT, MODIFY_APPOINTMENT, GET_HOURS, GET_PRICING or OTHER.
    pub call_reason: String,
    /// positive, neutral or negative.
    pub sentiment: String,
    /// `rules`, `llm`, or `llm+rules` when the model's answer was only partly usable.
    pub analysis_source: String,
    pub created_at: String,
}

impl From<&Transcription> for TranscriptionView {
    fn from(t: &Transcription) -> Self {
        TranscriptionView {
            id: t.id.clone(),
            provider: t.provider.clone(),
            text: t.text.clone(),
            transcript_error: t.transcript_error.clone(),
            summary: t.summary.clone(),
            call_reason: t.call_reason.clone(),
            sentiment: t.sentiment.clone(),
            analysis_source: t.analysis_source.clone(),
            created_at: rfc3339(t.created_at),
        }
    }
}

/// One recording.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingView {
    pub id: String,
    /// Twilio's RecordingSid (RE…).
    pub recording_sid: String,
    pub call_sid: String,
    /// The call log id (`/api/telephony/call-logs/{id}`).
    pub call_id: String,
    /// `voicemail` or `call`.
    pub kind: String,
    /// Twilio's RecordingSource (`RecordVerb`, `DialVerb`, `OutboundAPI`, …).
    pub source: Option<String>,
    /// Twilio's recording status: `completed`, `absent`, `failed`, `in-progress`.
    pub status: String,
    pub duration_seconds: Option<i64>,
    pub channels: Option<i64>,
    pub error_code: Option<i64>,
    /// `waiting`, `pending` (being processed), `done` or `skipped` (absent or failed recordings).
    pub processing: String,
    pub processing_error: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    /// Where the audio is served (this API, same authentication), once downloaded.
    pub media_url: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub transcription: Option<TranscriptionView>,
}

fn view(
    state: &AppState,
    r: &Recording,
    parties: Option<&CallParties>,
    t: Option<&Transcription>,
) -> RecordingView {
    RecordingView {
        id: r.id.clone(),
        recording_sid: r.recording_sid.clone(),
        call_sid: r.call_sid.clone(),
        call_id: r.call_id.clone(),
        kind: r.kind.clone(),
        source: r.source.clone(),
        status: r.status.clone(),
        duration_seconds: r.duration_seconds,
        channels: r.channels,
        error_code: r.error_code,
        processing: r.processing.clone(),
        processing_error: r.processing_error.clone(),
        content_type: r.content_type.clone(),
        size_bytes: r.size_bytes,
        media_url: r
            .storage_key
            .as_ref()
            .map(|_| media_url(&state.config, &r.id)),
        direction: parties.map(|p| p.direction.clone()),
        from: parties.map(|p| p.from_number.clone()),
        to: parties.map(|p| p.to_number.clone()),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
        transcription: t.map(TranscriptionView::from),
    }
}

/// Views of `rows` with their calls' parties and their transcriptions (two queries, not 2n).
async fn views(
    state: &AppState,
    tenant_id: &str,
    rows: Vec<Recording>,
) -> Result<Vec<RecordingView>, ApiError> {
    Ok(voicemail::details(state, tenant_id, rows)
        .await?
        .iter()
        .map(|d| detailed_view(state, d))
        .collect())
}

fn detailed_view(state: &AppState, d: &Detailed) -> RecordingView {
    view(
        state,
        &d.recording,
        d.parties.as_ref(),
        d.transcription.as_ref(),
    )
}

/// Query of the recordings listing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordingQuery {
    /// `voicemail` or `call`.
    #[param(schema_with = crate::domain::query_values::recording_kind)]
    pub kind: Option<String>,
    /// Only the recordings of this call.
    pub call_sid: Option<String>,
    /// Page size, default 50; values above 100 are treated as 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Recordings to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `{"recordings": [...], "total", "limit", "offset"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingList {
    pub recordings: Vec<RecordingView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The tenant's recordings (voicemails and recorded calls), newest first, with their transcriptions.
#[utoipa::path(get, path = "/api/telephony/recordings", operation_id = "recordings_list", tag = "telephony", security(("tenant" = [])), params(RecordingQuery),
    responses((status = 200, description = "Success", body = Envelope<RecordingList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn list(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<RecordingQuery>,
) -> Result<Json<Envelope<RecordingList>>, ApiError> {
    let kind = match q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) if k.eq_ignore_ascii_case(store::VOICEMAIL) => Some(store::VOICEMAIL.to_string()),
        Some(k) if k.eq_ignore_ascii_case(store::CALL) => Some(store::CALL.to_string()),
        Some(_) => return Err(ApiError::validation("kind", "must be voicemail or call")),
    };
    let filter = RecordingFilter {
        kind,
        call_sid: q
            .call_sid
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        completed_only: false,
        ..Default::default()
    };
    let (limit, offset) = crate::domain::paging::page(q.limit, q.offset)?;
    let (rows, total) = store::list(&state.db, &auth.tenant.id, &filter, limit, offset).await?;
    Ok(ok(RecordingList {
        recordings: views(&state, &auth.tenant.id, rows).await?,
        total,
        limit,
        offset,
    }))
}

async fn one(state: &AppState, auth: &TenantAuth, id: &str) -> Result<RecordingView, ApiError> {
    let rec = store::find(&state.db, &auth.tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("recording"))?;
    Ok(views(state, &auth.tenant.id, vec![rec]).await?.remove(0))
}

/// One of the tenant's recordings, by id or RecordingSid, with its transcription.
#[utoipa::path(get, path = "/api/telephony/recordings/{id}", operation_id = "recordings_show", tag = "telephony", security(("tenant" = [])),
    params(("id" = String, Path, description = "Recording id or Twilio RecordingSid")),
    responses((status = 200, description = "Success", body = Envelope<RecordingView>),
        (status = 404, description = "No such recording for this tenant", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn show(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<RecordingView>>, ApiError> {
    Ok(ok(one(&state, &auth, &id).await?))
}

/// Seed 002: a call recording by its Twilio RecordingSid (the recording id works too).
#[utoipa::path(get, path = "/api/twilio/recordings/{sid}", tag = "telephony", security(("tenant" = [])),
    params(("sid" = String, Path, description = "Twilio RecordingSid (RE…) or recording id")),
    responses((status = 200, description = "Success", body = Envelope<RecordingView>),
        (status = 404, description = "No such recording for this tenant", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn show_by_sid(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<Envelope<RecordingView>>, ApiError> {
    Ok(ok(one(&state, &auth, &sid).await?))
}

/// Filter and page of the voicemail listing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VoicemailQuery {
    /// `false`: only new voicemails (the inbox); `true`: only handled ones. Absent: all.
    pub handled: Option<bool>,
    /// Keyset paging: the `nextCursor` of the previous page (instead of `offset`).
    pub before: Option<String>,
    /// Page size, default 50; values above 100 are treated as 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Voicemails to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// One voicemail with its transcript.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoicemailView {
    /// The recording id.
    pub id: String,
    pub recording_sid: String,
    pub call_sid: String,
    pub call_id: String,
    /// The caller.
    pub from: Option<String>,
    /// The business number called.
    pub to: Option<String>,
    pub duration_seconds: Option<i64>,
    /// RFC 3339, when Twilio reported the recording.
    pub received_at: String,
    /// `pending` until transcribed and analysed, then `done`.
    pub processing: String,
    /// Null until processed (or when transcription is off).
    pub transcript: Option<String>,
    pub summary: Option<String>,
    pub call_reason: Option<String>,
    pub sentiment: Option<String>,
    pub media_url: Option<String>,
    /// Whether someone at the business marked it handled (`PATCH /api/telephony/voicemails/{id}`).
    pub handled: bool,
    /// RFC 3339, when it was first marked handled; null while new.
    pub handled_at: Option<String>,
}

/// `{"voicemails": [...], "total", "limit", "offset", "nextCursor"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoicemailList {
    pub voicemails: Vec<VoicemailView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// Pass as `before` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<RecordingView> for VoicemailView {
    fn from(r: RecordingView) -> Self {
        let t = r.transcription;
        VoicemailView {
            id: r.id,
            recording_sid: r.recording_sid,
            call_sid: r.call_sid,
            call_id: r.call_id,
            from: r.from,
            to: r.to,
            duration_seconds: r.duration_seconds,
            received_at: r.created_at,
            processing: r.processing,
            transcript: t.as_ref().map(|t| t.text.clone()).filter(|s| !s.is_empty()),
            summary: t.as_ref().map(|t| t.summary.clone()),
            call_reason: t.as_ref().map(|t| t.call_reason.clone()),
            sentiment: t.map(|t| t.sentiment),
            media_url: r.media_url,
            handled: false,
            handled_at: None,
        }
    }
}

fn voicemail_view(state: &AppState, d: &Detailed) -> VoicemailView {
    let mut v = VoicemailView::from(detailed_view(state, d));
    v.handled = d.recording.handled_at.is_some();
    v.handled_at = d.recording.handled_at.map(rfc3339);
    v
}

/// The tenant's voicemails (completed recordings left after the beep), newest first, with
/// transcripts; `handled=false` is the inbox of new ones.
#[utoipa::path(get, path = "/api/telephony/voicemails", tag = "telephony", security(("tenant" = [])), params(VoicemailQuery),
    responses((status = 200, description = "Success", body = Envelope<VoicemailList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn voicemails(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<VoicemailQuery>,
) -> Result<Json<Envelope<VoicemailList>>, ApiError> {
    let before = q
        .before
        .as_deref()
        .filter(|b| !b.trim().is_empty())
        .map(|b| voicemail::Cursor::parse("before", b))
        .transpose()?;
    let page = voicemail::inbox(
        &state,
        &auth.tenant.id,
        &InboxQuery {
            handled: q.handled,
            limit: q.limit,
            offset: q.offset,
            before,
        },
    )
    .await?;
    Ok(ok(VoicemailList {
        voicemails: page
            .voicemails
            .iter()
            .map(|d| voicemail_view(&state, d))
            .collect(),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// `{"handled": true}` marks a voicemail handled, `false` new again.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoicemailPatch {
    pub handled: bool,
}

/// Mark one of the tenant's voicemails handled (or new again). Repeating it keeps the first time it
/// was marked handled.
#[utoipa::path(patch, path = "/api/telephony/voicemails/{id}", tag = "telephony", security(("tenant" = [])), request_body = VoicemailPatch,
    params(("id" = String, Path, description = "The voicemail's recording id or RecordingSid")),
    responses((status = 200, description = "The voicemail as it is now", body = Envelope<VoicemailView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such voicemail for this tenant", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors))]
async fn patch_voicemail(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidJson(req): ValidJson<VoicemailPatch>,
) -> Result<Json<Envelope<VoicemailView>>, ApiError> {
    let d = voicemail::set_handled(&state, &auth.tenant.id, &id, req.handled).await?;
    Ok(ok(voicemail_view(&state, &d)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(show_by_sid))
        .routes(routes!(voicemails))
        .routes(routes!(patch_voicemail))
}
