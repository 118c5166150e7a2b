//! The tenant's messaging history as every reader sees it (the tenant API's `api_messages` and the
//! web console): conversations, one per customer number, with whether that customer opted out; one
//! customer's thread; the notifications with their filters. Every query is scoped by the tenant.

use std::collections::HashSet;

use crate::db::{
    self,
    messages::{ConversationRow, MessageRow},
    notifications::{Notification, NotificationFilter},
};
use crate::domain::E164;
use crate::domain::states::NotificationStatus;
use crate::failure::Failure;
use crate::state::AppState;

/// Notification types a listing may filter on (stored upper case).
pub const NOTIFICATION_TYPES: [&str; 2] = ["SMS", "EMAIL"];

fn present(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// The notification filters from a query's `type` and `status` (any case; blank means absent, as web
/// forms send every filter).
pub fn notification_filter(
    r#type: Option<&str>,
    status: Option<&str>,
) -> Result<NotificationFilter, Failure> {
    let r#type = present(r#type)
        .map(|t| {
            let t = t.to_ascii_uppercase();
            if NOTIFICATION_TYPES.contains(&t.as_str()) {
                Ok(t)
            } else {
                Err(Failure::invalid(
                    "type",
                    format!("must be one of {}", NOTIFICATION_TYPES.join(", ")),
                ))
            }
        })
        .transpose()?;
    let status = present(status)
        .map(|s| {
            NotificationStatus::parse(&s.to_ascii_uppercase()).map_err(|_| {
                Failure::invalid(
                    "status",
                    format!("must be one of {}", NotificationStatus::NAMES.join(", ")),
                )
            })
        })
        .transpose()?;
    Ok(NotificationFilter {
        r#type,
        status,
        recipient: None,
    })
}

/// A page of the tenant's notifications, newest first.
#[derive(Debug, Clone)]
pub struct Notifications {
    pub rows: Vec<Notification>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

pub async fn notifications(
    state: &AppState,
    tenant_id: &str,
    filter: &NotificationFilter,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Notifications, Failure> {
    let (limit, offset) = crate::domain::paging::page(limit, offset)?;
    let (rows, total) =
        db::notifications::list(&state.db, tenant_id, filter, limit, offset).await?;
    Ok(Notifications {
        rows,
        total,
        limit,
        offset,
    })
}

/// A page of conversations, most recent activity first, and which of their customers opted out.
#[derive(Debug, Clone)]
pub struct Conversations {
    pub rows: Vec<ConversationRow>,
    /// The customers (of this page) who texted STOP and have not texted START since.
    pub opted_out: HashSet<String>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

pub async fn conversations(
    state: &AppState,
    tenant_id: &str,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Conversations, Failure> {
    let (limit, offset) = crate::domain::paging::page(limit, offset)?;
    let (rows, total) = db::messages::conversations(&state.db, tenant_id, limit, offset).await?;
    let phones: Vec<String> = rows.iter().map(|c| c.last.customer.clone()).collect();
    let opted_out = db::opt_outs::among(&state.db, tenant_id, &phones).await?;
    Ok(Conversations {
        rows,
        opted_out,
        total,
        limit,
        offset,
    })
}

/// A page of the thread with one customer, newest first.
#[derive(Debug, Clone)]
pub struct Thread {
    /// The customer's number, E.164.
    pub phone: String,
    pub messages: Vec<MessageRow>,
    /// The thread's length, across all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// Whether the customer texted STOP (and not START since): nothing can be sent to them.
    pub opted_out: bool,
}

/// The thread with `raw_phone` (E.164; a leading space is an unencoded `+`), named `field` in a 400.
/// `NotFound` when the tenant never exchanged a message with that number.
pub async fn thread(
    state: &AppState,
    tenant_id: &str,
    field: &str,
    raw_phone: &str,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Thread, Failure> {
    let phone = E164::from_query(field, raw_phone)?.to_string();
    let (limit, offset) = crate::domain::paging::page(limit, offset)?;
    let (messages, total) =
        db::messages::thread(&state.db, tenant_id, &phone, limit, offset).await?;
    if total == 0 {
        return Err(Failure::not_found("conversation"));
    }
    let opted_out = db::opt_outs::is_opted_out(&state.db, tenant_id, &phone).await?;
    Ok(Thread {
        phone,
        messages,
        total,
        limit,
        offset,
        opted_out,
    })
}

/// Texts to `phone` that are not in its thread yet: queued or being sent (no Twilio SID so far), or
/// failed before Twilio accepted them (an invalid number, an opt-out); newest first, at most 50. A
/// thread's reader shows them after its messages, so a reply is visible from the moment it is queued.
pub async fn unsent_to(
    state: &AppState,
    tenant_id: &str,
    phone: &str,
) -> Result<Vec<Notification>, Failure> {
    Ok(db::notifications::unsent_to(&state.db, tenant_id, phone, 50).await?)
}
