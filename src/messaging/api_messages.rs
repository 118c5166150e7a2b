//! The tenant's messaging history: seed 000's notification listing, seed 003's SMS history
//! (`GET /api/twilio/sms`, the same path as the inbound webhook's POST alias), and conversations
//! (one per customer number) with their threads.
//!
//! Every query is scoped by the authenticated tenant; another tenant's conversation is as unknown as
//! a made-up one (404). Pages clamp `limit` to 100 rather than refuse it, as seed 000 does. The
//! queries and filters are `messaging::history`'s, shared with the web console.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::clock::rfc3339;
use crate::db::{self, messages::MessageRow};
use crate::domain::E164;
use crate::messaging::history;
use crate::messaging::notifications::NotificationView;
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::doc::TenantAuthErrors;
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::ValidQuery;

/// A phone number from a query string or path, in E.164 (see [`E164::from_query`]).
fn phone(field: &str, raw: &str) -> Result<String, ApiError> {
    Ok(E164::from_query(field, raw)?.to_string())
}

/// Query of the notification listing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// SMS or EMAIL (any case).
    #[param(schema_with = crate::domain::query_values::notification_type)]
    pub r#type: Option<String>,
    /// QUEUED, SENDING, SENT, DELIVERED, UNDELIVERED or FAILED (any case).
    #[param(schema_with = crate::domain::query_values::notification_status)]
    pub status: Option<String>,
    /// Page size, default 50; values above 100 are treated as 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Notifications to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `{"notifications": [...], "total", "limit", "offset"}` (seed 000).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationList {
    pub notifications: Vec<NotificationView>,
    /// How many notifications match the filters, across all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The tenant's notifications (SMS and e-mail it asked Switchboard to deliver), newest first.
#[utoipa::path(get, path = "/api/telephony/notifications", tag = "telephony", security(("tenant" = [])), params(NotificationQuery),
    responses((status = 200, description = "Success", body = Envelope<NotificationList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn notifications(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<NotificationQuery>,
) -> Result<Json<Envelope<NotificationList>>, ApiError> {
    let filter = history::notification_filter(q.r#type.as_deref(), q.status.as_deref())?;
    let page = history::notifications(&state, &auth.tenant.id, &filter, q.limit, q.offset).await?;
    Ok(ok(NotificationList {
        notifications: page.rows.iter().map(NotificationView::from).collect(),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// One SMS/MMS, inbound or outbound, as the history APIs show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    /// Twilio's MessageSid (SM…/MM…); null for an auto-reply sent as TwiML, whose SID Twilio never reports.
    pub message_sid: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: String,
    pub from: String,
    pub to: String,
    /// May be empty (an MMS with only media).
    pub body: String,
    /// Twilio's message status: `received` for inbound; `queued`, `sent`, `delivered`, `undelivered`,
    /// `failed` … for outbound.
    pub status: String,
    pub num_media: i64,
    pub media_urls: Vec<String>,
    pub segments: i64,
    /// Twilio's error code when delivery failed.
    pub error_code: Option<i64>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&MessageRow> for MessageView {
    fn from(m: &MessageRow) -> Self {
        MessageView {
            id: m.id.clone(),
            message_sid: m.message_sid.clone(),
            direction: m.direction.clone(),
            from: m.from_number.clone(),
            to: m.to_number.clone(),
            body: m.body.clone(),
            status: m.status.to_string(),
            num_media: m.num_media,
            media_urls: serde_json::from_str(&m.media_urls).unwrap_or_default(),
            segments: m.segments,
            error_code: m.error_code,
            created_at: rfc3339(m.created_at),
        }
    }
}

/// Query of seed 003's SMS history. Other parameters are ignored, as the seed's server did.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SmsHistoryQuery {
    /// E.164 number the messages were sent from or to: a customer's number gives that conversation,
    /// the business number (as seed 003 uses it) every message. Absent: every message.
    #[param(schema_with = crate::domain::query_values::phone_filter)]
    pub phone_number: Option<String>,
    /// Page size, default 50; values above 100 are treated as 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Messages to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Seed 003's SMS history: the tenant's messages from or to `phoneNumber`, newest first, as a bare
/// array in `data`.
#[utoipa::path(get, path = "/api/twilio/sms", tag = "telephony", security(("tenant" = [])), params(SmsHistoryQuery),
    responses((status = 200, description = "Success", body = Envelope<Vec<MessageView>>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn sms_history(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<SmsHistoryQuery>,
) -> Result<Json<Envelope<Vec<MessageView>>>, ApiError> {
    let number = q
        .phone_number
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| phone("phoneNumber", s))
        .transpose()?;
    let (limit, offset) = crate::domain::paging::page(q.limit, q.offset)?;
    let rows =
        db::messages::list_for_number(&state.db, &auth.tenant.id, number.as_deref(), limit, offset)
            .await?;
    Ok(ok(rows.iter().map(MessageView::from).collect()))
}

/// Page of a conversation listing or thread.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, default 50; values above 100 are treated as 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Entries to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// One conversation: a customer number, its last message and how many went each way.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    /// The customer's number (the thread key; as Twilio gave it, normally E.164).
    pub phone: String,
    pub last_message: MessageView,
    /// RFC 3339 time of the last message.
    pub last_message_at: String,
    /// `inbound` or `outbound`: who spoke last.
    pub last_direction: String,
    pub inbound_count: i64,
    pub outbound_count: i64,
    pub total_count: i64,
    /// The customer texted STOP (and not START since): texts to them are refused.
    pub opted_out: bool,
}

impl ConversationView {
    fn of(c: &history::Conversations, row: &db::messages::ConversationRow) -> Self {
        ConversationView {
            phone: row.last.customer.clone(),
            last_message: MessageView::from(&row.last),
            last_message_at: rfc3339(row.last.created_at),
            last_direction: row.last.direction.clone(),
            inbound_count: row.inbound_count,
            outbound_count: row.total_count - row.inbound_count,
            total_count: row.total_count,
            opted_out: c.opted_out.contains(&row.last.customer),
        }
    }
}

/// `{"conversations": [...], "total", "limit", "offset"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationList {
    pub conversations: Vec<ConversationView>,
    /// How many customers the tenant has exchanged messages with.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The tenant's conversations, one per customer number, most recent activity first.
#[utoipa::path(get, path = "/api/telephony/conversations", tag = "telephony", security(("tenant" = [])), params(PageQuery),
    responses((status = 200, description = "Success", body = Envelope<ConversationList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn conversations(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<Json<Envelope<ConversationList>>, ApiError> {
    let page = history::conversations(&state, &auth.tenant.id, q.limit, q.offset).await?;
    Ok(ok(ConversationList {
        conversations: page
            .rows
            .iter()
            .map(|row| ConversationView::of(&page, row))
            .collect(),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// `{"phone", "messages": [...], "total", "limit", "offset"}`; messages newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    pub phone: String,
    /// Inbound and outbound, newest first (page back with `offset` to read older ones).
    pub messages: Vec<MessageView>,
    /// The thread's length, across all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// The customer texted STOP (and not START since): texts to them are refused.
    pub opted_out: bool,
}

/// The thread with one customer number, inbound and outbound, newest first.
#[utoipa::path(get, path = "/api/telephony/conversations/{phone}", tag = "telephony", security(("tenant" = [])),
    params(("phone" = String, Path, description = "The customer's E.164 number (`+` may be sent as `%2B`)"), PageQuery),
    responses((status = 200, description = "Success", body = Envelope<Thread>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such conversation for this tenant", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn thread(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<Json<Envelope<Thread>>, ApiError> {
    let t = history::thread(&state, &auth.tenant.id, "phone", &raw, q.limit, q.offset).await?;
    Ok(ok(Thread {
        messages: t.messages.iter().map(MessageView::from).collect(),
        phone: t.phone,
        total: t.total,
        limit: t.limit,
        offset: t.offset,
        opted_out: t.opted_out,
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(notifications))
        .routes(routes!(sms_history))
        .routes(routes!(conversations))
        .routes(routes!(thread))
}
